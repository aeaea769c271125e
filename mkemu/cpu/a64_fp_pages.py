"""Double loads that keep their page across a loop's trips.

An LDR D in a loop (a64_fp_twin.load_d) looks its page up on every trip: the
address's page number and offset (two new ints each, ~500 host instructions for
the 48-bit addresses of mmap'd arrays), a dict subscript and an unpack_from call.
A loop walking an array touches the same page for hundreds of trips, so each
such load keeps, in trace locals, the start of the page it last read and that
page's double view, and a trip costs one subtraction, one mask and one
subscript while the address stays in that page:

    if _onK and not (_kK := _aJ - _loK) & -4089: _dN = _vK[_kK >> 3]
    else: <the load's usual lines>, then keep the page if the address is aligned

(-4089 is ~0xFF8: the mask is zero exactly for an aligned offset 0..4088.)  A load
whose double store goes through its view (a64_fp_twin._fuse: c[j] += ...) keeps
that view, a page of WD, so the store still writes through it.  A load that
changes pages more than once every 64 instructions (a column walk: one page a
trip) stops keeping them for the rest of the trace's run (`_onK`): the fills
would cost more than the look-ups they save.

Cached views stand for TLB entries, so they live only while the TLB cannot
change: a slow path (LD, ST, LDD) may refill or flush it, or apply another
thread's munmap (sharedspace.sync), so each one makes every cached page
unknown again (`_loK = NOPAGE`), as does each entry into the trace (its head
lines).  Only a loop whose every call is one of the loads' and stores' own
lines, an FP helper or an exit is rewritten: any other call (an integer load,
another helper) might reach the TLB without saying so.
"""
from __future__ import annotations

import re

from ..lazyre import lazy_compile
from .block import assigned_registers
from .tracetext import BACK_EDGE
from .tracetext import CALLED as _CALLED

NOPAGE = "-0x100000000000000000000"     # far below any address: every test misses
FAR = "0x100000000000000000000"         # a base's offset from NOPAGE: as far

# calls that never touch the TLB: registers, the float scratch and conversions, the
# FP helpers (a64_fp.HELPERS but LDD), page tables read directly, the side-exit counter
SAFE = frozenset({
    "X", "V", "FD", "FQ", "DQ", "QD", "F64", "D8", "SPLITS", "RT", "WD", "WT", "HOT",
    "FADD", "FSUB", "FMUL", "FDIV", "FMAX", "FMIN", "FMAXNM", "FMINNM", "FMULX", "FABD",
    "FMADD", "FSQRT", "FCMP", "FRINT", "TO_FIXED", "FROM_FIXED", "FCVT", "FCMEQ", "FCMGE",
    "FCMGT", "FRECPE", "FRSQRTE", "FADD64", "FSUB64", "FMUL64", "FDIV64", "FADD32", "FSUB32",
    "FMUL32", "FDIV32", "FMADD64", "FMADD32", "FU3D", "FP3Q", "FU2D", "FP2Q", "FRECPS",
    "FRINT_N", "FRSQRTS",
})

_LOAD = lazy_compile(r"^try: (_d\d+) = F64\(RT\[(\w+) >> 12\], \2 & 4095\)\[0\]$")
_FUSED = lazy_compile(r"^try: (_w\d+) = WD\[(\w+) >> 12 if not \2 & 7 else -1\]; "
                    r"(_i\d+) = \(\2 & 4095\) >> 3; (_d\d+) = \1\[\3\]$")
_BASE_PLUS = lazy_compile(r"^(_a\d+) = (x\d+|sp) \+ (.+)$")
_STORE_SLOW = lazy_compile(r"^ *except Exception: ST\(\w+, 8, QD\(\w+\)\)$")


def _store_reuse(lines: list[str], j: int, a: str, m: re.Match) -> bool:
    """Is line j the fused store's `_aX = a` (a64_fp_twin.store_d), run only when the
    load's view is None, so only in a trip whose load took its full path?"""
    if m.re.pattern != _FUSED.pattern or j < 2 or re.fullmatch(rf"\s*_a\d+ = {a}", lines[j]) is None:
        return False
    return lines[j - 1].strip() == "else:" and \
        lines[j - 2].strip().startswith(f"if {m.group(1)} is not None: ")


def cache_pages(b) -> None:
    """Rewrite the loop body's double loads (b.lines, a loop trace's body after the
    other finishers) to keep their pages across trips, if every call of the body
    allows it."""
    lines = b.lines
    loads = []                               # (line index, kind, match)
    skip = set()
    for i, t in enumerate(lines):
        m = _LOAD.match(t)
        if m and i + 1 < len(lines) and lines[i + 1] == f"except Exception: {m.group(1)} = DQ(LD({m.group(2)}, 8))":
            loads.append((i, "load", m))
            skip.update((i, i + 1))
            continue
        m = _FUSED.match(t)
        if m and i + 1 < len(lines) and \
                lines[i + 1] == f"except Exception: {m.group(1)} = None; {m.group(4)} = LDD(RT, LD, {m.group(2)})":
            loads.append((i, "fused", m))
            skip.update((i, i + 1))
    if not loads:
        return
    stores = []
    for i, t in enumerate(lines):
        if i in skip:
            continue
        s = t.lstrip()
        if s.startswith(("return", "#")) or t.strip() == BACK_EDGE:
            continue
        if _STORE_SLOW.match(t):
            stores.append(i)
            continue
        if any(name not in SAFE for name in _CALLED.findall(t)):
            return                           # a call that may reach the TLB
    pages = [b.tmp("lo") for _ in loads]
    # a load from `_aJ = xB + idx` whose _aJ nothing else reads keeps xB - page start
    # too (`_bK`, kept up after each line assigning xB): a trip adds idx to it, where
    # base + idx - start costs two operations on the address's 48-bit ints
    bases: dict[int, tuple[str, str, str]] = {}      # load index -> (base, idx, _bK)
    for n, (i, _, m) in enumerate(loads):
        a = m.group(2)
        am = _BASE_PLUS.match(lines[i - 1]) if i and a.startswith("_a") else None
        if am is None or am.group(1) != a:
            continue
        word = re.compile(rf"(?<![\w.]){a}(?!\w)")
        if any(word.search(t) and not _store_reuse(lines, j, a, m) for j, t in enumerate(lines)
               if j not in (i - 1, i, i + 1)):
            continue                                 # (a store reusing the address)
        base = am.group(2)
        writers = [j for j, t in enumerate(lines) if base in assigned_registers(t)]
        if any(lines[j].rstrip().endswith(":") for j in writers):
            continue
        bases[n] = (base, am.group(3), b.tmp("b"))
    reset = " = ".join(pages) + f" = {NOPAGE}"
    if bases:
        reset += "; " + " = ".join(bk for _, _, bk in bases.values()) + f" = {FAR}"
    for i in stores:
        lines[i] += f"; {reset}"
    for n, (base, _, bk) in bases.items():
        for j, t in enumerate(lines):
            if base in assigned_registers(t):
                lines[j] = f"{t}; {bk} = {base} - {pages[n]}"
    head = []
    for n in reversed(range(len(loads))):
        (i, kind, m), lo = loads[n], pages[n]
        k, on, c = b.tmp("k"), b.tmp("on"), b.tmp("c")
        head.append(f"{on} = True; {c} = 0")
        # a load that moves to another page every few trips (a column walk) stops
        # keeping pages for the rest of this run: more than one fill a 64 instructions
        count = [f"{c} += 1", f"if {c} > 16 and {c} << 6 > _n: {on} = False"]
        first, address = i, []
        if n in bases:
            base, idx, bk = bases[n]
            test = f"({k} := ({idx}) + {bk})"
            first, address = i - 1, [f"    {lines[i - 1]}"]
            fill = f"{lo} = {m.group(2)} & -4096; {bk} = {base} - {lo}"
        else:
            test = f"({k} := {m.group(2)} - {lo})"
            fill = f"{lo} = {m.group(2)} & -4096"
        if kind == "load":
            d, a = m.group(1), m.group(2)
            v = b.tmp("v")
            new = [f"if {on} and not {test} & -4089: {d} = {v}[{k} >> 3]",
                   "else:", *address,
                   f"    try: {d} = F64(RT[{a} >> 12], {a} & 4095)[0]",
                   f"    except Exception: {d} = DQ(LD({a}, 8)); {reset}",
                   "    else:",
                   f"        if {on} and not {a} & 7:",
                   f"            {fill}; {v} = WD.get({a} >> 12) or RT[{a} >> 12].cast('d')",
                   *(f"            {t}" for t in count)]
        else:
            w, a, idx, d = m.groups()
            new = [f"if {on} and not {test} & -4089: {idx} = {k} >> 3; {d} = {w}[{idx}]",
                   "else:", *address,
                   f"    try: {w} = WD[{a} >> 12 if not {a} & 7 else -1]; {idx} = ({a} & 4095) >> 3; {d} = {w}[{idx}]",
                   f"    except Exception: {w} = None; {d} = LDD(RT, LD, {a}); {reset}",
                   "    else:",
                   f"        if {on}:",
                   f"            {fill}",
                   *(f"            {t}" for t in count)]
        lines[first:i + 2] = new
    b.head_lines.extend(head)
    b.head_lines.append(reset)
