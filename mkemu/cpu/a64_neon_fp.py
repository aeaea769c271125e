"""A64 Advanced SIMD floating point: the FP rows of the Arm ARM's three same,
three same extra (FCMLA, FCADD), two-register misc (including FCVTL, FCVTN,
FCVTXN, FRECPX), across lanes, scalar pairwise and vector x indexed element
(FMUL, FMULX, FMLA, FMLS, FMLAL, FMLSL, FCMLA) classes, and the half-precision
classes three same (FP16) and two-register misc (FP16).  The fixed-point
conversions (SCVTF, FCVTZS... with #fbits) are in the shift by immediate class,
a64_neon_shift.py.  BFloat16 is not implemented (undefined).

Lanes are converted through fpu.py, which follows the Arm ARM's FPCR (rounding
mode, FZ, FZ16, DN) and raises the FPSR cumulative flags.  FADD/FSUB/FMUL/FDIV,
FMLA/FMLS and the integer<->FP conversions have host-float fast paths for
round-to-nearest without flush-to-zero (see _fvec2, _fmla_vec; fpu.py says how
they keep the flags exact).
"""
from __future__ import annotations

import operator
import struct
from itertools import repeat

from . import fpu
from .a64_neon_expr import (FP_ARGS, bind, by_element_operands, element_index, narrow, ones, pack, rep,
                            unpack, velem, vhalf, vreg, write_narrow)
from .bits import field
from .lanes import join, split


def _fcmp_lane(fn, absolute=False):
    def lane(x, y, e, fpcr, st):
        if absolute:
            m = ones(e) >> 1
            x, y = x & m, y & m
        return ones(e) if fn(x, y, e, st) else 0
    return lane


def _fmadd(a: int, b: int, c: int, e: int, fpcr: int, st) -> int:
    """a*b + c fused (FPMulAdd(c, a, b))."""
    if e == 64:
        return fpu.fmadd64(a, b, c, fpcr, st)
    if e == 32:
        return fpu.fmadd32(a, b, c, fpcr, st)
    return fpu.fmadd(a, b, c, e, fpcr, st)


FPL = {
    "fadd": fpu.fadd, "fsub": fpu.fsub, "fmul": fpu.fmul, "fdiv": fpu.fdiv, "fmulx": fpu.fmulx,
    "fmax": fpu.fmax, "fmin": fpu.fmin, "fmaxnm": fpu.fmaxnm, "fminnm": fpu.fminnm,
    "fabd": fpu.fabd, "frecps": fpu.frecps, "frsqrts": fpu.frsqrts,
    "fcmeq": _fcmp_lane(fpu.fcmeq), "fcmge": _fcmp_lane(fpu.fcmge), "fcmgt": _fcmp_lane(fpu.fcmgt),
    "facge": _fcmp_lane(fpu.fcmge, True), "facgt": _fcmp_lane(fpu.fcmgt, True),
    "fmla": lambda d, x, y, e, fpcr, st: _fmadd(x, y, d, e, fpcr, st),
    "fmls": lambda d, x, y, e, fpcr, st: _fmadd(x ^ (1 << (e - 1)), y, d, e, fpcr, st),
}
HELPERS: dict = {"FPL": FPL, "FPU": fpu}

_FP3 = {   # (U, a, opcode low 3 bits) -> (lane function name, kind)
    (0, 0, 0): ("fmaxnm", "map"), (0, 0, 1): ("fmla", "acc"), (0, 0, 2): ("fadd", "map"),
    (0, 0, 3): ("fmulx", "map"), (0, 0, 4): ("fcmeq", "map"), (0, 0, 6): ("fmax", "map"),
    (0, 0, 7): ("frecps", "map"), (0, 1, 0): ("fminnm", "map"), (0, 1, 1): ("fmls", "acc"),
    (0, 1, 2): ("fsub", "map"), (0, 1, 6): ("fmin", "map"), (0, 1, 7): ("frsqrts", "map"),
    (1, 0, 0): ("fmaxnm", "pair"), (1, 0, 2): ("fadd", "pair"), (1, 0, 3): ("fmul", "map"),
    (1, 0, 4): ("fcmge", "map"), (1, 0, 5): ("facge", "map"), (1, 0, 6): ("fmax", "pair"),
    (1, 0, 7): ("fdiv", "map"), (1, 1, 0): ("fminnm", "pair"), (1, 1, 2): ("fabd", "map"),
    (1, 1, 4): ("fcmgt", "map"), (1, 1, 5): ("facgt", "map"), (1, 1, 6): ("fmin", "pair"),
}
_FP3_SCALAR = {(0, 0, 3), (0, 0, 4), (0, 0, 7), (0, 1, 7), (1, 0, 4), (1, 0, 5), (1, 1, 2),
               (1, 1, 4), (1, 1, 5)}

# Fast path for FADD/FSUB/FMUL/FDIV: host floats when FPCR asks for round-to-nearest
# without flush-to-zero, FPSR.IXC is already set (fpu.FP_SLOW clear) and no lane makes
# a NaN.  A float32 op computed in double and rounded once to float32 is correctly
# rounded for + - * /.  Overflow, division by zero, NaNs and a product or quotient that
# may have underflowed take the general path (fpu.py), which raises their flags.
_FAST_OFF = fpu.FP_SLOW | fpu.FZ | 0x00C00000       # the FPCR bits the fast paths need clear
_FOPS = {"fadd": operator.add, "fsub": operator.sub, "fmul": operator.mul, "fdiv": operator.truediv}
_FSTRUCT = {(e, n): struct.Struct(f"<{n}{'f' if e == 32 else 'd'}") for e in (32, 64) for n in (1, 2, 4, 8)}
_ISTRUCT = {(e, n): struct.Struct(f"<{n}{'I' if e == 32 else 'Q'}") for e in (32, 64) for n in (1, 2, 4, 8)}


def _fvec2(name: str, a: int, b: int, e: int, n: int, fpcr: int, st) -> int:
    """FADD/FSUB/FMUL/FDIV on n lanes of e bits; a and b hold n*e bits."""
    nb = e * n // 8
    if not fpcr & _FAST_OFF:
        fs = _FSTRUCT[e, n]
        try:
            r = list(map(_FOPS[name], fs.unpack(a.to_bytes(nb, "little")), fs.unpack(b.to_bytes(nb, "little"))))
            t = sum(r)
            if t - t == 0 and (name in ("fadd", "fsub") or min(map(abs, r)) > fpu.MIN_NORMAL[e]):
                return int.from_bytes(fs.pack(*r), "little")
        except (ZeroDivisionError, OverflowError):
            pass
    ist = _ISTRUCT[e, n]
    if not fpcr & _FAST_OFF & ~fpu.FP_SLOW:   # lane by lane: exactness, zeros and overflow checked
        fn = _FAST_LANE[name, e]
        return int.from_bytes(ist.pack(*map(fn, ist.unpack(a.to_bytes(nb, "little")),
                                            ist.unpack(b.to_bytes(nb, "little")), repeat(fpcr), repeat(st))), "little")
    fn = FPL[name]
    return int.from_bytes(ist.pack(*map(fn, ist.unpack(a.to_bytes(nb, "little")), ist.unpack(b.to_bytes(nb, "little")),
                                        repeat(e), repeat(fpcr), repeat(st))), "little")


_FAST_LANE = {(name, e): getattr(fpu, f"{name}{e}") for name in _FOPS for e in (32, 64)}


HELPERS["NFVEC2"] = _fvec2
_PD, _UQ = struct.Struct("<d").pack, struct.Struct("<Q").unpack
_PF, _UI = struct.Struct("<f").pack, struct.Struct("<I").unpack


def _fma32(x: float, y: float, z: float):
    """Bits of the float32 x*y + z rounded once (x, y, z float32 values), or None when
    the double computation cannot tell: x*y is exact in double; if the double sum is
    exact, or is not a float32 rounding midpoint, rounding it to float32 is correct."""
    p = x * y
    s = p + z
    if s - s != 0:
        return None                     # infinity or NaN: the general path
    bp = s - z
    if abs(s) <= fpu.MIN_NORMAL[32]:
        return None                     # may have underflowed: the general path raises UFC
    if (p - bp) + (z - (s - bp)):       # TwoSum: the double sum was rounded
        if _UQ(_PD(s))[0] & 0x1FFF_FFFF == 0x1000_0000:
            return None
    try:
        return _UI(_PF(s))[0]
    except OverflowError:
        return None


def _fmla_vec(dv: int, av: int, bv: int, e: int, n: int, neg: bool, fpcr: int, st) -> int:
    """FMLA/FMLS: d + a*b (or d - a*b) in every lane, fused."""
    nb = e * n // 8
    ist = _ISTRUCT[e, n]
    ds = ist.unpack(dv.to_bytes(nb, "little"))
    as_ = ist.unpack(av.to_bytes(nb, "little"))
    bs = ist.unpack(bv.to_bytes(nb, "little"))
    sign = 1 << (e - 1)
    if neg:
        as_ = [x ^ sign for x in as_]
    if e == 64:
        out = list(map(_fmadd, as_, bs, ds, repeat(64), repeat(fpcr), repeat(st)))
    else:
        out = []
        fast = not fpcr & _FAST_OFF
        if fast:
            fs = _FSTRUCT[e, n]
            fd = fs.unpack(dv.to_bytes(nb, "little"))
            fa = fs.unpack(av.to_bytes(nb, "little"))
            fb = fs.unpack(bv.to_bytes(nb, "little"))
        for i in range(n):
            r = None
            if fast:
                r = _fma32(-fa[i] if neg else fa[i], fb[i], fd[i])
            if r is None:
                r = _fmadd(as_[i], bs[i], ds[i], e, fpcr, st)
            out.append(r)
    return int.from_bytes(ist.pack(*out), "little")


HELPERS["NFMLA"] = _fmla_vec
_SSTRUCT = {(e, n): struct.Struct(f"<{n}{'i' if e == 32 else 'q'}") for e in (32, 64) for n in (1, 2, 4)}


def _cvtf_vec(v: int, e: int, n: int, unsigned: bool, fpcr: int, st) -> int:
    """SCVTF/UCVTF (vector, integer): Python's int -> float conversion is correctly
    rounded to double, and a 32-bit integer is exact in double; so round to nearest
    needs one rounding only."""
    nb = e * n // 8
    ints = (_ISTRUCT if unsigned else _SSTRUCT)[e, n].unpack(v.to_bytes(nb, "little"))
    exact = max(map(abs, ints)) < 1 << (24 if e == 32 else 53)     # every lane converts exactly
    if not fpcr & (_FAST_OFF & ~fpu.FP_SLOW) and (exact or (e == 32 and not fpcr & fpu.FP_SLOW)):
        return int.from_bytes(_FSTRUCT[e, n].pack(*map(float, ints)), "little")
    fn = FP_MISC[(int(unsigned), 0, 29)]
    return int.from_bytes(_ISTRUCT[e, n].pack(*[fn(x & ones(e), e, fpcr, st) for x in ints]), "little")


def _fcvtz_vec(v: int, e: int, n: int, unsigned: bool, fpcr: int, st) -> int:
    """FCVTZS/FCVTZU (vector, integer): truncation with int() when every lane is in range."""
    nb = e * n // 8
    raw = v.to_bytes(nb, "little")
    try:
        if fpcr & fpu.FZ:
            raise ValueError        # IDC may be due: the general path
        floats = _FSTRUCT[e, n].unpack(raw)
        ints = list(map(int, floats))
        lo, hi = (0, 1 << e) if unsigned else (-(1 << (e - 1)), 1 << (e - 1))
        if lo <= min(ints) and max(ints) < hi:
            if fpcr & fpu.FP_SLOW and ints != list(floats):
                st.fpsr |= fpu.IXC
            return int.from_bytes((_ISTRUCT if unsigned else _SSTRUCT)[e, n].pack(*ints), "little")
    except (ValueError, OverflowError):
        pass
    fn = FP_MISC[(int(unsigned), 1, 27)]
    return int.from_bytes(_ISTRUCT[e, n].pack(*map(fn, _ISTRUCT[e, n].unpack(raw), repeat(e),
                                                   repeat(fpcr), repeat(st))), "little")


HELPERS.update({"NCVTF": _cvtf_vec, "NFCVTZ": _fcvtz_vec})


def _fp_map2(name: str, a: str, m: str, e: int, n: int) -> str:
    if name in _FOPS and e > 16:
        return f"NFVEC2('{name}', {a}, {m}, {e}, {n}, S.fpmode, S)"
    return pack(f"map(FPL['{name}'], {unpack(a, e, n)}, {unpack(m, e, n)}, REPEAT({e}), {FP_ARGS})", e, n)


def emit_three_same(b, insn: int) -> None:
    """The FP rows (opcode >= 0x18) of three same, FMLAL/FMLSL(2) among them."""
    q, u, size, rm, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 20, 16), field(insn, 15, 11)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if not scalar and not size & 1 and (u, opcode) in ((0, 0x1D), (1, 0x19)):   # FMLAL/FMLSL(2)
        n = 4 if q else 2
        return b.wv(rd, f"NFMLAL({vreg(b, rd, q)}, {b.rv(rn)}, {b.rv(rm)}, {n}, {bool(size)}, {u}, None, S.fpmode, S)")
    _fp_three_same(b, insn, q, u, size, opcode, rn, rm, rd, scalar)


def emit_fp16_three_same(b, insn: int) -> None:
    """Half-precision three-same (FEAT_FP16): the single/double table with a = bit 23."""
    q, u, size, rm, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 20, 16), field(insn, 13, 11)
    _fp_three_same(b, insn, q, u, size, 0x18 | opcode, field(insn, 9, 5), rm, field(insn, 4, 0),
                   field(insn, 28, 28), 16)


def _fp_three_same(b, insn, q, u, size, opcode, rn, rm, rd, scalar, esize=0) -> None:
    esize = esize or 32 << (size & 1)
    key = (u, size >> 1, opcode & 7)
    if key not in _FP3 or (esize == 64 and not q and not scalar):
        return b.end_undefined()
    name, kind = _FP3[key]
    if scalar:
        if key not in _FP3_SCALAR:
            return b.end_undefined()
        a, m, n = velem(b, rn, esize), velem(b, rm, esize), 1
    else:
        a, m, n = vreg(b, rn, q), vreg(b, rm, q), (128 if q else 64) // esize
    if kind == "acc":
        d = vreg(b, rd, q)
        if not scalar and esize > 16:
            return b.wv(rd, f"NFMLA({d}, {a}, {m}, {esize}, {n}, {name == 'fmls'}, S.fpmode, S)")
        return b.wv(rd, pack(f"map(FPL['{name}'], {unpack(d, esize, n)}, {unpack(a, esize, n)}, "
                             f"{unpack(m, esize, n)}, REPEAT({esize}), {FP_ARGS})", esize, n))
    if kind == "pair":
        if name == "fadd" and esize > 16:   # FADDP: add the even and the odd lanes of Vm:Vn
            cat = bind(b, f"(({m}) << {n * esize}) | {a}")
            ev, od = narrow(b, cat, esize, n), narrow(b, f"({cat} >> {esize})", esize, n)
            return b.wv(rd, f"NFVEC2('fadd', {ev}, {od}, {esize}, {n}, S.fpmode, S)")
        t = b.tmp()
        b.line(f"{t} = {unpack(f'(({m}) << {n * esize}) | {a}', esize, 2 * n)}")
        return b.wv(rd, pack(f"map(FPL['{name}'], {t}[0::2], {t}[1::2], REPEAT({esize}), {FP_ARGS})", esize, n))
    b.wv(rd, _fp_map2(name, a, m, esize, n))


def _fcadd(nv: int, mv: int, e: int, n: int, rot270: bool, fpcr: int, st) -> int:
    xs, ms = split(nv, e, n), split(mv, e, n)
    sign = 1 << (e - 1)
    out = []
    for i in range(0, n, 2):
        if rot270:
            e1, e3 = ms[i + 1], ms[i] ^ sign
        else:
            e1, e3 = ms[i + 1] ^ sign, ms[i]
        out += [fpu.fadd(xs[i], e1, e, fpcr, st), fpu.fadd(xs[i + 1], e3, e, fpcr, st)]
    return join(out, e)


def _fcmla(dv: int, nv: int, mv: int, e: int, n: int, rot: int, idx, fpcr: int, st) -> int:
    """FCMLA: idx None for the vector form, else the index of the complex pair in Vm."""
    ds, xs, ms = split(dv, e, n), split(nv, e, n), split(mv, e, 128 // e)
    s = 1 << (e - 1)
    out = []
    for i in range(0, n, 2):
        m0, m1 = (ms[i], ms[i + 1]) if idx is None else (ms[2 * idx], ms[2 * idx + 1])
        n0, n1 = xs[i], xs[i + 1]
        if rot == 0:
            e1, e2, e3, e4 = m0, n0, m1, n0
        elif rot == 1:
            e1, e2, e3, e4 = m1 ^ s, n1, m0, n1
        elif rot == 2:
            e1, e2, e3, e4 = m0 ^ s, n0, m1 ^ s, n0
        else:
            e1, e2, e3, e4 = m1, n1, m0 ^ s, n1
        out += [_fmadd(e2, e1, ds[i], e, fpcr, st), _fmadd(e4, e3, ds[i + 1], e, fpcr, st)]
    return join(out, e)


def _half_to_single_nan(h: int) -> int:
    return ((h >> 15) << 31) | 0x7FC0_0000 | ((h & 0x3FF) << 13)


def _fmlal(dv: int, nv: int, mv: int, n: int, sub: bool, part: int, idx, fpcr: int, st) -> int:
    """FMLAL/FMLSL(2): single-precision Vd += (-)Vn.h * Vm.h, the halves widened exactly and
    the multiply-add fused (FPMulAddH, with its NaN rules: signalling NaNs first, in the
    order addend, Vn, Vm, then quiet NaNs)."""
    out = []
    for i in range(n):
        d = (dv >> (32 * i)) & 0xFFFF_FFFF
        a = (nv >> (16 * (part * n + i))) & 0xFFFF
        c = (mv >> (16 * (part * n + i if idx is None else idx))) & 0xFFFF
        if sub:
            a ^= 0x8000
        d, a, c = fpu.flush_in(d, 32, fpcr, st), fpu.flush_in(a, 16, fpcr, st), fpu.flush_in(c, 16, fpcr, st)
        if fpu.is_nan(d, 32) and not fpu.is_snan(d, 32) and \
                {a & 0x7FFF, c & 0x7FFF} == {0, 0x7C00}:    # quiet-NaN addend, infinity * zero
            st.fpsr |= fpu.IOC
            out.append(0x7FC0_0000)
            continue
        ops = ((d, 32), (a, 16), (c, 16))
        if any(fpu.is_nan(x, w) for x, w in ops):
            nan = next((x, w) for x, w in ops if fpu.is_snan(x, w)) if any(fpu.is_snan(x, w) for x, w in ops) \
                else next((x, w) for x, w in ops if fpu.is_nan(x, w))
            if any(fpu.is_snan(x, w) for x, w in ops):
                st.fpsr |= fpu.IOC
            x, w = nan
            if fpcr >> 25 & 1:
                out.append(0x7FC0_0000)
            else:
                out.append(x | 0x40_0000 if w == 32 else _half_to_single_nan(x))
            continue
        a32 = fpu.fconvert(a, 16, 32, fpcr, st)
        c32 = fpu.fconvert(c, 16, 32, fpcr, st)
        out.append(_fmadd(a32, c32, d, 32, fpcr, st))
    return join(out, 32)


HELPERS.update({"NFCADD": _fcadd, "NFCMLA": _fcmla, "NFMLAL": _fmlal})


def emit_three_same_extra(b, insn: int) -> None:
    """FCMLA and FCADD (vector)."""
    q, size, rm, opcode = field(insn, 30, 30), field(insn, 23, 22), field(insn, 20, 16), field(insn, 14, 11)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    e = 8 << size
    if e == 64 and not q:
        return b.end_undefined()
    n = (128 if q else 64) // e
    if opcode >= 12:
        return b.wv(rd, f"NFCADD({vreg(b, rn, q)}, {vreg(b, rm, q)}, {e}, {n}, {opcode == 14}, S.fpmode, S)")
    b.wv(rd, f"NFCMLA({vreg(b, rd, q)}, {vreg(b, rn, q)}, {vreg(b, rm, q)}, {e}, {n}, {opcode & 3}, None, "
             f"S.fpmode, S)")


_FP_MISC = {   # (U, size>>1, opcode) -> kind
    (0, 1, 15): "fabs", (1, 1, 15): "fneg", (1, 1, 31): "fsqrt",
    (0, 1, 27): "fcvtzs", (1, 1, 27): "fcvtzu", (0, 0, 29): "scvtf", (1, 0, 29): "ucvtf",
    (0, 0, 26): "fcvtns", (1, 0, 26): "fcvtnu", (0, 0, 27): "fcvtms", (1, 0, 27): "fcvtmu",
    (0, 1, 26): "fcvtps", (1, 1, 26): "fcvtpu", (0, 0, 28): "fcvtas", (1, 0, 28): "fcvtau",
    (0, 0, 24): "frintn", (0, 0, 25): "frintm", (0, 1, 24): "frintp", (0, 1, 25): "frintz",
    (1, 0, 24): "frinta", (1, 0, 25): "frintx", (1, 1, 25): "frinti",
    (0, 1, 12): "fcmgt0", (0, 1, 13): "fcmeq0", (0, 1, 14): "fcmlt0", (1, 1, 12): "fcmge0",
    (1, 1, 13): "fcmle0", (0, 1, 29): "frecpe", (1, 1, 29): "frsqrte",
    (0, 0, 30): "frint32z", (1, 0, 30): "frint32x", (0, 0, 31): "frint64z", (1, 0, 31): "frint64x",
}
_FP_MISC_SCALAR = {"fcvtzs", "fcvtzu", "scvtf", "ucvtf", "fcvtns", "fcvtnu", "fcvtms", "fcvtmu",
                   "fcvtps", "fcvtpu", "fcvtas", "fcvtau", "fcmgt0", "fcmeq0", "fcmlt0", "fcmge0",
                   "fcmle0", "frecpe", "frsqrte"}
_CVT_MODE = {"n": 0, "p": 1, "m": 2, "z": 3, "a": 4}
_RINT_MODE = {"n": 0, "p": 1, "m": 2, "z": 3, "a": 4}


def _fcmp0(cmp: str):
    def f(x, e, fpcr, st):
        if fpu.is_nan(x, e):
            if cmp not in ("eq",) or fpu.is_snan(x, e):
                st.fpsr |= fpu.IOC
            return 0
        x = fpu.flush_in(x, e, fpcr, st)
        v = fpu.to_float(x, e)
        ok = {"gt": v > 0, "eq": v == 0, "lt": v < 0, "ge": v >= 0, "le": v <= 0}[cmp]
        return ones(e) if ok else 0
    return f


def _fp_misc_fn(kind: str):
    """A lane function f(x, e, fpcr, st) for an FP two-register-misc kind."""
    if kind == "fsqrt":
        return fpu.fsqrt
    if kind.startswith("fcvt"):
        mode, unsigned = _CVT_MODE[kind[4]], kind[5] == "u"
        return lambda x, e, fpcr, st: fpu.to_fixed(x, e, e, unsigned, 0, mode, st)
    if kind in ("scvtf", "ucvtf"):
        uns = kind == "ucvtf"
        return lambda x, e, fpcr, st: fpu.from_fixed(x, e, uns, 0, e, fpcr, st)
    if kind.startswith("frint"):
        inner = _frint_fn(kind)
        if kind[5] in "36":          # FRINT32*/FRINT64*: a NaN becomes the most negative integer
            return inner

        def frint(x, e, fpcr, st):
            if fpu.is_nan(x, e):     # fpu.frint takes no FPCR: NaNs (and FPCR.DN) are done here
                if fpu.is_snan(x, e):
                    st.fpsr |= fpu.IOC
                return _DEFAULT_NAN[e] if fpcr >> 25 & 1 else x | (1 << ({16: 9, 32: 22, 64: 51}[e]))
            return inner(x, e, fpcr, st)
        return frint
    if kind.endswith("0"):
        return _fcmp0(kind[3:5])
    if kind == "frecpe":
        return fpu.frecpe
    return fpu.frsqrte


_DEFAULT_NAN = {16: 0x7E00, 32: 0x7FC0_0000, 64: 0x7FF8_0000_0000_0000}


def _frint_fn(kind: str):
    if kind.startswith("frint3") or kind.startswith("frint6"):
        bits = int(kind[5:7])
        exact = kind[-1] == "x"
        return lambda x, e, fpcr, st: fpu.frint_n(x, e, (fpcr >> 22) & 3 if exact else 3, bits, st)
    if kind.startswith("frint"):
        c = kind[5]
        if c in "xi":
            return lambda x, e, fpcr, st: fpu.frint(x, e, (fpcr >> 22) & 3, c == "x", st)
        mode = _RINT_MODE[c]
        return lambda x, e, fpcr, st: fpu.frint(x, e, mode, False, st)


FP_MISC = {k: _fp_misc_fn(v) for k, v in _FP_MISC.items() if v not in ("fabs", "fneg")}
HELPERS["FPMISC"] = FP_MISC


def emit_fp16_two_misc(b, insn: int) -> None:
    """Half-precision two-register misc (FEAT_FP16)."""
    q, u, size, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd, scalar = field(insn, 9, 5), field(insn, 4, 0), field(insn, 28, 28)
    if scalar and (u, size >> 1, opcode) == (0, 1, 31):       # FRECPX Hd, Hn
        return b.wv(rd, f"NFRECPX({velem(b, rn, 16)}, 16, S.fpmode, S)")
    kind = _FP_MISC.get((u, size >> 1, opcode))
    if kind is None or kind.startswith(("frint3", "frint6")) or (opcode < 24 and opcode not in (12, 13, 14, 15)):
        return b.end_undefined()
    _fp_two_misc(b, u, size, opcode, q, rn, rd, scalar, 16)


def _fp_two_misc(b, u, size, opcode, q, rn, rd, scalar, esize=0) -> None:
    kind = _FP_MISC[(u, size >> 1, opcode)]
    esize = esize or 32 << (size & 1)
    if scalar:
        if kind not in _FP_MISC_SCALAR:
            return b.end_undefined()
        src, n, nbits = velem(b, rn, esize), 1, esize
    else:
        if esize == 64 and not q:
            return b.end_undefined()
        src, nbits = vreg(b, rn, q), 128 if q else 64
        n = nbits // esize
    if kind in ("fabs", "fneg"):      # sign-bit operations, no NaN processing
        signs = rep(esize, nbits) << (esize - 1)
        return b.wv(rd, f"{src} & {ones(nbits) ^ signs:#x}" if kind == "fabs" else f"{src} ^ {signs:#x}")
    if kind in ("scvtf", "ucvtf") and n > 1 and esize > 16:
        return b.wv(rd, f"NCVTF({src}, {esize}, {n}, {kind == 'ucvtf'}, S.fpmode, S)")
    if kind in ("fcvtzs", "fcvtzu") and n > 1 and esize > 16:
        return b.wv(rd, f"NFCVTZ({src}, {esize}, {n}, {kind == 'fcvtzu'}, S.fpmode, S)")
    fn = f"FPMISC[{(u, size >> 1, opcode)}]"
    b.wv(rd, pack(f"map({fn}, {unpack(src, esize, n)}, REPEAT({esize}), {FP_ARGS})", esize, n))


def emit_two_misc(b, insn: int) -> None:
    """The FP rows of two-register misc, vector and scalar: rounding, conversions,
    compares with zero, estimates, FABS/FNEG/FSQRT, FCVTL/FCVTN/FCVTXN and FRECPX."""
    q, u, size, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if is_fp_two_misc_kind(u, size, opcode):
        if opcode in (30, 31) and not size >> 1 and scalar:
            return b.end_undefined()          # FRINT32*/FRINT64* have no scalar form here
        return _fp_two_misc(b, u, size, opcode, q, rn, rd, scalar)
    if scalar:
        if opcode == 22 and u and size == 1:      # FCVTXN Sd, Dn (round to odd)
            return b.wv(rd, f"NFCVTXN({velem(b, rn, 64)}, S.fpmode, S)")
        if opcode == 31 and not u and size >> 1:  # FRECPX
            e = 32 << (size & 1)
            return b.wv(rd, f"NFRECPX({velem(b, rn, e)}, {e}, S.fpmode, S)")
        return b.end_undefined()
    if opcode == 31 or size >> 1:
        return b.end_undefined()
    if opcode == 23 and not u:      # FCVTL / FCVTL2
        src_e, dst_e = (32, 64) if size & 1 else (16, 32)
        n2 = 64 // src_e
        return b.wv(rd, pack(f"map(FPU.fconvert, {unpack(vhalf(b, rn, q), src_e, n2)}, REPEAT({src_e}), "
                             f"REPEAT({dst_e}), {FP_ARGS})", dst_e, n2))
    if opcode == 22 and u and size == 1:   # FCVTXN / FCVTXN2
        t = pack(f"map(NFCVTXN, {unpack(b.rv(rn), 64, 2)}, {FP_ARGS})", 32, 2)
        return write_narrow(b, rd, q, t)
    if opcode == 22 and not u:      # FCVTN / FCVTN2
        src_e, dst_e = (64, 32) if size & 1 else (32, 16)
        n2 = 128 // src_e
        t = pack(f"map(FPU.fconvert, {unpack(b.rv(rn), src_e, n2)}, REPEAT({src_e}), "
                 f"REPEAT({dst_e}), {FP_ARGS})", dst_e, n2)
        return write_narrow(b, rd, q, t)
    b.end_undefined()


def is_fp_two_misc_kind(u: int, size: int, opcode: int) -> bool:
    """Rows of two-register misc in the FP table (_FP_MISC) by U, size and opcode."""
    return opcode >= 12 and (u, size >> 1, opcode) in _FP_MISC and (opcode >= 24 or size >= 2)


def is_fp_two_misc(insn: int) -> bool:
    """Whether a two-register misc encoding belongs to emit_two_misc here."""
    opcode = field(insn, 16, 12)
    return opcode in (22, 23, 31) or is_fp_two_misc_kind(field(insn, 29, 29), field(insn, 23, 22), opcode)


def _fp_nan(x: int, e: int, fpcr: int, st) -> int:
    """FPProcessNaN for one operand: quiet it (IOC for a signalling NaN), or the default NaN."""
    if fpu.is_snan(x, e):
        st.fpsr |= fpu.IOC
    return _DEFAULT_NAN[e] if fpcr >> 25 & 1 else x | (1 << (e - {16: 7, 32: 10, 64: 13}[e]))


def _frecpx(x: int, e: int, fpcr: int, st) -> int:
    x = fpu.flush_in(x, e, fpcr, st)
    if fpu.is_nan(x, e):
        return _fp_nan(x, e, fpcr, st)
    ew = {16: 5, 32: 8, 64: 11}[e]
    frac = e - 1 - ew
    sign = x & (1 << (e - 1))
    exp = (x >> frac) & ones(ew)
    if exp == 0:
        return sign | ((ones(ew) - 1) << frac)
    return sign | ((exp ^ ones(ew)) << frac)


def _fcvtxn(x: int, fpcr: int, st) -> int:
    """Double -> single, rounding to odd (FCVTXN)."""
    return fpu.fconvert(x, 64, 32, fpcr, st, odd=True)


HELPERS.update({"NFRECPX": _frecpx, "NFCVTXN": _fcvtxn})


# ---- across lanes and scalar pairwise --------------------------------------------------------
def _fp_reduce(fn, lanes, e, fpcr, st):
    """Arm's Reduce(): halves combined recursively (the order matters for NaNs)."""
    while len(lanes) > 1:
        lanes = [fn(x, y, e, fpcr, st) for x, y in zip(lanes[0::2], lanes[1::2])]
    return lanes[0]


HELPERS["NFREDUCE"] = _fp_reduce


def emit_across(b, insn: int) -> None:
    """FMAXNMV/FMINNMV/FMAXV/FMINV (U=1 single precision, U=0 half precision)."""
    q, u, size, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    if u and (size & 1 or not q):        # U=0 (half precision): size 0x/1x, bit 22 ignored
        return b.end_undefined()
    name = ("fmaxnm" if opcode == 12 else "fmax") if size < 2 else ("fminnm" if opcode == 12 else "fmin")
    e = 32 if u else 16
    n = (128 if q else 64) // e
    b.wv(rd, f"NFREDUCE(FPL['{name}'], {unpack(vreg(b, rn, q), e, n)}, {e}, S.fpmode, S)")


def emit_scalar_pairwise(b, insn: int) -> None:
    """FMAXNMP/FADDP/FMAXP/FMINNMP/FMINP (scalar); U=0 is half precision, where the
    decode table has size = 0x/1x (bit 22 ignored; unicorn agrees, capstone does not)."""
    u, size, opcode = field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    src = b.rv(rn)
    esize = 32 << (size & 1) if u else 16
    name = {(12, 0): "fmaxnm", (12, 1): "fminnm", (13, 0): "fadd", (15, 0): "fmax",
            (15, 1): "fmin"}.get((opcode, size >> 1))
    if name is None:
        return b.end_undefined()
    m = ones(esize)
    b.wv(rd, f"FPL['{name}']({src} & {m:#x}, ({src} >> {esize}) & {m:#x}, {esize}, S.fpmode, S)")


def emit_by_element(b, insn: int) -> None:
    """FMLAL/FMLSL(2), FCMLA, and FMLA/FMLS/FMUL/FMULX by element (vector and scalar)."""
    q, u, size, l, m, rm4, opcode, h = (field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22),
                                        field(insn, 21, 21), field(insn, 20, 20), field(insn, 19, 16),
                                        field(insn, 15, 12), field(insn, 11, 11))
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if not scalar and size == 2 and opcode in (0, 4, 8, 12) and u == opcode >> 3:   # FMLAL/FMLSL(2)
        n = 4 if q else 2
        return b.wv(rd, f"NFMLAL({vreg(b, rd, q)}, {b.rv(rn)}, {b.rv(field(insn, 19, 16))}, {n}, "
                        f"{bool(opcode & 4)}, {u}, {(h << 2) | (l << 1) | m}, S.fpmode, S)")
    if u and opcode in (1, 3, 5, 7) and size in (1, 2) and not scalar:   # FCMLA (by element)
        e = 8 << size
        if size == 1:
            idx = (h << 1) | l
            if h and not q:
                return b.end_undefined()
        else:
            idx = h
            if l or not q:
                return b.end_undefined()
        n = (128 if q else 64) // e
        return b.wv(rd, f"NFCMLA({vreg(b, rd, q)}, {vreg(b, rn, q)}, {b.rv((m << 4) | rm4)}, {e}, {n}, "
                        f"{(opcode >> 1) & 3}, {idx}, S.fpmode, S)")
    if size == 1 or (size == 3 and l):
        return b.end_undefined()
    esize = 16 if size == 0 else 32 << (size & 1)
    if esize == 64 and not q and not scalar:
        return b.end_undefined()
    index, rm = element_index(esize, h, l, m, rm4)
    nbits, n, src, dst, elem = by_element_operands(b, q, scalar, rn, rd, rm, esize, index)
    name = {1: "fmla", 5: "fmls", 9: "fmulx" if u else "fmul"}[opcode]
    e = bind(b, elem)
    if name in ("fmla", "fmls") and esize > 16:
        dup = f"({e} * {rep(esize, nbits):#x})"
        return b.wv(rd, f"NFMLA({dst}, {src}, {dup}, {esize}, {n}, {name == 'fmls'}, S.fpmode, S)")
    if name in ("fmla", "fmls"):
        return b.wv(rd, pack(f"map(FPL['{name}'], {unpack(dst, esize, n)}, {unpack(src, esize, n)}, "
                             f"REPEAT({e}), REPEAT({esize}), {FP_ARGS})", esize, n))
    if name == "fmul":
        return b.wv(rd, _fp_map2(name, src, f"({e} * {rep(esize, nbits):#x})", esize, n))
    b.wv(rd, pack(f"map(FPL['{name}'], {unpack(src, esize, n)}, REPEAT({e}), "
                  f"REPEAT({esize}), {FP_ARGS})", esize, n))


def is_fp_by_element(insn: int) -> bool:
    """Whether a vector x indexed element encoding belongs to emit_by_element here."""
    u, size, opcode, scalar = field(insn, 29, 29), field(insn, 23, 22), field(insn, 15, 12), field(insn, 28, 28)
    fmlal = not scalar and size == 2 and opcode in (0, 4, 8, 12) and u == opcode >> 3
    fcmla = u and opcode in (1, 3, 5, 7) and size in (1, 2) and not scalar
    return bool(fmlal or fcmla or (opcode in (1, 5, 9) and not (u and opcode != 9)))
