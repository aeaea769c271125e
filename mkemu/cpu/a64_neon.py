"""A64 Advanced SIMD (vector and scalar forms) -- the Arm ARM's C4.1.96 tables.

Whole-register bitwise operations (AND/ORR/EOR/BIC/BSL/BIT/BIF/NOT/MOVI/EXT)
are single Python expressions on the 128-bit register value; lane-wise
operations go through the table-driven helpers in lanes.py, one small lane
function per instruction, shared by the vector and scalar forms.
"""
from __future__ import annotations

from . import fpu
from .bits import field
from .lanes import join, map1, map2, map3, pairwise, reduce_lanes, sat, split, sx

Q_MASK = (1 << 128) - 1
D_MASK = (1 << 64) - 1


# ---- lane functions (x, y unsigned lanes of width e) -----------------------------------
def _ones(e):
    return (1 << e) - 1


def _shl_signed(x, y, e, unsigned, rounding):
    """USHL/SSHL/URSHL/SRSHL lane: shift by the signed low byte of y."""
    sh = sx(y & 0xFF, 8)
    v = x if unsigned else sx(x, e)
    if sh >= 0:
        return v << sh if sh < 2 * e else 0
    sh = -sh
    if rounding:
        return (v + (1 << (sh - 1))) >> sh if sh <= 2 * e else 0
    return v >> sh if sh < 2 * e else (-1 if v < 0 else 0)


def _pmul(x, y, e):
    r = 0
    for i in range(e):
        if (y >> i) & 1:
            r ^= x << i
    return r


I3 = {   # (U, opcode) -> lane function for "three same" integer forms
    (0, 0): lambda x, y, e: (sx(x, e) + sx(y, e)) >> 1,
    (0, 1): lambda x, y, e: sat(sx(x, e) + sx(y, e), e, False)[0],
    (0, 2): lambda x, y, e: (sx(x, e) + sx(y, e) + 1) >> 1,
    (0, 4): lambda x, y, e: (sx(x, e) - sx(y, e)) >> 1,
    (0, 5): lambda x, y, e: sat(sx(x, e) - sx(y, e), e, False)[0],
    (0, 6): lambda x, y, e: _ones(e) if sx(x, e) > sx(y, e) else 0,
    (0, 7): lambda x, y, e: _ones(e) if sx(x, e) >= sx(y, e) else 0,
    (0, 8): lambda x, y, e: _shl_signed(x, y, e, False, False),
    (0, 10): lambda x, y, e: _shl_signed(x, y, e, False, True),
    (0, 12): lambda x, y, e: x if sx(x, e) >= sx(y, e) else y,
    (0, 13): lambda x, y, e: x if sx(x, e) <= sx(y, e) else y,
    (0, 14): lambda x, y, e: abs(sx(x, e) - sx(y, e)),
    (0, 16): lambda x, y, e: x + y,
    (0, 17): lambda x, y, e: _ones(e) if x & y else 0,
    (0, 19): lambda x, y, e: x * y,
    (1, 0): lambda x, y, e: (x + y) >> 1,
    (1, 1): lambda x, y, e: sat(x + y, e, True)[0],
    (1, 2): lambda x, y, e: (x + y + 1) >> 1,
    (1, 4): lambda x, y, e: (x - y) >> 1,
    (1, 5): lambda x, y, e: sat(x - y, e, True)[0],
    (1, 6): lambda x, y, e: _ones(e) if x > y else 0,
    (1, 7): lambda x, y, e: _ones(e) if x >= y else 0,
    (1, 8): lambda x, y, e: _shl_signed(x, y, e, True, False),
    (1, 10): lambda x, y, e: _shl_signed(x, y, e, True, True),
    (1, 12): lambda x, y, e: max(x, y),
    (1, 13): lambda x, y, e: min(x, y),
    (1, 14): lambda x, y, e: abs(x - y),
    (1, 16): lambda x, y, e: x - y,
    (1, 17): lambda x, y, e: _ones(e) if x == y else 0,
    (1, 19): _pmul,
}
I3_ACC = {   # accumulating forms: fn(d, x, y, e)
    (0, 15): lambda d, x, y, e: d + abs(sx(x, e) - sx(y, e)),
    (1, 15): lambda d, x, y, e: d + abs(x - y),
    (0, 18): lambda d, x, y, e: d + x * y,
    (1, 18): lambda d, x, y, e: d - x * y,
}
I3_PAIR = {
    (0, 20): lambda x, y, e: x if sx(x, e) >= sx(y, e) else y,
    (0, 21): lambda x, y, e: x if sx(x, e) <= sx(y, e) else y,
    (0, 23): lambda x, y, e: x + y,
    (1, 20): lambda x, y, e: max(x, y),
    (1, 21): lambda x, y, e: min(x, y),
}

MISC = {   # two-register misc, (U, opcode) -> fn(x, e)
    (0, 4): lambda x, e: e - 1 - ((x >> 1) ^ (x & (_ones(e) >> 1))).bit_length(),  # CLS
    (0, 5): lambda x, e: bin(x).count("1"),                                          # CNT
    (0, 8): lambda x, e: _ones(e) if sx(x, e) > 0 else 0,                           # CMGT #0
    (0, 9): lambda x, e: _ones(e) if x == 0 else 0,                                  # CMEQ #0
    (0, 10): lambda x, e: _ones(e) if sx(x, e) < 0 else 0,                          # CMLT #0
    (0, 11): lambda x, e: abs(sx(x, e)),                                             # ABS
    (1, 4): lambda x, e: e - x.bit_length(),                                         # CLZ
    (1, 8): lambda x, e: _ones(e) if sx(x, e) >= 0 else 0,                          # CMGE #0
    (1, 9): lambda x, e: _ones(e) if sx(x, e) <= 0 else 0,                          # CMLE #0
    (1, 11): lambda x, e: -x,                                                        # NEG
}

ACROSS = {   # (U, opcode) -> reduce fn
    (0, 10): lambda x, y, e: x if sx(x, e) >= sx(y, e) else y,     # SMAXV
    (0, 26): lambda x, y, e: x if sx(x, e) <= sx(y, e) else y,     # SMINV
    (0, 27): lambda x, y, e: x + y,                                # ADDV
    (1, 10): lambda x, y, e: max(x, y),                            # UMAXV
    (1, 26): lambda x, y, e: min(x, y),                            # UMINV
    (1, 27): lambda x, y, e: x + y,
}


def _rbit8(x, e):
    return int(f"{x:08b}"[::-1], 2)


def _rev(v: int, esize: int, container: int, nbytes: int) -> int:
    """REV16/32/64: reverse the esize elements inside each container."""
    out = 0
    per = container // esize
    lanes = split(v, esize, nbytes * 8 // esize)
    res = []
    for c in range(0, len(lanes), per):
        res += lanes[c:c + per][::-1]
    return join(res, esize)


def _narrow(v: int, esize: int, lanes: int, fn) -> int:
    """Take `lanes` lanes of 2*esize from v, narrow each with fn, pack as esize lanes."""
    return join([fn(x) for x in split(v, 2 * esize, lanes)], esize)


def _shift_right(x, sh, e, unsigned, rounding):
    v = x if unsigned else sx(x, e)
    if rounding:
        v += 1 << (sh - 1)
    return v >> sh


def _tbl(table: list[int], idx: int, default: int, nbytes: int) -> int:
    raw = b"".join(t.to_bytes(16, "little") for t in table)
    dflt = default.to_bytes(16, "little")
    ib = idx.to_bytes(16, "little")
    out = bytes(raw[i] if i < len(raw) else dflt[k] for k, i in enumerate(ib[:nbytes]))
    return int.from_bytes(out, "little")


def _permute(op: int, a: int, b: int, esize: int, n: int) -> int:
    la, lb = split(a, esize, n), split(b, esize, n)
    half = n // 2
    part = 1 if op >= 4 else 0
    kind = op & 3
    if kind == 1:     # UZP
        both = la + lb
        res = both[part::2]
    elif kind == 2:   # TRN
        res = []
        for p in range(half):
            res += [la[2 * p + part], lb[2 * p + part]]
    else:             # ZIP
        base = half * part
        res = []
        for p in range(half):
            res += [la[base + p], lb[base + p]]
    return join(res, esize)


def _f(fn):
    """Adapt an fpu function fn(a, b, esize, fpcr, st) to a lane function."""
    return fn


HELPERS = {"MAP1": map1, "MAP2": map2, "MAP3": map3, "PAIRWISE": pairwise, "REDUCE": reduce_lanes,
           "SPLIT": split, "JOIN": join, "SX": sx, "SAT": sat, "I3": I3, "I3ACC": I3_ACC,
           "I3PAIR": I3_PAIR, "MISC": MISC, "ACROSS": ACROSS, "REV": _rev, "NARROW": _narrow,
           "SHR": _shift_right, "TBL": _tbl, "PERMUTE": _permute, "RBIT8": _rbit8,
           "FPU": fpu}


# ---- decode ---------------------------------------------------------------------------
def decode(insn: int):
    if field(insn, 31, 31):
        return None            # crypto four-register / SHA512 etc.: not implemented
    scalar = field(insn, 28, 28)
    b2824 = field(insn, 28, 24)
    if not scalar:
        if field(insn, 28, 21) == 0b01110000 and field(insn, 15, 15) == 0 and field(insn, 10, 10):
            return emit_copy
        if field(insn, 29, 24) == 0b001110 and not field(insn, 21, 21) and not field(insn, 15, 15):
            if field(insn, 11, 10) == 0b10:
                return emit_permute
            if field(insn, 11, 10) == 0 and field(insn, 23, 22) == 0:
                return emit_tbl
            return None
        if field(insn, 29, 24) == 0b101110 and not field(insn, 21, 21) and not field(insn, 15, 15) \
                and not field(insn, 10, 10) and field(insn, 23, 22) == 0:
            return emit_ext
        if field(insn, 28, 21) == 0b01110000 and field(insn, 15, 15) == 0 and field(insn, 10, 10):
            return emit_copy
    if b2824 in (0b01110, 0b11110):
        if field(insn, 21, 21):
            if field(insn, 10, 10):
                return emit_three_same
            if field(insn, 11, 10) == 0b00:
                return emit_three_different if not scalar else None
            if field(insn, 20, 17) == 0b0000 and field(insn, 11, 10) == 0b10:
                return emit_two_misc
            if field(insn, 20, 17) == 0b1000 and field(insn, 11, 10) == 0b10:
                return emit_across if not scalar else emit_scalar_pairwise
        elif scalar and field(insn, 23, 21) == 0 and field(insn, 15, 15) == 0 and field(insn, 10, 10) \
                and field(insn, 29, 29) == 0:
            return emit_copy
        return None
    if b2824 in (0b01111, 0b11111) and field(insn, 10, 10):
        if field(insn, 22, 19) == 0:
            return emit_modified_imm if not scalar else None
        return emit_shift_imm
    if b2824 in (0b01111, 0b11111) and not field(insn, 10, 10):
        return emit_by_element
    return None


def _v(b, n: int, q: int) -> str:
    return b.rv(n) if q else f"({b.rv(n)} & {D_MASK:#x})"


# ---- whole-register forms -----------------------------------------------------------------
def emit_copy(b, insn: int) -> None:
    q, op, imm5, imm4 = field(insn, 30, 30), field(insn, 29, 29), field(insn, 20, 16), field(insn, 14, 11)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if imm5 & 0xF == 0:
        return b.end_undefined()
    size = (imm5 & -imm5).bit_length() - 1
    esize = 8 << size
    index = imm5 >> (size + 1)
    emask = (1 << esize) - 1
    if scalar:                     # DUP (scalar element) = MOV Bd/Hd/Sd/Dd, Vn.T[i]
        if op or imm4:
            return b.end_undefined()
        return b.wv(rd, f"(({b.rv(rn)} >> {index * esize}) & {emask:#x})")
    nbits = 128 if q else 64
    if op:                         # INS (element)
        if not q:
            return b.end_undefined()
        src_index = imm4 >> size
        elem = f"(({b.rv(rn)} >> {src_index * esize}) & {emask:#x})"
        return b.wv(rd, f"({b.rv(rd)} & {Q_MASK ^ (emask << (index * esize)):#x}) | ({elem} << {index * esize})")
    if imm4 == 0:                  # DUP (element)
        if size == 3 and not q:
            return b.end_undefined()
        elem = f"(({b.rv(rn)} >> {index * esize}) & {emask:#x})"
        rep = sum(1 << (i * esize) for i in range(nbits // esize))
        return b.wv(rd, f"{elem} * {rep:#x}")
    if imm4 == 1:                  # DUP (general)
        if size == 3 and not q:
            return b.end_undefined()
        rep = sum(1 << (i * esize) for i in range(nbits // esize))
        return b.wv(rd, f"({b.rx(rn)} & {emask:#x}) * {rep:#x}")
    if imm4 == 3:                  # INS (general)
        if not q:
            return b.end_undefined()
        return b.wv(rd, f"({b.rv(rd)} & {Q_MASK ^ (emask << (index * esize)):#x}) | "
                        f"(({b.rx(rn)} & {emask:#x}) << {index * esize})")
    if imm4 in (5, 7):             # SMOV / UMOV
        elem = f"(({b.rv(rn)} >> {index * esize}) & {emask:#x})"
        if imm4 == 7:
            if (q and size != 3) or (not q and size == 3):
                return b.end_undefined()
            return b.wx(rd, elem, masked=True)
        if size == 3 or (size == 2 and not q):
            return b.end_undefined()
        sb = 1 << (esize - 1)
        return b.wx(rd, f"({elem} ^ {sb:#x}) - {sb:#x}", w=not q)
    b.end_undefined()


def _expand_imm(op: int, cmode: int, imm8: int) -> int | None:
    """AdvSIMDExpandImm: the 64-bit pattern, or None if unallocated."""
    c = cmode >> 1
    if c <= 3:
        v = imm8 << (8 * c)
        return v | (v << 32)
    if c <= 5:
        v = imm8 << (8 * (c & 1))
        return v * 0x0001_0001_0001_0001
    if c == 6:
        v = (imm8 << 8) | 0xFF if not cmode & 1 else (imm8 << 16) | 0xFFFF
        return v | (v << 32)
    if not cmode & 1:
        if not op:
            return imm8 * 0x0101_0101_0101_0101
        return sum(0xFF << (8 * i) for i in range(8) if (imm8 >> i) & 1)
    if not op:   # FMOV (vector, immediate) single precision
        from .a64_fp import vfp_expand_imm
        v = vfp_expand_imm(imm8, 32)
        return v | (v << 32)
    from .a64_fp import vfp_expand_imm
    return vfp_expand_imm(imm8, 64)


def emit_modified_imm(b, insn: int) -> None:
    q, op, cmode, o2 = field(insn, 30, 30), field(insn, 29, 29), field(insn, 15, 12), field(insn, 11, 11)
    imm8 = (field(insn, 18, 16) << 5) | field(insn, 9, 5)
    rd = field(insn, 4, 0)
    if o2 or (cmode == 15 and op and not q):
        return b.end_undefined()
    imm = _expand_imm(op, cmode, imm8)
    full = imm | (imm << 64) if q else imm
    reg_mask = Q_MASK if q else D_MASK
    orr_bic = cmode < 12 and cmode & 1
    if orr_bic:
        d = _v(b, rd, q)
        if op:   # BIC
            return b.wv(rd, f"{d} & {reg_mask ^ full:#x}")
        return b.wv(rd, f"{d} | {full:#x}")
    if op and cmode < 14:        # MVNI
        full = reg_mask ^ full
    b.wv(rd, f"{full:#x}")


def emit_ext(b, insn: int) -> None:
    q, rm, imm4, rn, rd = field(insn, 30, 30), field(insn, 20, 16), field(insn, 14, 11), field(insn, 9, 5), field(insn, 4, 0)
    if not q and imm4 & 8:
        return b.end_undefined()
    nbits = 128 if q else 64
    lo, hi = _v(b, rn, q), _v(b, rm, q)
    sh = imm4 * 8
    mask = (1 << nbits) - 1
    b.wv(rd, f"((({hi} << {nbits}) | {lo}) >> {sh}) & {mask:#x}")


def emit_tbl(b, insn: int) -> None:
    q, rm, length, op, rn, rd = (field(insn, 30, 30), field(insn, 20, 16), field(insn, 14, 13),
                                 field(insn, 12, 12), field(insn, 9, 5), field(insn, 4, 0))
    table = ", ".join(b.rv((rn + i) % 32) for i in range(length + 1))
    default = _v(b, rd, q) if op else "0"
    b.wv(rd, f"TBL([{table}], {b.rv(rm)}, {default}, {16 if q else 8})")


def emit_permute(b, insn: int) -> None:
    q, size, rm, opcode, rn, rd = (field(insn, 30, 30), field(insn, 23, 22), field(insn, 20, 16),
                                   field(insn, 14, 12), field(insn, 9, 5), field(insn, 4, 0))
    if opcode in (0, 4) or (size == 3 and not q):
        return b.end_undefined()
    esize = 8 << size
    n = (128 if q else 64) // esize
    b.wv(rd, f"PERMUTE({opcode}, {_v(b, rn, q)}, {_v(b, rm, q)}, {esize}, {n})")


# ---- three same ---------------------------------------------------------------------------
_LOGIC = {(0, 0): "{n} & {m}", (0, 1): "{n} & ({m} ^ {mask})", (0, 2): "{n} | {m}",
          (0, 3): "{n} | ({m} ^ {mask})", (1, 0): "{n} ^ {m}",
          (1, 1): "({d} & {n}) | (({d} ^ {mask}) & {m})",
          (1, 2): "({d} & ({m} ^ {mask})) | ({n} & {m})",
          (1, 3): "({d} & {m}) | ({n} & ({m} ^ {mask}))"}

_FP3 = {   # (U, a, opcode low 3 bits) -> (fpu function name, kind)
    (0, 0, 0): ("fmaxnm", "map"), (0, 0, 1): ("fmla", "acc"), (0, 0, 2): ("fadd", "map"),
    (0, 0, 3): ("fmulx", "map"), (0, 0, 4): ("fcmeq", "cmp"), (0, 0, 6): ("fmax", "map"),
    (0, 0, 7): ("frecps", "map"), (0, 1, 0): ("fminnm", "map"), (0, 1, 1): ("fmls", "acc"),
    (0, 1, 2): ("fsub", "map"), (0, 1, 6): ("fmin", "map"), (0, 1, 7): ("frsqrts", "map"),
    (1, 0, 0): ("fmaxnm", "pair"), (1, 0, 2): ("fadd", "pair"), (1, 0, 3): ("fmul", "map"),
    (1, 0, 4): ("fcmge", "cmp"), (1, 0, 5): ("facge", "cmp"), (1, 0, 6): ("fmax", "pair"),
    (1, 0, 7): ("fdiv", "map"), (1, 1, 0): ("fminnm", "pair"), (1, 1, 2): ("fabd", "map"),
    (1, 1, 4): ("fcmgt", "cmp"), (1, 1, 5): ("facgt", "cmp"), (1, 1, 6): ("fmin", "pair"),
}


_FP3_SCALAR = {(0, 0, 3), (0, 0, 4), (0, 0, 7), (0, 1, 7), (1, 0, 4), (1, 0, 5), (1, 1, 2),
               (1, 1, 4), (1, 1, 5)}
# three-same integer ops that have a 64-bit element form
_I3_SIZE3 = {(0, 1), (1, 1), (0, 5), (1, 5), (0, 6), (0, 7), (1, 6), (1, 7), (0, 8), (1, 8),
             (0, 10), (1, 10), (0, 16), (1, 16), (0, 17), (1, 17), (0, 23)}


def _fp_lane(name: str):
    """A lane function for an FP op (uses FPCR = 0 semantics beyond rounding to nearest)."""
    if name == "facge":
        return lambda x, y, e, st=None: _ones(e) if fpu.fcmge(x & (_ones(e) >> 1), y & (_ones(e) >> 1), e, st) else 0
    if name == "facgt":
        return lambda x, y, e, st=None: _ones(e) if fpu.fcmgt(x & (_ones(e) >> 1), y & (_ones(e) >> 1), e, st) else 0
    fn = getattr(fpu, name)
    if name in ("fcmeq", "fcmge", "fcmgt"):
        return lambda x, y, e, st=None: _ones(e) if fn(x, y, e, st) else 0
    return lambda x, y, e, st=None: fn(x, y, e, 0, st)


FP_LANES = {name: _fp_lane(name) for name, _ in set(_FP3.values())
            if name not in ("fmla", "fmls")}
FP_LANES["fmla"] = lambda d, x, y, e: fpu.fmadd(x, y, d, e, 0, None)
FP_LANES["fmls"] = lambda d, x, y, e: fpu.fmadd(x ^ (1 << (e - 1)), y, d, e, 0, None)
HELPERS["FPL"] = FP_LANES


def emit_three_same(b, insn: int) -> None:
    q, u, size, rm, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 20, 16), field(insn, 15, 11)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if scalar:
        q = 1
    if opcode == 3 and not scalar:     # logical
        mask = Q_MASK if q else D_MASK
        expr = _LOGIC[(u, size)].format(n=_v(b, rn, q), m=_v(b, rm, q), d=_v(b, rd, q), mask=f"{mask:#x}")
        return b.wv(rd, f"({expr}) & {mask:#x}" if (u, size) in ((0, 1), (0, 3)) else expr)
    if opcode >= 0x18:                  # floating point
        esize = 32 << (size & 1)
        key = (u, size >> 1, opcode & 7)
        if key not in _FP3 or (esize == 64 and not q and not scalar):
            return b.end_undefined()
        name, kind = _FP3[key]
        n = 1 if scalar else (128 if q else 64) // esize
        if scalar and key not in _FP3_SCALAR:
            return b.end_undefined()
        a, m = _v(b, rn, q), _v(b, rm, q)
        if scalar:
            a, m = f"({b.rv(rn)} & {_ones(esize):#x})", f"({b.rv(rm)} & {_ones(esize):#x})"
        if kind == "acc":
            return b.wv(rd, f"MAP3(FPL['{name}'], {_v(b, rd, q)}, {a}, {m}, {esize}, {n})")
        if kind == "pair":
            return b.wv(rd, f"PAIRWISE(FPL['{name}'], {a}, {m}, {esize}, {n})")
        return b.wv(rd, f"MAP2(FPL['{name}'], {a}, {m}, {esize}, {n})")
    esize = 8 << size
    if size == 3 and not q:
        return b.end_undefined()
    key = (u, opcode)
    if scalar:
        if size != 3 or key not in ((0, 16), (1, 16), (0, 6), (0, 7), (1, 6), (1, 7), (0, 17), (1, 17),
                                    (0, 8), (1, 8), (0, 10), (1, 10), (0, 1), (1, 1), (0, 5), (1, 5)):
            if not (key in ((0, 1), (1, 1), (0, 5), (1, 5))):
                return b.end_undefined()
        a, m = f"({b.rv(rn)} & {_ones(esize):#x})", f"({b.rv(rm)} & {_ones(esize):#x})"
        return b.wv(rd, f"MAP2(I3[{key}], {a}, {m}, {esize}, 1)")
    n = (128 if q else 64) // esize
    if size == 3 and key not in _I3_SIZE3:
        return b.end_undefined()
    if key == (1, 19) and size != 0:
        return b.end_undefined()
    if key in I3:
        return b.wv(rd, f"MAP2(I3[{key}], {_v(b, rn, q)}, {_v(b, rm, q)}, {esize}, {n})")
    if key in I3_ACC:
        if size == 3:
            return b.end_undefined()
        return b.wv(rd, f"MAP3(I3ACC[{key}], {_v(b, rd, q)}, {_v(b, rn, q)}, {_v(b, rm, q)}, {esize}, {n})")
    if key in I3_PAIR:
        if size == 3 and key != (0, 23):
            return b.end_undefined()
        return b.wv(rd, f"PAIRWISE(I3PAIR[{key}], {_v(b, rn, q)}, {_v(b, rm, q)}, {esize}, {n})")
    b.end_undefined()


# ---- three different (long, wide, narrow) ----------------------------------------------------
def _td_add(x, y, e):
    return x + y


def emit_three_different(b, insn: int) -> None:
    q, u, size, rm, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 20, 16), field(insn, 15, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    if size == 3:
        return b.end_undefined()
    esize = 8 << size
    n = 64 // esize
    half = 64 if q else 0
    nsrc = f"(({b.rv(rn)} >> {half}) & {D_MASK:#x})"
    msrc = f"(({b.rv(rm)} >> {half}) & {D_MASK:#x})"
    lanes_n = f"SPLIT({nsrc}, {esize}, {n})"
    lanes_m = f"SPLIT({msrc}, {esize}, {n})"
    ext = "" if u else f"SX(_x, {esize})"
    cvt = (lambda v: v) if u else (lambda v: f"SX({v}, {esize})")
    e2 = 2 * esize
    t = b.tmp()
    if opcode in (0, 2, 5, 7, 8, 10, 12):           # long forms: lanes of n, m -> 2*esize
        x, y = cvt("_x"), cvt("_y")
        expr = {0: f"{x} + {y}", 2: f"{x} - {y}", 5: f"abs({x} - {y})", 7: f"abs({x} - {y})",
                8: f"{x} * {y}", 10: f"{x} * {y}", 12: f"{x} * {y}"}[opcode]
        b.line(f"{t} = JOIN([{expr} for _x, _y in zip({lanes_n}, {lanes_m})], {e2})")
        if opcode in (5, 8):
            return b.wv(rd, f"MAP2(I3[(0, 16)], {b.rv(rd)}, {t}, {e2}, {n})")
        if opcode == 10:
            return b.wv(rd, f"MAP2(I3[(1, 16)], {b.rv(rd)}, {t}, {e2}, {n})")
        return b.wv(rd, t)
    if opcode in (1, 3):                            # wide: n is 2*esize lanes, m long
        y = cvt("_y")
        x = "_x" if u else f"SX(_x, {e2})"
        op = "+" if opcode == 1 else "-"
        b.line(f"{t} = JOIN([{x} {op} {y} for _x, _y in zip(SPLIT({b.rv(rn)}, {e2}, {n}), {lanes_m})], {e2})")
        return b.wv(rd, t)
    if opcode in (4, 6):                            # ADDHN/SUBHN (+R): high halves, narrowed
        op = "+" if opcode == 4 else "-"
        rnd = f" + {1 << (esize - 1)}" if u else ""
        b.line(f"{t} = JOIN([((_x {op} _y{rnd}) >> {esize}) for _x, _y in zip(SPLIT({b.rv(rn)}, {e2}, {n}), "
               f"SPLIT({b.rv(rm)}, {e2}, {n}))], {esize})")
        if q:
            return b.wv(rd, f"({b.rv(rd)} & {D_MASK:#x}) | ({t} << 64)")
        return b.wv(rd, t)
    b.end_undefined()


# ---- two-register misc ----------------------------------------------------------------------
_FP_MISC = {   # (U, size>>1, opcode) -> kind
    (0, 1, 15): "fabs", (1, 1, 15): "fneg", (1, 1, 31): "fsqrt",
    (0, 1, 27): "fcvtzs", (1, 1, 27): "fcvtzu", (0, 0, 29): "scvtf", (1, 0, 29): "ucvtf",
    (0, 0, 26): "fcvtns", (1, 0, 26): "fcvtnu", (0, 0, 27): "fcvtms", (1, 0, 27): "fcvtmu",
    (0, 1, 26): "fcvtps", (1, 1, 26): "fcvtpu", (0, 0, 28): "fcvtas", (1, 0, 28): "fcvtau",
    (0, 0, 24): "frintn", (0, 0, 25): "frintm", (0, 1, 24): "frintp", (0, 1, 25): "frintz",
    (1, 0, 24): "frinta", (1, 0, 25): "frintx", (1, 1, 25): "frinti",
    (0, 1, 12): "fcmgt0", (0, 1, 13): "fcmeq0", (0, 1, 14): "fcmlt0", (1, 1, 12): "fcmge0",
    (1, 1, 13): "fcmle0", (0, 1, 29): "frecpe", (1, 1, 29): "frsqrte",
}
_CVT_MODE = {"n": 0, "p": 1, "m": 2, "z": 3, "a": 4}


def _fp_misc_fn(kind: str):
    if kind == "fabs":
        return lambda x, e: x & (_ones(e) >> 1)
    if kind == "fneg":
        return lambda x, e: x ^ (1 << (e - 1))
    if kind == "fsqrt":
        return lambda x, e: fpu.fsqrt(x, e, 0, None)
    if kind.startswith("fcvt"):
        mode, unsigned = _CVT_MODE[kind[4]], kind[5] == "u"
        return lambda x, e: fpu.to_fixed(x, e, e, unsigned, 0, mode, None)
    if kind in ("scvtf", "ucvtf"):
        return lambda x, e: fpu.from_fixed(x, e, kind == "ucvtf", 0, e, 0, None)
    if kind.startswith("frint"):
        mode = {"n": 0, "p": 1, "m": 2, "z": 3, "a": 4, "x": 0, "i": 0}[kind[5]]
        return lambda x, e: fpu.frint(x, e, mode, kind == "frintx", None)
    if kind.endswith("0"):
        cmp = kind[3:5]
        def f(x, e):
            if fpu.is_nan(x, e):
                return 0
            v = fpu.to_float(x, e)
            ok = {"gt": v > 0, "eq": v == 0, "lt": v < 0, "ge": v >= 0, "le": v <= 0}[cmp]
            return _ones(e) if ok else 0
        return f
    if kind == "frecpe":
        return lambda x, e: fpu.frecpe(x, e, 0, None)
    return lambda x, e: fpu.frsqrte(x, e, 0, None)


FP_MISC = {k: _fp_misc_fn(v) for k, v in _FP_MISC.items()}
HELPERS["FPMISC"] = FP_MISC


def emit_two_misc(b, insn: int) -> None:
    q, u, size, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if scalar:
        q = 1
    nbytes = 16 if q else 8
    src = _v(b, rn, q)
    fp_key = (u, size >> 1, opcode)
    if scalar and fp_key in _FP_MISC and not (opcode in (12, 13, 14) or 26 <= opcode <= 29):
        return b.end_undefined()     # no scalar FABS/FNEG/FSQRT/FRINT in Advanced SIMD
    if opcode >= 12 and (opcode >= 24 or opcode in (12, 13, 14, 15)) and \
            fp_key in _FP_MISC and (opcode >= 24 or size >= 2):
        esize = 32 << (size & 1)
        if esize == 64 and not q:
            return b.end_undefined()
        n = 1 if scalar else nbytes * 8 // esize
        if scalar:
            src = f"({b.rv(rn)} & {_ones(esize):#x})"
        return b.wv(rd, f"MAP1(FPMISC[{(u, size >> 1, opcode)}], {src}, {esize}, {n})")
    if scalar:
        if size != 3 or (u, opcode) not in ((0, 8), (0, 9), (0, 10), (0, 11), (1, 8), (1, 9), (1, 11)):
            return b.end_undefined()
        return b.wv(rd, f"MAP1(MISC[{(u, opcode)}], ({b.rv(rn)} & {D_MASK:#x}), 64, 1)")
    esize = 8 << size
    n = nbytes * 8 // esize
    if opcode in (0, 1) and not (u and opcode == 1):  # REV64 (U0 op0), REV16 (U0 op1), REV32 (U1 op0)
        container = 64 if (u, opcode) == (0, 0) else 16 if (u, opcode) == (0, 1) else 32
        if esize >= container:
            return b.end_undefined()
        return b.wv(rd, f"REV({src}, {esize}, {container}, {nbytes})")
    if opcode == 5:
        if u and size == 0:     # NOT
            return b.wv(rd, f"{src} ^ {(Q_MASK if q else D_MASK):#x}")
        if u and size == 1:     # RBIT
            return b.wv(rd, f"MAP1(RBIT8, {src}, 8, {nbytes})")
        if not u and size == 0:
            return b.wv(rd, f"MAP1(MISC[(0, 5)], {src}, 8, {nbytes})")
        return b.end_undefined()
    if (u, opcode) in MISC:
        if size == 3 and not q:
            return b.end_undefined()
        if (u, opcode) in ((0, 4), (1, 4)) and size == 3:
            return b.end_undefined()
        return b.wv(rd, f"MAP1(MISC[{(u, opcode)}], {src}, {esize}, {n})")
    if opcode in (2, 6):        # [SU]ADDLP, [SU]ADALP
        if size == 3:
            return b.end_undefined()
        x = "_x" if u else f"SX(_x, {esize})"
        y = "_y" if u else f"SX(_y, {esize})"
        t = b.tmp()
        b.line(f"_l = SPLIT({src}, {esize}, {n})")
        b.line(f"{t} = JOIN([{x} + {y} for _x, _y in zip(_l[0::2], _l[1::2])], {2 * esize})")
        if opcode == 6:
            return b.wv(rd, f"MAP2(I3[(0, 16)], {_v(b, rd, q)}, {t}, {2 * esize}, {n // 2})")
        return b.wv(rd, t)
    if opcode in (18, 20) and size != 3:    # XTN / SQXTN / SQXTUN / UQXTN
        t = b.tmp()
        if opcode == 18 and not u:
            fn = "lambda _x: _x"
        elif opcode == 18:
            fn = f"lambda _x: SAT(SX(_x, {2 * esize}), {esize}, True)[0]"        # SQXTUN
        elif u:
            fn = f"lambda _x: SAT(_x, {esize}, True)[0]"                          # UQXTN
        else:
            fn = f"lambda _x: SAT(SX(_x, {2 * esize}), {esize}, False)[0]"       # SQXTN
        b.line(f"{t} = NARROW({b.rv(rn)}, {esize}, {64 // esize}, {fn})")
        if q:
            return b.wv(rd, f"({b.rv(rd)} & {D_MASK:#x}) | ({t} << 64)")
        return b.wv(rd, t)
    if opcode == 19 and u and size != 3:    # SHLL
        half = f"(({b.rv(rn)} >> {64 if q else 0}) & {D_MASK:#x})"
        return b.wv(rd, f"JOIN([_x << {esize} for _x in SPLIT({half}, {esize}, {64 // esize})], {2 * esize})")
    if opcode in (22, 23) and size >> 1:
        return b.end_undefined()
    if opcode == 23 and not u:              # FCVTL
        if size & 1:
            src_e, dst_e = 32, 64
        else:
            src_e, dst_e = 16, 32
        half = f"(({b.rv(rn)} >> {64 if q else 0}) & {D_MASK:#x})"
        return b.wv(rd, f"JOIN([FPU.fconvert(_x, {src_e}, {dst_e}, S.fpcr, S) for _x in "
                        f"SPLIT({half}, {src_e}, {64 // src_e})], {dst_e})")
    if opcode == 22 and not u:              # FCVTN
        src_e, dst_e = (64, 32) if size & 1 else (32, 16)
        t = b.tmp()
        b.line(f"{t} = JOIN([FPU.fconvert(_x, {src_e}, {dst_e}, S.fpcr, S) for _x in "
               f"SPLIT({b.rv(rn)}, {src_e}, 2 if {src_e} == 64 else 4)], {dst_e})")
        if q:
            return b.wv(rd, f"({b.rv(rd)} & {D_MASK:#x}) | ({t} << 64)")
        return b.wv(rd, t)
    b.end_undefined()


def emit_across(b, insn: int) -> None:
    q, u, size, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    if opcode in (12, 15) and u:             # FMAXNMV/FMINNMV/FMAXV/FMINV (single precision, Q=1)
        if not q or size & 1:
            return b.end_undefined()
        name = ("fmaxnm" if opcode == 12 else "fmax") if size < 2 else ("fminnm" if opcode == 12 else "fmin")
        return b.wv(rd, f"REDUCE(FPL['{name}'], {b.rv(rn)}, 32, 4)")
    esize = 8 << size
    n = (128 if q else 64) // esize
    if size == 3 or (size == 2 and not q):
        return b.end_undefined()
    src = _v(b, rn, q)
    if opcode == 3:                          # [SU]ADDLV
        x = "_x" if u else f"SX(_x, {esize})"
        return b.wv(rd, f"sum({x} for _x in SPLIT({src}, {esize}, {n})) & {_ones(2 * esize):#x}")
    if (u, opcode) not in ACROSS or (opcode == 27 and u):
        return b.end_undefined()
    b.wv(rd, f"REDUCE(ACROSS[{(u, opcode)}], {src}, {esize}, {n})")


def emit_scalar_pairwise(b, insn: int) -> None:
    u, size, opcode = field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    src = b.rv(rn)
    if not u and opcode == 27 and size == 3:     # ADDP Dd, Vn.2D
        return b.wv(rd, f"(({src} & {D_MASK:#x}) + ({src} >> 64)) & {D_MASK:#x}")
    if u and opcode in (12, 13, 15):              # FMAXNMP/FADDP/FMAXP/FMINNMP/FMINP scalar
        esize = 32 << (size & 1)
        name = {(12, 0): "fmaxnm", (12, 1): "fminnm", (13, 0): "fadd", (15, 0): "fmax",
                (15, 1): "fmin"}.get((opcode, size >> 1))
        if name is None:
            return b.end_undefined()
        m = _ones(esize)
        return b.wv(rd, f"FPL['{name}']({src} & {m:#x}, ({src} >> {esize}) & {m:#x}, {esize})")
    b.end_undefined()


# ---- shifts by immediate ----------------------------------------------------------------------
def emit_shift_imm(b, insn: int) -> None:
    q, u, immh, immb, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 22, 19), field(insn, 18, 16), field(insn, 15, 11)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if scalar:
        q = 1
    hb = immh.bit_length() - 1
    esize = 8 << hb
    immhb = (immh << 3) | immb
    right = 2 * esize - immhb
    left = immhb - esize
    src = _v(b, rn, q)
    if scalar and opcode not in (0, 2, 4, 6, 8, 10, 28, 31):
        return b.end_undefined()
    if scalar and esize != 64 and opcode not in (28, 31):
        return b.end_undefined()
    if esize == 64 and not q and not scalar:
        return b.end_undefined()
    n = 1 if scalar else (128 if q else 64) // esize
    if scalar:
        src = f"({b.rv(rn)} & {_ones(esize):#x})"
    if opcode in (0, 2, 4, 6):               # [SU]SHR, [SU]SRA, [SU]RSHR, [SU]RSRA
        rnd = opcode in (4, 6)
        shifted = f"MAP1(lambda _x, _e: SHR(_x, {right}, _e, {bool(u)}, {rnd}), {src}, {esize}, {n})"
        if opcode in (2, 6):
            dst = _v(b, rd, q) if not scalar else f"({b.rv(rd)} & {_ones(esize):#x})"
            return b.wv(rd, f"MAP2(I3[(0, 16)], {dst}, {shifted}, {esize}, {n})")
        return b.wv(rd, shifted)
    if opcode == 10 and not u:               # SHL
        return b.wv(rd, f"MAP1(lambda _x, _e: _x << {left}, {src}, {esize}, {n})")
    if opcode == 8 and u:                    # SRI
        m = _ones(esize) >> right if right < esize else 0
        dst = _v(b, rd, q)
        return b.wv(rd, f"MAP2(lambda _d, _x, _e: (_d & {_ones(esize) ^ m:#x}) | (_x >> {right}), "
                        f"{dst}, {src}, {esize}, {n})")
    if opcode == 10 and u:                   # SLI
        m = (_ones(esize) << left) & _ones(esize)
        dst = _v(b, rd, q)
        return b.wv(rd, f"MAP2(lambda _d, _x, _e: (_d & {_ones(esize) ^ m:#x}) | (_x << {left}), "
                        f"{dst}, {src}, {esize}, {n})")
    if opcode == 20:                         # SSHLL / USHLL (UXTL, SXTL)
        if esize == 64:
            return b.end_undefined()
        half = f"(({b.rv(rn)} >> {64 if q else 0}) & {D_MASK:#x})"
        x = "_x" if u else f"SX(_x, {esize})"
        return b.wv(rd, f"JOIN([{x} << {left} for _x in SPLIT({half}, {esize}, {64 // esize})], {2 * esize})")
    if opcode in (16, 17, 18, 19):           # narrowing right shifts
        if esize == 64:
            return b.end_undefined()
        rnd = opcode in (17, 19)
        e2 = 2 * esize
        r2 = 2 * esize - immhb
        if opcode in (16, 17) and not u:     # SHRN / RSHRN
            fn = f"lambda _x: SHR(_x, {r2}, {e2}, True, {rnd})"
        elif opcode in (16, 17):             # SQSHRUN / SQRSHRUN
            fn = f"lambda _x: SAT(SHR(_x, {r2}, {e2}, False, {rnd}), {esize}, True)[0]"
        elif u:                              # UQSHRN / UQRSHRN
            fn = f"lambda _x: SAT(SHR(_x, {r2}, {e2}, True, {rnd}), {esize}, True)[0]"
        else:                                # SQSHRN / SQRSHRN
            fn = f"lambda _x: SAT(SHR(_x, {r2}, {e2}, False, {rnd}), {esize}, False)[0]"
        t = b.tmp()
        b.line(f"{t} = NARROW({b.rv(rn)}, {esize}, {64 // esize}, {fn})")
        if q and not scalar:
            return b.wv(rd, f"({b.rv(rd)} & {D_MASK:#x}) | ({t} << 64)")
        return b.wv(rd, t)
    if opcode in (28, 31) and esize >= 32:   # [SU]CVTF / FCVTZ[SU] with fixed point
        fbits = right
        if opcode == 28:
            fn = f"lambda _x, _e: FPU.from_fixed(_x, _e, {bool(u)}, {fbits}, _e, S.fpcr, S)"
        else:
            fn = f"lambda _x, _e: FPU.to_fixed(_x, _e, _e, {bool(u)}, {fbits}, 3, S)"
        return b.wv(rd, f"MAP1({fn}, {src}, {esize}, {n})")
    b.end_undefined()


def emit_by_element(b, insn: int) -> None:
    """MUL/MLA/MLS/FMUL/FMLA/FMLS and the long forms by element."""
    q, u, size, l, m, rm4, opcode, h = (field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22),
                                        field(insn, 21, 21), field(insn, 20, 20), field(insn, 19, 16),
                                        field(insn, 15, 12), field(insn, 11, 11))
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if scalar:
        q = 1
    fp = opcode in (1, 5, 9) and not (u and opcode != 9)
    if fp:
        if size == 2:
            esize, index, rm = 32, (h << 1) | l, (m << 4) | rm4
        elif size == 3 and not l:
            esize, index, rm = 64, h, (m << 4) | rm4
        else:
            return b.end_undefined()
        if esize == 64 and not q:
            return b.end_undefined()
    else:
        if size == 1:
            esize, index, rm = 16, (h << 2) | (l << 1) | m, rm4
        elif size == 2:
            esize, index, rm = 32, (h << 1) | l, (m << 4) | rm4
        else:
            return b.end_undefined()
    n = 1 if scalar else (128 if q else 64) // esize
    elem = f"(({b.rv(rm)} >> {index * esize}) & {_ones(esize):#x})"
    rep = sum(1 << (i * esize) for i in range(n))
    dup = b.tmp()
    b.line(f"{dup} = {elem} * {rep:#x}")
    src = _v(b, rn, q) if not scalar else f"({b.rv(rn)} & {_ones(esize):#x})"
    dst = _v(b, rd, q) if not scalar else f"({b.rv(rd)} & {_ones(esize):#x})"
    if fp:
        name = {1: "fmla", 5: "fmls", 9: "fmul"}[opcode]
        if u and opcode == 9:
            name = "fmulx"
        if name in ("fmla", "fmls"):
            return b.wv(rd, f"MAP3(FPL['{name}'], {dst}, {src}, {dup}, {esize}, {n})")
        return b.wv(rd, f"MAP2(FPL['{name}'], {src}, {dup}, {esize}, {n})")
    if scalar:
        return b.end_undefined()
    if opcode == 8 and not u:
        return b.wv(rd, f"MAP2(I3[(0, 19)], {src}, {dup}, {esize}, {n})")
    if opcode in (0, 4) and u:
        key = (0, 18) if opcode == 0 else (1, 18)
        return b.wv(rd, f"MAP3(I3ACC[{key}], {dst}, {src}, {dup}, {esize}, {n})")
    if opcode in (2, 6, 10):                 # [SU]MLAL, [SU]MLSL, [SU]MULL by element
        half = f"(({b.rv(rn)} >> {64 if q else 0}) & {D_MASK:#x})"
        x = "_x" if u else f"SX(_x, {esize})"
        y = f"{elem}" if u else f"SX({elem}, {esize})"
        t = b.tmp()
        b.line(f"{t} = JOIN([{x} * {y} for _x in SPLIT({half}, {esize}, {64 // esize})], {2 * esize})")
        if opcode == 2:
            return b.wv(rd, f"MAP2(I3[(0, 16)], {b.rv(rd)}, {t}, {2 * esize}, {64 // esize})")
        if opcode == 6:
            return b.wv(rd, f"MAP2(I3[(1, 16)], {b.rv(rd)}, {t}, {2 * esize}, {64 // esize})")
        return b.wv(rd, t)
    b.end_undefined()
