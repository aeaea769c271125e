"""A64 scalar floating point (the part of op0 = x111 with bit 28 = 1, bit 30 = 0).

FP data processing with 1, 2 and 3 sources, compares, conditional compare and
select, FMOV (register, general, immediate), conversions between FP sizes,
to and from integers and fixed point.  Arithmetic is in fpu.py; bit moves
(FMOV, FABS, FNEG, FCSEL) are inline.
"""
from __future__ import annotations

import math
import struct

from ..lazyre import lazy_compile
from . import a64_fp_twin as twin, fpu
from .bits import field

_ESIZE = {0: 32, 1: 64, 3: 16}
_MASK = {16: 0xFFFF, 32: 0xFFFF_FFFF, 64: 0xFFFF_FFFF_FFFF_FFFF}
_SIGN = {16: 0x8000, 32: 0x8000_0000, 64: 0x8000_0000_0000_0000}

HELPERS = {
    "FADD": fpu.fadd, "FSUB": fpu.fsub, "FMUL": fpu.fmul, "FDIV": fpu.fdiv,
    "FMAX": fpu.fmax, "FMIN": fpu.fmin, "FMAXNM": fpu.fmaxnm, "FMINNM": fpu.fminnm,
    "FMULX": fpu.fmulx, "FABD": fpu.fabd, "FMADD": fpu.fmadd, "FSQRT": fpu.fsqrt,
    "FCMP": fpu.fcompare, "FRINT": fpu.frint, "TO_FIXED": fpu.to_fixed,
    "FROM_FIXED": fpu.from_fixed, "FCVT": fpu.fconvert, "FCMEQ": fpu.fcmeq,
    "FCMGE": fpu.fcmge, "FCMGT": fpu.fcmgt, "FRECPE": fpu.frecpe, "FRSQRTE": fpu.frsqrte,
    "FADD64": fpu.fadd64, "FSUB64": fpu.fsub64, "FMUL64": fpu.fmul64, "FDIV64": fpu.fdiv64,
    "FADD32": fpu.fadd32, "FSUB32": fpu.fsub32, "FMUL32": fpu.fmul32, "FDIV32": fpu.fdiv32,
    "FMADD64": fpu.fmadd64, "FQ": fpu._Q, "FD": fpu._D,
    "FU3D": struct.Struct("<3d").unpack, "FP3Q": struct.Struct("<3Q").pack,
    "FU2D": struct.Struct("<2d").unpack, "FP2Q": struct.Struct("<2Q").pack,
    "FMADD32": fpu.fmadd32, **twin.HELPERS,
    "FRECPS": fpu.frecps, "FRINT_N": fpu.frint_n, "FRSQRTS": fpu.frsqrts, "FJCVTZS": lambda a, st: _fjcvtzs(a, st),
}

_TWO_SOURCE = {0: "FMUL", 1: "FDIV", 2: "FADD", 3: "FSUB", 4: "FMAX", 5: "FMIN",
               6: "FMAXNM", 7: "FMINNM"}


def _fjcvtzs(a: int, st) -> tuple[int, int]:
    """JavaScript ToInt32 of a double (FPToFixedJS): (value mod 2^32, Z flag word).
    Z is set only for an exact, in-range, non-negative-zero conversion."""
    flushed = fpu.flush_in(a, 64, st.fpcr, st)
    if fpu.is_nan(a, 64):
        st.fpsr |= fpu.IOC
        return 0, 0
    x = fpu.to_float(flushed, 64)
    if math.isinf(x):
        st.fpsr |= fpu.IOC
        return 0, 0
    t = math.trunc(x)
    if not -(1 << 31) <= t < (1 << 31):
        st.fpsr |= fpu.IOC
        exact = False
    elif t != x:
        st.fpsr |= fpu.IXC
        exact = False
    else:
        exact = not (x == 0 and (flushed >> 63 or a != flushed))
    return t & 0xFFFF_FFFF, (0x4000_0000 if exact else 0)


def vfp_expand_imm(imm8: int, esize: int) -> int:
    e = {16: 5, 32: 8, 64: 11}[esize]
    f = esize - e - 1
    sign = imm8 >> 7
    b6 = (imm8 >> 6) & 1
    exp = ((b6 ^ 1) << (e - 1)) | ((((1 << (e - 3)) - 1) if b6 else 0) << 2) | ((imm8 >> 4) & 3)
    frac = (imm8 & 0xF) << (f - 4)
    return (sign << (esize - 1)) | (exp << f) | frac


def decode(insn: int):
    if field(insn, 31, 31) or field(insn, 29, 29):
        return _fmov_top if _is_fmov_top(insn) else None
    if field(insn, 24, 24):
        return emit_dp3
    if not field(insn, 21, 21):
        return emit_fixed
    low = field(insn, 11, 10)
    if low == 1:
        return emit_fccmp
    if low == 2:
        return emit_dp2
    if low == 3:
        return emit_fcsel
    if field(insn, 15, 10) == 0:
        return emit_int_conv
    if field(insn, 14, 10) == 0b10000:
        return emit_dp1
    if field(insn, 13, 10) == 0b1000:
        return emit_fcmp
    if field(insn, 12, 10) == 0b100:
        return emit_fmov_imm
    return None


def _is_fmov_top(insn: int) -> bool:
    # sf=1 conversions (FCVT*, SCVTF, FMOV X<->D/H) have bit 31 set
    return bool(field(insn, 31, 31)) and not field(insn, 29, 29)


def _fmov_top(b, insn):
    if field(insn, 24, 24):
        return b.end_undefined()
    if field(insn, 21, 21):
        if field(insn, 15, 10) == 0:
            return emit_int_conv(b, insn)
        return b.end_undefined()
    return emit_fixed(b, insn)


def _esize(b, insn) -> int | None:
    es = _ESIZE.get(field(insn, 23, 22))
    if es is None:
        b.end_undefined()
    return es


def _src(b, n: int, es: int) -> str:
    return f"({b.rv(n)} & {_MASK[es]:#x})"


def emit_dp1(b, insn: int) -> None:
    es = _esize(b, insn)
    if es is None:
        return
    opcode, rn, rd = field(insn, 20, 15), field(insn, 9, 5), field(insn, 4, 0)
    a = _src(b, rn, es)
    if opcode == 0:
        b.wv(rd, a)
    elif opcode == 1:
        b.wv(rd, f"{a} & {_MASK[es] >> 1:#x}")
    elif opcode == 2:
        b.wv(rd, f"{a} ^ {_SIGN[es]:#x}")
    elif opcode == 3:
        b.wv(rd, f"FSQRT({a}, {es}, S.fpmode, S)")
    elif opcode >> 2 == 1:
        to = _ESIZE.get(opcode & 3)
        if to is None or to == es:
            return b.end_undefined()
        b.wv(rd, f"FCVT({a}, {es}, {to}, S.fpmode, S)")
    elif opcode >> 2 == 0b0100 and es in (32, 64):   # FRINT32Z/32X/64Z/64X
        bits = 32 if opcode < 0b010010 else 64
        mode = "(S.fpmode >> 22) & 3" if opcode & 1 else "3"
        b.wv(rd, f"FRINT_N({a}, {es}, {mode}, {bits}, S)")
    elif opcode >> 3 == 1 and opcode != 0b001101:
        r = opcode & 7
        if r in (0, 1, 2, 3):
            b.wv(rd, f"FRINT({a}, {es}, {r}, False, S)")
        elif r == 4:
            b.wv(rd, f"FRINT({a}, {es}, 4, False, S)")
        else:                     # FRINTX (exact) and FRINTI: the FPCR rounding mode
            b.wv(rd, f"FRINT({a}, {es}, (S.fpmode >> 22) & 3, {r == 6}, S)")
    else:
        b.end_undefined()


def emit_dp2(b, insn: int) -> None:
    es = _esize(b, insn)
    if es is None:
        return
    rm, opcode, rn, rd = field(insn, 20, 16), field(insn, 15, 12), field(insn, 9, 5), field(insn, 4, 0)
    if opcode in (0, 2, 3) and es == 64 and twin.wanted(b, (rn, rm)):
        return _twin_arith64(b, rd, opcode, rn, rm)
    a, m = _src(b, rn, es), _src(b, rm, es)
    if opcode in (0, 2, 3) and es == 64:
        _inline_arith64(b, rd, opcode, a, m)
    elif opcode in (0, 1, 2, 3) and es in (32, 64):   # the hot ones: host floats when they can
        b.wv(rd, f"{_TWO_SOURCE[opcode]}{es}({a}, {m}, S.fpmode, S)")
    elif opcode in _TWO_SOURCE:
        b.wv(rd, f"{_TWO_SOURCE[opcode]}({a}, {m}, {es}, S.fpmode, S)")
    elif opcode == 8:   # FNMUL
        t = b.tmp()
        b.line(f"{t} = FMUL({a}, {m}, {es}, S.fpmode, S)")
        b.wv(rd, f"{t} ^ {_SIGN[es]:#x}")
    else:
        b.end_undefined()


def emit_dp3(b, insn: int) -> None:
    es = _esize(b, insn)
    if es is None:
        return
    o1, rm, o0 = field(insn, 21, 21), field(insn, 20, 16), field(insn, 15, 15)
    ra, rn, rd = field(insn, 14, 10), field(insn, 9, 5), field(insn, 4, 0)
    if es == 64 and twin.wanted(b, (rn, rm, ra)):
        return _twin_fmadd64(b, rd, rn, rm, ra, o0 != o1, bool(o1))
    sign = _SIGN[es]
    a, m, acc = _src(b, rn, es), _src(b, rm, es), _src(b, ra, es)
    # FMADD: a*m + acc; FMSUB: -a*m + acc; FNMADD: -a*m - acc; FNMSUB: a*m - acc
    na = f"({a} ^ {sign:#x})" if o0 != o1 else a
    nacc = f"({acc} ^ {sign:#x})" if o1 else acc
    if es == 64:
        _inline_fmadd64(b, rd, na, m, nacc)
    elif es == 32:
        b.wv(rd, f"FMADD{es}({na}, {m}, {nacc}, S.fpmode, S)")
    else:
        b.wv(rd, f"FMADD({na}, {m}, {nacc}, {es}, S.fpmode, S)")


_INLINE_OP = {0: "*", 2: "+", 3: "-"}

# The inline fast paths below end in one `if`: anything off the fast path -- an
# FPCR that is not all default, a non-finite or possibly underflowing result, a
# product that may be inexact, and while FPSR.IXC is clear (S.fpmode == FP_SLOW)
# an inexact result -- calls the fpu helper, which redoes the operation on its
# general path and raises the flags.  An inexact result then sets IXC, so the
# exactness test stops for good after the first one (a program that computes
# meets it early; one whose results stay exact, such as a matrix product of
# short values, runs the test every time and must find it cheap: in matmul's
# trace callgrind counts ~630 host instructions for the short-significand test,
# ~350 for the sum's exactness, ~150 for the tiny-product test).
#   A sum r = RN(x + y) of finite doubles is exact iff r - x == y and r - y == x
# (Fast2Sum: for the operand of larger magnitude the subtraction is exact).
# The test fails on an infinite or NaN r, so while IXC is clear it stands in
# for the finiteness test `r - r` too.
_DEFAULT_IXC_CLEAR = f"{fpu.FP_SLOW:#x}"     # S.fpmode: FPCR all default, FPSR.IXC clear
_MIN = repr(fpu._MIN_NORMAL64)


def _off_fast_path(mode: str, r: str, inexact: str) -> str:
    """The test that leaves the fast path for a result r: (IXC clear) r not
    exact, or (IXC set) FPCR not default or r not finite; `inexact` is the
    exactness test negated (it holds for a non-finite r)."""
    return f"({inexact} if {mode} == {_DEFAULT_IXC_CLEAR} else {mode} or {r} - {r})"


def _inline_arith64(b, rd: int, opcode: int, a: str, m: str) -> None:
    """FMUL, FADD or FSUB (double): fpu's fast path for it written into the trace
    (see _inline_fmadd64), calling the helper off it.  A product is checked for
    exactness here only when both significands are short (else the helper does it)."""
    raw = [_RAW.sub(r"\1", e) for e in (a, m)]
    x, y, r, mode = (b.tmp("f") for _ in range(4))
    op = _INLINE_OP[opcode]
    b.line(f"try: {x}, {y} = FU2D(FP2Q({raw[0]}, {raw[1]}))")
    b.line(f"except Exception: {x}, {y} = FU2D(FP2Q({a}, {m}))")
    b.line(f"{r} = {x} {op} {y}; {mode} = S.fpmode")
    if op == "+":
        slow = _off_fast_path(mode, r, f"{r} - {x} != {y} or {r} - {y} != {x}")
    elif op == "-":
        slow = _off_fast_path(mode, r, f"{r} - {x} != -{y} or {r} + {y} != {x}")
    else:   # a product with a long significand: the helper checks it (while IXC is clear)
        slow = (f"(({raw[0]} | {raw[1]}) & {fpu._SHORT64:#x} if {mode} == {_DEFAULT_IXC_CLEAR} else {mode}) "
                f"or {r} - {r} or ({r} <= {_MIN} and {r} >= -{_MIN} and {x} and {y})")
    b.begin_if(slow)
    b.wv(rd, f"{_TWO_SOURCE[opcode]}64({a}, {m}, {mode}, S)")
    b.end_if()
    b.line("else:")
    b.depth += 1
    b.line(f"FD[0] = {r}")
    b.wv(rd, "FQ[0]")
    b.depth -= 1


def _inline_fmadd64(b, rd: int, a: str, m: str, acc: str) -> None:
    """fpu.fmadd64's first fast path written into the trace (FMADD is the inner
    loop of numeric code; a call costs as much as the arithmetic): both factors
    with short significands (so x*y is exact), FPCR at its default and a finite
    result whose product did not underflow (and, while IXC is clear, an exact
    sum); anything else calls FMADD64.

    a, m, acc are masked operand expressions; a plain register goes into the
    struct pack unmasked first (it refuses a value past 64 bits, and only then
    are the masks paid for)."""
    raw = [_RAW.sub(r"\1", e) for e in (a, m, acc)]
    x, y, z, p, r, mode = (b.tmp("f") for _ in range(6))
    b.line(f"try: {x}, {y}, {z} = FU3D(FP3Q({raw[0]}, {raw[1]}, {raw[2]}))")
    b.line(f"except Exception: {x}, {y}, {z} = FU3D(FP3Q({a}, {m}, {acc}))")
    b.line(f"{p} = {x} * {y}; {r} = {p} + {z}; {mode} = S.fpmode")
    # p < MIN first: a positive product (the common sign) is one comparison
    b.begin_if(f"({raw[0]} | {raw[1]}) & {fpu._SHORT64:#x} "
               f"or {_off_fast_path(mode, r, f'{r} - {p} != {z} or {r} - {z} != {p}')} "
               f"or ({p} < {_MIN} and {p} > -{_MIN} and {x} and {y})")
    b.wv(rd, f"FMADD64({a}, {m}, {acc}, {mode}, S)")
    b.end_if()
    b.line("else:")
    b.depth += 1
    b.line(f"FD[0] = {r}")
    b.wv(rd, "FQ[0]")
    b.depth -= 1


def _twin_arith64(b, rd: int, opcode: int, rn: int, rm: int) -> None:
    """FMUL, FADD or FSUB of doubles on their float twins (a64_fp_twin), with
    _inline_arith64's checks; the result is Dd's twin."""
    x, y = twin.operand(b, rn), twin.operand(b, rm)
    r, mode = b.tmp("f"), b.tmp("f")
    op = _INLINE_OP[opcode]
    b.line(f"{r} = {x} {op} {y}; {mode} = S.fpmode")
    if op == "+":
        slow = _off_fast_path(mode, r, f"{r} - {x} != {y} or {r} - {y} != {x}")
    elif op == "-":
        slow = _off_fast_path(mode, r, f"{r} - {x} != -{y} or {r} + {y} != {x}")
    else:   # while IXC is clear, a product is known exact when both significands are short
        slow = (f"(({twin.long_test(b, x)} or {twin.long_test(b, y)}) if {mode} == {_DEFAULT_IXC_CLEAR} "
                f"else {mode}) or {r} - {r} or ({r} <= {_MIN} and {r} >= -{_MIN} and {x} and {y})")
    b.begin_if(slow)
    b.line(f"{r} = DQ({_TWO_SOURCE[opcode]}64(QD({x}), QD({y}), {mode}, S))")
    b.end_if()
    twin.materialise(b, rd, r)


def _twin_fmadd64(b, rd: int, rn: int, rm: int, ra: int, neg_product: bool, neg_acc: bool) -> None:
    """FMADD and its negated forms on float twins (_inline_fmadd64's checks; the
    short-significand test of the factors is Veltkamp's split, on floats)."""
    x, y, z = twin.operand(b, rn), twin.operand(b, rm), twin.operand(b, ra)
    p, r, mode = b.tmp("f"), b.tmp("f"), b.tmp("f")
    xs = f"-{x}" if neg_product else x      # float negation flips the sign bit only
    zs = f"-{z}" if neg_acc else z
    b.line(f"{p} = {xs} * {y}; {r} = {p} + {zs}; {mode} = S.fpmode")
    b.begin_if(f"{twin.product_test(b, x, y)} "
               f"or {_off_fast_path(mode, r, f'{r} - {p} != {zs} or {r} - {zs} != {p}')} "
               f"or ({p} < {_MIN} and {p} > -{_MIN} and {x} and {y})")
    qx = f"QD({x}) ^ {_SIGN[64]:#x}" if neg_product else f"QD({x})"
    qz = f"QD({z}) ^ {_SIGN[64]:#x}" if neg_acc else f"QD({z})"
    b.line(f"{r} = DQ(FMADD64({qx}, QD({y}), {qz}, {mode}, S))")
    b.end_if()
    twin.materialise(b, rd, r)


_RAW = lazy_compile(r"^\((v\d+) & 0xffffffffffffffff\)$")   # a plain register's masked read


def emit_fcmp(b, insn: int) -> None:
    es = _esize(b, insn)
    if es is None:
        return
    rm, op, rn, opc2 = field(insn, 20, 16), field(insn, 15, 14), field(insn, 9, 5), field(insn, 4, 0)
    if op or opc2 & 7:
        return b.end_undefined()
    signalling = bool(opc2 & 16)
    if es == 64 and twin.wanted(b, (rn,) if opc2 & 8 else (rn, rm)):
        return _twin_fcmp64(b, rn, None if opc2 & 8 else rm, signalling)
    a = _src(b, rn, es)
    m = "0" if opc2 & 8 else _src(b, rm, es)
    b.set_nzcv(f"FCMP({a}, {m}, {es}, {signalling}, S)")


def _twin_fcmp64(b, rn: int, rm: int | None, signalling: bool) -> None:
    """FCMP/FCMPE of doubles on twins: ordered operands under the default FPCR
    compare as host floats (no flag: -0 equals +0, denormals are not flushed);
    a NaN or another FPCR goes to the helper (IOC, flushing)."""
    x = twin.operand(b, rn)
    y = twin.operand(b, rm) if rm is not None else "0.0"
    fast = f"(0x60000000 if {x} == {y} else 0x80000000 if {x} < {y} else 0x20000000)"
    b.set_nzcv(f"{fast} if {x} == {x} and {y} == {y} and not S.fpmode & 0x7FFFFFFF "
               f"else FCMP(QD({x}), {f'QD({y})' if rm is not None else '0'}, 64, {signalling}, S)")


def emit_fccmp(b, insn: int) -> None:
    es = _esize(b, insn)
    if es is None:
        return
    rm, cond, rn, op, nzcv = (field(insn, 20, 16), field(insn, 15, 12), field(insn, 9, 5),
                              field(insn, 4, 4), field(insn, 3, 0))
    test = b.cond(cond)
    a, m = _src(b, rn, es), _src(b, rm, es)
    b.set_nzcv(f"FCMP({a}, {m}, {es}, {bool(op)}, S) if {test} else {nzcv << 28:#x}")


def emit_fcsel(b, insn: int) -> None:
    es = _esize(b, insn)
    if es is None:
        return
    rm, cond, rn, rd = field(insn, 20, 16), field(insn, 15, 12), field(insn, 9, 5), field(insn, 4, 0)
    a, m = _src(b, rn, es), _src(b, rm, es)
    b.wv(rd, f"{a} if {b.cond(cond)} else {m}")


def emit_fmov_imm(b, insn: int) -> None:
    es = _esize(b, insn)
    if es is None:
        return
    if field(insn, 9, 5):
        return b.end_undefined()
    b.wv(field(insn, 4, 0), f"{vfp_expand_imm(field(insn, 20, 13), es):#x}")


def emit_int_conv(b, insn: int) -> None:
    sf, ftype, rmode, opcode = field(insn, 31, 31), field(insn, 23, 22), field(insn, 20, 19), field(insn, 18, 16)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    intbits = 64 if sf else 32
    if opcode in (6, 7):                         # FMOV between general and FP registers
        if rmode == 0 and ((sf, ftype) in ((0, 0), (1, 1), (0, 3), (1, 3))):
            es = _ESIZE[ftype]
            if opcode == 6:
                b.wx(rd, _src(b, rn, es), masked=True)
            else:
                b.wv(rd, f"({b.rx(rn)} & {_MASK[es]:#x})")
            return
        if rmode == 1 and sf and ftype == 2:     # FMOV Xd, Vn.D[1] / FMOV Vd.D[1], Xn
            if opcode == 6:
                b.wx(rd, f"{b.rv(rn)} >> 64", masked=True)
            else:
                b.wv(rd, f"({b.rv(rd)} & 0xFFFFFFFFFFFFFFFF) | ({b.rx(rn)} << 64)")
            return
        if rmode == 3 and opcode == 6 and not sf and ftype == 1:   # FJCVTZS
            t = b.tmp()
            b.line(f"{t} = FJCVTZS({_src(b, rn, 64)}, S)")
            b.wx(rd, f"{t}[0]", masked=True)
            b.set_nzcv(f"{t}[1]")
            return
        return b.end_undefined()
    es = _ESIZE.get(ftype)
    if es is None:
        return b.end_undefined()
    if opcode in (2, 3):                         # SCVTF / UCVTF
        if rmode:
            return b.end_undefined()
        src = b.rx(rn, not sf)
        b.wv(rd, f"FROM_FIXED({src}, {intbits}, {opcode == 3}, 0, {es}, S.fpmode, S)")
        return
    if opcode in (0, 1):                         # FCVT{N,P,M,Z}{S,U}
        mode = {0: 0, 1: 1, 2: 2, 3: 3}[rmode]
    elif opcode in (4, 5) and rmode == 0:        # FCVTA{S,U}
        mode = 4
    else:
        return b.end_undefined()
    unsigned = bool(opcode & 1)
    _to_gpr(b, rd, f"TO_FIXED({_src(b, rn, es)}, {es}, {intbits}, {unsigned}, 0, {mode}, S)")


def _to_gpr(b, rd: int, call: str) -> None:
    """Wd/Xd = a conversion call; with WZR/XZR the call still runs (its FPSR flags)."""
    if rd == 31:
        b.line(call)
    else:
        b.wx(rd, call, masked=True)


def emit_fixed(b, insn: int) -> None:
    sf, ftype, rmode, opcode = field(insn, 31, 31), field(insn, 23, 22), field(insn, 20, 19), field(insn, 18, 16)
    scale, rn, rd = field(insn, 15, 10), field(insn, 9, 5), field(insn, 4, 0)
    es = _ESIZE.get(ftype)
    if es is None or (not sf and scale < 32):
        return b.end_undefined()
    fbits = 64 - scale
    intbits = 64 if sf else 32
    if rmode == 0 and opcode in (2, 3):
        b.wv(rd, f"FROM_FIXED({b.rx(rn, not sf)}, {intbits}, {opcode == 3}, {fbits}, {es}, S.fpmode, S)")
    elif rmode == 3 and opcode in (0, 1):
        _to_gpr(b, rd, f"TO_FIXED({_src(b, rn, es)}, {es}, {intbits}, {opcode == 1}, {fbits}, 3, S)")
    else:
        b.end_undefined()
