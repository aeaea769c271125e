"""Regions: the hot traces of a loop nest made one Python function.

Every trace is a function of its own: it loads the registers it reads from the X
list on entry, stores what it assigned on exit, and returns the next pc to the
dispatcher (Engine.run), which looks it up and calls it.  In code whose hot
path crosses many traces (fib's unrolled recursion, an interpreter's opcode
handlers, busybox's loops over calls) that round trip, not the instructions, is
most of the cost.  A region is one function holding several traces as cases of
one loop:

    def region_400720(pc, S, X, V):
        x0 = X[0]; ... sp = X[31]          # every register any case touches
        _ic = 0                            # instructions done (S.icount at the exit)
        while True:
            if pc < 0x400928:              # a binary search over the cases' pcs
                if pc == 0x400720:
                    <the trace at 0x400720: an exit is `_ic += N; pc = TARGET; break`>
                elif ...
                else: break                # pc is no case: leave
            else: ...
            if S.pending: break            # a signal, or its code was dropped
        X[0] = x0; ...                     # every register any case assigns
        S.icount += _ic
        return pc

so going from one trace to another is a few comparisons, with the registers
staying in locals.  A return (RET) or an indirect branch whose target is a case
stays inside too.  The engine enters it through each case's pc
(functools.partial(region, pc)), builds regions from a sample of the pcs the
dispatcher enters (Engine._sample: two windows in a row must find the same hot
traces; a region entered in a window grows by the traces it left for), keeps a
new region only if the next window runs guest instructions no slower per CPU
second, and drops a region whole when any of its pages is written or one of its
traces is to be retranslated (a hot side exit); it sets S.pending then, so a
running region leaves at its next case change.  Not in processes with threads
(Engine.stop_regions).
"""
from __future__ import annotations

from .block import NAMES_MARK, RegionPart

LEAF = 4          # cases compared one by one at the bottom of the search


def _reg_key(name: str) -> tuple[int, int]:
    if name == "sp":
        return (0, 31)
    return (0 if name[0] == "x" else 1, int(name[1:]))


def _register(name: str) -> str:
    return "X[31]" if name == "sp" else f"{name[0].upper()}[{name[1:]}]"


def region_source(name: str, parts: list[RegionPart]) -> str:
    """The source of `def name(pc, S, X, V)` running the traces `parts` (see above)."""
    registers = sorted(set().union(*(p.registers for p in parts)), key=_reg_key)
    written = set().union(*(p.written for p in parts))
    stored = [r for r in registers if r in written]
    names = "(" + "".join(f"'{r}', " for r in stored) + ")"
    out = [f"def {name}(pc, S, X, V):"]
    out += [f"    {r} = {_register(r)}" for r in registers]
    out += ["    _ic = 0", "    while True:"]
    by_pc = sorted(parts, key=lambda p: p.start)

    def search(lo: int, hi: int, ind: str) -> None:
        if hi - lo <= LEAF:
            for i in range(lo, hi):
                part = by_pc[i]
                out.append(f"{ind}{'elif' if i > lo else 'if'} pc == {part.start:#x}:")
                out.extend(f"{ind}    {t}".replace(NAMES_MARK, names) for t in part.lines)
            out.append(f"{ind}else:")
            out.append(f"{ind}    break")
            return
        mid = (lo + hi) // 2
        out.append(f"{ind}if pc < {by_pc[mid].start:#x}:")
        search(lo, mid, ind + "    ")
        out.append(f"{ind}else:")
        search(mid, hi, ind + "    ")

    search(0, len(by_pc), "        ")
    out.append("        if S.pending:")
    out.append("            break")
    out += [f"    {_register(r)} = {r}" for r in stored]
    out += ["    S.icount += _ic", "    return pc"]
    return "\n".join(out) + "\n"
