"""Doubles kept as host floats inside a trace: a D register's "twin".

An LDR Dt, a scalar double FMADD/FMUL/FADD/FSUB result, or an operand turned
into a float once, leaves a float local (the twin, `_dK`) holding the double
whose bits are the register's low 64 (the rest of the register is zero after a
load or an FP result).  Later double arithmetic and STR Dt read the twin: no
int <-> float conversion per operation, and the store writes the float through
the page's double view (WD).  The register local itself (vN, an int) is still
assigned by one line right after the twin's definition,

    FD[0] = _dK; vN = FQ[0]

(the materialisation), which this module's finisher moves out of the trip when
no line of the trip reads vN: into the exits after it and the fault path, like
a64_neon_sink.  The difference from that pass: when the trip goes round, the
next trip may fault before it reaches the definition again (at the LDR
itself), and the twin still holds the previous trip's value there, provided
no faultable instruction comes after the lines assigning it (a load's
`try: _dK = ...` raises before it assigns); those faults copy under `if _n` (a
trip has been completed; on the first one vN is still the value loaded on
entry), and only when no other back edge comes before the definition.  A load
whose float nothing reads goes back to loading the int.

A twin is a fact about the text emitted so far (a trace is straight-line text:
a side exit returns, a loop restarts at its top with nothing known): it holds
from its line until the next line assigning vN or any loop line.  A conversion
of a register that a loop assigns only by materialisations is made before the
loop and kept up by a copy after each of them (with its Veltkamp test: a loop's
invariant factor costs nothing per trip).  A double store reuses its load's
address line (c[j] += ...), and register-offset addresses go unmasked (past
2**64 the page lookup misses and LD/ST mask).
"""
from __future__ import annotations

import re
import struct

from ..lazyre import lazy_compile
from . import fpu
from .a64_fp_mode import hoist_mode
from .a64_fp_pages import cache_pages
from .block import assigned_registers
from .tracetext import BACK_EDGE as _BACK_EDGE
from .tracetext import CALLED as _CALLED
from .tracetext import EXIT_STORES as _EXIT
from .tracetext import FAULT_MARK as _FAULTABLE
from .tracetext import exit_start as _exit_start

_DOUBLE = struct.Struct("<d")


def _float_of(q: int) -> float:
    fpu._Q[0] = q
    return fpu._D[0]


def _bits_of(d: float) -> int:
    fpu._D[0] = d
    return fpu._Q[0]


def _load_double(rt, ld, addr: int) -> float:
    """load_d's two lines, for a load that found no double view (see _fuse)."""
    try:
        return _DOUBLE.unpack_from(rt[addr >> 12], addr & 4095)[0]
    except Exception:
        return _float_of(ld(addr, 8))


class _Splits(dict):
    """double -> the Veltkamp constant that tests a factor multiplied by it: x * y is
    exact (short of underflow and overflow, tested apart) when the significands'
    bits add up to at most 53, and x == x*C - (x*C - x) with C = 2**s + 1 (2 <= s <= 51)
    says x has at most 53 - s (Veltkamp's split; Boldo: with underflow too).  So
    y of b significant bits gives 2**b + 1; 0.0 for a zero or a power of two
    (any x: the test is skipped); nan (every x fails) for y of 52 or 53 bits, inf
    and NaN.  Memoised (one subscript when the invariant factor changes; -0.0 and 0.0
    share an entry, NaN keys are never found)."""

    def __missing__(self, y: float) -> float:
        q = _bits_of(y)
        exp, sig = (q >> 52) & 0x7FF, q & ((1 << 52) - 1)
        if exp == 0x7FF:
            split = _NAN
        else:
            if exp:
                sig |= 1 << 52
            bits = sig.bit_length() - ((sig & -sig).bit_length() - 1) if sig else 0
            split = 0.0 if bits <= 1 else float((1 << bits) + 1) if bits <= 51 else _NAN
        if len(self) >= 4096:
            self.clear()
        self[y] = split
        return split


_NAN = float("nan")

HELPERS = {"F64": _DOUBLE.unpack_from, "D8": _DOUBLE.pack, "DQ": _float_of, "QD": _bits_of,
           "LDD": _load_double, "SPLITS": _Splits()}

M64 = 0xFFFF_FFFF_FFFF_FFFF
SPLIT = "134217729.0"          # 2**27 + 1: Veltkamp's split of a double into 26 + 26 bits


class _State:
    def __init__(self) -> None:
        self.twins: dict[int, tuple[str, int]] = {}   # register -> (float local, line index after it)
        self.longs: dict[str, str] = {}               # float local -> its hoistable "long significand" flag
        self.materialised: list[tuple[int, str]] = []  # (register, float local)
        self.conversions: list[tuple[int, str]] = []   # (register, float local) converted in the body
        self.loads: dict[str, str] = {}                # float local of an LDR Dn -> its address name
        self.fused: dict[str, tuple[str, str]] = {}    # address name -> (double view, index) of its load
        self.products: list[tuple[str, str, str]] = []  # (factor, factor, product_test's text)


def _state(b) -> _State:
    st = b.notes.get("fp_twin.state")
    if st is None:
        st = b.notes["fp_twin.state"] = _State()
        b.finishers.append(_finish)
    return st


def twin(b, n: int) -> str | None:
    """The float local holding Dn here, or None."""
    st = b.notes.get("fp_twin.state")
    if st is None or n not in st.twins:
        return None
    name, index = st.twins[n]
    reg = f"v{n}"
    for text in b.lines[index:]:
        if reg in assigned_registers(text) or "continue" in text or text.lstrip().startswith("while"):
            del st.twins[n]
            return None
    return name


def usable(b) -> bool:
    """Twins are made and read only at the body's level (not inside an emitter's `if`)."""
    return b.depth == 0


def wanted(b, regs) -> bool:
    """Does double arithmetic on these registers go on twins?  When one of them has
    a twin: with none, a conversion of each (and a float test of each significand)
    would cost more than a64_fp's one pack and unpack of the ints."""
    return usable(b) and any(twin(b, n) is not None for n in regs)


def materialise(b, n: int, d: str) -> None:
    """Vn = the bits of the float d (just assigned at the body's level): Dn's twin is d."""
    st = _state(b)
    b.touched_v.add(n)
    b.line(f"FD[0] = {d}; v{n} = FQ[0]")
    st.twins[n] = (d, len(b.lines))
    st.materialised.append((n, d))


def operand(b, n: int) -> str:
    """A float local holding Dn (its twin, or a conversion made here, which
    becomes the twin)."""
    d = twin(b, n)
    if d is not None:
        return d
    st = _state(b)
    d = b.tmp("d")
    b.touched_v.add(n)
    b.line(f"FQ[0] = v{n} & {M64:#x}; {d} = FD[0]")
    st.twins[n] = (d, len(b.lines))
    st.conversions.append((n, d))
    return d


def long_test(b, d: str) -> str:
    """An expression true when the double d may have more than 26 significant
    bits (or is not finite): Veltkamp's split x*C - (x*C - x) keeps the top 26
    bits of x (Boldo: exact also with underflow, so equality means x fits)."""
    c = b.tmp("c")
    test = f"(({c} := {d} * {SPLIT}) - ({c} - {d}) != {d})"
    _state(b).longs.setdefault(d, []).append(test)
    return test


def product_test(b, x: str, y: str) -> str:
    """An expression true when the product of the doubles x and y may be inexact
    for want of bits (their long_tests; with one of them made before the loop,
    _hoist makes it a test of the other against what that one leaves)."""
    test = f"({long_test(b, x)} or {long_test(b, y)})"
    _state(b).products.append((x, y, test))
    return test


def load_d(b, n: int, addr: str) -> None:
    """LDR Dn from addr (a name): the double as a float, then Vn."""
    _unmask_address(b, addr)
    d = b.tmp("d")
    b.line(f"try: {d} = F64(RT[{addr} >> 12], {addr} & 4095)[0]")
    b.line(f"except Exception: {d} = DQ(LD({addr}, 8))")
    _state(b).loads[d] = addr
    materialise(b, n, d)


def store_d(b, addr: str, d: str) -> None:
    """STR of a D register whose twin is d: the float through the page's double view
    (one aligned 8-byte copy, single-copy atomic as an int store is); unaligned, its
    bytes (a page-crossing slice is short and raises: the slow path takes it).  To
    the address an LDR D of the trip loaded from (c[j] += ...): through the view and
    index that load found (_fuse), else as above."""
    _unmask_address(b, addr)
    loaded = _reuse_address(b, addr)
    fused = _fuse(b, loaded) if loaded is not None else None
    if fused is not None:
        view, index = fused
        b.lines.pop()                     # `addr = loaded`: only the other path needs it
        b.line(f"if {view} is not None: {view}[{index}] = {d}")
        b.line("else:")
        b.depth += 1
        b.line(f"{addr} = {loaded}")
        _store_lines(b, addr, d)
        b.depth -= 1
        return
    _store_lines(b, addr, d)


def _store_lines(b, addr: str, d: str) -> None:
    b.line("try:")
    b.depth += 1
    b.line(f"if {addr} & 7: _o = {addr} & 4095; WT[{addr} >> 12][_o:_o + 8] = D8({d})")
    b.line(f"else: WD[{addr} >> 12][({addr} & 4095) >> 3] = {d}")
    b.depth -= 1
    b.line(f"except Exception: ST({addr}, 8, QD({d}))")


# names generated code calls or subscripts that touch no guest memory (the registers,
# the float scratch, the double helpers of a64_fp's slow paths); an exit's `return` line
# may call anything (the trip ends there)
_NO_ACCESS = frozenset({"X", "V", "FD", "FQ", "DQ", "QD", "FMADD64", "FMUL64", "FADD64", "FSUB64"})
_ADDRESS = lazy_compile(r"^(_a\d+) = (.+)$")
_IDENT = lazy_compile(r"(?<![\w.])[A-Za-z_]\w*")


def _unmask_address(b, addr: str) -> None:
    """The address line `_aK = (expr) & M64`, just emitted, loses its mask: past 2**64
    the page lookup misses and the slow path (LD, ST) masks it, as it does for the
    unsigned-offset forms' `base + off`."""
    if not addr.startswith("_a") or not b.lines:      # a register as the address: no line of its own
        return
    if b.lines[-1].startswith(f"{addr} = (") and b.lines[-1].endswith(f") & {M64:#x}"):
        inner = b.lines[-1][len(addr) + 4:-len(f") & {M64:#x}")]
        if inner.count("(") == inner.count(")"):
            b.lines[-1] = f"{addr} = {inner}"


def _reuse_address(b, addr: str) -> str | None:
    """The store's address line `_aK = expr`, just emitted, becomes `_aK = _aJ` when an
    earlier line of the body computed the same expr and nothing since assigned what it
    reads (a load and a store of one element: c[j] += ...); returns _aJ."""
    if not addr.startswith("_a") or not b.lines or not b.lines[-1].startswith(f"{addr} = "):
        return None
    expr = b.lines[-1][len(addr) + 3:]
    reads = set(_IDENT.findall(expr))
    for i in range(len(b.lines) - 2, -1, -1):
        t = b.lines[i]
        m = _ADDRESS.match(t)
        if m and m.group(2) == expr:
            b.lines[-1] = f"{addr} = {m.group(1)}"
            return m.group(1)
        if "continue" in t or t.lstrip().startswith("while") or any(_assigns(t, r) for r in reads):
            return None
    return None


def _fuse(b, addr: str) -> tuple[str, str] | None:
    """The LDR D from addr earlier in the trip (found by _reuse_address: no loop edge
    since) loads through the page's double view WD when addr is aligned and the page
    writable, keeping the view and the index for the store to addr; returns their
    names.  Else (the page not in WD, unaligned) the view is None and the load takes
    LDD, the load's usual lines in a call.  A page in WD was readable at the load and
    stays writable until the store: nothing between (no SVC: it ends a trace) maps,
    protects or unmaps memory, and no other access comes between: a slow path's page
    look-up may apply a sibling thread's munmap or mprotect (sharedspace.sync), which
    the store must then see."""
    st = _state(b)
    if addr in st.fused:
        return st.fused[addr]
    head = re.compile(rf"^try: (_d\d+) = F64\(RT\[{addr} >> 12\], {addr} & 4095\)\[0\]$")
    for i, t in enumerate(b.lines):
        m = head.match(t)
        if m and i + 1 < len(b.lines) and b.lines[i + 1] == f"except Exception: {m.group(1)} = DQ(LD({addr}, 8))":
            break
    else:
        return None
    for t in b.lines[i + 2:]:
        if not t.lstrip().startswith(("return", "#")) and any(
                name not in _NO_ACCESS for name in _CALLED.findall(t)):
            return None
    d = m.group(1)
    view, index = b.tmp("w"), b.tmp("i")
    # the same number of lines: indices into b.lines (twins) stay right
    b.lines[i] = (f"try: {view} = WD[{addr} >> 12 if not {addr} & 7 else -1]; "
                  f"{index} = ({addr} & 4095) >> 3; {d} = {view}[{index}]")
    b.lines[i + 1] = f"except Exception: {view} = None; {d} = LDD(RT, LD, {addr})"
    st.fused[addr] = (view, index)
    return view, index


# ---- the finisher: materialisations out of the trip, conversions before the loop ----------
_MATERIALISED = lazy_compile(r"^FD\[0\] = _\w+; v(\d+) = FQ\[0\]$")
_ICOUNT = lazy_compile(r"^ *@ICOUNT\d+@$")
_ESCAPES = ("locals()", "V[", "raise", "yield", "while", "continue")


def _finish(b) -> None:
    if b.finishers[-1] is not _finish:       # after the other finishers: they index lines
        b.finishers.append(_finish)
        return
    st = b.notes.pop("fp_twin.state", None)
    if st is None:
        return
    if b.loop:
        _hoist(b, st)
    for n, d in st.materialised:
        if not _sink(b, n, d):
            _keep(b, st, n, d)
    if b.loop:
        cache_pages(b)
        hoist_mode(b)


def _hoist(b, st: _State) -> None:
    """A conversion of a register the loop never assigns, or assigns only by
    materialisations (whose float it then copies), is made before the loop, and
    its long-significand tests with it.  A product test (product_test) with one
    such factor becomes a test of the other against the bits the invariant one
    leaves (SPLITS)."""
    hoisted = {}
    for n, d in st.conversions:
        reg = f"v{n}"
        text = f"FQ[0] = {reg} & {M64:#x}; {d} = FD[0]"
        if text not in b.lines:
            continue
        writers = [i for i, t in enumerate(b.lines) if reg in assigned_registers(t)]
        if any(_MATERIALISED.match(b.lines[i]) is None for i in writers):
            continue
        hoisted[d] = (n, text)
    splits = set()
    for x, y, test in st.products:
        if (x in hoisted) == (y in hoisted):
            continue
        inv, other = (x, y) if x in hoisted else (y, x)
        s, c = f"_s{inv[1:]}", b.tmp("c")
        short = f"({s} and (({c} := {other} * {s}) - ({c} - {other}) != {other}))"
        for j, t in enumerate(b.lines):
            if test in t:
                b.lines[j] = t.replace(test, short)
                splits.add(inv)
    for d, (n, text) in hoisted.items():
        reg = f"v{n}"
        writers = [i for i, t in enumerate(b.lines) if reg in assigned_registers(t)]
        tests = [t for t in st.longs.get(d, []) if any(t in line for line in b.lines)]
        flag = f"_k{d[1:]}"
        b.lines[b.lines.index(text)] = "pass"
        # the register's local, not V[n]: a region's case enters with its registers
        # in locals (V holds them as they were at the region's entry); a loop
        # trace has loaded every register it touches by here
        b.head_lines.append(text)
        if d in splits:
            b.head_lines.append(f"_s{d[1:]} = SPLITS[{d}]")
        if tests:
            b.head_lines.append(f"{flag} = {tests[0]}")
            for j, t in enumerate(b.lines):
                for test in tests:
                    if test in t:
                        t = t.replace(test, flag)
                b.lines[j] = t
        for i in reversed(writers):         # each new value of vN: its float (and flag) too
            source = b.lines[i][len("FD[0] = "):b.lines[i].index(";")]
            copy = f"{d} = {source}"
            if tests:
                c = b.tmp("c")
                copy += f"; {flag} = (({c} := {d} * {SPLIT}) - ({c} - {d}) != {d})"
            if d in splits:
                copy += f"; _s{d[1:]} = SPLITS[{d}]"
            b.lines.insert(i + 1, copy)


def _keep(b, st: _State, n: int, d: str) -> None:
    """vN stays computed in the trip: a load whose float nothing else reads loads
    the int as before."""
    addr = st.loads.get(d)
    if addr is None:
        return
    uses = re.compile(rf"(?<![\w.]){d}(?!\w)")
    load = (f"try: {d} = F64(RT[{addr} >> 12], {addr} & 4095)[0]", f"except Exception: {d} = DQ(LD({addr}, 8))")
    text = f"FD[0] = {d}; v{n} = FQ[0]"
    if sum(1 for t in b.lines if uses.search(t)) != 3 or load[0] not in b.lines:
        return
    i = b.lines.index(load[0])
    if b.lines[i + 1] != load[1] or b.lines[i + 2] != text:
        return
    b.lines[i] = f"try: v{n} = U64(RT[{addr} >> 12], {addr} & 4095)[0]"
    b.lines[i + 1] = f"except Exception: v{n} = LD({addr}, 8)"
    b.lines[i + 2] = "pass"


def _sink(b, n: int, d: str) -> bool:
    """Move Vn's materialisation out of the trip if no line of it reads Vn."""
    text = f"FD[0] = {d}; v{n} = FQ[0]"
    lines = b.lines
    try:
        first = lines.index(text)
    except ValueError:
        return False
    mention = re.compile(rf"(?<![\w.])v{n}(?!\w)")
    uses_d = re.compile(rf"(?<![\w.]){d}(?!\w)")

    def kills(t: str) -> bool:
        """Does line t assign vN without reading it?  (A load's `try:` line: a fault
        before its assignment is at a pc marked before it, which gets the copy.)"""
        for head in (f"v{n} = ", f"try: v{n} = "):
            if t.startswith(head):
                return not mention.search(t, len(head))
        m = _MATERIALISED.match(t)
        return m is not None and m.group(1) == str(n)

    exits: list[int] = []
    pcs: list[str] = []
    crossed = False
    for i in range(first + 1, len(lines)):
        t = lines[i]
        if t.lstrip().startswith("#"):
            continue
        if mention.search(t):
            if kills(t):
                break
            return False                      # the trip reads vN
        m = _EXIT.match(t)
        if m:
            exits.append(_exit_start(lines, i, m.group(1)))
            continue
        m = _FAULTABLE.match(t)
        if m:
            pcs.append(m.group(1))
            continue
        if t.strip() == _BACK_EDGE:
            crossed = True
            continue
        if any(e in t for e in _ESCAPES) or (uses_d.search(t) and _assigns(t, d)) or _bare_return(lines, i):
            return False
    early: list[str] = []                     # the next trip's faulting pcs before the definition
    if crossed:
        # the next trip from its top: vN is the twin until a line assigns it (a trip
        # that came back ran the definition: no other back edge may come before it)
        assigned_d = False
        for i in range(first):
            t = lines[i]
            if t.lstrip().startswith("#"):
                continue
            if mention.search(t):
                if kills(t) and not assigned_d:
                    break
                return False
            if _EXIT.match(t) or any(e in t for e in _ESCAPES) or _bare_return(lines, i):
                return False
            m = _FAULTABLE.match(t)
            if m:
                if assigned_d:
                    return False
                early.append(m.group(1))
                continue
            if uses_d.search(t) and _assigns(t, d):
                assigned_d = True             # no fault may follow: d is this trip's now
    lines[first] = "pass"
    if pcs:
        b.fault_lines.append(f"        if _pc in ({', '.join(pcs)},): {text}")
    if early:
        b.fault_lines.append(f"        if _n and _pc in ({', '.join(early)},): {text}")
    for i in sorted(exits, reverse=True):
        lines.insert(i, re.match(r" *", lines[i]).group(0) + text)
    return True


def _bare_return(lines: list[str], i: int) -> bool:
    """Is line i a `return` that is not the end of an exit made by BlockBuilder._exit
    (its register stores, a placeholder, then the count's)?  Such a way out would
    miss the copies: the materialisation stays."""
    t = lines[i].lstrip()
    if not t.startswith("return"):
        return False
    return not (i >= 2 and _ICOUNT.match(lines[i - 1]) and _EXIT.match(lines[i - 2]))


def _assigns(t: str, name: str) -> bool:
    """Does line t assign name (`name = `, `a, name = `, `name += `, after a line
    start, `;` or `:`)?"""
    return re.search(rf"(?:^|;|:)\s*(?:\w+\s*,\s*)*{name}(?:\s*,\s*\w+)*\s*"
                     rf"(?:[-+*/%&|^@]|<<|>>|\*\*|//)?=(?!=)", t) is not None
