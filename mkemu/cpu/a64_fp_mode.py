"""A loop reads S.fpmode once, not at each scalar FP operation of each trip.

Each inline FP fast path (a64_fp) reads `_fK = S.fpmode` (FPCR, and whether
FPSR.IXC is clear) and compares it with FP_SLOW, a two-digit int compare that
CPython does not specialise: ~200 host instructions an operation.  In a loop
whose calls cannot change the mode but for the FP helpers, the trace reads it
before the loop into `_fm` (and `_fx`, the comparison) and again after every
call of an FP helper (the slow paths, which set FPSR flags); an MSR of FPCR or
FPSR, or any other call, leaves the loop as it was.
"""
from __future__ import annotations

import re

from ..lazyre import lazy_compile
from .a64_fp_pages import SAFE
from .tracetext import BACK_EDGE
from .tracetext import CALLED as _CALLED

_FP_SLOW = "0x80000000"
_READ = lazy_compile(r"; (_f\d+) = S\.fpmode$")
# calls that leave FPSR and FPCR alone: registers, scratch, conversions, memory
_PURE = frozenset({"X", "V", "FD", "FQ", "DQ", "QD", "F64", "D8", "SPLITS", "RT", "WD", "WT",
                   "HOT", "LD", "ST", "LDD"})
_HELPERS = SAFE - _PURE
REFRESH = f"_fm = S.fpmode; _fx = _fm == {_FP_SLOW}"


def hoist_mode(b) -> None:
    """Rewrite the loop body (b.lines) to read the FP mode before the loop and after
    each FP helper call, if nothing else in it can change the mode."""
    lines = b.lines
    modes = []
    for t in lines:
        m = _READ.search(t)
        if m:
            modes.append(m.group(1))
    if not modes:
        return
    refresh = []
    for i, t in enumerate(lines):
        s = t.lstrip()
        if s.startswith(("return", "#")) or t.strip() == BACK_EDGE:
            continue
        if "S.fpcr" in t or "S.fpsr" in t or "S._fp" in t:
            return
        called = set(_CALLED.findall(t))
        if called - SAFE - _PURE:
            return
        if called & _HELPERS:
            if t.rstrip().endswith(":"):
                return
            refresh.append(i)
    names = re.compile(r"(?<![\w.])(" + "|".join(modes) + r")(?!\w)")
    for i, t in enumerate(lines):     # (another S.fpmode read, such as FCMP's, stays)
        lines[i] = names.sub("_fm", _READ.sub("", t)).replace(f"_fm == {_FP_SLOW}", "_fx")
    for i in refresh:
        lines[i] += f"; {REFRESH}"
    b.head_lines.append(REFRESH)
