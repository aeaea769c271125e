"""A64 cryptographic extension instructions on the SIMD registers: AES (AESE,
AESD, AESMC, AESIMC), SHA1 and SHA256 (SHA1C/P/M/H/SU0/SU1, SHA256H/H2/SU0/SU1),
SHA512 (SHA512H/H2/SU0/SU1), SHA3 (EOR3, BCAX, RAX1, XAR), SM3 (SM3SS1,
SM3TT1A/1B/2A/2B, SM3PARTW1/2) and SM4 (SM4E, SM4EKEY).  PMULL is in the three
different class (a64_neon_arith.py).  The tables (S-boxes, GF(2^8) products) are
computed from their algebraic definitions at import.
"""
from __future__ import annotations

import functools
import operator

from .a64_neon_expr import D_MASK, Q_MASK, bind, rep
from .bits import field


# ---- AES, SHA1, SHA256 (FEAT_AES, FEAT_SHA1, FEAT_SHA256) ----------------------------------------
def _gf_mul(a: int, b: int, poly: int) -> int:
    """a * b in GF(2^8) modulo the degree-8 polynomial poly."""
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= poly
        b >>= 1
    return r


def _gf_inverses(poly: int) -> list[int]:
    """The multiplicative inverse of every byte in GF(2^8) modulo poly (0 for 0): x^254, by
    square-and-multiply (a search over all pairs took a tenth of mkemu's start-up)."""
    inv = [0] * 256
    for x in range(1, 256):
        result, square, e = 1, x, 254
        while e:
            if e & 1:
                result = _gf_mul(result, square, poly)
            square = _gf_mul(square, square, poly)
            e >>= 1
        inv[x] = result
    return inv


_AES_POLY = 0x11B        # x^8 + x^4 + x^3 + x + 1


def _make_sbox() -> tuple[bytes, bytes]:
    inv = _gf_inverses(_AES_POLY)
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


# The tables are made on first use, not at import: making them cost every
# mkemu start-up ~6 ms, and few programs run AES or SM4 instructions.
@functools.cache
def _aes_tables() -> tuple[bytes, bytes, dict[int, bytes]]:
    """(S-box, inverse S-box, {k: the products k.x for every byte x})."""
    sbox, isbox = _make_sbox()
    return sbox, isbox, {k: bytes(_gf_mul(x, k, _AES_POLY) for x in range(256))
                         for k in (2, 3, 9, 11, 13, 14)}


_SHIFT_ROWS = operator.itemgetter(*[r + 4 * ((c + r) % 4) for c in range(4) for r in range(4)])
_INV_SHIFT_ROWS = operator.itemgetter(*[r + 4 * ((c - r) % 4) for c in range(4) for r in range(4)])


def _aes_sub(state: int, decrypt: bool) -> int:
    raw = state.to_bytes(16, "little")
    sbox, isbox, _ = _aes_tables()
    if decrypt:
        return int.from_bytes(bytes(_INV_SHIFT_ROWS(raw)).translate(isbox), "little")
    return int.from_bytes(bytes(_SHIFT_ROWS(raw)).translate(sbox), "little")


def _aes_mix(state: int, inverse: bool) -> int:
    s = state.to_bytes(16, "little")
    coef = (14, 11, 13, 9) if inverse else (2, 3, 1, 1)
    mul = _aes_tables()[2]
    out = bytearray(16)
    for c in range(0, 16, 4):
        col = s[c:c + 4]
        for r in range(4):
            v = 0
            for k in range(4):
                m = coef[(k - r) % 4]
                x = col[k]
                v ^= x if m == 1 else mul[m][x]
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


HELPERS: dict = {"NAESSUB": _aes_sub, "NAESMIX": _aes_mix, "NSHA1": _sha1_hash, "NSHA1SU1": _sha1su1,
                 "NSHA256": _sha256_hash, "NSHA256SU0": _sha256su0, "NSHA256SU1": _sha256su1}


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


# ---- SHA512 and SHA3 (FEAT_SHA512, FEAT_SHA3) -------------------------------------------------
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
        lsb = rep(64, 128)
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
    t = bind(b, f"{b.rv(rn)} ^ {b.rv(rm)}")
    if imm6 == 0:
        return b.wv(rd, t)
    low = rep(64, 128) * (D_MASK >> imm6)
    b.wv(rd, f"(({t} >> {imm6}) & {low:#x}) | (({t} << {64 - imm6}) & {Q_MASK ^ low:#x})")


# ---- SM3 and SM4 (FEAT_SM3, FEAT_SM4) ----------------------------------------------------------
@functools.cache
def _sm4_sbox() -> bytes:
    """The SM4 S-box from its algebraic definition: S(x) = A.inv(A.x + c) + c in GF(2^8)
    modulo x^8+x^7+x^6+x^5+x^4+x^2+1, A the circulant matrix of 0xA7, c = 0xD3."""
    inv = _gf_inverses(0x1F5)
    rows = [0xA7, 0x4F, 0x9E, 0x3D, 0x7A, 0xF4, 0xE9, 0xD3]

    def affine(x: int) -> int:
        return sum((bin(r & x).count("1") & 1) << i for i, r in enumerate(rows)) ^ 0xD3
    return bytes(affine(inv[affine(x)]) for x in range(256))


def _sm4_words(d: int, n: int, key_schedule: bool) -> int:
    """SM4E (d = data, n = round keys) or SM4EKEY (d = keys, n = constants): four rounds."""
    sbox = _sm4_sbox()
    for i in range(4):
        x = _w(n, i) ^ _w(d, 1) ^ _w(d, 2) ^ _w(d, 3)
        x = int.from_bytes(x.to_bytes(4, "little").translate(sbox), "little")
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
    s1 = bind(b, f"({t} + ({b.rv(rm)} >> 96) + ({b.rv(ra)} >> 96)) & {M32:#x}")
    b.wv(rd, f"((({s1} << 7) | ({s1} >> 25)) & {M32:#x}) << 96")
