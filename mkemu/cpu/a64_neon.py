"""A64 Advanced SIMD (vector and scalar forms) and the crypto extensions.

Registers are 128-bit Python ints, lane 0 in the low bits.  Per-lane Python
code is slow, so the common operations are whole-register expressions:

* bitwise operations, BSL/BIT/BIF, MOVI, EXT: one integer expression;
* ADD/SUB/NEG, compares, shifts by immediate, ADDHN, rounding: SWAR on the
  128-bit int, with the lane masks folded at translation time (H = the top
  bit of every lane, L = the other bits);
* min/max, pairwise and across-lanes operations, widening and narrowing:
  struct unpack/pack of the register bytes with C-level map/max/min/sum;
* byte shuffles (REV, ZIP/UZP/TRN, TBL, CNT, RBIT): bytes.translate and
  operator.itemgetter on the register bytes.

The rare and complex lane operations (saturating doubling multiplies,
saturating shifts, FP) call small lane functions through HELPERS.
Saturating operations set FPSR.QC; FP operations use FPCR and raise the
FPSR cumulative flags through fpu.py.  FADD/FSUB/FMUL/FDIV, FMLA/FMLS and the
integer<->FP conversions have host-float fast paths for round-to-nearest
without flush-to-zero (see _fvec2, _fmla_vec; fpu.py says how they keep the
flags exact).

Covered: every Advanced SIMD vector and scalar group, half precision
(FEAT_FP16), SQRDMLAH (RDM), dot products, FCMLA/FCADD, FMLAL/FMLSL (FHM),
FRINT32/64, AES, PMULL, SHA1, SHA256, SHA512, EOR3/BCAX/RAX1/XAR.  Not
covered (undefined): SM3, SM4, BFloat16 and the int8 matrix multiplies.

Generated code may only use helper names that exist when a64_simd.py copies
HELPERS (at import), so every shuffle table is built at import.
"""
from __future__ import annotations

import operator
import struct
from itertools import repeat

from . import fpu
from .bits import field
from .lanes import join, map1, map2, map3, split, sx

Q_MASK = (1 << 128) - 1
D_MASK = (1 << 64) - 1
QC = 1 << 27


def _ones(e):
    return (1 << e) - 1


def _rep(e: int, nbits: int) -> int:
    """The lowest bit of every e-bit lane of an nbits-wide value."""
    return sum(1 << i for i in range(0, nbits, e))


# ---- runtime helpers -------------------------------------------------------------------
_FMT = {8: "B", 16: "H", 32: "I", 64: "Q"}
HELPERS: dict = {"FB": int.from_bytes, "OADD": operator.add, "OSUB": operator.sub,
                 "OMUL": operator.mul, "OAND": operator.and_, "REPEAT": repeat}
for _e in (8, 16, 32, 64):
    for _n in (1, 2, 4, 8, 16, 32):
        if _e * _n <= 256:
            _u = struct.Struct(f"<{_n}{_FMT[_e]}")
            _s = struct.Struct(f"<{_n}{_FMT[_e].lower()}")
            HELPERS[f"NU{_e}_{_n}"], HELPERS[f"NPU{_e}_{_n}"] = _u.unpack, _u.pack
            HELPERS[f"NS{_e}_{_n}"], HELPERS[f"NPS{_e}_{_n}"] = _s.unpack, _s.pack


def _qmap(fn, xs, ys, e, st):
    """Lane results of fn(x, y, e) -> (value, saturated); saturation sets FPSR.QC."""
    out = []
    q = False
    for x, y in zip(xs, ys):
        v, s = fn(x, y, e)
        out.append(v)
        q |= s
    if q:
        st.fpsr |= QC
    return out


def _qclamp(raw, lo, hi, st):
    """Clamp the lane values to [lo, hi]; any clamping sets FPSR.QC."""
    out = list(map(min, map(max, raw, repeat(lo)), repeat(hi)))
    if out != raw:
        st.fpsr |= QC
    return out


_POPCNT = bytes(bin(i).count("1") for i in range(256))
_RBIT = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _tbl(table: tuple, idx: int, default: int, nbytes: int) -> int:
    """TBL/TBX: bytes of idx index the table registers; out of range -> default's byte."""
    raw = b"".join(t.to_bytes(16, "little") for t in table)
    ib = idx.to_bytes(nbytes, "little")
    res = int.from_bytes(ib.translate(raw + bytes(256 - len(raw))), "little")
    if default:
        oor = int.from_bytes(ib.translate(bytes(len(raw)) + b"\xff" * (256 - len(raw))), "little")
        res |= default & oor
    return res


def _sat_s(v: int, e: int):
    hi = (1 << (e - 1)) - 1
    if v > hi:
        return hi, True
    if v < -hi - 1:
        return -hi - 1, True
    return v, False


def _sat_u(v: int, e: int):
    if v > (1 << e) - 1:
        return (1 << e) - 1, True
    if v < 0:
        return 0, True
    return v, False


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
        return _sat_u(v, e) if unsigned else _sat_s(v, e)
    return fn


def _sqdmulh(rounding: bool):
    def fn(x, y, e):
        p = 2 * sx(x, e) * sx(y, e)
        if rounding:
            p += 1 << (e - 1)
        return _sat_s(p >> e, e)
    return fn


def _sqrdmlah(sub: bool):
    """SQRDMLAH/SQRDMLSH lane: fn(d, x, y, e) -> (value, saturated)."""
    def fn(d, x, y, e):
        p = sx(x, e) * sx(y, e)
        acc = (sx(d, e) << e) + (-2 * p if sub else 2 * p) + (1 << (e - 1))
        return _sat_s(acc >> e, e)
    return fn


def _qmap3(fn, ds, xs, ys, e, st):
    out = []
    q = False
    for d, x, y in zip(ds, xs, ys):
        v, s = fn(d, x, y, e)
        out.append(v)
        q |= s
    if q:
        st.fpsr |= QC
    return out


def _qmap1(fn, xs, e, st):
    out = []
    q = False
    for x in xs:
        v, s = fn(x, e)
        out.append(v)
        q |= s
    if q:
        st.fpsr |= QC
    return out


def _pmul(x, y, e):
    r = 0
    while y:
        if y & 1:
            r ^= x
        x <<= 1
        y >>= 1
    return r


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


HELPERS.update({"NQMAP": _qmap, "NQMAP3": _qmap3, "NQMAP1": _qmap1,
                "NQCLAMP": _qclamp, "NPOPCNT": _POPCNT, "NRBIT": _RBIT, "NTBL": _tbl,
                "NZ240": bytes(240)})


# ---- translation-time builders: each returns a Python expression -----------------------
def _v(b, n: int, q: int) -> str:
    return b.rv(n) if q else f"({b.rv(n)} & {D_MASK:#x})"


def _elem(b, n: int, e: int) -> str:
    """The low e-bit element of Vn (scalar forms)."""
    return f"({b.rv(n)} & {_ones(e):#x})"


def _half(b, n: int, upper: int) -> str:
    """The lower or upper 64 bits of Vn (the "2" forms read the upper half)."""
    return f"({b.rv(n)} >> 64)" if upper else f"({b.rv(n)} & {D_MASK:#x})"


def _name(b, expr: str) -> str:
    """Bind expr to a temporary (so it can be used twice); names pass through."""
    if expr.isidentifier():
        return expr
    t = b.tmp()
    b.line(f"{t} = {expr}")
    return t


def _unpack(src: str, e: int, n: int, signed: bool = False) -> str:
    return f"N{'S' if signed else 'U'}{e}_{n}(({src}).to_bytes({e * n // 8}, 'little'))"


def _pack(lanes: str, e: int, n: int, signed: bool = False) -> str:
    return f"FB(NP{'S' if signed else 'U'}{e}_{n}(*{lanes}), 'little')"


def _swar_add(b, x: str, y: str, e: int, nbits: int, sub: bool = False) -> str:
    """Lane-wise x + y (or x - y) modulo 2^e on whole registers."""
    hi = _rep(e, nbits) << (e - 1)
    lo = _ones(nbits) ^ hi
    x, y = _name(b, x), _name(b, y)
    if sub:
        return f"((({x} | {hi:#x}) - ({y} & {lo:#x})) ^ (({x} ^ {y} ^ {hi:#x}) & {hi:#x}))"
    return f"((({x} & {lo:#x}) + ({y} & {lo:#x})) ^ (({x} ^ {y}) & {hi:#x}))"


def _swar_qaddsub(b, x: str, y: str, e: int, nbits: int, unsigned: bool, sub: bool) -> str:
    """[SU]QADD/[SU]QSUB: the wrapped sum, then the lanes that overflowed replaced by the
    bound (unsigned: carry/borrow out of the top bit; signed: the sign of the result is
    wrong), and FPSR.QC set if any did."""
    hi = _rep(e, nbits) << (e - 1)
    full = _ones(nbits)
    x, y = _name(b, x), _name(b, y)
    r = _name(b, _swar_add(b, x, y, e, nbits, sub))
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
    mask = _hbits_to_mask(ov, e)
    if unsigned:
        return f"({r} & ({mask} ^ {full:#x}))" if sub else f"({r} | {mask})"
    # the bound has the sign of x: 0x7f.. for x >= 0, 0x80.. for x < 0
    bound = f"({_rep(e, nbits) * (_ones(e) >> 1):#x} + (({x} & {hi:#x}) >> {e - 1}))"
    return f"({r} ^ (({r} ^ {bound}) & {mask}))"


def _hbits_to_mask(t: str, e: int) -> str:
    """Top-of-lane bits -> whole lanes of ones."""
    return f"(({t} >> {e - 1}) * {_ones(e):#x})"


def _nonzero_hbits(b, x: str, e: int, nbits: int) -> str:
    """A temporary with the top bit of every nonzero lane of x set."""
    hi = _rep(e, nbits) << (e - 1)
    lo = _ones(nbits) ^ hi
    t = _name(b, x)
    r = b.tmp()
    b.line(f"{r} = ((({t} & {lo:#x}) + {lo:#x}) | {t}) & {hi:#x}")
    return r


def _ge_hbits(b, x: str, y: str, e: int, nbits: int, signed: bool) -> str:
    """A temporary with the top bit of every lane where x >= y set."""
    hi = _rep(e, nbits) << (e - 1)
    lo = _ones(nbits) ^ hi
    if signed:      # flipping the sign bits turns a signed compare into an unsigned one
        x, y = f"{x} ^ {hi:#x}", f"{y} ^ {hi:#x}"
    x, y = _name(b, x), _name(b, y)
    d, r = b.tmp(), b.tmp()
    b.line(f"{d} = (({x} | {hi:#x}) - ({y} & {lo:#x})) ^ (({x} ^ {y} ^ {hi:#x}) & {hi:#x})")
    # borrow out of the top bit: (~x & y) | (~(x ^ y) & d); x >= y when there is none
    b.line(f"{r} = ((({x} & {y}) ^ {y}) | (({x} ^ {y} ^ {hi:#x}) & {d}) | {lo:#x}) ^ {_ones(nbits):#x}")
    return r


def _compare(b, kind: str, x: str, y: str, e: int, nbits: int) -> str:
    """Lane masks for eq, tst, ge, gt, hs, hi (y may be "0")."""
    hi = _rep(e, nbits) << (e - 1)
    if kind == "eq":
        if y == "0":
            return _hbits_to_mask(f"({_nonzero_hbits(b, x, e, nbits)} ^ {hi:#x})", e)
        return _hbits_to_mask(f"({_nonzero_hbits(b, f'{x} ^ {y}', e, nbits)} ^ {hi:#x})", e)
    if kind == "tst":
        return _hbits_to_mask(_nonzero_hbits(b, f"{x} & {y}", e, nbits), e)
    if kind in ("ge", "hs"):
        return _hbits_to_mask(_ge_hbits(b, x, y, e, nbits, kind == "ge"), e)
    # x > y  <=>  not (y >= x)
    return _hbits_to_mask(f"({_ge_hbits(b, y, x, e, nbits, kind == 'gt')} ^ {hi:#x})", e)


def _compare_zero(b, kind: str, x: str, e: int, nbits: int) -> str:
    hi = _rep(e, nbits) << (e - 1)
    x = _name(b, x)
    if kind == "eq":
        return _compare(b, "eq", x, "0", e, nbits)
    if kind == "lt":
        return _hbits_to_mask(f"({x} & {hi:#x})", e)
    if kind == "ge":
        return _hbits_to_mask(f"(({x} & {hi:#x}) ^ {hi:#x})", e)
    nz = _nonzero_hbits(b, x, e, nbits)
    if kind == "gt":        # nonzero and not negative
        return _hbits_to_mask(f"({nz} & ~{x})", e)
    # le: negative or zero
    return _hbits_to_mask(f"((({x} & {hi:#x}) | ({nz} ^ {hi:#x})) & {hi:#x})", e)


def _ushr(x: str, sh: int, e: int, nbits: int) -> str:
    if sh >= e:
        return "0"
    return f"(({x} >> {sh}) & {_rep(e, nbits) * (_ones(e) >> sh):#x})"


def _sshr(b, x: str, sh: int, e: int, nbits: int) -> str:
    """Arithmetic shift right of every lane (sh in 1..e)."""
    hi = _rep(e, nbits) << (e - 1)
    x = _name(b, x)
    fill = _ones(e) ^ (_ones(e) >> sh)
    logical = _ushr(x, sh, e, nbits)
    return f"({logical} | ((({x} & {hi:#x}) >> {e - 1}) * {fill:#x}))"


def _shl(x: str, sh: int, e: int, nbits: int) -> str:
    if sh >= e:
        return "0"
    return f"(({x} << {sh}) & {_rep(e, nbits) * ((_ones(e) << sh) & _ones(e)):#x})"


def _shr_round(b, x: str, sh: int, e: int, nbits: int, signed: bool) -> str:
    """Rounding shift right: (x + 2^(sh-1)) >> sh without overflow (add the dropped bit)."""
    x = _name(b, x)
    base = _sshr(b, x, sh, e, nbits) if signed else _ushr(x, sh, e, nbits)
    rbit = f"(({x} >> {sh - 1}) & {_rep(e, nbits):#x})"
    return _swar_add(b, base, rbit, e, nbits)


def _widen(src: str, e: int, signed: bool, sh: int = 0) -> str:
    """The 64-bit value src as 64/e lanes, each extended to 2e bits (and shifted left by sh)."""
    n = 64 // e
    v = _pack(_unpack(src, e, n, signed), 2 * e, n, signed)
    if sh:
        mask = _rep(2 * e, 128) * ((_ones(2 * e) << sh) & _ones(2 * e))
        return f"(({v} << {sh}) & {mask:#x})"
    return v


def _narrow(b, src: str, e: int, n: int | None = None) -> str:
    """n containers of 2e bits -> n lanes of e bits (the low half of each), packed
    by log2(n) shift-and-mask steps; n defaults to a 128-bit source."""
    n = n or 64 // e
    total = 2 * e * n
    if e == 8:                       # bytes: every other byte of the little-endian image
        return f"FB(({src}).to_bytes({total // 8}, 'little')[::2], 'little')"
    t = b.tmp()
    b.line(f"{t} = ({src}) & {_rep(2 * e, total) * _ones(e):#x}")
    j = 0
    while (1 << j) < n:
        chunk = (4 * e) << j
        b.line(f"{t} = ({t} | ({t} >> {e << j})) & {_rep(chunk, total) * _ones((2 * e) << j):#x}")
        j += 1
    return t


def _select_max(b, x: str, y: str, e: int, nbits: int, signed: bool, want_max: bool) -> str:
    """Lane-wise max or min of x and y."""
    x, y = _name(b, x), _name(b, y)
    ge = _hbits_to_mask(_ge_hbits(b, x, y, e, nbits, signed), e)
    keep, other = (x, y) if want_max else (y, x)     # x where x >= y for max
    return f"({other} ^ (({keep} ^ {other}) & {ge}))"


def _pairwise_max(b, x: str, y: str, e: int, nbits: int, signed: bool, want_max: bool) -> str:
    """[SU]MAXP/[SU]MINP: the pairs of the concatenation y:x.  With x and y the same
    register (glibc's UMAXP v0, v0, v0) the pairs of one half are computed and duplicated."""
    if x == y:
        half = _name(b, _pairs_max(b, x, e, nbits, signed, want_max))
        return f"({half} | ({half} << {nbits // 2}))"
    return _pairs_max(b, f"(({y} << {nbits}) | {x})", e, 2 * nbits, signed, want_max)


def _pairs_max(b, cat: str, e: int, total: int, signed: bool, want_max: bool) -> str:
    """Max (min) of the e-bit lane pairs of a total-bit value, packed into total/2 bits.
    Each pair sits in a 2e-bit container, so the compare has a spare bit and needs no
    borrow handling."""
    cat = _name(b, cat)
    low = _rep(2 * e, total) * _ones(e)
    flip = (_rep(2 * e, total) << (e - 1)) if signed else 0
    ev, od, ge = b.tmp(), b.tmp(), b.tmp()
    fx = f" ^ {flip:#x}" if signed else ""
    b.line(f"{ev} = ({cat} & {low:#x}){fx}; {od} = (({cat} >> {e}) & {low:#x}){fx}")
    spare = _rep(2 * e, total) << e
    b.line(f"{ge} = (((({ev} | {spare:#x}) - {od}) & {spare:#x}) >> {e}) * {_ones(e):#x}")
    keep, other = (ev, od) if want_max else (od, ev)
    r = f"({other} ^ (({keep} ^ {other}) & {ge})){fx}"
    return _narrow(b, r, e, total // (2 * e))


def _write_narrow(b, rd: int, q: int, val: str) -> None:
    """XTN/XTN2-style result: the low half (Q=0, upper zeroed) or the upper half (Q=1)."""
    if q:
        return b.wv(rd, f"({b.rv(rd)} & {D_MASK:#x}) | ({val} << 64)")
    b.wv(rd, val)


# ---- decode ---------------------------------------------------------------------------
def decode(insn: int):
    if field(insn, 31, 31):
        return _decode_crypto_ext(insn)
    scalar = field(insn, 28, 28)
    b2824 = field(insn, 28, 24)
    if (insn & 0xFFFE0C00) == 0x4E280800:
        return emit_aes
    if (insn & 0xFFE08C00) == 0x5E000000:
        return emit_sha3
    if (insn & 0xFFFE0C00) == 0x5E280800:
        return emit_sha2
    if not scalar:
        if field(insn, 28, 21) == 0b01110000 and field(insn, 15, 15) == 0 and field(insn, 10, 10):
            return emit_copy
        if field(insn, 29, 24) == 0b001110 and not field(insn, 21, 21) and not field(insn, 15, 15):
            if field(insn, 11, 10) == 0b10:
                return emit_permute
            if field(insn, 11, 10) == 0 and field(insn, 23, 22) == 0:
                return emit_tbl
            if not field(insn, 10, 10):
                return None           # (bit 10 set: half-precision three-same, below)
        if field(insn, 29, 24) == 0b101110 and not field(insn, 21, 21) and not field(insn, 15, 15) \
                and not field(insn, 10, 10) and field(insn, 23, 22) == 0:
            return emit_ext
    if b2824 in (0b01110, 0b11110):
        if field(insn, 21, 21):
            if field(insn, 10, 10):
                return emit_three_same
            if field(insn, 11, 10) == 0b00:
                return emit_three_different
            if field(insn, 20, 17) == 0b0000 and field(insn, 11, 10) == 0b10:
                return emit_two_misc
            if field(insn, 22, 17) == 0b111100 and field(insn, 11, 10) == 0b10:
                return emit_fp16_two_misc
            if field(insn, 20, 17) == 0b1000 and field(insn, 11, 10) == 0b10:
                return emit_across if not scalar else emit_scalar_pairwise
        elif field(insn, 15, 15) and field(insn, 10, 10):
            return emit_three_same_extra
        elif field(insn, 22, 22) and field(insn, 15, 14) == 0 and field(insn, 10, 10):
            return emit_fp16_three_same
        elif scalar and field(insn, 23, 21) == 0 and field(insn, 15, 15) == 0 and field(insn, 10, 10) \
                and field(insn, 29, 29) == 0:
            return emit_copy
        return None
    if b2824 in (0b01111, 0b11111) and field(insn, 10, 10):
        if field(insn, 23, 23):
            return None
        if field(insn, 22, 19) == 0:
            return emit_modified_imm if not scalar else None
        return emit_shift_imm
    if b2824 in (0b01111, 0b11111) and not field(insn, 10, 10):
        return emit_by_element
    return None


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
        return b.wv(rd, f"{elem} * {_rep(esize, nbits):#x}")
    if imm4 == 1:                  # DUP (general)
        if size == 3 and not q:
            return b.end_undefined()
        return b.wv(rd, f"({b.rx(rn)} & {emask:#x}) * {_rep(esize, nbits):#x}")
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
    """AdvSIMDExpandImm: the 64-bit pattern."""
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
    from .a64_fp import vfp_expand_imm
    if not op:   # FMOV (vector, immediate) single precision
        v = vfp_expand_imm(imm8, 32)
        return v | (v << 32)
    return vfp_expand_imm(imm8, 64)


def emit_modified_imm(b, insn: int) -> None:
    q, op, cmode, o2 = field(insn, 30, 30), field(insn, 29, 29), field(insn, 15, 12), field(insn, 11, 11)
    imm8 = (field(insn, 18, 16) << 5) | field(insn, 9, 5)
    rd = field(insn, 4, 0)
    if o2:
        if cmode != 15 or op:
            return b.end_undefined()
        from .a64_fp import vfp_expand_imm       # FMOV Vd.4H/8H, #imm (FEAT_FP16)
        return b.wv(rd, f"{vfp_expand_imm(imm8, 16) * _rep(16, 128 if q else 64):#x}")
    if cmode == 15 and op and not q:
        return b.end_undefined()
    imm = _expand_imm(op, cmode, imm8)
    full = imm | (imm << 64) if q else imm
    reg_mask = Q_MASK if q else D_MASK
    if cmode < 12 and cmode & 1:     # ORR / BIC (vector, immediate)
        d = _v(b, rd, q)
        if op:
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
    b.wv(rd, f"((({hi} << {nbits}) | {lo}) >> {imm4 * 8}) & {_ones(nbits):#x}")


def emit_tbl(b, insn: int) -> None:
    q, rm, length, op, rn, rd = (field(insn, 30, 30), field(insn, 20, 16), field(insn, 14, 13),
                                 field(insn, 12, 12), field(insn, 9, 5), field(insn, 4, 0))
    table = ", ".join(b.rv((rn + i) % 32) for i in range(length + 1))
    nbytes = 16 if q else 8
    idx = _v(b, rm, q)
    if not op and length == 0:        # one table register: a single translate
        b.wv(rd, f"FB(({idx}).to_bytes({nbytes}, 'little').translate({b.rv(rn)}.to_bytes(16, 'little') "
                 "+ NZ240), 'little')")
        return
    default = _v(b, rd, q) if op else "0"
    b.wv(rd, f"NTBL(({table},), {idx}, {default}, {nbytes})")


def _perm_getter(kind: int, esize: int, q: int) -> str:
    """Name of an itemgetter that picks the result bytes of ZIP/UZP/TRN from the
    32 (or 16) bytes of Vm:Vn."""
    key = f"NPERM{kind}_{esize}_{q}"
    if key not in HELPERS:
        nbytes = 16 if q else 8
        eb = esize // 8
        n = nbytes // eb
        part = 1 if kind >= 4 else 0
        lanes_a = list(range(n))
        lanes_b = [n + i for i in range(n)]
        if kind & 3 == 1:        # UZP1/UZP2
            res = (lanes_a + lanes_b)[part::2]
        elif kind & 3 == 2:      # TRN1/TRN2
            res = []
            for p in range(n // 2):
                res += [lanes_a[2 * p + part], lanes_b[2 * p + part]]
        else:                    # ZIP1/ZIP2
            res = []
            base = (n // 2) * part
            for p in range(n // 2):
                res += [lanes_a[base + p], lanes_b[base + p]]
        idx = [lane * eb + k for lane in res for k in range(eb)]
        HELPERS[key] = operator.itemgetter(*idx)
    return key


def _byte_perm_getter(idx: list[int]) -> str:
    key = "NBP_" + "_".join(map(str, idx))
    if key not in HELPERS:
        HELPERS[key] = operator.itemgetter(*idx)
    return key


def emit_permute(b, insn: int) -> None:
    q, size, rm, opcode, rn, rd = (field(insn, 30, 30), field(insn, 23, 22), field(insn, 20, 16),
                                   field(insn, 14, 12), field(insn, 9, 5), field(insn, 4, 0))
    if opcode in (0, 4) or (size == 3 and not q):
        return b.end_undefined()
    esize = 8 << size
    nbits = 128 if q else 64
    if opcode in (1, 5):             # UZP1/UZP2: the even (odd) lanes of Vm:Vn
        cat = f"(({_v(b, rm, q)} << {nbits}) | {_v(b, rn, q)})"
        if opcode == 5:
            cat = f"({cat} >> {esize})"
        return b.wv(rd, _narrow(b, cat, esize, nbits // esize))
    g = _perm_getter(opcode, esize, q)
    cat = f"(({_v(b, rm, q)} << {nbits}) | {_v(b, rn, q)}).to_bytes({nbits // 4}, 'little')"
    b.wv(rd, f"FB(bytes({g}({cat})), 'little')")


# pre-build the shuffles so that the block globals (a copy of HELPERS) hold them
for _k in (1, 2, 3, 5, 6, 7):
    for _e in (8, 16, 32, 64):
        for _q in (0, 1):
            if _e < 64 or _q:
                _perm_getter(_k, _e, _q)


def _rev_perm(esize: int, container: int, nbytes: int) -> list[int]:
    eb, cb = esize // 8, container // 8
    out = []
    for c in range(0, nbytes, cb):
        lanes = list(range(c, c + cb, eb))[::-1]
        out += [lane + k for lane in lanes for k in range(eb)]
    return out


for _c in (16, 32, 64):
    for _e in (8, 16, 32):
        if _e < _c:
            for _nb in (8, 16):
                _byte_perm_getter(_rev_perm(_e, _c, _nb))


# ---- three same ---------------------------------------------------------------------------
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
HELPERS.update({"I3": I3, "I3Q": I3Q, "MAP2": map2, "MAP1": map1, "MAP3": map3})

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
        return _swar_add(b, a, m, e, nbits, sub=bool(u))
    if op == 17:                                      # CMTST / CMEQ
        return _compare(b, "eq" if u else "tst", a, m, e, nbits)
    if op in (6, 7):                                  # CMGT CMGE CMHI CMHS
        kind = {(0, 6): "gt", (0, 7): "ge", (1, 6): "hi", (1, 7): "hs"}[key]
        return _compare(b, kind, a, m, e, nbits)
    signed = not u
    if op in (12, 13):                                # [SU]MAX / [SU]MIN
        return _select_max(b, a, m, e, nbits, signed, op == 12)
    if op in (20, 21):                                # [SU]MAXP / [SU]MINP
        return _pairwise_max(b, a, m, e, nbits, signed, op == 20)
    if key == (0, 23):                                # ADDP
        c = _name(b, f"(({m} << {nbits}) | {a})")
        even = _rep(2 * e, 2 * nbits) * _ones(e)
        return _narrow(b, f"((({c} & {even:#x}) + (({c} >> {e}) & {even:#x})))", e, n)
    if op in (14, 15):                                # [SU]ABD / [SU]ABA
        a, m = _name(b, a), _name(b, m)
        ge = _hbits_to_mask(_ge_hbits(b, a, m, e, nbits, signed), e)
        d1, d2 = _name(b, _swar_add(b, a, m, e, nbits, True)), _name(b, _swar_add(b, m, a, e, nbits, True))
        absd = f"({d2} ^ (({d1} ^ {d2}) & {ge}))"
        return absd if op == 14 else _swar_add(b, d, absd, e, nbits)
    if op in (0, 2, 4):                               # [SU]HADD / [SU]RHADD / [SU]HSUB
        hi = _rep(e, nbits) << (e - 1)
        low = _rep(e, nbits) * (_ones(e) >> 1)
        if signed:                                    # shifting both by 2^(e-1) keeps the order
            a, m = f"({a} ^ {hi:#x})", f"({m} ^ {hi:#x})"
        a, m = _name(b, a), _name(b, m)
        half = f"((({a} ^ {m}) >> 1) & {low:#x})"
        if op == 0:
            r = f"(({a} & {m}) + {half})"
        elif op == 2:
            r = f"(({a} | {m}) - {half})"
        else:                                         # (a - b) >> 1 = ((a ^ b) >> 1) - (~a & b)
            return _swar_add(b, half, f"(({a} & {m}) ^ {m})", e, nbits, True)
        return f"({r} ^ {hi:#x})" if signed else r
    if op in (18, 19) and key != (1, 19):             # MUL / MLA / MLS
        prod = _pack(f"map(OAND, map(OMUL, {_unpack(a, e, n)}, {_unpack(m, e, n)}), REPEAT({_ones(e):#x}))", e, n)
        if op == 19:
            return prod
        return _swar_add(b, d, prod, e, nbits, sub=bool(u))
    if op in (1, 5):                                  # [SU]QADD / [SU]QSUB
        return _swar_qaddsub(b, a, m, e, nbits, bool(u), op == 5)
    if key in I3Q:
        res_signed = not u or op == 22
        return _pack(f"NQMAP(I3Q[{key}], {_unpack(a, e, n)}, {_unpack(m, e, n)}, {e}, S)", e, n, res_signed)
    if key in I3:
        return f"MAP2(I3[{key}], {a}, {m}, {e}, {n})"
    return None


def emit_three_same(b, insn: int) -> None:
    q, u, size, rm, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 20, 16), field(insn, 15, 11)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if opcode == 3:                    # logical
        if scalar:
            return b.end_undefined()
        mask = Q_MASK if q else D_MASK
        expr = _LOGIC[(u, size)].format(n=_v(b, rn, q), m=_v(b, rm, q), d=_v(b, rd, q), mask=f"{mask:#x}")
        return b.wv(rd, expr)
    if not scalar and not size & 1 and (u, opcode) in ((0, 0x1D), (1, 0x19)):   # FMLAL/FMLSL(2)
        n = 4 if q else 2
        b.uses_fp = True
        return b.wv(rd, f"NFMLAL({_v(b, rd, q)}, {b.rv(rn)}, {b.rv(rm)}, {n}, {bool(size)}, {u}, None, S.fpmode, S)")
    if opcode >= 0x18:                 # floating point
        return _fp_three_same(b, insn, q, u, size, opcode, rn, rm, rd, scalar)
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
        a, m, d = _elem(b, rn, esize), _elem(b, rm, esize), _elem(b, rd, esize)
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
    expr = _int_three_same(b, key, _v(b, rn, q), _v(b, rm, q), rd, _v(b, rd, q), esize, nbits)
    if expr is None:
        return b.end_undefined()
    b.wv(rd, expr)


# ---- floating point lanes (fn(x, y, e, fpcr, st)) --------------------------------------------
def _fcmp_lane(fn, absolute=False):
    def lane(x, y, e, fpcr, st):
        if absolute:
            m = _ones(e) >> 1
            x, y = x & m, y & m
        return _ones(e) if fn(x, y, e, st) else 0
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
HELPERS["FPL"] = FPL
HELPERS["FPU"] = fpu

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
_FPR = "REPEAT(S.fpmode), REPEAT(S)"

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
    return int.from_bytes(_ISTRUCT[e, n].pack(*[fn(x & _ones(e), e, fpcr, st) for x in ints]), "little")


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
    return _pack(f"map(FPL['{name}'], {_unpack(a, e, n)}, {_unpack(m, e, n)}, REPEAT({e}), {_FPR})", e, n)


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
        a, m, n = _elem(b, rn, esize), _elem(b, rm, esize), 1
    else:
        a, m, n = _v(b, rn, q), _v(b, rm, q), (128 if q else 64) // esize
    b.uses_fp = True
    if kind == "acc":
        d = _v(b, rd, q)
        if not scalar and esize > 16:
            return b.wv(rd, f"NFMLA({d}, {a}, {m}, {esize}, {n}, {name == 'fmls'}, S.fpmode, S)")
        return b.wv(rd, _pack(f"map(FPL['{name}'], {_unpack(d, esize, n)}, {_unpack(a, esize, n)}, "
                              f"{_unpack(m, esize, n)}, REPEAT({esize}), {_FPR})", esize, n))
    if kind == "pair":
        if name == "fadd" and esize > 16:   # FADDP: add the even and the odd lanes of Vm:Vn
            cat = _name(b, f"(({m}) << {n * esize}) | {a}")
            ev, od = _narrow(b, cat, esize, n), _narrow(b, f"({cat} >> {esize})", esize, n)
            return b.wv(rd, f"NFVEC2('fadd', {ev}, {od}, {esize}, {n}, S.fpmode, S)")
        t = b.tmp()
        b.line(f"{t} = {_unpack(f'(({m}) << {n * esize}) | {a}', esize, 2 * n)}")
        return b.wv(rd, _pack(f"map(FPL['{name}'], {t}[0::2], {t}[1::2], REPEAT({esize}), {_FPR})", esize, n))
    b.wv(rd, _fp_map2(name, a, m, esize, n))


# ---- complex numbers (FEAT_FCMA) and widening half-precision multiply-add (FEAT_FHM) --------
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
    """SQRDMLAH/SQRDMLSH (vector and scalar), SDOT/UDOT, FCMLA and FCADD (vector)."""
    q, u, size, rm, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 20, 16), field(insn, 14, 11)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if scalar:
        q = 1
    if u and opcode in (0, 1) and size in (1, 2):
        e = 8 << size
        if scalar:
            n, a, m, d = 1, _elem(b, rn, e), _elem(b, rm, e), _elem(b, rd, e)
        else:
            n, a, m, d = (128 if q else 64) // e, _v(b, rn, q), _v(b, rm, q), _v(b, rd, q)
        fn = "NSQRDMLSH" if opcode else "NSQRDMLAH"
        return b.wv(rd, _pack(f"NQMAP3({fn}, {_unpack(d, e, n)}, {_unpack(a, e, n)}, {_unpack(m, e, n)}, {e}, S)",
                              e, n, True))
    if opcode == 2 and size == 2 and not scalar:
        fn = "NUDOT" if u else "NSDOT"
        return b.wv(rd, f"MAP3({fn}, {_v(b, rd, q)}, {_v(b, rn, q)}, {_v(b, rm, q)}, 32, {4 if q else 2})")
    if u and opcode >= 8 and opcode != 13 and opcode != 15 and size and not scalar:  # FCMLA / FCADD
        e = 8 << size
        if e == 64 and not q:
            return b.end_undefined()
        n = (128 if q else 64) // e
        b.uses_fp = True
        if opcode >= 12:
            return b.wv(rd, f"NFCADD({_v(b, rn, q)}, {_v(b, rm, q)}, {e}, {n}, {opcode == 14}, S.fpmode, S)")
        return b.wv(rd, f"NFCMLA({_v(b, rd, q)}, {_v(b, rn, q)}, {_v(b, rm, q)}, {e}, {n}, {opcode & 3}, None, "
                        f"S.fpmode, S)")
    b.end_undefined()


# ---- three different (long, wide, narrow) ----------------------------------------------------
def _sqdmull_lane(x, y, e):
    return _sat_s(2 * x * y, 2 * e)


HELPERS.update({"NSQDMULL": _sqdmull_lane, "NPMUL": _pmul})


def _long_op(b, opcode: int, u: int, xs: str, ys: str, e: int, rd: int, acc: str) -> str:
    """Widening ops on two 64-bit sources of e-bit lanes: the 128-bit result."""
    n = 64 // e
    signed = not u
    e2 = 2 * e
    xl, yl = _unpack(xs, e, n, signed), _unpack(ys, e, n, signed)
    if opcode in (0, 2):                             # [SU]ADDL / [SU]SUBL
        fn = "OADD" if opcode == 0 else "OSUB"
        return _pack(f"map({fn}, {xl}, {yl})", e2, n, True)
    if opcode in (5, 7):                             # [SU]ABAL / [SU]ABDL
        tx, ty = b.tmp(), b.tmp()
        b.line(f"{tx} = {xl}; {ty} = {yl}")
        absd = _pack(f"map(OSUB, map(max, {tx}, {ty}), map(min, {tx}, {ty}))", e2, n)
        return absd if opcode == 7 else _swar_add(b, acc, absd, e2, 128)
    if opcode in (8, 10, 12):                        # [SU]MLAL / [SU]MLSL / [SU]MULL
        prod = _pack(f"map(OMUL, {xl}, {yl})", e2, n, signed)
        if opcode == 12:
            return prod
        return _swar_add(b, acc, prod, e2, 128, sub=opcode == 10)
    # SQDMLAL / SQDMLSL / SQDMULL (signed, saturating)
    prod = f"NQMAP(NSQDMULL, {_unpack(xs, e, n, True)}, {_unpack(ys, e, n, True)}, {e}, S)"
    if opcode == 13:
        return _pack(prod, e2, n, True)
    fn = "OADD" if opcode == 9 else "OSUB"
    lo, hi = -(1 << (e2 - 1)), (1 << (e2 - 1)) - 1
    return _pack(f"NQCLAMP(list(map({fn}, {_unpack(acc, e2, n, True)}, {prod})), {lo}, {hi}, S)", e2, n, True)


def emit_three_different(b, insn: int) -> None:
    q, u, size, rm, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 20, 16), field(insn, 15, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if scalar:        # SQDMLAL / SQDMLSL / SQDMULL (scalar): H -> S, S -> D
        if u or opcode not in (9, 11, 13) or size not in (1, 2):
            return b.end_undefined()
        e = 8 << size
        acc = _elem(b, rd, 2 * e)
        prod = f"NQMAP(NSQDMULL, ({sx_expr(_elem(b, rn, e), e)},), ({sx_expr(_elem(b, rm, e), e)},), {e}, S)"
        if opcode == 13:
            return b.wv(rd, f"{prod}[0] & {_ones(2 * e):#x}")
        fn = "OADD" if opcode == 9 else "OSUB"
        lo, hi = -(1 << (2 * e - 1)), (1 << (2 * e - 1)) - 1
        return b.wv(rd, f"NQCLAMP([{fn}({sx_expr(acc, 2 * e)}, {prod}[0])], {lo}, {hi}, S)[0] & {_ones(2 * e):#x}")
    if opcode == 15:
        return b.end_undefined()
    if opcode == 14:                                 # PMULL / PMULL2
        if u or size not in (0, 3):
            return b.end_undefined()
        xs, ys = _half(b, rn, q), _half(b, rm, q)
        if size == 3:
            return b.wv(rd, f"NPMUL({xs}, {ys}, 64)")
        return b.wv(rd, _pack(f"map(NPMUL, {_unpack(xs, 8, 8)}, {_unpack(ys, 8, 8)}, REPEAT(8))", 16, 8))
    if size == 3 or (opcode in (9, 11, 13) and (u or size == 0)):
        return b.end_undefined()
    e = 8 << size
    n = 64 // e
    if opcode in (1, 3):                             # [SU]ADDW / [SU]SUBW: Vn is already wide
        wide = _pack(_unpack(_half(b, rm, q), e, n, not u), 2 * e, n, not u)
        return b.wv(rd, _swar_add(b, b.rv(rn), wide, 2 * e, 128, sub=opcode == 3))
    if opcode in (4, 6):                             # [R]ADDHN / [R]SUBHN
        s = _swar_add(b, b.rv(rn), b.rv(rm), 2 * e, 128, sub=opcode == 6)
        if u:                                        # rounding: add 2^(e-1) to every lane
            s = _swar_add(b, s, f"{_rep(2 * e, 128) << (e - 1):#x}", 2 * e, 128)
        hi = _ushr(f"({s})", e, 2 * e, 128)
        return _write_narrow(b, rd, q, _narrow(b, hi, e))
    res = _long_op(b, opcode, u, _half(b, rn, q), _half(b, rm, q), e, rd, b.rv(rd))
    b.wv(rd, res)


def sx_expr(x: str, e: int) -> str:
    top = 1 << (e - 1)
    return f"(({x} ^ {top:#x}) - {top:#x})"


# ---- two-register misc ----------------------------------------------------------------------
def _cls(x, e):
    return e - 1 - ((x >> 1) ^ (x & (_ones(e) >> 1))).bit_length()


def _clz(x, e):
    return e - x.bit_length()


def _sqabs(x, e):
    return _sat_s(abs(x), e)


def _sqneg(x, e):
    return _sat_s(-x, e)


def _suqadd(x, d, e):       # signed d + unsigned x, signed saturation
    return _sat_s(sx(d, e) + x, e)


def _usqadd(x, d, e):       # unsigned d + signed x, unsigned saturation
    return _sat_u(d + sx(x, e), e)


HELPERS.update({"NCLS": _cls, "NCLZ": _clz, "NSQABS": _sqabs, "NSQNEG": _sqneg,
                "NSUQADD": _suqadd, "NUSQADD": _usqadd, "NURECPE": _urecpe, "NURSQRTE": _ursqrte})

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
        return _ones(e) if ok else 0
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
        b.uses_fp = True
        return b.wv(rd, f"NFRECPX({_elem(b, rn, 16)}, 16, S.fpmode, S)")
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
        src, n, nbits = _elem(b, rn, esize), 1, esize
    else:
        if esize == 64 and not q:
            return b.end_undefined()
        src, nbits = _v(b, rn, q), 128 if q else 64
        n = nbits // esize
    b.uses_fp = True
    if kind in ("fabs", "fneg"):      # sign-bit operations, no NaN processing
        signs = _rep(esize, nbits) << (esize - 1)
        return b.wv(rd, f"{src} & {_ones(nbits) ^ signs:#x}" if kind == "fabs" else f"{src} ^ {signs:#x}")
    if kind in ("scvtf", "ucvtf") and n > 1 and esize > 16:
        return b.wv(rd, f"NCVTF({src}, {esize}, {n}, {kind == 'ucvtf'}, S.fpmode, S)")
    if kind in ("fcvtzs", "fcvtzu") and n > 1 and esize > 16:
        return b.wv(rd, f"NFCVTZ({src}, {esize}, {n}, {kind == 'fcvtzu'}, S.fpmode, S)")
    fn = f"FPMISC[{(u, size >> 1, opcode)}]"
    b.wv(rd, _pack(f"map({fn}, {_unpack(src, esize, n)}, REPEAT({esize}), {_FPR})", esize, n))


def emit_two_misc(b, insn: int) -> None:
    q, u, size, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    fp_key = (u, size >> 1, opcode)
    if opcode >= 12 and fp_key in _FP_MISC and (opcode >= 24 or size >= 2):
        if opcode in (30, 31) and not size >> 1 and scalar:
            return b.end_undefined()          # FRINT32*/FRINT64* have no scalar form here
        return _fp_two_misc(b, u, size, opcode, q, rn, rd, scalar)
    esize = 8 << size
    if scalar:
        return _scalar_two_misc(b, u, size, opcode, rn, rd)
    nbits = 128 if q else 64
    nbytes = nbits // 8
    n = nbits // esize
    src = _v(b, rn, q)
    if opcode in (0, 1) and not (u and opcode == 1):  # REV64 (U0 op0), REV16 (U0 op1), REV32 (U1 op0)
        container = 64 if (u, opcode) == (0, 0) else 16 if (u, opcode) == (0, 1) else 32
        if esize >= container:
            return b.end_undefined()
        g = _byte_perm_getter(_rev_perm(esize, container, nbytes))
        return b.wv(rd, f"FB(bytes({g}(({src}).to_bytes({nbytes}, 'little'))), 'little')")
    if opcode == 5:
        if u and size == 0:     # NOT
            return b.wv(rd, f"{src} ^ {_ones(nbits):#x}")
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
                return b.wv(rd, _swar_add(b, "0", src, esize, nbits, sub=True))
            return b.wv(rd, _pack(f"map(abs, {_unpack(src, esize, n, True)})", esize, n))   # ABS
        kind = {(0, 8): "gt", (1, 8): "ge", (0, 9): "eq", (1, 9): "le", (0, 10): "lt"}[(u, opcode)]
        return b.wv(rd, _compare_zero(b, kind, src, esize, nbits))
    if opcode == 4:             # CLS / CLZ
        if size == 3:
            return b.end_undefined()
        fn = "NCLZ" if u else "NCLS"
        return b.wv(rd, _pack(f"map({fn}, {_unpack(src, esize, n)}, REPEAT({esize}))", esize, n))
    if opcode == 7:             # SQABS / SQNEG
        fn = "NSQNEG" if u else "NSQABS"
        return b.wv(rd, _pack(f"NQMAP1({fn}, {_unpack(src, esize, n, True)}, {esize}, S)", esize, n, True))
    if opcode == 3:             # SUQADD / USQADD (accumulate into Vd)
        fn = "NUSQADD" if u else "NSUQADD"
        d = _v(b, rd, q)
        return b.wv(rd, _pack(f"NQMAP({fn}, {_unpack(src, esize, n)}, {_unpack(d, esize, n)}, {esize}, S)",
                              esize, n, not u))
    if opcode in (2, 6):        # [SU]ADDLP, [SU]ADALP
        if size == 3:
            return b.end_undefined()
        t = b.tmp()
        b.line(f"{t} = {_unpack(src, esize, n, not u)}")
        s = _pack(f"map(OADD, {t}[0::2], {t}[1::2])", 2 * esize, n // 2, not u)
        if opcode == 6:
            s = _swar_add(b, _v(b, rd, q), s, 2 * esize, nbits)
        return b.wv(rd, s)
    if opcode == 28 and size == 2:   # URECPE / URSQRTE
        fn = "NURSQRTE" if u else "NURECPE"
        return b.wv(rd, _pack(f"map({fn}, {_unpack(src, 32, n)}, REPEAT(32))", 32, n))
    if size == 3:
        return b.end_undefined()
    if opcode == 18 and not u:      # XTN / XTN2
        return _write_narrow(b, rd, q, _narrow(b, b.rv(rn), esize))
    if opcode in (18, 20):          # SQXTUN / SQXTN / UQXTN
        return _write_narrow(b, rd, q, _sat_narrow(b, b.rv(rn), esize, 64 // esize, u, opcode))
    if opcode == 19 and u:          # SHLL / SHLL2
        return b.wv(rd, _widen(_half(b, rn, q), esize, False, esize))
    if opcode in (22, 23) and size >> 1:
        return b.end_undefined()
    if opcode == 23 and not u:      # FCVTL / FCVTL2
        src_e, dst_e = (32, 64) if size & 1 else (16, 32)
        n2 = 64 // src_e
        b.uses_fp = True
        return b.wv(rd, _pack(f"map(FPU.fconvert, {_unpack(_half(b, rn, q), src_e, n2)}, REPEAT({src_e}), "
                              f"REPEAT({dst_e}), {_FPR})", dst_e, n2))
    if opcode == 22 and u and size == 1:   # FCVTXN / FCVTXN2
        b.uses_fp = True
        t = _pack(f"map(NFCVTXN, {_unpack(b.rv(rn), 64, 2)}, {_FPR})", 32, 2)
        return _write_narrow(b, rd, q, t)
    if opcode == 22 and not u:      # FCVTN / FCVTN2
        src_e, dst_e = (64, 32) if size & 1 else (32, 16)
        n2 = 128 // src_e
        b.uses_fp = True
        t = _pack(f"map(FPU.fconvert, {_unpack(b.rv(rn), src_e, n2)}, REPEAT({src_e}), "
                  f"REPEAT({dst_e}), {_FPR})", dst_e, n2)
        return _write_narrow(b, rd, q, t)
    b.end_undefined()


def _sat_narrow(b, src: str, e: int, n: int, u: int, opcode: int) -> str:
    """SQXTUN (opcode 18, U=1), SQXTN (20, U=0), UQXTN (20, U=1): 2e-bit lanes -> e bits."""
    signed_in = not (u and opcode == 20)
    if opcode == 20 and not u:
        lo, hi, out_signed = -(1 << (e - 1)), (1 << (e - 1)) - 1, True
    else:
        lo, hi, out_signed = 0, _ones(e), False
    lanes = f"list({_unpack(src, 2 * e, n, signed_in)})"
    return _pack(f"NQCLAMP({lanes}, {lo}, {hi}, S)", e, n, out_signed)


def _scalar_two_misc(b, u, size, opcode, rn, rd) -> None:
    e = 8 << size
    src = _elem(b, rn, e)
    if opcode in (8, 9, 10, 11):
        if size != 3 or (u, opcode) == (1, 10):
            return b.end_undefined()
        if opcode == 11:
            if u:
                return b.wv(rd, f"(-{src}) & {D_MASK:#x}")
            return b.wv(rd, f"abs({sx_expr(src, 64)}) & {D_MASK:#x}")
        kind = {(0, 8): "gt", (1, 8): "ge", (0, 9): "eq", (1, 9): "le", (0, 10): "lt"}[(u, opcode)]
        return b.wv(rd, _compare_zero(b, kind, src, 64, 64))
    if opcode == 7:                 # SQABS / SQNEG
        fn = "NSQNEG" if u else "NSQABS"
        return b.wv(rd, f"NQMAP1({fn}, ({sx_expr(src, e)},), {e}, S)[0] & {_ones(e):#x}")
    if opcode == 3:                 # SUQADD / USQADD
        fn = "NUSQADD" if u else "NSUQADD"
        return b.wv(rd, f"NQMAP({fn}, ({src},), ({_elem(b, rd, e)},), {e}, S)[0] & {_ones(e):#x}")
    if opcode in (18, 20) and size != 3 and (u or opcode == 20):   # scalar SQXTUN/SQXTN/UQXTN
        return b.wv(rd, _sat_narrow(b, _elem(b, rn, 2 * e), e, 1, u, opcode))
    if opcode == 22 and u and size == 1:      # FCVTXN Sd, Dn (round to odd)
        b.uses_fp = True
        return b.wv(rd, f"NFCVTXN({_elem(b, rn, 64)}, S.fpmode, S)")
    if opcode == 31 and not u and size >> 1:  # FRECPX
        b.uses_fp = True
        e = 32 << (size & 1)
        return b.wv(rd, f"NFRECPX({_elem(b, rn, e)}, {e}, S.fpmode, S)")
    b.end_undefined()


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
    exp = (x >> frac) & _ones(ew)
    if exp == 0:
        return sign | ((_ones(ew) - 1) << frac)
    return sign | ((exp ^ _ones(ew)) << frac)


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
    q, u, size, opcode = field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    if opcode in (12, 15):                   # FMAXNMV/FMINNMV/FMAXV/FMINV (U=1 single, U=0 half)
        if u and (size & 1 or not q):        # U=0 (half precision): size 0x/1x, bit 22 ignored
            return b.end_undefined()
        name = ("fmaxnm" if opcode == 12 else "fmax") if size < 2 else ("fminnm" if opcode == 12 else "fmin")
        b.uses_fp = True
        e = 32 if u else 16
        n = (128 if q else 64) // e
        return b.wv(rd, f"NFREDUCE(FPL['{name}'], {_unpack(_v(b, rn, q), e, n)}, {e}, S.fpmode, S)")
    esize = 8 << size
    n = (128 if q else 64) // esize
    if size == 3 or (size == 2 and not q):
        return b.end_undefined()
    src = _v(b, rn, q)
    if opcode == 3:                          # [SU]ADDLV
        return b.wv(rd, f"sum({_unpack(src, esize, n, not u)}) & {_ones(2 * esize):#x}")
    if opcode == 27 and not u:               # ADDV
        return b.wv(rd, f"sum({_unpack(src, esize, n)}) & {_ones(esize):#x}")
    if opcode in (10, 26):                   # [SU]MAXV / [SU]MINV
        fn = "max" if opcode == 10 else "min"
        return b.wv(rd, f"{fn}({_unpack(src, esize, n, not u)}) & {_ones(esize):#x}")
    b.end_undefined()


def emit_scalar_pairwise(b, insn: int) -> None:
    u, size, opcode = field(insn, 29, 29), field(insn, 23, 22), field(insn, 16, 12)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    src = b.rv(rn)
    if not u and opcode == 27 and size == 3:     # ADDP Dd, Vn.2D
        return b.wv(rd, f"(({src} & {D_MASK:#x}) + ({src} >> 64)) & {D_MASK:#x}")
    # FMAXNMP/FADDP/FMAXP/FMINNMP/FMINP scalar; U=0 is half precision, where the
    # decode table has size = 0x/1x (bit 22 ignored; unicorn agrees, capstone does not)
    if opcode in (12, 13, 15):
        esize = 32 << (size & 1) if u else 16
        name = {(12, 0): "fmaxnm", (12, 1): "fminnm", (13, 0): "fadd", (15, 0): "fmax",
                (15, 1): "fmin"}.get((opcode, size >> 1))
        if name is None:
            return b.end_undefined()
        m = _ones(esize)
        b.uses_fp = True
        return b.wv(rd, f"FPL['{name}']({src} & {m:#x}, ({src} >> {esize}) & {m:#x}, {esize}, S.fpmode, S)")
    b.end_undefined()


# ---- shifts by immediate ----------------------------------------------------------------------
def _qshl_imm(lanes, sh: int, lo: int, hi: int, st) -> list[int]:
    """SQSHL/UQSHL/SQSHLU (immediate): the lanes (signed or unsigned as the source is
    read) shifted left by sh and saturated to [lo, hi]."""
    return _qclamp([x << sh for x in lanes], lo, hi, st)


def _qshrn(lanes, sh: int, rounding: bool, lo: int, hi: int, st) -> list[int]:
    """[SU]Q[R]SHRN, SQ[R]SHRUN: the 2e-bit lanes shifted right by sh (rounded if
    asked) and saturated to the e-bit range [lo, hi]."""
    r = 1 << (sh - 1) if rounding else 0
    return _qclamp([(x + r) >> sh for x in lanes], lo, hi, st)


# The shift and the bounds are arguments, not part of a helper's name: a trace
# from the code cache names only helpers that exist at import.
HELPERS.update({"NQSHL": _qshl_imm, "NQSHRN": _qshrn})


def _sat_bounds(e: int, unsigned: bool) -> tuple[int, int]:
    return (0, _ones(e)) if unsigned else (-(1 << (e - 1)), (1 << (e - 1)) - 1)


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
        src, dst = _elem(b, rn, esize), _elem(b, rd, esize)
    else:
        if esize == 64 and not q and not narrowing and opcode != 20:
            return b.end_undefined()
        nbits = 128 if q else 64
        n = nbits // esize
        src, dst = _v(b, rn, q), _v(b, rd, q)
    if opcode in (0, 2, 4, 6):               # [SU]SHR, [SU]SRA, [SU]RSHR, [SU]RSRA
        if opcode in (4, 6):
            shifted = _shr_round(b, src, right, esize, nbits, not u)
        elif u:
            shifted = _ushr(src, right, esize, nbits)
        else:
            shifted = _sshr(b, src, right, esize, nbits)
        if opcode in (2, 6):
            return b.wv(rd, _swar_add(b, dst, shifted, esize, nbits))
        return b.wv(rd, shifted)
    if opcode == 10 and not u:               # SHL
        return b.wv(rd, _shl(src, left, esize, nbits))
    if opcode == 8 and u:                    # SRI
        keep = _rep(esize, nbits) * (_ones(esize) ^ (_ones(esize) >> right))
        return b.wv(rd, f"({dst} & {keep:#x}) | {_ushr(src, right, esize, nbits)}")
    if opcode == 10 and u:                   # SLI
        keep = _rep(esize, nbits) * (_ones(esize) >> (esize - left))
        return b.wv(rd, f"({dst} & {keep:#x}) | {_shl(src, left, esize, nbits)}")
    if opcode in (12, 14):                   # SQSHLU / SQSHL / UQSHL (immediate)
        if opcode == 12 and not u:
            return b.end_undefined()
        in_signed, out_unsigned = (True, True) if opcode == 12 else (not u, bool(u))
        lo, hi = _sat_bounds(esize, out_unsigned)
        return b.wv(rd, _pack(f"NQSHL({_unpack(src, esize, n, in_signed)}, {left}, {lo}, {hi}, S)",
                              esize, n, not out_unsigned))
    if opcode == 20:                         # SSHLL / USHLL (UXTL, SXTL)
        if esize == 64:
            return b.end_undefined()
        return b.wv(rd, _widen(_half(b, rn, q), esize, not u, left))
    if narrowing:                            # narrowing right shifts
        if esize == 64:
            return b.end_undefined()
        rnd = opcode in (17, 19)
        r2 = 2 * esize - immhb
        if opcode in (16, 17) and not u:     # SHRN / RSHRN
            wide = b.rv(rn)
            v = _shr_round(b, wide, r2, 2 * esize, 128, False) if rnd else _ushr(wide, r2, 2 * esize, 128)
            return _write_narrow(b, rd, q, _narrow(b, v, esize))
        if opcode in (16, 17):               # SQSHRUN / SQRSHRUN
            in_signed, out_unsigned = True, True
        else:                                # [SU]QSHRN / [SU]QRSHRN
            in_signed, out_unsigned = not u, bool(u)
        lo, hi = _sat_bounds(esize, out_unsigned)
        if scalar:
            wide = _elem(b, rn, 2 * esize)
            lanes = f"({sx_expr(wide, 2 * esize) if in_signed else wide},)"
            return b.wv(rd, f"NQSHRN({lanes}, {r2}, {rnd}, {lo}, {hi}, S)[0] & {_ones(esize):#x}")
        val = _pack(f"NQSHRN({_unpack(b.rv(rn), 2 * esize, 64 // esize, in_signed)}, {r2}, {rnd}, {lo}, {hi}, S)",
                    esize, 64 // esize, not out_unsigned)
        return _write_narrow(b, rd, q, val)
    if opcode in (28, 31) and esize >= 16:   # [SU]CVTF / FCVTZ[SU] with fixed point
        b.uses_fp = True
        if opcode == 28:
            fn = f"lambda _x, _e, _c, _s: FPU.from_fixed(_x, _e, {bool(u)}, {right}, _e, _c, _s)"
        else:
            fn = f"lambda _x, _e, _c, _s: FPU.to_fixed(_x, _e, _e, {bool(u)}, {right}, 3, _s)"
        return b.wv(rd, _pack(f"map({fn}, {_unpack(src, esize, n)}, REPEAT({esize}), {_FPR})", esize, n))
    b.end_undefined()


# ---- by element -------------------------------------------------------------------------------
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
    """MUL/MLA/MLS/FMUL/FMLA/FMLS, the long and saturating forms, and dot products by element."""
    q, u, size, l, m, rm4, opcode, h = (field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22),
                                        field(insn, 21, 21), field(insn, 20, 20), field(insn, 19, 16),
                                        field(insn, 15, 12), field(insn, 11, 11))
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if not scalar and size == 2 and opcode in (0, 4, 8, 12) and u == opcode >> 3:   # FMLAL/FMLSL(2)
        n = 4 if q else 2
        b.uses_fp = True
        return b.wv(rd, f"NFMLAL({_v(b, rd, q)}, {b.rv(rn)}, {b.rv(field(insn, 19, 16))}, {n}, "
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
        b.uses_fp = True
        return b.wv(rd, f"NFCMLA({_v(b, rd, q)}, {_v(b, rn, q)}, {b.rv((m << 4) | rm4)}, {e}, {n}, "
                        f"{(opcode >> 1) & 3}, {idx}, S.fpmode, S)")
    fp = opcode in (1, 5, 9) and not (u and opcode != 9)
    if fp:
        if size == 0:
            esize, index, rm = 16, (h << 2) | (l << 1) | m, rm4
        elif size == 2:
            esize, index, rm = 32, (h << 1) | l, (m << 4) | rm4
        elif size == 3 and not l:
            esize, index, rm = 64, h, (m << 4) | rm4
        else:
            return b.end_undefined()
        if esize == 64 and not q and not scalar:
            return b.end_undefined()
    elif opcode == 14:                         # SDOT / UDOT (by element)
        if size != 2 or scalar:
            return b.end_undefined()
        esize, index, rm = 32, (h << 1) | l, (m << 4) | rm4
    else:
        if size == 1:
            esize, index, rm = 16, (h << 2) | (l << 1) | m, rm4
        elif size == 2:
            esize, index, rm = 32, (h << 1) | l, (m << 4) | rm4
        else:
            return b.end_undefined()
    if scalar:
        nbits, n = esize, 1
        src, dst = _elem(b, rn, esize), _elem(b, rd, esize)
    else:
        nbits = 128 if q else 64
        n = nbits // esize
        src, dst = _v(b, rn, q), _v(b, rd, q)
    elem = f"(({b.rv(rm)} >> {index * esize}) & {_ones(esize):#x})"
    if fp:
        name = {1: "fmla", 5: "fmls", 9: "fmulx" if u else "fmul"}[opcode]
        b.uses_fp = True
        e = _name(b, elem)
        if name in ("fmla", "fmls") and esize > 16:
            dup = f"({e} * {_rep(esize, nbits):#x})"
            return b.wv(rd, f"NFMLA({dst}, {src}, {dup}, {esize}, {n}, {name == 'fmls'}, S.fpmode, S)")
        if name in ("fmla", "fmls"):
            return b.wv(rd, _pack(f"map(FPL['{name}'], {_unpack(dst, esize, n)}, {_unpack(src, esize, n)}, "
                                  f"REPEAT({e}), REPEAT({esize}), {_FPR})", esize, n))
        if name == "fmul":
            return b.wv(rd, _fp_map2(name, src, f"({e} * {_rep(esize, nbits):#x})", esize, n))
        return b.wv(rd, _pack(f"map(FPL['{name}'], {_unpack(src, esize, n)}, REPEAT({e}), "
                              f"REPEAT({esize}), {_FPR})", esize, n))
    long_ = opcode in (2, 3, 6, 7, 10, 11)
    if scalar and opcode not in (3, 7, 11, 12, 13) and not (u and opcode in (13, 15)):
        return b.end_undefined()
    if opcode in (12, 13) and not u or (u and opcode in (13, 15)):   # SQDMULH SQRDMULH SQRDMLAH SQRDMLSH
        e = _name(b, elem)         # the lane functions sign-extend their unsigned inputs
        if not u:
            fn = "NSQDMULH" if opcode == 12 else "NSQRDMULH"
            return b.wv(rd, _pack(f"NQMAP({fn}, {_unpack(src, esize, n)}, REPEAT({e}), {esize}, S)",
                                  esize, n, True))
        fn = "NSQRDMLAH" if opcode == 13 else "NSQRDMLSH"
        return b.wv(rd, _pack(f"NQMAP3({fn}, {_unpack(dst, esize, n)}, {_unpack(src, esize, n)}, "
                              f"REPEAT({e}), {esize}, S)", esize, n, True))
    if opcode == 14:
        fn = "NUDOT" if u else "NSDOT"
        return b.wv(rd, f"MAP3({fn}, {dst}, {src}, {elem} * {_rep(32, nbits):#x}, 32, {n})")
    if long_:
        if opcode in (3, 7, 11) and u:
            return b.end_undefined()
        if scalar:
            ys = f"({elem})"
            xs = src
            e = esize
            acc = _elem(b, rd, 2 * e)
            prod = f"NQMAP(NSQDMULL, ({sx_expr(xs, e)},), ({sx_expr(ys, e)},), {e}, S)"
            if opcode == 11:
                return b.wv(rd, f"{prod}[0] & {_ones(2 * e):#x}")
            fn = "OADD" if opcode == 3 else "OSUB"
            lo, hi = -(1 << (2 * e - 1)), (1 << (2 * e - 1)) - 1
            return b.wv(rd, f"NQCLAMP([{fn}({sx_expr(acc, 2 * e)}, {prod}[0])], {lo}, {hi}, S)[0] & {_ones(2 * e):#x}")
        dup = f"{elem} * {_rep(esize, 64):#x}"
        op3d = {2: 8, 3: 9, 6: 10, 7: 11, 10: 12, 11: 13}[opcode]
        return b.wv(rd, _long_op(b, op3d, u, _half(b, rn, q), _name(b, dup), esize, rd, b.rv(rd)))
    dup = _name(b, f"{elem} * {_rep(esize, nbits):#x}")
    if opcode == 8 and not u:                # MUL
        return b.wv(rd, _int_three_same(b, (0, 19), src, dup, rd, dst, esize, nbits))
    if opcode in (0, 4) and u:               # MLA / MLS
        return b.wv(rd, _int_three_same(b, (opcode >> 2, 18), src, dup, rd, dst, esize, nbits))
    b.end_undefined()


# ---- cryptographic extension: AES, SHA1, SHA256 ----------------------------------------------
def _gmul(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        a = ((a << 1) ^ 0x11B) if a & 0x80 else a << 1
        b >>= 1
    return r


def _make_sbox() -> tuple[bytes, bytes]:
    inv = [0] * 256
    for x in range(1, 256):
        for y in range(1, 256):
            if _gmul(x, y) == 1:
                inv[x] = y
                break
    sbox = bytearray(256)
    for x in range(256):
        v = inv[x]
        s = v
        for k in range(1, 5):
            s ^= ((v << k) | (v >> (8 - k))) & 0xFF
        sbox[x] = s ^ 0x63
    isbox = bytearray(256)
    for x in range(256):
        isbox[sbox[x]] = x
    return bytes(sbox), bytes(isbox)


_SBOX, _ISBOX = _make_sbox()
_SHIFT_ROWS = operator.itemgetter(*[r + 4 * ((c + r) % 4) for c in range(4) for r in range(4)])
_INV_SHIFT_ROWS = operator.itemgetter(*[r + 4 * ((c - r) % 4) for c in range(4) for r in range(4)])
_MUL = {k: bytes(_gmul(x, k) for x in range(256)) for k in (2, 3, 9, 11, 13, 14)}


def _aes_sub(state: int, decrypt: bool) -> int:
    raw = state.to_bytes(16, "little")
    if decrypt:
        return int.from_bytes(bytes(_INV_SHIFT_ROWS(raw)).translate(_ISBOX), "little")
    return int.from_bytes(bytes(_SHIFT_ROWS(raw)).translate(_SBOX), "little")


def _aes_mix(state: int, inverse: bool) -> int:
    s = state.to_bytes(16, "little")
    coef = (14, 11, 13, 9) if inverse else (2, 3, 1, 1)
    out = bytearray(16)
    for c in range(0, 16, 4):
        col = s[c:c + 4]
        for r in range(4):
            v = 0
            for k in range(4):
                m = coef[(k - r) % 4]
                x = col[k]
                v ^= x if m == 1 else _MUL[m][x]
            out[c + r] = v
    return int.from_bytes(out, "little")


M32 = 0xFFFF_FFFF


def _rol(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & M32


def _ror(x: int, n: int) -> int:
    return ((x >> n) | (x << (32 - n))) & M32


def _w(v: int, i: int) -> int:
    return (v >> (32 * i)) & M32


def _sha1_hash(x: int, y: int, w: int, fn: int) -> int:
    for e in range(4):
        b, c, d = _w(x, 1), _w(x, 2), _w(x, 3)
        if fn == 0:
            t = ((c ^ d) & b) ^ d
        elif fn == 1:
            t = b ^ c ^ d
        else:
            t = (b & c) | ((b | c) & d)
        y = (y + _rol(_w(x, 0), 5) + t + _w(w, e)) & M32
        x = (x & ~(M32 << 32)) | (_rol(b, 30) << 32)
        # ROL(Y:X, 32): X takes X<95:0>:Y, Y takes X<127:96>
        x, y = ((x << 32) | y) & Q_MASK, x >> 96
    return x


def _sha1su1(d: int, n: int) -> int:
    t = d ^ (n >> 32)
    w0, w1, w2 = _rol(_w(t, 0), 1), _rol(_w(t, 1), 1), _rol(_w(t, 2), 1)
    w3 = _rol(_w(t, 3), 1) ^ _rol(_w(t, 0), 2)
    return w0 | (w1 << 32) | (w2 << 64) | (w3 << 96)


def _sha256_hash(x: int, y: int, w: int, part1: bool) -> int:
    for e in range(4):
        chs = ((_w(y, 1) ^ _w(y, 2)) & _w(y, 0)) ^ _w(y, 2)
        a0, a1, a2 = _w(x, 0), _w(x, 1), _w(x, 2)
        maj = (a0 & a1) | ((a0 | a1) & a2)
        y0 = _w(y, 0)
        sig1 = _ror(y0, 6) ^ _ror(y0, 11) ^ _ror(y0, 25)
        t = (_w(y, 3) + sig1 + chs + _w(w, e)) & M32
        x3 = (t + _w(x, 3)) & M32
        sig0 = _ror(a0, 2) ^ _ror(a0, 13) ^ _ror(a0, 22)
        y3 = (t + sig0 + maj) & M32
        x = (x & ((1 << 96) - 1)) | (x3 << 96)
        y = (y & ((1 << 96) - 1)) | (y3 << 96)
        # ROL(Y:X, 32) on 256 bits
        x, y = ((x << 32) & Q_MASK) | (y >> 96), ((y << 32) & Q_MASK) | (x >> 96)
    return x if part1 else y


def _sha256su0(d: int, n: int) -> int:
    t = (d >> 32) | ((n & M32) << 96)
    out = 0
    for e in range(4):
        x = _w(t, e)
        x = _ror(x, 7) ^ _ror(x, 18) ^ (x >> 3)
        out |= ((x + _w(d, e)) & M32) << (32 * e)
    return out


def _sha256su1(d: int, n: int, m: int) -> int:
    t0 = (n >> 32) | ((m & M32) << 96)
    t1 = m >> 64
    out = 0
    for e in range(4):
        x = _w(t1, e) if e < 2 else _w(out, e - 2)
        x = _ror(x, 17) ^ _ror(x, 19) ^ (x >> 10)
        out |= ((x + _w(d, e) + _w(t0, e)) & M32) << (32 * e)
    return out


HELPERS.update({"NAESSUB": _aes_sub, "NAESMIX": _aes_mix, "NSHA1": _sha1_hash, "NSHA1SU1": _sha1su1,
                "NSHA256": _sha256_hash, "NSHA256SU0": _sha256su0, "NSHA256SU1": _sha256su1})


def emit_aes(b, insn: int) -> None:
    opcode, rn, rd = field(insn, 16, 12), field(insn, 9, 5), field(insn, 4, 0)
    if opcode in (4, 5):          # AESE / AESD: AddRoundKey, (Inv)ShiftRows, (Inv)SubBytes
        return b.wv(rd, f"NAESSUB({b.rv(rd)} ^ {b.rv(rn)}, {opcode == 5})")
    if opcode in (6, 7):          # AESMC / AESIMC
        return b.wv(rd, f"NAESMIX({b.rv(rn)}, {opcode == 7})")
    b.end_undefined()


def emit_sha3(b, insn: int) -> None:
    opcode, rm, rn, rd = field(insn, 14, 12), field(insn, 20, 16), field(insn, 9, 5), field(insn, 4, 0)
    d, n, m = b.rv(rd), b.rv(rn), b.rv(rm)
    if opcode <= 2:               # SHA1C / SHA1P / SHA1M
        return b.wv(rd, f"NSHA1({d}, {n} & {M32:#x}, {m}, {opcode})")
    if opcode == 3:               # SHA1SU0
        return b.wv(rd, f"((({n} & {D_MASK:#x}) << 64) | ({d} >> 64)) ^ {d} ^ {m}")
    if opcode == 4:               # SHA256H
        return b.wv(rd, f"NSHA256({d}, {n}, {m}, True)")
    if opcode == 5:               # SHA256H2
        return b.wv(rd, f"NSHA256({n}, {d}, {m}, False)")
    if opcode == 6:               # SHA256SU1
        return b.wv(rd, f"NSHA256SU1({d}, {n}, {m})")
    b.end_undefined()


def emit_sha2(b, insn: int) -> None:
    opcode, rn, rd = field(insn, 16, 12), field(insn, 9, 5), field(insn, 4, 0)
    if opcode == 0:               # SHA1H
        n = b.rv(rn)
        return b.wv(rd, f"((({n} << 30) | (({n} & {M32:#x}) >> 2)) & {M32:#x})")
    if opcode == 1:               # SHA1SU1
        return b.wv(rd, f"NSHA1SU1({b.rv(rd)}, {b.rv(rn)})")
    if opcode == 2:               # SHA256SU0
        return b.wv(rd, f"NSHA256SU0({b.rv(rd)}, {b.rv(rn)})")
    b.end_undefined()


# ---- SHA512 and SHA3 (FEAT_SHA512, FEAT_SHA3); SM3/SM4 are not implemented ------------------
def _decode_crypto_ext(insn: int):
    if (insn & 0xFFE0F000) == 0xCE608000:          # SHA512H/H2/SU1, RAX1
        return emit_sha512_3
    if (insn & 0xFFE0F000) == 0xCE60C000 and field(insn, 11, 10) != 3:   # SM3PARTW1/2, SM4EKEY
        return emit_sm_3
    if (insn & 0xFFFFF000) == 0xCEC08000 and field(insn, 11, 10) < 2:    # SHA512SU0, SM4E
        return emit_sha512su0 if not field(insn, 11, 10) else emit_sm_3
    if (insn & 0xFFE0C000) == 0xCE408000:          # SM3TT1A/1B/2A/2B
        return emit_sm3tt
    if (insn & 0xFFE08000) == 0xCE400000:          # SM3SS1
        return emit_sm3ss1
    if (insn & 0xFFC08000) == 0xCE000000:          # EOR3 (Op0 00), BCAX (01)
        return emit_eor3_bcax
    if (insn & 0xFFE00000) == 0xCE800000:
        return emit_xar
    return None


def _ror64(x: int, n: int) -> int:
    return ((x >> n) | (x << (64 - n))) & D_MASK


def _sha512h(d: int, n: int, m: int) -> int:
    x_lo, x_hi, y_lo, y_hi = n & D_MASK, n >> 64, m & D_MASK, m >> 64
    w_lo, w_hi = d & D_MASK, d >> 64
    sig = _ror64(y_hi, 14) ^ _ror64(y_hi, 18) ^ _ror64(y_hi, 41)
    hi = (y_hi & x_lo) ^ (~y_hi & x_hi)
    hi = (hi + sig + w_hi) & D_MASK
    tmp = (hi + y_lo) & D_MASK
    sig = _ror64(tmp, 14) ^ _ror64(tmp, 18) ^ _ror64(tmp, 41)
    lo = (tmp & y_hi) ^ (~tmp & x_lo)
    lo = (lo + sig + w_lo) & D_MASK
    return lo | (hi << 64)


def _sha512h2(d: int, n: int, m: int) -> int:
    x_lo, y_lo, y_hi = n & D_MASK, m & D_MASK, m >> 64
    w_lo, w_hi = d & D_MASK, d >> 64
    sig = _ror64(y_lo, 28) ^ _ror64(y_lo, 34) ^ _ror64(y_lo, 39)
    hi = (x_lo & y_hi) ^ (x_lo & y_lo) ^ (y_hi & y_lo)
    hi = (hi + sig + w_hi) & D_MASK
    sig = _ror64(hi, 28) ^ _ror64(hi, 34) ^ _ror64(hi, 39)
    lo = (hi & y_lo) ^ (hi & y_hi) ^ (y_hi & y_lo)
    lo = (lo + sig + w_lo) & D_MASK
    return lo | (hi << 64)


def _sha512su0(d: int, n: int) -> int:
    w_lo, w_hi, x_lo = d & D_MASK, d >> 64, n & D_MASK
    lo = (w_lo + (_ror64(w_hi, 1) ^ _ror64(w_hi, 8) ^ (w_hi >> 7))) & D_MASK
    hi = (w_hi + (_ror64(x_lo, 1) ^ _ror64(x_lo, 8) ^ (x_lo >> 7))) & D_MASK
    return lo | (hi << 64)


def _sha512su1(d: int, n: int, m: int) -> int:
    out = 0
    for sh in (0, 64):
        x = (n >> sh) & D_MASK
        sig = _ror64(x, 19) ^ _ror64(x, 61) ^ (x >> 6)
        out |= ((((d >> sh) & D_MASK) + sig + ((m >> sh) & D_MASK)) & D_MASK) << sh
    return out


HELPERS.update({"NSHA512H": _sha512h, "NSHA512H2": _sha512h2, "NSHA512SU0": _sha512su0,
                "NSHA512SU1": _sha512su1})


def emit_sha512_3(b, insn: int) -> None:
    opcode, rm, rn, rd = field(insn, 11, 10), field(insn, 20, 16), field(insn, 9, 5), field(insn, 4, 0)
    d, n, m = b.rv(rd), b.rv(rn), b.rv(rm)
    if opcode == 3:          # RAX1: Vn ^ ROL(Vm, 1) in each 64-bit lane
        lsb = _rep(64, 128)
        return b.wv(rd, f"{n} ^ ((({m} << 1) & {Q_MASK ^ lsb:#x}) | (({m} >> 63) & {lsb:#x}))")
    fn = ("NSHA512H", "NSHA512H2", "NSHA512SU1")[opcode]
    b.wv(rd, f"{fn}({d}, {n}, {m})")


def emit_sha512su0(b, insn: int) -> None:
    b.wv(field(insn, 4, 0), f"NSHA512SU0({b.rv(field(insn, 4, 0))}, {b.rv(field(insn, 9, 5))})")


def emit_eor3_bcax(b, insn: int) -> None:
    op0, rm, ra, rn, rd = field(insn, 22, 21), field(insn, 20, 16), field(insn, 14, 10), field(insn, 9, 5), field(insn, 4, 0)
    n, m, a = b.rv(rn), b.rv(rm), b.rv(ra)
    if op0 == 0:
        return b.wv(rd, f"{n} ^ {m} ^ {a}")
    b.wv(rd, f"{n} ^ ({m} & ({a} ^ {Q_MASK:#x}))")


def emit_xar(b, insn: int) -> None:
    rm, imm6, rn, rd = field(insn, 20, 16), field(insn, 15, 10), field(insn, 9, 5), field(insn, 4, 0)
    t = _name(b, f"{b.rv(rn)} ^ {b.rv(rm)}")
    if imm6 == 0:
        return b.wv(rd, t)
    low = _rep(64, 128) * (D_MASK >> imm6)
    b.wv(rd, f"(({t} >> {imm6}) & {low:#x}) | (({t} << {64 - imm6}) & {Q_MASK ^ low:#x})")


# ---- SM3 and SM4 (FEAT_SM3, FEAT_SM4) ----------------------------------------------------------
def _sm4_sbox() -> bytes:
    """The SM4 S-box from its algebraic definition: S(x) = A.inv(A.x + c) + c in GF(2^8)
    modulo x^8+x^7+x^6+x^5+x^4+x^2+1, A the circulant matrix of 0xA7, c = 0xD3."""
    def gmul(a: int, b: int) -> int:
        r = 0
        while b:
            if b & 1:
                r ^= a
            a <<= 1
            if a & 0x100:
                a ^= 0x1F5
            b >>= 1
        return r
    inv = [0] * 256
    for x in range(1, 256):
        for y in range(1, 256):
            if gmul(x, y) == 1:
                inv[x] = y
                break
    rows = [0xA7, 0x4F, 0x9E, 0x3D, 0x7A, 0xF4, 0xE9, 0xD3]

    def affine(x: int) -> int:
        return sum((bin(r & x).count("1") & 1) << i for i, r in enumerate(rows)) ^ 0xD3
    return bytes(affine(inv[affine(x)]) for x in range(256))


_SM4_SBOX = _sm4_sbox()


def _sm4_words(d: int, n: int, key_schedule: bool) -> int:
    """SM4E (d = data, n = round keys) or SM4EKEY (d = keys, n = constants): four rounds."""
    for i in range(4):
        x = _w(n, i) ^ _w(d, 1) ^ _w(d, 2) ^ _w(d, 3)
        x = int.from_bytes(x.to_bytes(4, "little").translate(_SM4_SBOX), "little")
        if key_schedule:
            x ^= _rol(x, 13) ^ _rol(x, 23)
        else:
            x ^= _rol(x, 2) ^ _rol(x, 10) ^ _rol(x, 18) ^ _rol(x, 24)
        x ^= _w(d, 0)
        d = (d >> 32) | (x << 96)
    return d


def _sm3partw1(d: int, n: int, m: int) -> int:
    t = d ^ n
    r = [_w(t, 0) ^ _rol(_w(m, 1), 15), _w(t, 1) ^ _rol(_w(m, 2), 15), _w(t, 2) ^ _rol(_w(m, 3), 15), 0]
    for i in range(4):
        if i == 3:
            r[3] = _w(t, 3) ^ _rol(r[0], 15)
        r[i] = r[i] ^ _rol(r[i], 15) ^ _rol(r[i], 23)
    return r[0] | (r[1] << 32) | (r[2] << 64) | (r[3] << 96)


def _sm3partw2(d: int, n: int, m: int) -> int:
    tmp = n ^ sum(_rol(_w(m, i), 7) << (32 * i) for i in range(4))
    res = d ^ tmp
    t2 = _rol(_w(tmp, 0), 15)
    t2 ^= _rol(t2, 15) ^ _rol(t2, 23)
    return res ^ (t2 << 96)


def _sm3tt(d: int, n: int, m: int, imm2: int, op: int) -> int:
    w = _w(m, imm2)
    d0, d1, d2, d3 = _w(d, 0), _w(d, 1), _w(d, 2), _w(d, 3)
    if op < 2:                           # SM3TT1A / SM3TT1B
        ss2 = _w(n, 3) ^ _rol(d3, 12)
        tt = d1 ^ d3 ^ d2 if op == 0 else (d3 & d2) | (d3 & d1) | (d2 & d1)
        tt = (tt + d0 + ss2 + w) & M32
        return d1 | (_rol(d2, 9) << 32) | (d3 << 64) | (tt << 96)
    tt = d1 ^ d3 ^ d2 if op == 2 else (d3 & d2) | (~d3 & d1)
    tt = (tt + d0 + _w(n, 3) + w) & M32
    return d1 | (_rol(d2, 19) << 32) | (d3 << 64) | ((tt ^ _rol(tt, 9) ^ _rol(tt, 17)) << 96)


HELPERS.update({"NSM4": _sm4_words, "NSM3W1": _sm3partw1, "NSM3W2": _sm3partw2, "NSM3TT": _sm3tt})


def emit_sm_3(b, insn: int) -> None:
    """SM3PARTW1 (opcode 0), SM3PARTW2 (1), SM4EKEY (2); SM4E (two-register, 0xCEC084..)."""
    rd, rn, rm = field(insn, 4, 0), field(insn, 9, 5), field(insn, 20, 16)
    d, n = b.rv(rd), b.rv(rn)
    if (insn & 0xFFFFF000) == 0xCEC08000:
        return b.wv(rd, f"NSM4({d}, {n}, False)")
    opcode = field(insn, 11, 10)
    if opcode == 2:
        return b.wv(rd, f"NSM4({n}, {b.rv(rm)}, True)")
    b.wv(rd, f"{'NSM3W2' if opcode else 'NSM3W1'}({d}, {n}, {b.rv(rm)})")


def emit_sm3tt(b, insn: int) -> None:
    rd, rn, rm = field(insn, 4, 0), field(insn, 9, 5), field(insn, 20, 16)
    b.wv(rd, f"NSM3TT({b.rv(rd)}, {b.rv(rn)}, {b.rv(rm)}, {field(insn, 13, 12)}, {field(insn, 11, 10)})")


def emit_sm3ss1(b, insn: int) -> None:
    rd, rn, rm, ra = field(insn, 4, 0), field(insn, 9, 5), field(insn, 20, 16), field(insn, 14, 10)
    t = f"((({b.rv(rn)} >> 96) << 12 | ({b.rv(rn)} >> 96) >> 20) & {M32:#x})"
    s1 = _name(b, f"({t} + ({b.rv(rm)} >> 96) + ({b.rv(ra)} >> 96)) & {M32:#x}")
    b.wv(rd, f"((({s1} << 7) | ({s1} >> 25)) & {M32:#x}) << 96")
