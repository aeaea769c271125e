"""Regions: the hot traces of a loop nest made one Python function.

Every trace is a function of its own: it returns the next pc to the dispatcher
(Engine.run), which looks it up and calls it.  In code whose hot path crosses
many traces (fib's unrolled recursion, an interpreter's opcode handlers,
busybox's loops over calls) that round trip, not the instructions, is most of
the cost.  A region is one function holding several traces as cases of one
loop:

    def region_400720(pc, S, X, V):
        nonlocal x0, ..., sp               # the X registers: cells (regcells.py)
        v0 = V[0]; ...                     # every V register any case touches
        _ic = 0                            # instructions done (S.icount at the exit)
        while True:
            if pc < 0x400928:              # a search over the cases' pcs, by weight
                if pc == 0x400720:
                    <the trace at 0x400720: an exit is `_ic += N; pc = TARGET; break`>
                elif ...
                else: break                # pc is no case: leave
            else: ...
            if S.pending: break            # a signal, or its code was dropped
        V[0] = v0; ...                     # every V register any case assigns
        S.icount += _ic
        return pc

so going from one trace to another is a few comparisons, with the V registers
staying in locals.  A return (RET) or an indirect branch whose target is a case
stays inside too.  The engine enters it through each case's pc
(functools.partial(region, pc)), builds regions from a sample of the pcs the
dispatcher enters (Engine._sample: two windows in a row must find the same hot
traces; a region entered in a window grows by the traces it left for), drops a
new region if two windows after it run guest instructions slower per CPU second
than the one before it (one window's CPU time is too noisy), and drops a region whole when any of its pages is written or one of its
traces is to be retranslated (a hot side exit); it sets S.pending then, so a
running region leaves at its next case change.  Not in processes with threads
(Engine.stop_regions).
"""
from __future__ import annotations

from ..lazyre import lazy_compile
from .block import LINE_MARK, NAMES_MARK, SVC_STORES, RegionPart
from .regcells import declare

# a name generated code gives a global: capitalised (engine.py's list)
_GLOBAL_NAME = lazy_compile(r"\b[A-Z][A-Z0-9_]*\b")

LEAF = 4          # cases compared one by one at the bottom of the search
DEEP = 16         # the search splits by weight down to this depth


def _reg_key(name: str) -> tuple[int, int]:
    if name == "sp":
        return (0, 31)
    return (0 if name[0] == "x" else 1, int(name[1:]))


def _register(name: str) -> str:
    return "X[31]" if name == "sp" else f"{name[0].upper()}[{name[1:]}]"


def _split(cases: list[RegionPart], weight: dict[int, int]) -> int:
    """Where to cut the cases (sorted by pc) in two for a test `pc < C`: the cut
    closest to halving their weight, so a hot case sits near the top of the
    search (busybox gzip -9's larger region: 4.8 -> 3.9 tests a case change, the
    entropy of its weights being 3.4 bits; seq's 6.7 -> 6.4, entropy 5.9)."""
    total = sum(weight.get(p.start, 1) for p in cases)
    best, best_gap, acc = 1, None, 0
    for i in range(1, len(cases)):
        acc += weight.get(cases[i - 1].start, 1)
        gap = abs(2 * acc - total)
        if best_gap is None or gap < best_gap:
            best, best_gap = i, gap
    return best


def region_source(name: str, parts: list[RegionPart], weight: dict[int, int] | None = None,
                  bindable=()) -> str:
    """The source of `def name(pc, S, X, V, ...)` running the traces `parts` (see above);
    weight: how often each case's pc was entered (the search puts the heavy ones
    near its top; a case without a weight counts 1).  bindable: global names (the
    engine's) that the function takes as parameters after V when its cases use
    them; the engine gives them their values as defaults (Engine._make_region), so the
    region's hot loop reads RT, U64, WQ... as locals (a LOAD_FAST, ~3 ns less than
    a LOAD_GLOBAL, twice in most loads and stores)."""
    weight = weight or {}
    registers = sorted(set().union(*(p.registers for p in parts)), key=_reg_key)
    written = set().union(*(p.written for p in parts))
    stored = [r for r in registers if r in written]
    names = "(" + "".join(f"'{r}', " for r in stored) + ")"
    # the X registers are cells (cpu/regcells.py), read and assigned where they
    # are; the V registers the region's locals, loaded on entry, stored at exit
    vectors = [r for r in registers if r[0] == "v"]
    vectors_stored = [r for r in stored if r[0] == "v"]
    # an SVC in a case: the kernel reads the call's registers in X (the case's
    # exit stored them there) and a V register in V
    svc_stores = "; ".join(f"{_register(r)} = {r}" for r in vectors_stored) or "pass"
    out = [f"def {name}(pc, S, X, V{{bound}}):"]
    cells = declare("\n".join(t for p in parts for t in p.lines))
    if cells:
        out.append(f"    {cells}")
    out += [f"    {r} = {_register(r)}" for r in vectors]
    out += ["    _ic = 0", "    while True:"]

    def search(cases: list[RegionPart], ind: str) -> None:
        # (by weight to a depth of DEEP, then by count: the indentation stays bounded)
        if len(cases) <= LEAF:
            # compared one by one, the most entered first
            leaf = sorted(cases, key=lambda p: -weight.get(p.start, 1))
            for i, part in enumerate(leaf):
                out.append(f"{ind}{'elif' if i else 'if'} pc == {part.start:#x}:")
                first = str(len(out) + 1)        # the line number of the case's first line
                out.extend(f"{ind}    {t}".replace(NAMES_MARK, names).replace(LINE_MARK, first)
                           for t in part.lines)
            out.append(f"{ind}else:")
            out.append(f"{ind}    break")
            return
        mid = _split(cases, weight) if len(ind) < 4 * DEEP else len(cases) // 2
        out.append(f"{ind}if pc < {cases[mid].start:#x}:")
        search(cases[:mid], ind + "    ")
        out.append(f"{ind}else:")
        search(cases[mid:], ind + "    ")

    search(sorted(parts, key=lambda p: p.start), "        ")
    out.append("        if S.pending:")
    out.append("            break")
    out += [f"    {_register(r)} = {r}" for r in vectors_stored]
    out += ["    S.icount += _ic", "    return pc"]
    src = "\n".join(out) + "\n"
    if SVC_STORES in src:
        src = src.replace(SVC_STORES, svc_stores)
    bound = sorted(set(_GLOBAL_NAME.findall(src)).intersection(bindable) - {"S", "X", "V"})
    return src.replace("{bound}", "".join(f", {n}" for n in bound), 1)
