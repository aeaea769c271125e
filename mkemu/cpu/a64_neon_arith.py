"""A64 Advanced SIMD integer arithmetic: the Arm ARM's three same (integer and
logical rows), three same extra (SQRDMLAH, SQRDMLSH, SDOT, UDOT), three
different (long, wide and narrowing forms, PMULL) and vector x indexed element
(integer rows: MUL, MLA, MLS, the long and saturating doubling forms, the dot
products) classes, vector and scalar.  Their floating-point rows (FADD..FDIV,
compares, FMLA, FMLAL, FCMLA, FCADD, FMUL by element) are in a64_neon_fp.py.
"""
from __future__ import annotations

from .a64_neon_bytesum import record_sum
from .a64_neon_sink import offer
from .a64_neon_expr import (D_MASK, Q_MASK, bind, by_element_operands, compare, element_index, ge_hbits,
                            hbits_to_mask, narrow, ones, pack, rep, swar_add, sx_expr, unpack, ushr, velem,
                            vhalf, vreg, write_narrow)
from .bits import field
from .lanes import QC, sat_s, sat_u, sx


def _shift_round(v: int, sh: int, rounding: bool) -> int:
    """v shifted left by sh (right when negative), rounding right shifts if asked."""
    if sh >= 0:
        return v << sh
    sh = -sh
    if rounding:
        return (v + (1 << (sh - 1))) >> sh
    return v >> sh


def _qshl_lane(unsigned: bool, rounding: bool):
    """SQSHL/UQSHL/SQRSHL/UQRSHL (register): shift by the signed low byte of y, saturate."""
    def fn(x, y, e):
        sh = sx(y & 0xFF, 8)
        v = _shift_round(x if unsigned else sx(x, e), sh, rounding)
        return sat_u(v, e) if unsigned else sat_s(v, e)
    return fn


def _sqdmulh(rounding: bool):
    def fn(x, y, e):
        p = 2 * sx(x, e) * sx(y, e)
        if rounding:
            p += 1 << (e - 1)
        return sat_s(p >> e, e)
    return fn


def _sqrdmlah(sub: bool):
    """SQRDMLAH/SQRDMLSH lane: fn(d, x, y, e) -> (value, saturated)."""
    def fn(d, x, y, e):
        p = sx(x, e) * sx(y, e)
        acc = (sx(d, e) << e) + (-2 * p if sub else 2 * p) + (1 << (e - 1))
        return sat_s(acc >> e, e)
    return fn


def _pmul(x, y, e):
    r = 0
    while y:
        if y & 1:
            r ^= x
        x <<= 1
        y >>= 1
    return r


def _swar_qaddsub(b, x: str, y: str, e: int, nbits: int, unsigned: bool, sub: bool) -> str:
    """[SU]QADD/[SU]QSUB: the wrapped sum, then the lanes that overflowed replaced by the
    bound (unsigned: carry/borrow out of the top bit; signed: the sign of the result is
    wrong), and FPSR.QC set if any did."""
    hi = rep(e, nbits) << (e - 1)
    full = ones(nbits)
    x, y = bind(b, x), bind(b, y)
    r = bind(b, swar_add(b, x, y, e, nbits, sub))
    ov = b.tmp()
    if unsigned and not sub:      # carry = (x & y) | ((x | y) & ~r)
        b.line(f"{ov} = (({x} & {y}) | (({x} | {y}) & ({r} ^ {full:#x}))) & {hi:#x}")
    elif unsigned:                # borrow = (~x & y) | (~(x ^ y) & r)
        b.line(f"{ov} = ((({x} & {y}) ^ {y}) | (({x} ^ {y} ^ {full:#x}) & {r})) & {hi:#x}")
    elif not sub:                 # operands of one sign, result of the other
        b.line(f"{ov} = ({x} ^ {y} ^ {full:#x}) & ({x} ^ {r}) & {hi:#x}")
    else:
        b.line(f"{ov} = ({x} ^ {y}) & ({x} ^ {r}) & {hi:#x}")
    b.line(f"if {ov}: S.fpsr |= {QC:#x}")
    mask = hbits_to_mask(ov, e)
    if unsigned:
        return f"({r} & ({mask} ^ {full:#x}))" if sub else f"({r} | {mask})"
    # the bound has the sign of x: 0x7f.. for x >= 0, 0x80.. for x < 0
    bound = f"({rep(e, nbits) * (ones(e) >> 1):#x} + (({x} & {hi:#x}) >> {e - 1}))"
    return f"({r} ^ (({r} ^ {bound}) & {mask}))"


def _select_max(b, x: str, y: str, e: int, nbits: int, signed: bool, want_max: bool) -> str:
    """Lane-wise max or min of x and y."""
    x, y = bind(b, x), bind(b, y)
    ge = hbits_to_mask(ge_hbits(b, x, y, e, nbits, signed), e)
    keep, other = (x, y) if want_max else (y, x)     # x where x >= y for max
    return f"({other} ^ (({keep} ^ {other}) & {ge}))"


def _pairwise_max(b, x: str, y: str, e: int, nbits: int, signed: bool, want_max: bool) -> str:
    """[SU]MAXP/[SU]MINP: the pairs of the concatenation y:x.  With x and y the same
    register (glibc's UMAXP v0, v0, v0) the pairs of one half are computed and duplicated."""
    if x == y:
        half = bind(b, _pairs_max(b, x, e, nbits, signed, want_max))
        return f"({half} | ({half} << {nbits // 2}))"
    return _pairs_max(b, f"(({y} << {nbits}) | {x})", e, 2 * nbits, signed, want_max)


def _pairs_max(b, cat: str, e: int, total: int, signed: bool, want_max: bool) -> str:
    """Max (min) of the e-bit lane pairs of a total-bit value, packed into total/2 bits.
    Each pair sits in a 2e-bit container, so the compare has a spare bit and needs no
    borrow handling."""
    cat = bind(b, cat)
    low = rep(2 * e, total) * ones(e)
    flip = (rep(2 * e, total) << (e - 1)) if signed else 0
    ev, od, ge = b.tmp(), b.tmp(), b.tmp()
    fx = f" ^ {flip:#x}" if signed else ""
    b.line(f"{ev} = ({cat} & {low:#x}){fx}; {od} = (({cat} >> {e}) & {low:#x}){fx}")
    spare = rep(2 * e, total) << e
    b.line(f"{ge} = (((({ev} | {spare:#x}) - {od}) & {spare:#x}) >> {e}) * {ones(e):#x}")
    keep, other = (ev, od) if want_max else (od, ev)
    r = f"({other} ^ (({keep} ^ {other}) & {ge})){fx}"
    return narrow(b, r, e, total // (2 * e))


_LOGIC = {(0, 0): "{n} & {m}", (0, 1): "{n} & ({m} ^ {mask})", (0, 2): "{n} | {m}",
          (0, 3): "{n} | ({m} ^ {mask})", (1, 0): "{n} ^ {m}",
          (1, 1): "({d} & {n}) | (({d} ^ {mask}) & {m})",
          (1, 2): "({d} & ({m} ^ {mask})) | ({n} & {m})",
          (1, 3): "({d} & {m}) | ({n} & ({m} ^ {mask}))"}


def _shl_reg(x, y, e, unsigned, rounding):
    """USHL/SSHL/URSHL/SRSHL lane: shift by the signed low byte of y."""
    v = _shift_round(x if unsigned else sx(x, e), sx(y & 0xFF, 8), rounding)
    return v


# lane functions fn(x, y, e) on unsigned lanes; results are masked by the caller
I3 = {
    (0, 8): lambda x, y, e: _shl_reg(x, y, e, False, False),       # SSHL
    (0, 10): lambda x, y, e: _shl_reg(x, y, e, False, True),       # SRSHL
    (1, 8): lambda x, y, e: _shl_reg(x, y, e, True, False),        # USHL
    (1, 10): lambda x, y, e: _shl_reg(x, y, e, True, True),        # URSHL
    (1, 19): _pmul,                                                # PMUL
}
I3Q = {    # saturating: fn(x, y, e) -> (value, saturated)
    (0, 9): _qshl_lane(False, False), (1, 9): _qshl_lane(True, False),
    (0, 11): _qshl_lane(False, True), (1, 11): _qshl_lane(True, True),
    (0, 22): _sqdmulh(False), (1, 22): _sqdmulh(True),
}
HELPERS: dict = {"I3": I3, "I3Q": I3Q}

# three-same integer ops that have a 64-bit element form
_I3_SIZE3 = {(0, 1), (1, 1), (0, 5), (1, 5), (0, 6), (0, 7), (1, 6), (1, 7), (0, 8), (1, 8),
             (0, 9), (1, 9), (0, 10), (1, 10), (0, 11), (1, 11), (0, 16), (1, 16), (0, 17),
             (1, 17), (0, 23)}
# and those with a scalar form (any size unless noted in emit_three_same)
_I3_SCALAR = {(0, 1), (1, 1), (0, 5), (1, 5), (0, 9), (1, 9), (0, 11), (1, 11),   # any size
              (0, 22), (1, 22),                                                  # H, S
              (0, 6), (0, 7), (1, 6), (1, 7), (0, 8), (1, 8), (0, 10), (1, 10),  # D only
              (0, 16), (1, 16), (0, 17), (1, 17)}


def _int_three_same(b, key, a: str, m: str, rd: int, d: str, e: int, nbits: int) -> str | None:
    """The expression for integer three-same op `key` on lanes of e bits, or None."""
    u, op = key
    n = nbits // e
    if op == 16:                                      # ADD / SUB
        return swar_add(b, a, m, e, nbits, sub=bool(u))
    if op == 17:                                      # CMTST / CMEQ
        return compare(b, "eq" if u else "tst", a, m, e, nbits)
    if op in (6, 7):                                  # CMGT CMGE CMHI CMHS
        kind = {(0, 6): "gt", (0, 7): "ge", (1, 6): "hi", (1, 7): "hs"}[key]
        return compare(b, kind, a, m, e, nbits)
    signed = not u
    if op in (12, 13):                                # [SU]MAX / [SU]MIN
        return _select_max(b, a, m, e, nbits, signed, op == 12)
    if op in (20, 21):                                # [SU]MAXP / [SU]MINP
        return _pairwise_max(b, a, m, e, nbits, signed, op == 20)
    if key == (0, 23):                                # ADDP
        c = bind(b, f"(({m} << {nbits}) | {a})")
        even = rep(2 * e, 2 * nbits) * ones(e)
        return narrow(b, f"((({c} & {even:#x}) + (({c} >> {e}) & {even:#x})))", e, n)
    if op in (14, 15):                                # [SU]ABD / [SU]ABA
        a, m = bind(b, a), bind(b, m)
        ge = hbits_to_mask(ge_hbits(b, a, m, e, nbits, signed), e)
        d1, d2 = bind(b, swar_add(b, a, m, e, nbits, True)), bind(b, swar_add(b, m, a, e, nbits, True))
        absd = f"({d2} ^ (({d1} ^ {d2}) & {ge}))"
        return absd if op == 14 else swar_add(b, d, absd, e, nbits)
    if op in (0, 2, 4):                               # [SU]HADD / [SU]RHADD / [SU]HSUB
        hi = rep(e, nbits) << (e - 1)
        low = rep(e, nbits) * (ones(e) >> 1)
        if signed:                                    # shifting both by 2^(e-1) keeps the order
            a, m = f"({a} ^ {hi:#x})", f"({m} ^ {hi:#x})"
        a, m = bind(b, a), bind(b, m)
        half = f"((({a} ^ {m}) >> 1) & {low:#x})"
        if op == 0:
            r = f"(({a} & {m}) + {half})"
        elif op == 2:
            r = f"(({a} | {m}) - {half})"
        else:                                         # (a - b) >> 1 = ((a ^ b) >> 1) - (~a & b)
            return swar_add(b, half, f"(({a} & {m}) ^ {m})", e, nbits, True)
        return f"({r} ^ {hi:#x})" if signed else r
    if op in (18, 19) and key != (1, 19):             # MUL / MLA / MLS
        prod = pack(f"map(OAND, map(OMUL, {unpack(a, e, n)}, {unpack(m, e, n)}), REPEAT({ones(e):#x}))", e, n)
        if op == 19:
            return prod
        return swar_add(b, d, prod, e, nbits, sub=bool(u))
    if op in (1, 5):                                  # [SU]QADD / [SU]QSUB
        return _swar_qaddsub(b, a, m, e, nbits, bool(u), op == 5)
    if key in I3Q:
        res_signed = not u or op == 22
        return pack(f"NQMAP(I3Q[{key}], {unpack(a, e, n)}, {unpack(m, e, n)}, {e}, S)", e, n, res_signed)
    if key in I3:
        return f"MAP2(I3[{key}], {a}, {m}, {e}, {n})"
    return None


def emit_three_same(b, insn: int) -> None:
    """The logical and integer rows (opcode < 0x18); a64_neon_fp.py has the others."""
    q, u, size, rm, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 20, 16), field(insn, 15, 11)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if opcode == 3:                    # logical
        if scalar:
            return b.end_undefined()
        mask = Q_MASK if q else D_MASK
        if (u, size) == (0, 2) and rn == rm:   # ORR Vd, Vn, Vn is MOV: a copy
            b.wv(rd, vreg(b, rn, q))
        else:
            b.wv(rd, _LOGIC[(u, size)].format(n=vreg(b, rn, q), m=vreg(b, rm, q), d=vreg(b, rd, q),
                                              mask=f"{mask:#x}"))
        return offer(b, f"v{rd}", len(b.lines) - 1, len(b.lines))    # pure: may be sunk
    esize = 8 << size
    key = (u, opcode)
    if scalar:
        if key not in _I3_SCALAR:
            return b.end_undefined()
        if key in ((0, 22), (1, 22)):
            if size not in (1, 2):
                return b.end_undefined()
        elif key not in ((0, 1), (1, 1), (0, 5), (1, 5), (0, 9), (1, 9), (0, 11), (1, 11)) and size != 3:
            return b.end_undefined()
        a, m, d = velem(b, rn, esize), velem(b, rm, esize), velem(b, rd, esize)
        expr = _int_three_same(b, key, a, m, rd, d, esize, esize)
        return b.wv(rd, expr)
    if size == 3 and (not q or key not in _I3_SIZE3):
        return b.end_undefined()
    if key in ((0, 22), (1, 22)) and size not in (1, 2):
        return b.end_undefined()
    if key in ((0, 19), (1, 19), (0, 18), (1, 18), (0, 15), (1, 15), (0, 14), (1, 14)) and size == 3:
        return b.end_undefined()
    if key == (1, 19) and size != 0:
        return b.end_undefined()
    if key == (1, 23):
        return b.end_undefined()
    nbits = 128 if q else 64
    expr = _int_three_same(b, key, vreg(b, rn, q), vreg(b, rm, q), rd, vreg(b, rd, q), esize, nbits)
    if expr is None:
        return b.end_undefined()
    b.wv(rd, expr)
    if opcode == 16:             # ADD/SUB: pure, may be sunk (a64_neon_sink)
        offer(b, f"v{rd}", len(b.lines) - 1, len(b.lines))
        if key == (0, 16) and esize == 64 and q:
            record_sum(b, rd, rn, rm)


def emit_three_same_extra(b, insn: int) -> None:
    """SQRDMLAH/SQRDMLSH (vector and scalar), SDOT/UDOT (vector)."""
    q, u, size, rm, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 20, 16), field(insn, 14, 11)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if scalar:
        q = 1
    if u and opcode in (0, 1) and size in (1, 2):
        e = 8 << size
        if scalar:
            n, a, m, d = 1, velem(b, rn, e), velem(b, rm, e), velem(b, rd, e)
        else:
            n, a, m, d = (128 if q else 64) // e, vreg(b, rn, q), vreg(b, rm, q), vreg(b, rd, q)
        fn = "NSQRDMLSH" if opcode else "NSQRDMLAH"
        return b.wv(rd, pack(f"NQMAP3({fn}, {unpack(d, e, n)}, {unpack(a, e, n)}, {unpack(m, e, n)}, {e}, S)",
                             e, n, True))
    if opcode == 2 and size == 2 and not scalar:
        fn = "NUDOT" if u else "NSDOT"
        return b.wv(rd, f"MAP3({fn}, {vreg(b, rd, q)}, {vreg(b, rn, q)}, {vreg(b, rm, q)}, 32, {4 if q else 2})")
    b.end_undefined()


def _sqdmull_lane(x, y, e):
    return sat_s(2 * x * y, 2 * e)


HELPERS.update({"NSQDMULL": _sqdmull_lane, "NPMUL": _pmul})


def _long_op(b, opcode: int, u: int, xs: str, ys: str, e: int, rd: int, acc: str) -> str:
    """Widening ops on two 64-bit sources of e-bit lanes: the 128-bit result."""
    n = 64 // e
    signed = not u
    e2 = 2 * e
    xl, yl = unpack(xs, e, n, signed), unpack(ys, e, n, signed)
    if opcode in (0, 2):                             # [SU]ADDL / [SU]SUBL
        fn = "OADD" if opcode == 0 else "OSUB"
        return pack(f"map({fn}, {xl}, {yl})", e2, n, True)
    if opcode in (5, 7):                             # [SU]ABAL / [SU]ABDL
        tx, ty = b.tmp(), b.tmp()
        b.line(f"{tx} = {xl}; {ty} = {yl}")
        absd = pack(f"map(OSUB, map(max, {tx}, {ty}), map(min, {tx}, {ty}))", e2, n)
        return absd if opcode == 7 else swar_add(b, acc, absd, e2, 128)
    if opcode in (8, 10, 12):                        # [SU]MLAL / [SU]MLSL / [SU]MULL
        prod = pack(f"map(OMUL, {xl}, {yl})", e2, n, signed)
        if opcode == 12:
            return prod
        return swar_add(b, acc, prod, e2, 128, sub=opcode == 10)
    # SQDMLAL / SQDMLSL / SQDMULL (signed, saturating)
    prod = f"NQMAP(NSQDMULL, {unpack(xs, e, n, True)}, {unpack(ys, e, n, True)}, {e}, S)"
    if opcode == 13:
        return pack(prod, e2, n, True)
    fn = "OADD" if opcode == 9 else "OSUB"
    lo, hi = -(1 << (e2 - 1)), (1 << (e2 - 1)) - 1
    return pack(f"NQCLAMP(list(map({fn}, {unpack(acc, e2, n, True)}, {prod})), {lo}, {hi}, S)", e2, n, True)


def _scalar_sqdmull(b, rd: int, x: str, y: str, e: int, acc_op: str | None) -> None:
    """SQDMULL (acc_op None), SQDMLAL ("OADD") or SQDMLSL ("OSUB") of the e-bit
    elements x and y: a saturated 2e-bit result in Vd."""
    acc = velem(b, rd, 2 * e)
    prod = f"NQMAP(NSQDMULL, ({sx_expr(x, e)},), ({sx_expr(y, e)},), {e}, S)"
    if acc_op is None:
        return b.wv(rd, f"{prod}[0] & {ones(2 * e):#x}")
    lo, hi = -(1 << (2 * e - 1)), (1 << (2 * e - 1)) - 1
    b.wv(rd, f"NQCLAMP([{acc_op}({sx_expr(acc, 2 * e)}, {prod}[0])], {lo}, {hi}, S)[0] & {ones(2 * e):#x}")


def emit_three_different(b, insn: int) -> None:
    q, u, size, rm, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 20, 16), field(insn, 15, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if scalar:        # SQDMLAL / SQDMLSL / SQDMULL (scalar): H -> S, S -> D
        if u or opcode not in (9, 11, 13) or size not in (1, 2):
            return b.end_undefined()
        e = 8 << size
        return _scalar_sqdmull(b, rd, velem(b, rn, e), velem(b, rm, e), e, {9: "OADD", 11: "OSUB"}.get(opcode))
    if opcode == 15:
        return b.end_undefined()
    if opcode == 14:                                 # PMULL / PMULL2
        if u or size not in (0, 3):
            return b.end_undefined()
        xs, ys = vhalf(b, rn, q), vhalf(b, rm, q)
        if size == 3:
            return b.wv(rd, f"NPMUL({xs}, {ys}, 64)")
        return b.wv(rd, pack(f"map(NPMUL, {unpack(xs, 8, 8)}, {unpack(ys, 8, 8)}, REPEAT(8))", 16, 8))
    if size == 3 or (opcode in (9, 11, 13) and (u or size == 0)):
        return b.end_undefined()
    e = 8 << size
    n = 64 // e
    if opcode in (1, 3):                             # [SU]ADDW / [SU]SUBW: Vn is already wide
        wide = pack(unpack(vhalf(b, rm, q), e, n, not u), 2 * e, n, not u)
        return b.wv(rd, swar_add(b, b.rv(rn), wide, 2 * e, 128, sub=opcode == 3))
    if opcode in (4, 6):                             # [R]ADDHN / [R]SUBHN
        s = swar_add(b, b.rv(rn), b.rv(rm), 2 * e, 128, sub=opcode == 6)
        if u:                                        # rounding: add 2^(e-1) to every lane
            s = swar_add(b, s, f"{rep(2 * e, 128) << (e - 1):#x}", 2 * e, 128)
        hi = ushr(f"({s})", e, 2 * e, 128)
        return write_narrow(b, rd, q, narrow(b, hi, e))
    res = _long_op(b, opcode, u, vhalf(b, rn, q), vhalf(b, rm, q), e, rd, b.rv(rd))
    b.wv(rd, res)


def _dot_lane(signed: bool):
    def fn(d, x, y, e):       # e = 32: four byte products added to d
        s = d
        for i in range(0, 32, 8):
            a, c = (x >> i) & 0xFF, (y >> i) & 0xFF
            if signed:
                a, c = sx(a, 8), sx(c, 8)
            s += a * c
        return s
    return fn


HELPERS.update({"NSQDMULH": _sqdmulh(False), "NSQRDMULH": _sqdmulh(True),
                "NSQRDMLAH": _sqrdmlah(False), "NSQRDMLSH": _sqrdmlah(True),
                "NUDOT": _dot_lane(False), "NSDOT": _dot_lane(True)})


def emit_by_element(b, insn: int) -> None:
    """MUL/MLA/MLS, the long and saturating (doubling) forms, and SDOT/UDOT by element;
    the FP rows are in a64_neon_fp.py."""
    q, u, size, l, m, rm4, opcode, h = (field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22),
                                        field(insn, 21, 21), field(insn, 20, 20), field(insn, 19, 16),
                                        field(insn, 15, 12), field(insn, 11, 11))
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if opcode == 14:                           # SDOT / UDOT (by element)
        if size != 2 or scalar:
            return b.end_undefined()
    elif size not in (1, 2):
        return b.end_undefined()
    esize = 8 << size
    index, rm = element_index(esize, h, l, m, rm4)
    nbits, n, src, dst, elem = by_element_operands(b, q, scalar, rn, rd, rm, esize, index)
    long_ = opcode in (2, 3, 6, 7, 10, 11)
    if scalar and opcode not in (3, 7, 11, 12, 13) and not (u and opcode in (13, 15)):
        return b.end_undefined()
    if opcode in (12, 13) and not u or (u and opcode in (13, 15)):   # SQDMULH SQRDMULH SQRDMLAH SQRDMLSH
        e = bind(b, elem)         # the lane functions sign-extend their unsigned inputs
        if not u:
            fn = "NSQDMULH" if opcode == 12 else "NSQRDMULH"
            return b.wv(rd, pack(f"NQMAP({fn}, {unpack(src, esize, n)}, REPEAT({e}), {esize}, S)",
                                 esize, n, True))
        fn = "NSQRDMLAH" if opcode == 13 else "NSQRDMLSH"
        return b.wv(rd, pack(f"NQMAP3({fn}, {unpack(dst, esize, n)}, {unpack(src, esize, n)}, "
                             f"REPEAT({e}), {esize}, S)", esize, n, True))
    if opcode == 14:
        fn = "NUDOT" if u else "NSDOT"
        return b.wv(rd, f"MAP3({fn}, {dst}, {src}, {elem} * {rep(32, nbits):#x}, 32, {n})")
    if long_:
        if opcode in (3, 7, 11) and u:
            return b.end_undefined()
        if scalar:
            return _scalar_sqdmull(b, rd, src, f"({elem})", esize, {3: "OADD", 7: "OSUB"}.get(opcode))
        dup = f"{elem} * {rep(esize, 64):#x}"
        op3d = {2: 8, 3: 9, 6: 10, 7: 11, 10: 12, 11: 13}[opcode]
        return b.wv(rd, _long_op(b, op3d, u, vhalf(b, rn, q), bind(b, dup), esize, rd, b.rv(rd)))
    dup = bind(b, f"{elem} * {rep(esize, nbits):#x}")
    if opcode == 8 and not u:                # MUL
        return b.wv(rd, _int_three_same(b, (0, 19), src, dup, rd, dst, esize, nbits))
    if opcode in (0, 4) and u:               # MLA / MLS
        return b.wv(rd, _int_three_same(b, (opcode >> 2, 18), src, dup, rd, dst, esize, nbits))
    b.end_undefined()
