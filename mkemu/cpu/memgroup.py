"""Runs of adjacent loads (or stores) off one base register become one struct call.

Register spills, prologues and epilogues are runs of LDR/LDP (STR/STP) at
constant offsets from one base: fib's return site reloads 16 registers with 9
instructions, 9 page look-ups and 9 struct calls (about 0.8 us).  Once the trace
is complete (BlockBuilder.source) such a run is rewritten as one fast path: one
page look-up and one struct call for all the loads (unpack_from of a format
with pad bytes over any gap), or one page look-up and one slice assignment of
packed bytes per contiguous stretch of the stores.  If the fast path raises
(page not in the TLB, the run crossing the page end) its `except` runs the
instructions' own lines unchanged, one by one, so a fault is reported at the
exact instruction with what the architecture has done before it.

What may join a run (checked on the builder's records of its accesses, `MemOp`):
accesses each made of only its `_pc` line, its address line (base + constant)
and its access; the same base, which no load of the run assigns; no register
loaded twice; no two accesses overlapping.  Other instructions' lines may lie
between them if each is a plain assignment of locals (no call, subscript or
attribute: nothing that can raise) that writes neither the base nor what a
later access of the run reads or loads, and reads nothing a later load
assigns: they run after the fast path (its `else:`), in their order, and in
place on the slow path.  Stores join only off SP: a slice assignment
is one memcpy, which keeps each aligned word whole in practice, but the word
views (one item per register, BlockBuilder.store) are what single-copy
atomicity is promised by, and only the stack is private enough to do without.
"""
from __future__ import annotations

import re

from ..lazyre import lazy_compile
from ..record import record

from .pagereuse import reuse_pages

_FMT = {1: "B", 2: "H", 4: "I", 8: "Q"}
_ADDR = lazy_compile(r"^(_a\d+) = (\w+)(?: ([+-]) (0x[0-9a-f]+))?$")
_MAX_SPAN = 512          # bytes a run may cover (a load run's pad bytes included)


@record
class MemOp:
    """One load or store emitted by BlockBuilder (load, load_pair, store, store_pair)."""
    pc: int
    first: int           # index of its `_pc = ` line in BlockBuilder.lines
    body: int            # index of its first access line
    end: int             # index after its last line
    load: bool
    addr: str            # the address expression's name (a temporary or a register local)
    names: tuple         # loads: the locals assigned; stores: the value expressions
    size: int            # bytes of each element
    base: str = ""
    off: int = 0

    def span(self) -> tuple[int, int]:
        return self.off, self.off + self.size * len(self.names)


def _parse(b, op: MemOp) -> bool:
    """Fill op.base/op.off from its address line; False if op is not a plain access."""
    lines = b.lines
    if op.first >= len(lines) or lines[op.first] != f"_pc = {op.pc:#x}" or op.size not in _FMT:
        return False
    between = lines[op.first + 1:op.body]
    if not between:
        if not op.addr.isidentifier() or op.addr.startswith("_"):
            return False            # a literal address, or a temporary made elsewhere
        op.base, op.off = op.addr, 0
        return True
    if len(between) != 1:
        return False
    m = _ADDR.match(between[0])
    if m is None or m.group(1) != op.addr:
        return False
    op.base = m.group(2)
    off = int(m.group(4), 16) if m.group(4) else 0
    op.off = -off if m.group(3) == "-" else off
    return True


_MOVABLE = lazy_compile(r"^(\w+(?:, \w+)*) = ([^.\[\]]*)$")
_NAME = lazy_compile(r"\b[A-Za-z_]\w*")
_CALL = lazy_compile(r"\w\s*\(")


_MOVABLE_SEEN: dict[str, tuple[set[str], set[str]] | None] = {}


def _movable(line: str) -> tuple[set[str], set[str]] | None:
    """(names assigned, names read) of a line that may run after the run's
    accesses instead of between them: a plain assignment of an expression of
    locals, with no call, subscript or attribute (nothing that can raise or
    touch memory); None for any other line.  Remembered by the line's text
    (translation cost: `x29 = sp` is in many traces); callers do not change
    the sets."""
    try:
        return _MOVABLE_SEEN[line]
    except KeyError:
        pass
    if len(_MOVABLE_SEEN) > 50000:
        _MOVABLE_SEEN.clear()
    m = _MOVABLE.match(line)
    if m is None or _CALL.search(m.group(2)):
        rw = None
    else:
        lhs = set(m.group(1).split(", "))
        rw = None if lhs & {"_pc", "_n", "_g", "_o", "_p"} else (lhs, set(_NAME.findall(m.group(2))))
    _MOVABLE_SEEN[line] = rw
    return rw


class _Run:
    """Accesses joined so far and the lines of other instructions between them."""

    def __init__(self, op: MemOp) -> None:
        self.ops = [op]
        self.moved: list[tuple[int, set[str], set[str]]] = []   # (op index after, writes, reads)
        self.delta = 0           # the base moved by the first access's pre-index writeback


def _joins(run: _Run, op: MemOp, lines: list[str]) -> bool:
    last = run.ops[-1]
    if op.load != last.load or op.base != last.base:
        return False
    between = []
    delta = run.delta
    first = run.ops[0]
    for ln in lines[last.end:op.first]:
        if ln.startswith("#"):
            continue
        rw = _movable(ln)
        if rw is None:
            return False
        if op.base in rw[0]:
            # a prologue's `stp x29, x30, [sp, #-N]!`: the later accesses' base is
            # the first one's address; their offsets are taken from the old base
            if (len(run.ops) > 1 or delta or first.addr == first.base
                    or ln != f"{first.base} = ({first.addr}) & 0xFFFFFFFFFFFFFFFF"):
                return False
            delta = first.off
        between.append(rw)
    mine = set(op.names) if op.load else set(_NAME.findall(" ".join(op.names)))
    # a line moved after the accesses must not write what a later access reads
    # (a store's value) or loads, nor read what a later load assigns
    for writes, reads in [(w, r) for _, w, r in run.moved] + between:
        if writes & mine or (op.load and reads & mine):
            return False
    if op.load:
        assigned = {n for o in run.ops for n in o.names}
        if op.base in assigned or op.base in op.names or assigned & set(op.names):
            return False
    elif op.base != "sp":
        return False
    lo, hi = op.off + delta, op.span()[1] + delta
    if any(lo < h and l < hi for l, h in (o.span() for o in run.ops)):
        return False
    los = min(lo, *(o.off for o in run.ops))
    his = max(hi, *(o.span()[1] for o in run.ops))
    if his - los > _MAX_SPAN:
        return False
    op.off = lo
    run.delta = delta
    run.moved += [(len(run.ops), w, r) for w, r in between]
    run.ops.append(op)
    return True


def _stretches(run: list[MemOp]) -> list[list[tuple[int, int, str]]]:
    """The stores' elements (offset, size, value) sorted, split where a gap is."""
    elems = sorted((o.off + i * o.size, o.size, v) for o in run for i, v in enumerate(o.names))
    out: list[list[tuple[int, int, str]]] = []
    for e in elems:
        if out and out[-1][-1][0] + out[-1][-1][1] == e[0]:
            out[-1].append(e)
        else:
            out.append([e])
    return out


def _fast_path(run: list[MemOp], used_later: set[str]) -> list[str]:
    base = run[0].base
    lo = min(o.off for o in run)
    hi = max(o.span()[1] for o in run)
    g = "_g"
    out = [f"{g} = {base} + {lo:#x}" if lo > 0 else f"{g} = {base} - {-lo:#x}" if lo < 0
           else f"{g} = {base}"]
    # an address temporary read after the run (a writeback) is still assigned
    for o in run:
        if o.addr in used_later and o.addr != base:
            d = o.off - lo
            out.append(f"{o.addr} = {g} + {d:#x}" if d else f"{o.addr} = {g}")
    if run[0].load:
        elems = sorted((o.off + i * o.size, o.size, n) for o in run for i, n in enumerate(o.names))
        fmt, pos = "<", lo
        for off, size, _ in elems:
            if off > pos:
                fmt += f"{off - pos}x"
            fmt += _FMT[size]
            pos = off + size
        names = ", ".join(n for _, _, n in elems)
        # a run crossing the page's end reads through the slow path (GX), not by
        # raising: a raise costs in proportion to the try blocks before it in its
        # function (a region's hundreds), and a struct that straddles a page boundary
        # crosses it at every run (busybox gzip -9's state: 35% of its time)
        out.append(f"try: {names}{',' if len(elems) == 1 else ''} = GU['{fmt}'](RT[{g} >> 12], {g} & 4095)"
                   f" if {g} & 4095 <= {4096 - (hi - lo)} else GX(RD, '{fmt}', {g})")
        return out
    stretches = _stretches(run)
    out.append("try:")
    body = [f"_o = {g} & 4095"]
    if len(stretches) > 1:           # nothing written unless every stretch fits the page
        body.append(f"if _o > {4096 - (hi - lo)}: raise IndexError")
    body.append(f"_p = WT[{g} >> 12]")
    for st in stretches:
        a = st[0][0] - lo
        fmt = "<" + "".join(_FMT[s] for _, s, _ in st)
        vals = ", ".join(v for _, _, v in st)
        start = f"_o + {a}" if a else "_o"
        # pack_into writes the page in place: no bytes object and no slice (two STPs
        # of a frame: ~330 -> ~230 ns); past the page's end it raises, writing nothing
        body.append(f"GI['{fmt}'](_p, {start}, {vals})")
    out += ["    " + ln for ln in body]
    return out


_TEMP = lazy_compile(r"\b_a\d+\b")


def group_memory(b) -> None:
    """Rewrite b.lines: each run of two or more joinable accesses becomes its
    fast path, with the original lines as the `except Exception` path."""
    ops = b.mem_ops
    if len(ops) < 2:
        return
    per_pc: dict[int, int] = {}
    for op in ops:
        per_pc[op.pc] = per_pc.get(op.pc, 0) + 1
    plain = [op for op in ops if per_pc[op.pc] == 1 and _parse(b, op)]
    runs: list[_Run] = []
    for op in plain:
        if not (runs and _joins(runs[-1], op, b.lines)):
            runs.append(_Run(op))
    runs = [r for r in runs if len(r.ops) > 1]
    in_runs = {id(op) for r in runs for op in r.ops}
    # the other loads off one base share its page look-up (same lines, rewritten)
    reuse_pages(b, plain, lambda op: id(op) not in in_runs and per_pc[op.pc] == 1,
                _movable)
    if not runs:
        return
    lines = b.lines
    # the runs' address temporaries -> the last line naming each (a writeback reads it)
    last_use: dict[str, int] = {}
    for t in {op.addr for run in runs for op in run.ops if op.addr.startswith("_a")}:
        word = re.compile(rf"\b{t}\b")      # _a1 is in _a12 too
        for i in range(len(lines) - 1, -1, -1):
            if t in lines[i] and word.search(lines[i]):
                last_use[t] = i
                break
    out: list[str] = []
    pos = 0
    for run in runs:
        ops = run.ops
        first, end = ops[0].first, ops[-1].end
        out += lines[pos:first]
        # the other instructions' lines between the accesses, in order
        moved = [ln for a, c in zip(ops, ops[1:]) for ln in lines[a.end:c.first]
                 if not ln.startswith("#")]
        later = {t for t, i in last_use.items() if i >= end}
        later.update(_TEMP.findall("\n".join(moved)))
        out += _fast_path(ops, later)
        out.append("except Exception:")
        out += ["    " + ln for ln in lines[first:end]]
        if moved:
            out.append("else:")
            out += ["    " + ln for ln in moved]
        pos = end
    out += lines[pos:]
    b.lines = out
