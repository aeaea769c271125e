"""Advanced SIMD at translation time: builders that return Python expressions
over whole 128-bit register values, shared by the a64_neon_* families.

Registers are Python ints, lane 0 in the low bits.  Per-lane Python is slow, so
these builders make whole-register expressions: SWAR arithmetic with the lane
masks folded at translation time (H = the top bit of every lane, L = the other
bits), lane-mask compares, shifts, and widening/narrowing by struct
unpack/pack (the N{U,S}{e}_{n} helpers of lanes.py).  Nothing here runs in a
translated block; the runtime side is lanes.py.
"""
from __future__ import annotations


from ..lazyre import lazy_compile
from .a64_neon_topbits import clear_top

Q_MASK = (1 << 128) - 1
D_MASK = (1 << 64) - 1


def ones(e: int) -> int:
    return (1 << e) - 1


def rep(e: int, nbits: int) -> int:
    """The lowest bit of every e-bit lane of an nbits-wide value."""
    return sum(1 << i for i in range(0, nbits, e))


def vreg(b, n: int, q: int) -> str:
    return b.rv(n) if q else f"({b.rv(n)} & {D_MASK:#x})"


def velem(b, n: int, e: int) -> str:
    """The low e-bit element of Vn (scalar forms)."""
    return f"({b.rv(n)} & {ones(e):#x})"


def vhalf(b, n: int, upper: int) -> str:
    """The lower or upper 64 bits of Vn (the "2" forms read the upper half)."""
    return f"({b.rv(n)} >> 64)" if upper else f"({b.rv(n)} & {D_MASK:#x})"


def bind(b, expr: str) -> str:
    """Bind expr to a temporary (so it can be used twice); names pass through."""
    if expr.isidentifier():
        return expr
    t = b.tmp()
    b.line(f"{t} = {expr}")
    return t


def unpack(src: str, e: int, n: int, signed: bool = False) -> str:
    return f"N{'S' if signed else 'U'}{e}_{n}(({src}).to_bytes({e * n // 8}, 'little'))"


def pack(lanes: str, e: int, n: int, signed: bool = False) -> str:
    return f"FB(NP{'S' if signed else 'U'}{e}_{n}(*{lanes}), 'little')"


def swar_add(b, x: str, y: str, e: int, nbits: int, sub: bool = False) -> str:
    """Lane-wise x + y (or x - y) modulo 2^e on whole registers.

    One lane is a plain masked sum.  For 32- and 64-bit lanes (counters,
    addresses, indices: their top bits are mostly clear) a sum first tries one
    add: when no lane of x or y has its top bit set no lane can carry into the
    next, so x + y is already the lane-wise sum; else the SWAR form."""
    if e == nbits:
        return f"((({x}) {'-' if sub else '+'} ({y})) & {ones(nbits):#x})"
    hi = rep(e, nbits) << (e - 1)
    lo = ones(nbits) ^ hi
    one_add = not sub and e >= 32 and _within(x, nbits) and _within(y, nbits)
    tests = None
    if one_add and nbits == 128:     # the tests once per register value (a64_neon_topbits)
        tests = clear_top(b, x, hi), clear_top(b, y, hi)
    x, y = bind(b, x), bind(b, y)
    if sub:
        return f"((({x} | {hi:#x}) - ({y} & {lo:#x})) ^ (({x} ^ {y} ^ {hi:#x}) & {hi:#x}))"
    swar = f"((({x} & {lo:#x}) + ({y} & {lo:#x})) ^ (({x} ^ {y}) & {hi:#x}))"
    if tests and None not in tests:
        test = tests[0] if tests[0] == tests[1] else f"{tests[0]} and {tests[1]}"
        return f"(({x} + {y}) if {test} else {swar})"
    if one_add:
        return f"(({x} + {y}) if not ({x} | {y}) & {hi:#x} else {swar})"
    return swar


_VREG = lazy_compile(r"v\d+")
_VLOW = lazy_compile(r"\(v\d+ & 0xffffffffffffffff\)")


def _within(expr: str, nbits: int) -> bool:
    """Is expr known to be below 2^nbits: a V register (128 bits) or its low half?"""
    return bool(_VREG.fullmatch(expr) if nbits == 128 else nbits == 64 and _VLOW.fullmatch(expr))


def hbits_to_mask(t: str, e: int) -> str:
    """Top-of-lane bits -> whole lanes of ones."""
    return f"(({t} >> {e - 1}) * {ones(e):#x})"


def nonzero_hbits(b, x: str, e: int, nbits: int) -> str:
    """A temporary with the top bit of every nonzero lane of x set."""
    hi = rep(e, nbits) << (e - 1)
    lo = ones(nbits) ^ hi
    t = bind(b, x)
    r = b.tmp()
    b.line(f"{r} = ((({t} & {lo:#x}) + {lo:#x}) | {t}) & {hi:#x}")
    return r


def ge_hbits(b, x: str, y: str, e: int, nbits: int, signed: bool) -> str:
    """A temporary with the top bit of every lane where x >= y set."""
    hi = rep(e, nbits) << (e - 1)
    lo = ones(nbits) ^ hi
    if signed:      # flipping the sign bits turns a signed compare into an unsigned one
        x, y = f"{x} ^ {hi:#x}", f"{y} ^ {hi:#x}"
    x, y = bind(b, x), bind(b, y)
    d, r = b.tmp(), b.tmp()
    b.line(f"{d} = (({x} | {hi:#x}) - ({y} & {lo:#x})) ^ (({x} ^ {y} ^ {hi:#x}) & {hi:#x})")
    # borrow out of the top bit: (~x & y) | (~(x ^ y) & d); x >= y when there is none
    b.line(f"{r} = ((({x} & {y}) ^ {y}) | (({x} ^ {y} ^ {hi:#x}) & {d}) | {lo:#x}) ^ {ones(nbits):#x}")
    return r


def compare(b, kind: str, x: str, y: str, e: int, nbits: int) -> str:
    """Lane masks for eq, tst, ge, gt, hs, hi (y may be "0")."""
    hi = rep(e, nbits) << (e - 1)
    if e == 8 and kind in ("eq", "tst"):      # bytes: one translate of the image (lanes.py)
        val = (x if y == "0" else f"({x} ^ {y})") if kind == "eq" else f"({x} & {y})"
        table = "NEQ0" if kind == "eq" else "NNE0"
        return f"FB(({val}).to_bytes({nbits // 8}, 'little').translate({table}), 'little')"
    if kind == "eq":
        if y == "0":
            return hbits_to_mask(f"({nonzero_hbits(b, x, e, nbits)} ^ {hi:#x})", e)
        return hbits_to_mask(f"({nonzero_hbits(b, f'{x} ^ {y}', e, nbits)} ^ {hi:#x})", e)
    if kind == "tst":
        return hbits_to_mask(nonzero_hbits(b, f"{x} & {y}", e, nbits), e)
    if kind in ("ge", "hs"):
        return hbits_to_mask(ge_hbits(b, x, y, e, nbits, kind == "ge"), e)
    # x > y  <=>  not (y >= x)
    return hbits_to_mask(f"({ge_hbits(b, y, x, e, nbits, kind == 'gt')} ^ {hi:#x})", e)


def compare_zero(b, kind: str, x: str, e: int, nbits: int) -> str:
    hi = rep(e, nbits) << (e - 1)
    x = bind(b, x)
    if kind == "eq":
        return compare(b, "eq", x, "0", e, nbits)
    if kind == "lt":
        return hbits_to_mask(f"({x} & {hi:#x})", e)
    if kind == "ge":
        return hbits_to_mask(f"(({x} & {hi:#x}) ^ {hi:#x})", e)
    nz = nonzero_hbits(b, x, e, nbits)
    if kind == "gt":        # nonzero and not negative
        return hbits_to_mask(f"({nz} & ~{x})", e)
    # le: negative or zero
    return hbits_to_mask(f"((({x} & {hi:#x}) | ({nz} ^ {hi:#x})) & {hi:#x})", e)


def ushr(x: str, sh: int, e: int, nbits: int) -> str:
    if sh >= e:
        return "0"
    return f"(({x} >> {sh}) & {rep(e, nbits) * (ones(e) >> sh):#x})"


def sshr(b, x: str, sh: int, e: int, nbits: int) -> str:
    """Arithmetic shift right of every lane (sh in 1..e)."""
    hi = rep(e, nbits) << (e - 1)
    x = bind(b, x)
    fill = ones(e) ^ (ones(e) >> sh)
    logical = ushr(x, sh, e, nbits)
    return f"({logical} | ((({x} & {hi:#x}) >> {e - 1}) * {fill:#x}))"


def shl(x: str, sh: int, e: int, nbits: int) -> str:
    if sh >= e:
        return "0"
    return f"(({x} << {sh}) & {rep(e, nbits) * ((ones(e) << sh) & ones(e)):#x})"


def shr_round(b, x: str, sh: int, e: int, nbits: int, signed: bool) -> str:
    """Rounding shift right: (x + 2^(sh-1)) >> sh without overflow (add the dropped bit)."""
    x = bind(b, x)
    base = sshr(b, x, sh, e, nbits) if signed else ushr(x, sh, e, nbits)
    rbit = f"(({x} >> {sh - 1}) & {rep(e, nbits):#x})"
    return swar_add(b, base, rbit, e, nbits)


def widen(src: str, e: int, signed: bool, sh: int = 0) -> str:
    """The 64-bit value src as 64/e lanes, each extended to 2e bits (and shifted left by sh)."""
    n = 64 // e
    v = pack(unpack(src, e, n, signed), 2 * e, n, signed)
    if sh:
        mask = rep(2 * e, 128) * ((ones(2 * e) << sh) & ones(2 * e))
        return f"(({v} << {sh}) & {mask:#x})"
    return v


def narrow(b, src: str, e: int, n: int | None = None) -> str:
    """n containers of 2e bits -> n lanes of e bits (the low half of each), packed
    by log2(n) shift-and-mask steps; n defaults to a 128-bit source."""
    n = n or 64 // e
    total = 2 * e * n
    if e == 8:                       # bytes: every other byte of the little-endian image
        return f"FB(({src}).to_bytes({total // 8}, 'little')[::2], 'little')"
    t = b.tmp()
    b.line(f"{t} = ({src}) & {rep(2 * e, total) * ones(e):#x}")
    j = 0
    while (1 << j) < n:
        chunk = (4 * e) << j
        b.line(f"{t} = ({t} | ({t} >> {e << j})) & {rep(chunk, total) * ones((2 * e) << j):#x}")
        j += 1
    return t


def write_narrow(b, rd: int, q: int, val: str) -> None:
    """XTN/XTN2-style result: the low half (Q=0, upper zeroed) or the upper half (Q=1)."""
    if q:
        return b.wv(rd, f"({b.rv(rd)} & {D_MASK:#x}) | ({val} << 64)")
    b.wv(rd, val)


# The trailing arguments of an FP lane function fn(..., e, fpcr, st) under map()
FP_ARGS = "REPEAT(S.fpmode), REPEAT(S)"


def sx_expr(x: str, e: int) -> str:
    """x (an e-bit value) sign-extended."""
    top = 1 << (e - 1)
    return f"(({x} ^ {top:#x}) - {top:#x})"


def element_index(esize: int, h: int, l: int, m: int, rm4: int) -> tuple[int, int]:
    """(index, Vm) of a vector x indexed element form: H:L:M index Vm<3:0> for 16-bit
    elements, H:L and M:Vm<3:0> for 32 bits, H for 64 bits."""
    if esize == 16:
        return (h << 2) | (l << 1) | m, rm4
    if esize == 32:
        return (h << 1) | l, (m << 4) | rm4
    return h, (m << 4) | rm4


def by_element_operands(b, q: int, scalar: int, rn: int, rd: int, rm: int, esize: int, index: int):
    """(nbits, lanes, Vn, Vd, the element Vm[index]) of a vector x indexed element form."""
    if scalar:
        nbits, n = esize, 1
        src, dst = velem(b, rn, esize), velem(b, rd, esize)
    else:
        nbits = 128 if q else 64
        n = nbits // esize
        src, dst = vreg(b, rn, q), vreg(b, rd, q)
    return nbits, n, src, dst, f"(({b.rv(rm)} >> {index * esize}) & {ones(esize):#x})"
