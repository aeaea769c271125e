"""A64 Advanced SIMD shift by immediate, vector and scalar: SSHR, USHR, SSRA,
USRA, SRSHR, URSHR, SRSRA, URSRA, SHL, SRI, SLI, SQSHL, UQSHL, SQSHLU, the
narrowing SHRN, RSHRN, [SU]Q[R]SHRN, SQ[R]SHRUN, the widening SSHLL, USHLL, and
the fixed-point conversions SCVTF, UCVTF, FCVTZS, FCVTZU (#fbits) of the same
class.  Shifts by register (SSHL...) are in the three same class,
a64_neon_arith.py.
"""
from __future__ import annotations

from .a64_neon_expr import (FP_ARGS, narrow, ones, pack, rep, shl, shr_round, sshr, swar_add, sx_expr, unpack,
                            ushr, velem, vhalf, vreg, widen, write_narrow)
from .bits import field
from .lanes import qclamp


def _qshl_imm(lanes, sh: int, lo: int, hi: int, st) -> list[int]:
    """SQSHL/UQSHL/SQSHLU (immediate): the lanes (signed or unsigned as the source is
    read) shifted left by sh and saturated to [lo, hi]."""
    return qclamp([x << sh for x in lanes], lo, hi, st)


def _qshrn(lanes, sh: int, rounding: bool, lo: int, hi: int, st) -> list[int]:
    """[SU]Q[R]SHRN, SQ[R]SHRUN: the 2e-bit lanes shifted right by sh (rounded if
    asked) and saturated to the e-bit range [lo, hi]."""
    r = 1 << (sh - 1) if rounding else 0
    return qclamp([(x + r) >> sh for x in lanes], lo, hi, st)


# The shift and the bounds are arguments, not part of a helper's name: a trace
# from the code cache names only helpers that exist at import.
HELPERS: dict = {"NQSHL": _qshl_imm, "NQSHRN": _qshrn}


def _sat_bounds(e: int, unsigned: bool) -> tuple[int, int]:
    return (0, ones(e)) if unsigned else (-(1 << (e - 1)), (1 << (e - 1)) - 1)


def emit_shift_imm(b, insn: int) -> None:
    q, u, immh, immb, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 22, 19), field(insn, 18, 16), field(insn, 15, 11)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    hb = immh.bit_length() - 1
    esize = 8 << hb
    immhb = (immh << 3) | immb
    right = 2 * esize - immhb
    left = immhb - esize
    narrowing = opcode in (16, 17, 18, 19)
    if scalar:
        if opcode in (0, 2, 4, 6, 8, 10) and esize != 64:
            return b.end_undefined()
        if narrowing and (esize == 64 or (opcode in (16, 17) and not u)):
            return b.end_undefined()
        if opcode == 20:
            return b.end_undefined()
        nbits, n = esize, 1
        src, dst = velem(b, rn, esize), velem(b, rd, esize)
    else:
        if esize == 64 and not q and not narrowing and opcode != 20:
            return b.end_undefined()
        nbits = 128 if q else 64
        n = nbits // esize
        src, dst = vreg(b, rn, q), vreg(b, rd, q)
    if opcode in (0, 2, 4, 6):               # [SU]SHR, [SU]SRA, [SU]RSHR, [SU]RSRA
        if opcode in (4, 6):
            shifted = shr_round(b, src, right, esize, nbits, not u)
        elif u:
            shifted = ushr(src, right, esize, nbits)
        else:
            shifted = sshr(b, src, right, esize, nbits)
        if opcode in (2, 6):
            return b.wv(rd, swar_add(b, dst, shifted, esize, nbits))
        return b.wv(rd, shifted)
    if opcode == 10 and not u:               # SHL
        return b.wv(rd, shl(src, left, esize, nbits))
    if opcode == 8 and u:                    # SRI
        keep = rep(esize, nbits) * (ones(esize) ^ (ones(esize) >> right))
        return b.wv(rd, f"({dst} & {keep:#x}) | {ushr(src, right, esize, nbits)}")
    if opcode == 10 and u:                   # SLI
        keep = rep(esize, nbits) * (ones(esize) >> (esize - left))
        return b.wv(rd, f"({dst} & {keep:#x}) | {shl(src, left, esize, nbits)}")
    if opcode in (12, 14):                   # SQSHLU / SQSHL / UQSHL (immediate)
        if opcode == 12 and not u:
            return b.end_undefined()
        in_signed, out_unsigned = (True, True) if opcode == 12 else (not u, bool(u))
        lo, hi = _sat_bounds(esize, out_unsigned)
        return b.wv(rd, pack(f"NQSHL({unpack(src, esize, n, in_signed)}, {left}, {lo}, {hi}, S)",
                             esize, n, not out_unsigned))
    if opcode == 20:                         # SSHLL / USHLL (UXTL, SXTL)
        if esize == 64:
            return b.end_undefined()
        return b.wv(rd, widen(vhalf(b, rn, q), esize, not u, left))
    if narrowing:                            # narrowing right shifts
        if esize == 64:
            return b.end_undefined()
        rnd = opcode in (17, 19)
        r2 = 2 * esize - immhb
        if opcode in (16, 17) and not u:     # SHRN / RSHRN
            wide = b.rv(rn)
            if esize == 8 and not rnd and r2 <= 8:
                # bytes: the low byte of each (lane >> r2) lies within its lane, and
                # narrow takes every other byte: no mask
                v = f"({wide} >> {r2})"
            else:
                v = shr_round(b, wide, r2, 2 * esize, 128, False) if rnd else ushr(wide, r2, 2 * esize, 128)
            return write_narrow(b, rd, q, narrow(b, v, esize))
        if opcode in (16, 17):               # SQSHRUN / SQRSHRUN
            in_signed, out_unsigned = True, True
        else:                                # [SU]QSHRN / [SU]QRSHRN
            in_signed, out_unsigned = not u, bool(u)
        lo, hi = _sat_bounds(esize, out_unsigned)
        if scalar:
            wide = velem(b, rn, 2 * esize)
            lanes = f"({sx_expr(wide, 2 * esize) if in_signed else wide},)"
            return b.wv(rd, f"NQSHRN({lanes}, {r2}, {rnd}, {lo}, {hi}, S)[0] & {ones(esize):#x}")
        val = pack(f"NQSHRN({unpack(b.rv(rn), 2 * esize, 64 // esize, in_signed)}, {r2}, {rnd}, {lo}, {hi}, S)",
                   esize, 64 // esize, not out_unsigned)
        return write_narrow(b, rd, q, val)
    if opcode in (28, 31) and esize >= 16:   # [SU]CVTF / FCVTZ[SU] with fixed point
        if opcode == 28:
            fn = f"lambda _x, _e, _c, _s: FPU.from_fixed(_x, _e, {bool(u)}, {right}, _e, _c, _s)"
        else:
            fn = f"lambda _x, _e, _c, _s: FPU.to_fixed(_x, _e, _e, {bool(u)}, {right}, 3, _s)"
        return b.wv(rd, pack(f"map({fn}, {unpack(src, esize, n)}, REPEAT({esize}), {FP_ARGS})", esize, n))
    b.end_undefined()
