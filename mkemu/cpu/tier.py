"""The first tier: code entered only a few times runs instruction by instruction.

Most of a big program's start-up code runs once or twice (python3 -c pass:
half of its ~17,000 traces run once), and compiling a trace costs about a
thousand times more than running it.  So a trace is compiled (the second tier,
Engine.translate) only on its PROMOTE-th entry or when the code cache already
holds it; until then the dispatcher gets a runner that steps through the
instructions one at a time.

Each step is a one-instruction block built by the same emitters as traces, so
it does exactly what a trace does.  Its Python code is shared by every pc
holding the same encoding: it is emitted at two addresses (the real pc, and
that plus 2**40 with bit 11 flipped: another page offset) and every hex
literal that differs between them must be the pc plus one constant, which becomes `_P + d` in a
function `step(S, X, V, _P)`.  An encoding whose code depends on the pc in any
other way (ADRP: on its page) gets a step of its own pc.  Steps are keyed by
encoding only, so they hold across binaries: the code cache keeps them in one
file per translator version (CodeCache.insns).  Steps never follow branches
nor count side exits (Engine.hot_branch sees only traces), and are fetched
afresh on every entry, so code written meanwhile needs no invalidation here.
"""
from __future__ import annotations

import re

from ..mm.fault import MemFault
from .block import BlockBuilder
from .decode import decode

PROMOTE = 8                 # entries of a pc before its trace is compiled
MAX_STEPS = 64              # instructions a runner takes before the dispatcher checks in
_FAR = 1 << 40              # the second address a step is emitted at: pc + _FAR ^ _LOW
_LOW = 0x800                # (another offset in the page: ADRP's value is not pc + d)
USER_TOP = 1 << 47          # steps are used only below this (pc + d never wraps)
M64 = 0xFFFF_FFFF_FFFF_FFFF
_HEX = re.compile(r"(0x[0-9a-f]+)")


class _OneInsn(BlockBuilder):
    """A block of one instruction that leaves by its branch, never following it."""

    def _can_follow(self, target: int) -> bool:
        return False


def _one_insn_source(insn: int, pc: int) -> str:
    b = _OneInsn(pc, set())
    b.pc, b.insn = pc, insn
    b.pc_index[pc] = 0
    emit = decode(insn)
    if emit is None:
        b.end_undefined()
    else:
        emit(b, insn)
    b.ninsn = 1
    if not b.ended:
        b.close_at((pc + 4) & M64)
    return b.source("step")


def step_source(insn: int, pc: int) -> tuple[str, bool]:
    """(source of `def step(S, X, V, _P)`, shared): shared when the code holds
    for this encoding at any pc, else only for pc."""
    own = _one_insn_source(insn, pc)
    head = "def step(S, X, V, _P):"
    try:
        other = _HEX.split(_one_insn_source(insn, pc + _FAR ^ _LOW))
    except Exception:
        return own.replace("def step(S, X, V):", head, 1), False
    mine = _HEX.split(own)
    if len(mine) != len(other):
        return own.replace("def step(S, X, V):", head, 1), False
    out = []
    for i, (ta, tb) in enumerate(zip(mine, other)):
        if ta == tb:
            out.append(ta)
            continue
        if i % 2 == 0:
            return own.replace("def step(S, X, V):", head, 1), False
        d = int(ta, 16) - pc
        if int(tb, 16) - (pc + _FAR ^ _LOW) != d:
            return own.replace("def step(S, X, V):", head, 1), False
        out.append("_P" if d == 0 else f"(_P + {d:#x})" if d > 0 else f"((_P - {-d:#x}) & {M64:#x})")
    return "".join(out).replace("def step(S, X, V):", head, 1), True


class FirstTier:
    """Steps by encoding (and by (encoding, pc) for pc-bound ones) for one Engine."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.entries: dict[int, int] = {}        # pc -> entries so far, until promoted
        self.shared: dict[int, object] = {}      # encoding -> step function
        self.own: dict[tuple[int, int], object] = {}
        self.steps_built = 0
        self.runs = 0

    def enter(self, pc: int):
        """A runner for the code at pc, or None when its trace is to be compiled."""
        n = self.entries.get(pc, 0) + 1
        if n >= PROMOTE or pc >= USER_TOP:
            self.entries.pop(pc, None)
            return None
        self.entries[pc] = n
        first = self.engine.mmu.fetch(pc)        # a fetch fault is the caller's
        self.runs += 1
        return self._runner(pc, first)

    def _step(self, insn: int, pc: int):
        fn = self.shared.get(insn)
        if fn is not None:
            return fn
        fn = self.own.get((insn, pc))
        if fn is not None:
            return fn
        cache = self.engine.code_cache
        code = cache.insn_lookup(insn) if cache is not None else None
        shared = code is not None
        if code is None:
            src, shared = step_source(insn, pc)
            code = compile(src, f"<guest insn {insn:#010x}>", "exec")
            self.steps_built += 1
            if shared and cache is not None:
                cache.insn_store(insn, code)
        g = self.engine.globals
        exec(code, g)
        fn = g.pop("step")
        if shared:
            self.shared[insn] = fn
        else:
            self.own[(insn, pc)] = fn
        return fn

    def _runner(self, start: int, first: int):
        step, fetch, blocks = self._step, self.engine.mmu.fetch, self.engine.blocks

        def run(S, X, V):
            p, insn = start, first
            for _ in range(MAX_STEPS):
                r = step(insn, p)(S, X, V, p)
                if r != p + 4 or S.pending or r in blocks:
                    return r
                p = r
                try:
                    insn = fetch(p)
                except MemFault:
                    return p                     # the dispatcher reports the fetch fault
            return p
        return run
