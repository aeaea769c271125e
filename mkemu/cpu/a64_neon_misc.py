"""A64 Advanced SIMD integer two-register misc and across lanes: the integer rows
of the Arm ARM's two-register misc (REV16/32/64, CNT, NOT, RBIT, CLS, CLZ,
ABS, NEG, compares with zero, [SU]ADDLP, [SU]ADALP, SUQADD, USQADD, SQABS,
SQNEG, XTN, SQXTN, UQXTN, SQXTUN, SHLL, URECPE, URSQRTE), across lanes
([SU]ADDLV, ADDV, [SU]MAXV, [SU]MINV) and scalar pairwise (ADDP) classes,
vector and scalar.  The FP rows of these classes are in a64_neon_fp.py.
"""
from __future__ import annotations

import operator

from .a64_neon_expr import (D_MASK, compare_zero, narrow, ones, pack, swar_add, sx_expr, unpack, velem,
                            vhalf, vreg, widen, write_narrow)
from .bits import field
from .lanes import sat_s, sat_u, sx

_POPCNT = bytes(bin(i).count("1") for i in range(256))
_RBIT = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


_POPCNT = bytes(bin(i).count("1") for i in range(256))
_RBIT = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _urecpe(x, e):
    """URECPE on a 32-bit lane (the Arm ARM's UnsignedRecipEstimate)."""
    if not x >> 31:
        return 0xFFFFFFFF
    a = x >> 23                       # 9 bits, 256..511
    a = a * 2 + 1
    b = (1 << 19) // a
    r = (b + 1) >> 1                  # 256..511
    return r << 23


def _ursqrte(x, e):
    """URSQRTE on a 32-bit lane (UnsignedRSqrtEstimate with RecipSqrtEstimate)."""
    if not x >> 30:
        return 0xFFFFFFFF
    a = x >> 23                       # 9 bits: 128..511
    if a < 256:
        a = a * 2 + 1
    else:
        a = ((a >> 1) << 1) + 1
        a *= 2
    b = 512
    while a * (b + 1) * (b + 1) < (1 << 28):
        b += 1
    return ((b + 1) >> 1) << 23


def _rev_bytes(esize: int, container: int, nbytes: int) -> list[int]:
    """Byte indexes of REV16/REV32/REV64: the esize lanes reversed in each container."""
    eb, cb = esize // 8, container // 8
    out = []
    for c in range(0, nbytes, cb):
        lanes = list(range(c, c + cb, eb))[::-1]
        out += [lane + k for lane in lanes for k in range(eb)]
    return out


def _rev_name(esize: int, container: int, nbytes: int) -> str:
    return "NBP_" + "_".join(map(str, _rev_bytes(esize, container, nbytes)))


# Every shuffle exists at import: a trace from the code cache names them without
# translating anything
_REV = {_rev_name(e, c, nb): operator.itemgetter(*_rev_bytes(e, c, nb))
        for c in (16, 32, 64) for e in (8, 16, 32) if e < c for nb in (8, 16)}


def _cls(x, e):
    return e - 1 - ((x >> 1) ^ (x & (ones(e) >> 1))).bit_length()


def _clz(x, e):
    return e - x.bit_length()


def _sqabs(x, e):
    return sat_s(abs(x), e)


def _sqneg(x, e):
    return sat_s(-x, e)


def _suqadd(x, d, e):       # signed d + unsigned x, signed saturation
    return sat_s(sx(d, e) + x, e)


def _usqadd(x, d, e):       # unsigned d + signed x, unsigned saturation
    return sat_u(d + sx(x, e), e)


HELPERS: dict = {"NPOPCNT": _POPCNT, "NRBIT": _RBIT, **_REV}
HELPERS.update({"NCLS": _cls, "NCLZ": _clz, "NSQABS": _sqabs, "NSQNEG": _sqneg,
                "NSUQADD": _suqadd, "NUSQADD": _usqadd, "NURECPE": _urecpe, "NURSQRTE": _ursqrte})


def emit_two_misc(b, insn: int) -> None:
    """The integer rows of two-register misc (a64_neon_fp.is_fp_two_misc tells the others)."""
    q, u, size, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    esize = 8 << size
    if scalar:
        return _scalar_two_misc(b, u, size, opcode, rn, rd)
    nbits = 128 if q else 64
    nbytes = nbits // 8
    n = nbits // esize
    src = vreg(b, rn, q)
    if opcode in (0, 1) and not (u and opcode == 1):  # REV64 (U0 op0), REV16 (U0 op1), REV32 (U1 op0)
        container = 64 if (u, opcode) == (0, 0) else 16 if (u, opcode) == (0, 1) else 32
        if esize >= container:
            return b.end_undefined()
        g = _rev_name(esize, container, nbytes)
        return b.wv(rd, f"FB(bytes({g}(({src}).to_bytes({nbytes}, 'little'))), 'little')")
    if opcode == 5:
        if u and size == 0:     # NOT
            return b.wv(rd, f"{src} ^ {ones(nbits):#x}")
        if size > u:
            return b.end_undefined()
        table = "NRBIT" if u else "NPOPCNT"   # RBIT (U=1, size 01) / CNT
        return b.wv(rd, f"FB(({src}).to_bytes({nbytes}, 'little').translate({table}), 'little')")
    if size == 3 and not q:
        return b.end_undefined()
    if opcode in (8, 9, 10) or (opcode == 11):
        if (u, opcode) == (1, 10):
            return b.end_undefined()
        if opcode == 11:
            if u:               # NEG
                return b.wv(rd, swar_add(b, "0", src, esize, nbits, sub=True))
            return b.wv(rd, pack(f"map(abs, {unpack(src, esize, n, True)})", esize, n))   # ABS
        kind = {(0, 8): "gt", (1, 8): "ge", (0, 9): "eq", (1, 9): "le", (0, 10): "lt"}[(u, opcode)]
        return b.wv(rd, compare_zero(b, kind, src, esize, nbits))
    if opcode == 4:             # CLS / CLZ
        if size == 3:
            return b.end_undefined()
        fn = "NCLZ" if u else "NCLS"
        return b.wv(rd, pack(f"map({fn}, {unpack(src, esize, n)}, REPEAT({esize}))", esize, n))
    if opcode == 7:             # SQABS / SQNEG
        fn = "NSQNEG" if u else "NSQABS"
        return b.wv(rd, pack(f"NQMAP1({fn}, {unpack(src, esize, n, True)}, {esize}, S)", esize, n, True))
    if opcode == 3:             # SUQADD / USQADD (accumulate into Vd)
        fn = "NUSQADD" if u else "NSUQADD"
        d = vreg(b, rd, q)
        return b.wv(rd, pack(f"NQMAP({fn}, {unpack(src, esize, n)}, {unpack(d, esize, n)}, {esize}, S)",
                             esize, n, not u))
    if opcode in (2, 6):        # [SU]ADDLP, [SU]ADALP
        if size == 3:
            return b.end_undefined()
        t = b.tmp()
        b.line(f"{t} = {unpack(src, esize, n, not u)}")
        s = pack(f"map(OADD, {t}[0::2], {t}[1::2])", 2 * esize, n // 2, not u)
        if opcode == 6:
            s = swar_add(b, vreg(b, rd, q), s, 2 * esize, nbits)
        return b.wv(rd, s)
    if opcode == 28 and size == 2:   # URECPE / URSQRTE
        fn = "NURSQRTE" if u else "NURECPE"
        return b.wv(rd, pack(f"map({fn}, {unpack(src, 32, n)}, REPEAT(32))", 32, n))
    if size == 3:
        return b.end_undefined()
    if opcode == 18 and not u:      # XTN / XTN2
        return write_narrow(b, rd, q, narrow(b, b.rv(rn), esize))
    if opcode in (18, 20):          # SQXTUN / SQXTN / UQXTN
        return write_narrow(b, rd, q, _sat_narrow(b, b.rv(rn), esize, 64 // esize, u, opcode))
    if opcode == 19 and u:          # SHLL / SHLL2
        return b.wv(rd, widen(vhalf(b, rn, q), esize, False, esize))
    b.end_undefined()


def _sat_narrow(b, src: str, e: int, n: int, u: int, opcode: int) -> str:
    """SQXTUN (opcode 18, U=1), SQXTN (20, U=0), UQXTN (20, U=1): 2e-bit lanes -> e bits."""
    signed_in = not (u and opcode == 20)
    if opcode == 20 and not u:
        lo, hi, out_signed = -(1 << (e - 1)), (1 << (e - 1)) - 1, True
    else:
        lo, hi, out_signed = 0, ones(e), False
    lanes = f"list({unpack(src, 2 * e, n, signed_in)})"
    return pack(f"NQCLAMP({lanes}, {lo}, {hi}, S)", e, n, out_signed)


def _scalar_two_misc(b, u, size, opcode, rn, rd) -> None:
    e = 8 << size
    src = velem(b, rn, e)
    if opcode in (8, 9, 10, 11):
        if size != 3 or (u, opcode) == (1, 10):
            return b.end_undefined()
        if opcode == 11:
            if u:
                return b.wv(rd, f"(-{src}) & {D_MASK:#x}")
            return b.wv(rd, f"abs({sx_expr(src, 64)}) & {D_MASK:#x}")
        kind = {(0, 8): "gt", (1, 8): "ge", (0, 9): "eq", (1, 9): "le", (0, 10): "lt"}[(u, opcode)]
        return b.wv(rd, compare_zero(b, kind, src, 64, 64))
    if opcode == 7:                 # SQABS / SQNEG
        fn = "NSQNEG" if u else "NSQABS"
        return b.wv(rd, f"NQMAP1({fn}, ({sx_expr(src, e)},), {e}, S)[0] & {ones(e):#x}")
    if opcode == 3:                 # SUQADD / USQADD
        fn = "NUSQADD" if u else "NSUQADD"
        return b.wv(rd, f"NQMAP({fn}, ({src},), ({velem(b, rd, e)},), {e}, S)[0] & {ones(e):#x}")
    if opcode in (18, 20) and size != 3 and (u or opcode == 20):   # scalar SQXTUN/SQXTN/UQXTN
        return b.wv(rd, _sat_narrow(b, velem(b, rn, 2 * e), e, 1, u, opcode))
    b.end_undefined()


def emit_across(b, insn: int) -> None:
    """[SU]ADDLV, ADDV, [SU]MAXV, [SU]MINV; the FP rows (opcode 12, 15) are in a64_neon_fp.py."""
    q, u, size, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    esize = 8 << size
    n = (128 if q else 64) // esize
    if size == 3 or (size == 2 and not q):
        return b.end_undefined()
    src = vreg(b, rn, q)
    if opcode == 3:                          # [SU]ADDLV
        return b.wv(rd, f"sum({unpack(src, esize, n, not u)}) & {ones(2 * esize):#x}")
    if opcode == 27 and not u:               # ADDV
        return b.wv(rd, f"sum({unpack(src, esize, n)}) & {ones(esize):#x}")
    if opcode in (10, 26):                   # [SU]MAXV / [SU]MINV
        fn = "max" if opcode == 10 else "min"
        return b.wv(rd, f"{fn}({unpack(src, esize, n, not u)}) & {ones(esize):#x}")
    b.end_undefined()


def emit_scalar_pairwise(b, insn: int) -> None:
    """ADDP Dd, Vn.2D; the FP rows (opcode 12, 13, 15) are in a64_neon_fp.py."""
    u, size, opcode = field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    src = b.rv(rn)
    if not u and opcode == 27 and size == 3:
        return b.wv(rd, f"(({src} & {D_MASK:#x}) + ({src} >> 64)) & {D_MASK:#x}")
    b.end_undefined()
