"""IEEE 754 arithmetic on raw bit patterns, with the Arm ARM's rules for NaNs.

Values travel as unsigned ints holding the encoding (esize 16, 32 or 64).
Python floats are IEEE doubles, so double arithmetic is exact IEEE in
round-to-nearest; single precision is computed in double and rounded once,
which is correctly rounded for +, -, *, / and sqrt.  What the host does not
give us -- Arm's NaN propagation (first signalling NaN, else first quiet NaN,
quieted; the default NaN is positive), conversions with Arm's saturation,
and the FPCR rounding modes for conversions and FRINT -- is done here.

API (a, b, c are bit patterns; st is the CpuState whose fpsr collects
cumulative exception bits where this module detects them, or None):
    fadd fsub fmul fdiv fmax fmin fmaxnm fminnm fmulx fabd (a, b, esize, fpcr, st)
    fmadd(a, b, c, esize, fpcr, st)   -> a*b + c (fused)
    fsqrt(a, esize, fpcr, st)
    fcompare(a, b, esize, signal_all, st) -> NZCV word
    fcmeq fcmge fcmgt (a, b, esize, st) -> bool
    frint(a, esize, rmode, exact, st)
    to_fixed(a, esize, intbits, unsigned, fbits, rmode, st) -> int (two's complement, masked)
    from_fixed(v, intbits, unsigned, fbits, esize, fpcr, st)
    fconvert(a, from_esize, to_esize, fpcr, st)
    frecpe frsqrte (a, esize, fpcr, st); frecps frsqrts (a, b, esize, fpcr, st)
rmode: 0 nearest-even, 1 +inf, 2 -inf, 3 zero, 4 nearest-away, 5 odd (FCVTXN).

The general functions follow the Arm ARM's FPUnpack/FPRound: a denormal input
is flushed to zero under FPCR.FZ (FZ16 for half precision; IDC for single and
double), results are rounded once from the exact rational value in the FPCR
rounding mode, and IXC, UFC (tiny before rounding and inexact, or flushed) and
OFC are raised.  `fpcr` may carry FP_SLOW (bit 31, not an FPCR bit: CpuState
sets it while FPSR.IXC is clear): the host-float fast paths below then check
each result for exactness, so IXC is raised exactly when Arm would.
"""
from __future__ import annotations

import ctypes
import math
import struct

# fractions.Fraction is imported by the exact paths that use it, not here: its import
# (with decimal) was a cost of every start-up, and most runs never reach them.

IOC, DZC, OFC, UFC, IXC, IDC = 1, 2, 4, 8, 16, 0x80
FZ16, FZ, DN = 1 << 19, 1 << 24, 1 << 25
FP_SLOW = 1 << 31          # in a `fpcr` argument: take the general path (see above)

_FMT = {16: "<e", 32: "<f", 64: "<d"}
_UFMT = {16: "<H", 32: "<I", 64: "<Q"}
_EXP = {16: 5, 32: 8, 64: 11}
_DEFAULT_NAN = {16: 0x7E00, 32: 0x7FC0_0000, 64: 0x7FF8_0000_0000_0000}
_SIGN = {16: 0x8000, 32: 0x8000_0000, 64: 0x8000_0000_0000_0000}


def _flag(st, bit: int) -> None:
    if st is not None:
        st.fpsr |= bit


def to_float(bits: int, esize: int) -> float:
    return struct.unpack(_FMT[esize], (bits & ((1 << esize) - 1)).to_bytes(esize // 8, "little"))[0]


def from_float(x: float, esize: int) -> int:
    """Round a double to esize bits (nearest-even); overflow becomes infinity."""
    try:
        return int.from_bytes(struct.pack(_FMT[esize], x), "little")
    except OverflowError:
        return _SIGN[esize] * (x < 0) | _inf(esize)


def _inf(esize: int) -> int:
    e = _EXP[esize]
    return ((1 << e) - 1) << (esize - 1 - e)


def is_nan(bits: int, esize: int) -> bool:
    e = _EXP[esize]
    frac = esize - 1 - e
    return (bits >> frac) & ((1 << e) - 1) == (1 << e) - 1 and bits & ((1 << frac) - 1) != 0


def is_snan(bits: int, esize: int) -> bool:
    frac = esize - 1 - _EXP[esize]
    return is_nan(bits, esize) and not (bits >> (frac - 1)) & 1


def _quiet(bits: int, esize: int) -> int:
    frac = esize - 1 - _EXP[esize]
    return bits | (1 << (frac - 1))


def _nan_result(ops: tuple, esize: int, fpcr: int, st) -> int | None:
    """Arm's FPProcessNaNs: the NaN an operation returns, or None if no operand is a NaN."""
    for x in ops:
        if is_snan(x, esize):
            _flag(st, IOC)
            return _DEFAULT_NAN[esize] if fpcr & (1 << 25) else _quiet(x, esize)
    for x in ops:
        if is_nan(x, esize):
            return _DEFAULT_NAN[esize] if fpcr & (1 << 25) else x
    return None


def _fz(fpcr: int, esize: int) -> int:
    """FPCR's flush-to-zero bit for this precision (FZ16 for half)."""
    return fpcr & (FZ16 if esize == 16 else FZ)


def flush_in(a: int, esize: int, fpcr: int, st) -> int:
    """FPUnpack's flush-to-zero: a denormal input reads as a zero of its sign
    under FPCR.FZ (FZ16 for half precision); IDC for single and double only."""
    if _fz(fpcr, esize):
        f = esize - 1 - _EXP[esize]
        if not (a >> f) & ((1 << _EXP[esize]) - 1) and a & ((1 << f) - 1):
            if esize != 16:
                _flag(st, IDC)
            return a & _SIGN[esize]
    return a


def _rmode(fpcr: int) -> int:
    return (fpcr >> 22) & 3


def round_exact(q: "Fraction", esize: int, fpcr: int, st, rmode: int | None = None) -> int:
    """FPRoundBase: the nonzero exact value q rounded to esize bits by the
    rounding mode (FPCR's unless given), with output flush-to-zero and the
    UFC, OFC and IXC flags."""
    e = _EXP[esize]
    f = esize - 1 - e
    min_exp = 2 - (1 << (e - 1))
    if rmode is None:
        rmode = _rmode(fpcr)
    neg = q < 0
    n, d = abs(q.numerator), q.denominator
    exp = n.bit_length() - d.bit_length()           # 2^exp <= |q| < 2^(exp+1)
    if (n << max(0, -exp)) < (d << max(0, exp)):
        exp -= 1
    sign = _SIGN[esize] if neg else 0
    if exp < min_exp and _fz(fpcr, esize):
        _flag(st, UFC)
        return sign
    biased = max(exp - min_exp + 1, 0)
    shift = f - (exp if biased else min_exp)
    if shift >= 0:
        mant, rem = divmod(n << shift, d)
        den = d
    else:
        mant, rem = divmod(n, d << -shift)
        den = d << -shift
    if biased == 0 and rem:
        _flag(st, UFC)
    if rmode == 0:
        up = 2 * rem > den or (2 * rem == den and mant & 1)
        to_inf = True
    elif rmode == 4:
        up = 2 * rem >= den
        to_inf = True
    elif rmode == 1:
        up, to_inf = rem != 0 and not neg, not neg
    elif rmode == 2:
        up, to_inf = rem != 0 and neg, neg
    else:                                            # toward zero, and odd
        up, to_inf = False, False
    if up:
        mant += 1
        if mant == 1 << f:                           # a denormal rounded up to the smallest normal
            biased = 1
        elif mant == 1 << (f + 1):
            biased += 1
            mant >>= 1
    if rmode == 5 and rem:
        mant |= 1
    if biased >= (1 << e) - 1:
        _flag(st, OFC | IXC)
        return sign | (_inf(esize) if to_inf else _inf(esize) - 1)
    if rem:
        _flag(st, IXC)
    return sign | (biased << f) | (mant & ((1 << f) - 1))


def _zero_sum(fpcr: int, esize: int) -> int:
    """The exact zero of x + y with x == -y: -0 only when rounding toward minus."""
    return _SIGN[esize] if _rmode(fpcr) == 2 else 0


def _operands(a: int, b: int, esize: int, fpcr: int, st) -> tuple[int, int, int | None]:
    """FPUnpack of two operands (flush-to-zero) and FPProcessNaNs: (a, b, the NaN
    result or None)."""
    a, b = flush_in(a, esize, fpcr, st), flush_in(b, esize, fpcr, st)
    return a, b, _nan_result((a, b), esize, fpcr, st)


def _addsub(a: int, b: int, esize: int, fpcr: int, st, negate_b: bool) -> int:
    a, b, n = _operands(a, b, esize, fpcr, st)
    if n is not None:
        return n
    if negate_b:
        b ^= _SIGN[esize]
    x, y = to_float(a, esize), to_float(b, esize)
    if math.isinf(x) or math.isinf(y):
        if math.isinf(x) and math.isinf(y) and (a ^ b) & _SIGN[esize]:
            _flag(st, IOC)
            return _DEFAULT_NAN[esize]
        return a if math.isinf(x) else b
    if x == 0 and y == 0 and not (a ^ b) & _SIGN[esize]:
        return a
    from fractions import Fraction
    q = Fraction(x) + Fraction(y)
    if q == 0:
        return _zero_sum(fpcr, esize)
    return round_exact(q, esize, fpcr, st)


def fadd(a, b, esize, fpcr=0, st=None):
    return _addsub(a, b, esize, fpcr, st, False)


def fsub(a, b, esize, fpcr=0, st=None):
    return _addsub(a, b, esize, fpcr, st, True)


def fmul(a, b, esize, fpcr=0, st=None):
    a, b, n = _operands(a, b, esize, fpcr, st)
    if n is not None:
        return n
    x, y = to_float(a, esize), to_float(b, esize)
    sign = (a ^ b) & _SIGN[esize]
    if math.isinf(x) or math.isinf(y):
        if x == 0 or y == 0:
            _flag(st, IOC)
            return _DEFAULT_NAN[esize]
        return sign | _inf(esize)
    if x == 0 or y == 0:
        return sign
    from fractions import Fraction
    return round_exact(Fraction(x) * Fraction(y), esize, fpcr, st)


def fdiv(a, b, esize, fpcr=0, st=None):
    a, b, n = _operands(a, b, esize, fpcr, st)
    if n is not None:
        return n
    x, y = to_float(a, esize), to_float(b, esize)
    sign = (a ^ b) & _SIGN[esize]
    if (math.isinf(x) and math.isinf(y)) or (x == 0 and y == 0):
        _flag(st, IOC)
        return _DEFAULT_NAN[esize]
    if math.isinf(x) or y == 0:
        if not math.isinf(x):
            _flag(st, DZC)
        return sign | _inf(esize)
    if x == 0 or math.isinf(y):
        return sign
    from fractions import Fraction
    return round_exact(Fraction(x) / Fraction(y), esize, fpcr, st)


def fmulx(a, b, esize, fpcr=0, st=None):
    """FMULX: like FMUL, but 0 * inf gives 2 with the XOR of the signs."""
    a, b, n = _operands(a, b, esize, fpcr, st)
    if n is not None:
        return n
    x, y = to_float(a, esize), to_float(b, esize)
    if (math.isinf(x) and y == 0) or (math.isinf(y) and x == 0):
        neg = (math.copysign(1, x) < 0) != (math.copysign(1, y) < 0)
        return from_float(-2.0 if neg else 2.0, esize)
    return fmul(a, b, esize, fpcr, st)


def fabd(a, b, esize, fpcr=0, st=None):
    return fsub(a, b, esize, fpcr, st) & ~_SIGN[esize]


def _minmax(a, b, esize, fpcr, st, want_max: bool, numeric: bool) -> int:
    a, b = flush_in(a, esize, fpcr, st), flush_in(b, esize, fpcr, st)
    if numeric:
        qa = is_nan(a, esize) and not is_snan(a, esize)
        qb = is_nan(b, esize) and not is_snan(b, esize)
        if qa and not is_nan(b, esize):
            return b
        if qb and not is_nan(a, esize):
            return a
    n = _nan_result((a, b), esize, fpcr, st)
    if n is not None:
        return n
    x, y = to_float(a, esize), to_float(b, esize)
    if x == y:   # +0 and -0: max is +0, min is -0
        sa, sb = a & _SIGN[esize], b & _SIGN[esize]
        if want_max:
            return a if not sa else b
        return a if sa else b
    return a if (x > y) == want_max else b


def fmax(a, b, esize, fpcr=0, st=None):
    return _minmax(a, b, esize, fpcr, st, True, False)


def fmin(a, b, esize, fpcr=0, st=None):
    return _minmax(a, b, esize, fpcr, st, False, False)


def fmaxnm(a, b, esize, fpcr=0, st=None):
    return _minmax(a, b, esize, fpcr, st, True, True)


def fminnm(a, b, esize, fpcr=0, st=None):
    return _minmax(a, b, esize, fpcr, st, False, True)


def fmadd(a, b, c, esize, fpcr=0, st=None):
    """a * b + c with one rounding (FMADD; the Arm ARM's FPMulAdd(c, a, b))."""
    c, a, b = (flush_in(v, esize, fpcr, st) for v in (c, a, b))
    x, y = to_float(a, esize), to_float(b, esize)
    inf_zero = (math.isinf(x) and y == 0) or (math.isinf(y) and x == 0)
    n = _nan_result((c, a, b), esize, fpcr, st)
    if n is not None:
        if inf_zero and is_nan(c, esize) and not is_snan(c, esize):
            _flag(st, IOC)                 # a quiet-NaN addend does not hide inf * 0
            return _DEFAULT_NAN[esize]
        return n
    z = to_float(c, esize)
    if inf_zero:
        _flag(st, IOC)
        return _DEFAULT_NAN[esize]
    inf_p, inf_z = math.isinf(x) or math.isinf(y), math.isinf(z)
    if inf_p or inf_z:
        # infinities are decided by the operands, never by a product that overflows
        neg_p = (math.copysign(1, x) < 0) != (math.copysign(1, y) < 0)
        neg_z = math.copysign(1, z) < 0
        if inf_p and inf_z and neg_p != neg_z:
            _flag(st, IOC)
            return _DEFAULT_NAN[esize]
        neg = neg_z if inf_z else neg_p
        return _SIGN[esize] * neg | _inf(esize)
    p_neg = (math.copysign(1, x) < 0) != (math.copysign(1, y) < 0)
    if (x == 0 or y == 0) and z == 0 and p_neg == (math.copysign(1, z) < 0):
        return c                                   # zeros of one sign: that zero
    from fractions import Fraction
    exact = Fraction(x) * Fraction(y) + Fraction(z)
    if exact == 0:
        return _zero_sum(fpcr, esize)
    return round_exact(exact, esize, fpcr, st)


def fsqrt(a, esize, fpcr=0, st=None):
    a = flush_in(a, esize, fpcr, st)
    n = _nan_result((a,), esize, fpcr, st)
    if n is not None:
        return n
    x = to_float(a, esize)
    if x == 0 or (math.isinf(x) and x > 0):
        return a
    if x < 0:
        _flag(st, IOC)
        return _DEFAULT_NAN[esize]
    # sqrt(q) from an integer square root with 60 more bits than any format
    # keeps: the true root lies strictly between r and r + 1 when r*r != m,
    # and r + 1/2 then rounds the same way in every mode
    from fractions import Fraction
    q = Fraction(x)
    k = 120 - (q.numerator.bit_length() - q.denominator.bit_length())
    k += k & 1
    m = (q.numerator << k) // q.denominator if k >= 0 else q.numerator // (q.denominator << -k)
    exact_m = (q.numerator << k) % q.denominator == 0 if k >= 0 else q.numerator % (q.denominator << -k) == 0
    r = math.isqrt(m)
    root = Fraction(r) if (r * r == m and exact_m) else Fraction(2 * r + 1, 2)
    return round_exact(root / (1 << (k // 2)) if k >= 0 else root * (1 << (-k // 2)), esize, fpcr, st)


def _fpcr_of(st) -> int:
    """FPCR for the functions whose callers pass only the CPU state."""
    return st.fpcr if st is not None else 0


def fcompare(a, b, esize, signal_all=False, st=None) -> int:
    """FCMP/FCMPE: the NZCV word.  Ordered operands without flush-to-zero are
    compared as host floats (no flag can arise); the rest take the general path."""
    if st is None or not st.fpmode & FZ:
        if esize == 64:
            _Q[0] = a
            _Q[1] = b
            x = _D[0]
            y = _D[1]
        elif esize == 32:
            _I[0] = a
            _I[1] = b
            x = _F[0]
            y = _F[1]
        else:
            return fcompare_general(a, b, esize, signal_all, st)
        if x == y:
            return 0x6000_0000
        if x < y:
            return 0x8000_0000
        if x > y:
            return 0x2000_0000
    return fcompare_general(a, b, esize, signal_all, st)


def fcompare_general(a, b, esize, signal_all=False, st=None) -> int:
    fpcr = _fpcr_of(st)
    a, b = flush_in(a, esize, fpcr, st), flush_in(b, esize, fpcr, st)
    if is_nan(a, esize) or is_nan(b, esize):
        if signal_all or is_snan(a, esize) or is_snan(b, esize):
            _flag(st, IOC)
        return 0x3000_0000
    x, y = to_float(a, esize), to_float(b, esize)
    if x == y:
        return 0x6000_0000
    return 0x8000_0000 if x < y else 0x2000_0000


def fcmeq(a, b, esize, st=None) -> bool:
    fpcr = _fpcr_of(st)
    a, b = flush_in(a, esize, fpcr, st), flush_in(b, esize, fpcr, st)
    if is_nan(a, esize) or is_nan(b, esize):
        if is_snan(a, esize) or is_snan(b, esize):
            _flag(st, IOC)
        return False
    return to_float(a, esize) == to_float(b, esize)


def fcmge(a, b, esize, st=None) -> bool:
    fpcr = _fpcr_of(st)
    a, b = flush_in(a, esize, fpcr, st), flush_in(b, esize, fpcr, st)
    if is_nan(a, esize) or is_nan(b, esize):
        _flag(st, IOC)
        return False
    return to_float(a, esize) >= to_float(b, esize)


def fcmgt(a, b, esize, st=None) -> bool:
    fpcr = _fpcr_of(st)
    a, b = flush_in(a, esize, fpcr, st), flush_in(b, esize, fpcr, st)
    if is_nan(a, esize) or is_nan(b, esize):
        _flag(st, IOC)
        return False
    return to_float(a, esize) > to_float(b, esize)


def _round_real(x: float, rmode: int) -> int:
    """Round a finite double to an integer by an Arm rounding mode."""
    if rmode == 0:
        return round(x)                      # Python rounds half to even
    if rmode == 1:
        return math.ceil(x)
    if rmode == 2:
        return math.floor(x)
    if rmode == 3:
        return math.trunc(x)
    f = math.floor(x)
    return f + 1 if x - f >= 0.5 else f      # nearest, ties away from zero
    # (for negative x, x - floor(x) >= 0.5 rounds toward zero at exactly .5: fixed below)


def _round_away(x) -> int:
    """Nearest integer, ties away from zero (x a float or a Fraction)."""
    if abs(x) % 1 == 0.5:            # (exact for a float and a Fraction alike)
        n = math.floor(abs(x)) + 1
        return -n if x < 0 else n
    return round(x)


def frint(a, esize, rmode, exact=False, st=None):
    fpcr = _fpcr_of(st)
    a = flush_in(a, esize, fpcr, st)
    n = _nan_result((a,), esize, fpcr, st)
    if n is not None:
        return n
    x = to_float(a, esize)
    if math.isinf(x) or x == 0:
        return a
    r = _round_away(x) if rmode == 4 else _round_real(x, rmode)
    if exact and r != x:
        _flag(st, IXC)
    if r == 0:
        return a & _SIGN[esize]               # keeps the sign: frintz(-0.5) = -0.0
    return from_float(float(r), esize)


def to_fixed(a, esize, intbits, unsigned, fbits, rmode, st=None) -> int:
    """FPToFixed: saturating conversion; NaN gives 0 (and IOC)."""
    mask = (1 << intbits) - 1
    a = flush_in(a, esize, _fpcr_of(st), st)
    if is_nan(a, esize):
        _flag(st, IOC)
        return 0
    x = to_float(a, esize)
    if math.isinf(x):
        _flag(st, IOC)
        if unsigned:
            return mask if x > 0 else 0
        return (1 << (intbits - 1)) - 1 if x > 0 else (1 << (intbits - 1))
    from fractions import Fraction
    v = Fraction(x) * (1 << fbits) if fbits else x     # exact: x * 2^fbits may overflow a float
    r = _round_away(v) if rmode == 4 else _round_real(v, rmode)
    if unsigned:
        lo, hi = 0, mask
    else:
        lo, hi = -(1 << (intbits - 1)), (1 << (intbits - 1)) - 1
    if r < lo or r > hi:
        _flag(st, IOC)
        r = max(lo, min(hi, r))
    elif r != v:
        _flag(st, IXC)
    return r & mask


def from_fixed(v, intbits, unsigned, fbits, esize, fpcr=0, st=None):
    v &= (1 << intbits) - 1
    if not unsigned and v >> (intbits - 1):
        v -= 1 << intbits
    if not fbits and esize != 16:
        # an integer no wider than the significand converts exactly in any mode;
        # a wider one to double in round-to-nearest is Python's own int -> float
        if -_EXACT_INT[esize] <= v <= _EXACT_INT[esize] or (esize == 64 and not fpcr & _SLOW_BITS):
            x = float(v)
            if x != v:
                _flag(st, IXC)
            return from_float(x, esize)
    from fractions import Fraction
    q = Fraction(v, 1 << fbits) if fbits else Fraction(v)
    if q == 0:
        return 0
    return round_exact(q, esize, fpcr, st)


_EXACT_INT = {32: 1 << 24, 64: 1 << 53}     # integers every one of which the format holds


def fconvert(a, from_esize, to_esize, fpcr=0, st=None, odd=False):
    fpcr &= ~FZ16                  # FPUnpackCV / FPRoundCV: FZ16 is not used by conversions
    a = flush_in(a, from_esize, fpcr, st)
    if is_nan(a, from_esize):
        if is_snan(a, from_esize):
            _flag(st, IOC)
        if fpcr & (1 << 25):
            return _DEFAULT_NAN[to_esize]
        # keep sign and the top fraction bits, quieted
        sign = 1 if a & _SIGN[from_esize] else 0
        ffrom = from_esize - 1 - _EXP[from_esize]
        fto = to_esize - 1 - _EXP[to_esize]
        frac = a & ((1 << ffrom) - 1)
        frac = frac << (fto - ffrom) if fto >= ffrom else frac >> (ffrom - fto)
        return (sign * _SIGN[to_esize]) | _inf(to_esize) | frac | (1 << (fto - 1))
    x = to_float(a, from_esize)
    sign = _SIGN[to_esize] if a & _SIGN[from_esize] else 0
    if x == 0:
        return sign
    if math.isinf(x):
        return sign | _inf(to_esize)
    from fractions import Fraction
    return round_exact(Fraction(x), to_esize, fpcr, st, 5 if odd else None)


_EBITS = {16: 5, 32: 8, 64: 11}


def _unpack_norm(a: int, esize: int) -> tuple[int, int, int]:
    """(sign, biased exponent, fraction as 52 bits) of a finite nonzero value."""
    e = _EBITS[esize]
    f = esize - 1 - e
    sign = a >> (esize - 1)
    exp = (a >> f) & ((1 << e) - 1)
    frac = (a & ((1 << f) - 1)) << (52 - f)
    return sign, exp, frac


def _recip_estimate(a: int) -> int:
    a = a * 2 + 1
    b = (1 << 19) // a
    return (b + 1) // 2


def _rsqrt_estimate(a: int) -> int:
    if a < 256:
        a = a * 2 + 1
    else:
        a = (a >> 1) << 1
        a = (a + 1) * 2
    b = 512
    while a * (b + 1) * (b + 1) < (1 << 28):
        b += 1
    return (b + 1) // 2


def _pack(sign: int, exp: int, frac52: int, esize: int) -> int:
    e = _EBITS[esize]
    f = esize - 1 - e
    return (sign << (esize - 1)) | ((exp & ((1 << e) - 1)) << f) | (frac52 >> (52 - f))


def frecpe(a, esize, fpcr=0, st=None):
    """FRECPE: the Arm ARM's 8-bit reciprocal estimate (FPRecipEstimate)."""
    a = flush_in(a, esize, fpcr, st)
    n = _nan_result((a,), esize, fpcr, st)
    if n is not None:
        return n
    x = to_float(a, esize)
    sign = a >> (esize - 1)
    if x == 0:
        _flag(st, DZC)
        return (a & _SIGN[esize]) | _inf(esize)
    if math.isinf(x):
        return a & _SIGN[esize]
    if abs(x) < 2.0 ** {16: -16, 32: -128, 64: -1024}[esize]:
        _flag(st, OFC | IXC)
        rm, neg = _rmode(fpcr), x < 0
        to_inf = rm == 0 or (rm == 1 and not neg) or (rm == 2 and neg)
        return (a & _SIGN[esize]) | (_inf(esize) if to_inf else _inf(esize) - 1)
    if _fz(fpcr, esize) and abs(x) >= 2.0 ** {16: 14, 32: 126, 64: 1022}[esize]:
        _flag(st, UFC)                        # the reciprocal would be tiny: flushed
        return a & _SIGN[esize]
    _, exp, frac = _unpack_norm(a, esize)
    if exp == 0:
        if not (frac >> 51) & 1:
            exp = -1
            frac = (frac << 2) & ((1 << 52) - 1)
        else:
            frac = (frac << 1) & ((1 << 52) - 1)
    scaled = (1 << 8) | (frac >> 44)
    result_exp = {16: 29, 32: 253, 64: 2045}[esize] - exp
    est = _recip_estimate(scaled)
    frac = (est & 0xFF) << 44
    if result_exp == 0:
        frac = (1 << 51) | (frac >> 1)
    elif result_exp == -1:
        frac = (1 << 50) | (frac >> 2)
        result_exp = 0
    return _pack(sign, result_exp, frac, esize)


def frsqrte(a, esize, fpcr=0, st=None):
    """FRSQRTE: the Arm ARM's 8-bit reciprocal square root estimate."""
    a = flush_in(a, esize, fpcr, st)
    n = _nan_result((a,), esize, fpcr, st)
    if n is not None:
        return n
    x = to_float(a, esize)
    if x == 0:
        _flag(st, DZC)
        return (a & _SIGN[esize]) | _inf(esize)
    if x < 0:
        _flag(st, IOC)
        return _DEFAULT_NAN[esize]
    if math.isinf(x):
        return 0
    _, exp, frac = _unpack_norm(a, esize)
    if exp == 0:
        while not (frac >> 51) & 1:
            frac = (frac << 1) & ((1 << 52) - 1)
            exp -= 1
        frac = (frac << 1) & ((1 << 52) - 1)
    if not exp & 1:
        scaled = (1 << 8) | (frac >> 44)
    else:
        scaled = (1 << 7) | (frac >> 45)
    result_exp = ({16: 44, 32: 380, 64: 3068}[esize] - exp) // 2
    est = _rsqrt_estimate(scaled)
    return _pack(0, result_exp, (est & 0xFF) << 44, esize)


def _step(a, b, esize, fpcr, st, inf_zero: float, addend: float, halve: bool):
    """FPRecipStepFused / FPRSqrtStepFused: (addend - a*b) [/ 2], with inf*0 giving inf_zero."""
    na = flush_in(a ^ _SIGN[esize], esize, fpcr, st)
    b = flush_in(b, esize, fpcr, st)
    n = _nan_result((na, b), esize, fpcr, st)
    if n is not None:
        return n
    x, y = to_float(na, esize), to_float(b, esize)
    if (math.isinf(x) and y == 0) or (x == 0 and math.isinf(y)):
        return from_float(inf_zero, esize)
    if math.isinf(x) or math.isinf(y):
        neg = (math.copysign(1, x) < 0) != (math.copysign(1, y) < 0)
        return _SIGN[esize] * neg | _inf(esize)
    from fractions import Fraction
    exact = Fraction(addend) + Fraction(x) * Fraction(y)
    if halve:
        exact /= 2
    if exact == 0:
        return _zero_sum(fpcr, esize)
    return round_exact(exact, esize, fpcr, st)


def frecps(a, b, esize, fpcr=0, st=None):
    """2 - a*b (fused)."""
    return _step(a, b, esize, fpcr, st, 2.0, 2.0, False)


def frsqrts(a, b, esize, fpcr=0, st=None):
    """(3 - a*b) / 2 (fused)."""
    return _step(a, b, esize, fpcr, st, 1.5, 3.0, True)


def frint_n(a, esize, rmode, intbits, st=None):
    """FRINT32*/FRINT64*: round to an integral value that fits intbits, else the most negative one."""
    lowest = from_float(-float(1 << (intbits - 1)), esize)
    a = flush_in(a, esize, _fpcr_of(st), st)
    if is_nan(a, esize):
        _flag(st, IOC)
        return lowest
    x = to_float(a, esize)
    if math.isinf(x):
        _flag(st, IOC)
        return lowest
    r = _round_real(x, rmode)
    if not -(1 << (intbits - 1)) <= r < (1 << (intbits - 1)):
        _flag(st, IOC)
        return lowest
    if r != x:
        _flag(st, IXC)                       # FPRoundIntN: every variant signals inexact
    if r == 0:
        return a & _SIGN[esize]
    return from_float(float(r), esize)


# ---- fast paths ------------------------------------------------------------------------
# The common case -- no NaN operand or result, FPCR all zero (round to nearest,
# no flush-to-zero, no default NaN) -- is done with host floats directly; any
# other case falls back to the general functions above.
#
# Bit patterns become host floats through one scratch buffer seen as uint64 and
# as double (an item store and an item load: half the cost of struct pack and
# unpack).  A task is one host thread and no helper is re-entered while it uses
# the scratch, so one buffer per process is enough.
_SCRATCH = bytearray(32)
_Q = memoryview(_SCRATCH).cast("Q")
_D = memoryview(_SCRATCH).cast("d")
_I = memoryview(_SCRATCH).cast("I")
_F = memoryview(_SCRATCH).cast("f")
try:
    _libm = ctypes.CDLL("libm.so.6")    # glibc's soname: find_library would run `ldconfig -p`
except OSError:
    import ctypes.util
    _libm = ctypes.CDLL(ctypes.util.find_library("m"))
_host_fma, _host_fmaf = _libm.fma, _libm.fmaf
_host_fma.restype, _host_fma.argtypes = ctypes.c_double, [ctypes.c_double] * 3
_host_fmaf.restype, _host_fmaf.argtypes = ctypes.c_float, [ctypes.c_float] * 3


# Flags on the fast paths.  They run when the FPCR is all default (FP_SLOW
# aside); a result that overflowed (not finite) or may have underflowed (a
# product, quotient or fused sum no larger than the smallest normal) takes the
# general path, which raises OFC and UFC.  While FPSR.IXC is clear (FP_SLOW
# set) the host result is checked for exactness and IXC raised if it was
# rounded; once IXC is set, nothing more needs checking.  The checks are
# float operations where a theorem allows it:
#   * a sum r = RN(x + y) of finite doubles is exact iff r - x == y and r - y == x
#     (Fast2Sum: for the operand of larger magnitude the subtraction is exact,
#     so it gives back the other operand only when nothing was rounded off);
#   * a product of doubles whose significands have their low 27 bits clear
#     (at most 26 significant bits each) is exact unless it underflows;
#   * a product of singles is exact in double (48 significant bits).
# Anything else is checked with integers (_exact).
MIN_NORMAL = {32: 1.1754943508222875e-38, 64: 2.2250738585072014e-308}
_MIN_NORMAL64, _MIN_NORMAL32 = MIN_NORMAL[64], MIN_NORMAL[32]
_SHORT64 = 0x7FF_FFFF          # low 27 fraction bits of a double: clear = a short significand
_SLOW_BITS = ~FP_SLOW          # fpcr bits that rule out the fast paths


def _exact(kind: str, x: float, y: float, r: float, z: float = 0.0) -> bool:
    """Whether x (kind) y -- or x*y + z for "fma" -- equals r exactly (finite floats;
    every denominator of as_integer_ratio is a power of two)."""
    nx, dx = x.as_integer_ratio()
    ny, dy = y.as_integer_ratio()
    nr, dr = r.as_integer_ratio()
    if kind == "+":
        return (nx * dy + ny * dx) * dr == nr * dx * dy
    if kind == "-":
        return (nx * dy - ny * dx) * dr == nr * dx * dy
    if kind == "*":
        return nx * ny * dr == nr * dx * dy
    if kind == "/":
        return nx * dy * dr == nr * ny * dx
    nz, dz = z.as_integer_ratio()
    return (nx * ny * dz + nz * dx * dy) * dr == nr * dx * dy * dz


def fadd64(a, b, fpcr, st):
    if not fpcr & _SLOW_BITS:
        _Q[0] = a
        _Q[1] = b
        x = _D[0]
        y = _D[1]
        r = x + y
        if r - r == 0:                      # finite: a sum of doubles never underflows inexactly
            if fpcr and (r - x != y or r - y != x):
                st.fpsr |= IXC
            _D[0] = r
            return _Q[0]
    return fadd(a, b, 64, fpcr, st)


def fsub64(a, b, fpcr, st):
    if not fpcr & _SLOW_BITS:
        _Q[0] = a
        _Q[1] = b
        x = _D[0]
        y = _D[1]
        r = x - y
        if r - r == 0:
            if fpcr and (r - x != -y or r + y != x):
                st.fpsr |= IXC
            _D[0] = r
            return _Q[0]
    return fsub(a, b, 64, fpcr, st)


def fmul64(a, b, fpcr, st):
    if not fpcr & _SLOW_BITS:
        _Q[0] = a
        _Q[1] = b
        x = _D[0]
        y = _D[1]
        r = x * y
        if r - r == 0 and not (-_MIN_NORMAL64 <= r <= _MIN_NORMAL64 and x and y):
            if fpcr and (a | b) & _SHORT64 and not _exact("*", x, y, r):
                st.fpsr |= IXC
            _D[0] = r
            return _Q[0]
    return fmul(a, b, 64, fpcr, st)


def fdiv64(a, b, fpcr, st):
    if not fpcr & _SLOW_BITS:
        _Q[0] = a
        _Q[1] = b
        x = _D[0]
        y = _D[1]
        if y and y - y == 0:                # a finite nonzero divisor
            r = x / y
            if r - r == 0 and not (-_MIN_NORMAL64 <= r <= _MIN_NORMAL64 and x):
                if fpcr and not _exact("/", x, y, r):
                    st.fpsr |= IXC
                _D[0] = r
                return _Q[0]
    return fdiv(a, b, 64, fpcr, st)


def _fast32(kind, slow):
    """A single-precision fast path: computed in double (exact for *, correctly
    rounded for + - /) and rounded once to single, which is correctly rounded."""

    def f(a, b, fpcr, st):
        if not fpcr & _SLOW_BITS:
            _I[0] = a
            _I[1] = b
            x = _F[0]
            y = _F[1]
            if kind == "+":
                r = x + y
            elif kind == "-":
                r = x - y
            elif kind == "*":
                r = x * y
            elif y and y - y == 0:
                r = x / y
            else:
                return slow(a, b, 32, fpcr, st)
            if r - r == 0 and not (kind in "*/" and -_MIN_NORMAL32 <= r <= _MIN_NORMAL32 and x
                                   and (kind == "/" or y)):
                try:
                    _F[2] = r                   # rounds to single
                except OverflowError:
                    return slow(a, b, 32, fpcr, st)
                r32 = _F[2]
                if r32 - r32 == 0:
                    if fpcr:
                        if kind == "*":
                            exact = r32 == r
                        elif kind == "/":
                            exact = _exact("/", x, y, r32)
                        else:                   # the double sum is exact and single keeps it
                            y2 = y if kind == "+" else -y
                            exact = r32 == r and r - x == y2 and r - y2 == x
                        if not exact:
                            st.fpsr |= IXC
                    return _I[2]
        return slow(a, b, 32, fpcr, st)
    return f


fadd32 = _fast32("+", fadd)
fsub32 = _fast32("-", fsub)
fmul32 = _fast32("*", fmul)
fdiv32 = _fast32("/", fdiv)


def fmadd64(a, b, c, fpcr, st):
    """a*b + c for doubles, rounded once.  With FPCR at its default (round to nearest,
    no flush-to-zero) and finite operands, IEEE fused multiply-add is Arm's FMADD.
    When both factors have short significands the product is exact, so the one
    rounding of p + z is the fused result; otherwise the host C library's fma()
    (correctly rounded) gives it."""
    if not fpcr & _SLOW_BITS:
        _Q[0] = a
        _Q[1] = b
        _Q[2] = c
        x = _D[0]
        y = _D[1]
        z = _D[2]
        if not (a | b) & _SHORT64:
            p = x * y
            r = p + z
            if r - r == 0 and not (-_MIN_NORMAL64 < p < _MIN_NORMAL64 and x and y):
                if fpcr and (r - p != z or r - z != p):
                    st.fpsr |= IXC
                _D[0] = r
                return _Q[0]
        elif x - x == 0 and y - y == 0 and z - z == 0:          # all finite (zeros too)
            r = _host_fma(x, y, z)
            if r - r == 0 and not (-_MIN_NORMAL64 <= r <= _MIN_NORMAL64 and x and y):
                if fpcr and not _exact("fma", x, y, r, z):
                    st.fpsr |= IXC
                _D[0] = r
                return _Q[0]
    return fmadd(a, b, c, 64, fpcr, st)


def fmadd32(a, b, c, fpcr, st):
    """a*b + c for singles, rounded once.  x*y is exact in double; when p + z is
    exact in double too, rounding it to single is the one rounding; otherwise the
    C library's fmaf gives it."""
    if not fpcr & _SLOW_BITS:
        _I[0] = a
        _I[1] = b
        _I[2] = c
        x = _F[0]
        y = _F[1]
        z = _F[2]
        p = x * y
        r = p + z
        if r - r == 0 and r - p == z and r - z == p:
            if not (-_MIN_NORMAL32 <= r <= _MIN_NORMAL32 and x and y):
                try:
                    _F[3] = r
                except OverflowError:
                    return fmadd(a, b, c, 32, fpcr, st)
                r32 = _F[3]
                if r32 - r32 == 0:
                    if fpcr and r32 != r:
                        st.fpsr |= IXC
                    return _I[3]
        elif x - x == 0 and y - y == 0 and z - z == 0:
            r = _host_fmaf(x, y, z)
            if r - r == 0 and not (-_MIN_NORMAL32 <= r <= _MIN_NORMAL32 and x and y):
                if fpcr and not _exact("fma", x, y, r, z):
                    st.fpsr |= IXC
                _F[3] = r
                return _I[3]
    return fmadd(a, b, c, 32, fpcr, st)
