"""Chains of data-processing instructions in one block against unicorn.

The emitters drop masks a later mask makes redundant (a W operand of ADD, SUB,
AND, MADD, the bitfield moves; a shifted operand under the result's mask) and
the builder drops the W mask of registers known to fit in 32 bits, or folds
known constants.  Single instructions on random registers cannot see those
facts interact: here every register field is one of x0..x3, so each result
feeds the next instructions (W results read as X, constants from MOVZ/ADRP
read by shifts and bitfield moves), and a flag setter with a conditional
branch ends some chains.
"""
import random

import pytest

from tests.oracle.templates import DP_IMM, DP_REG, FLAG_SETTERS, instance
from tests.support.oracle import Case, check, random_state

_GROUPS = [g for g in DP_IMM + DP_REG if g[0] not in ("adc", "ccmp", "dp1")] + FLAG_SETTERS


def _allocated(rng: random.Random, name: str, word: int) -> int:
    """Mostly defined encodings: N = sf where the class needs it, dp2's opcodes
    that exist (UDIV, SDIV, LSLV, LSRV, ASRV, RORV), immr/imms below 32 for W."""
    sf = word >> 31
    if name in ("bitfield", "extract", "logic_imm"):
        word = (word & ~(1 << 22)) | (sf << 22)
        if name == "extract":
            word &= ~((3 << 29) | (1 << 21))
        elif name == "bitfield":
            if (word >> 29) & 3 == 3:
                word ^= 1 << 29
            # the aliases' edges: LSR/ASR (imms = top bit), LSL (imms + 1 = immr),
            # UXTB/SXTH/BFXIL from bit 0 (immr = 0)
            bits = 64 if sf else 32
            immr, imms = (word >> 16) & 63, (word >> 10) & 63
            pick = rng.randrange(4)
            if pick == 0:
                imms = bits - 1
            elif pick == 1 and immr:
                imms = immr - 1
            elif pick == 2:
                immr = 0
            word = (word & ~(0xFFF << 10)) | (immr << 16) | (imms << 10)
        if not sf:
            word &= ~((32 << 16) | (32 << 10))
    elif name == "dp2":
        word = (word & ~(0x3F << 10) & ~(1 << 29)) | (rng.choice([2, 3, 8, 9, 10, 11]) << 10)
    elif name in ("logic_shifted", "addsub_shifted", "subs_reg", "adds_reg", "ands_reg"):
        if name != "logic_shifted" and (word >> 22) & 3 == 3:
            word &= ~(1 << 23)
        if not sf:
            word &= ~(1 << 15)
    elif name == "addsub_extended":
        word = (word & ~(3 << 22) & ~(7 << 10)) | (rng.randrange(5) << 10)
    elif name in ("addsub_imm", "subs_imm", "adds_imm"):
        word &= ~(1 << 23)
    elif name == "csel":
        word &= ~((1 << 29) | (1 << 11))
    elif name == "ccmp":
        word = (word & ~((1 << 10) | (1 << 4))) | (1 << 29)
    elif name == "dp3":
        word = (word & ~(3 << 29) & ~(7 << 21)) | ((rng.choice([0, 1, 2, 5, 6]) if sf else 0) << 21)
        if (word >> 21) & 3 == 2:
            word &= ~(1 << 15)
    elif name == "movewide":
        if (word >> 29) & 3 == 1:
            word ^= 1 << 29
        if not sf:
            word &= ~(1 << 22)
    return word


def _few_registers(rng: random.Random, word: int) -> int:
    """word with Rd, Rn and Rm (bits 4:0, 9:5, 20:16) among x0..x3 (or 31 now and then)."""
    for lo in (0, 5, 16):
        n = 31 if rng.random() < 0.05 else rng.randrange(4)
        word = (word & ~(31 << lo)) | (n << lo)
    return word


@pytest.mark.parametrize("seed", range(6))
def test_dp_chains_feed_each_other(seed):
    rng = random.Random(1100 + seed)
    for _ in range(150):
        st = random_state(rng)
        code = []
        for _ in range(rng.randrange(3, 9)):
            name, mask, value = rng.choice(_GROUPS)
            code.append(_few_registers(rng, _allocated(rng, name, instance(rng, mask, value))))
        if rng.random() < 0.4:
            code.append(0x54000040 | rng.randrange(16))    # b.cond +8
            code += [0xD2800020, 0xD2800041]               # movz x0, #1; movz x1, #2
        check(Case(code=code, x=st["x"], nzcv=st["nzcv"]))


def test_cmn_immediate_then_every_condition():
    """ADDS/CMN #imm are kept as a compare with 2**bits - imm: every condition,
    and the lazy flags a block leaves, on values around the carry and overflow edges."""
    rng = random.Random(1200)
    edges = [0, 1, 0x7F, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE,
             0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF]
    for _ in range(400):
        sf = rng.getrandbits(1)
        imm = rng.choice([1, 2, 0xFFF, rng.randrange(1, 4096)])
        sh = rng.getrandbits(1)
        rd = rng.choice([31, 2])
        adds = (sf << 31) | 0x31000000 | (sh << 22) | (imm << 10) | (1 << 5) | rd   # adds rd, x1, #imm
        st = random_state(rng)
        x1 = rng.choice(edges)
        st["x"][1] = (x1 - rng.choice([0, imm, imm << 12, 1])) & 0xFFFF_FFFF_FFFF_FFFF
        cond = rng.randrange(16)
        tail = [0x54000040 | cond, 0xD2800020, 0xD2800041] if rng.random() < 0.7 else []
        check(Case(code=[adds] + tail, x=st["x"], nzcv=st["nzcv"]))


def test_extensions_from_bit_0():
    """SXTB/SXTH/SXTW and UXTB/UXTH/UBFX #0 (bitfield moves with immr = 0, no
    shift emitted) of registers holding any 64-bit value, and of W results the
    builder knows fit in 32 bits (SXTW of one needs no mask)."""
    def sbfm(sf, rd, rn, imms):
        return (0x93400000 if sf else 0x13000000) | imms << 10 | rn << 5 | rd

    def ubfm(sf, rd, rn, imms):
        return (0xD3400000 if sf else 0x53000000) | imms << 10 | rn << 5 | rd

    rng = random.Random(1300)
    edges = [0, 0x7F, 0x80, 0x7FFF, 0x8000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
             0x1_8000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0x8000_0000_7FFF_FFFF]
    for _ in range(120):
        st = random_state(rng)
        for n in range(1, 8):
            st["x"][n] = rng.choice(edges + [rng.getrandbits(64)])
        code = [sbfm(1, 8, 1, 31),                       # sxtw x8, w1 (any value)
                0x11000000 | rng.randrange(4) << 10 | 2 << 5 | 3,   # add w3, w2, #k
                sbfm(1, 9, 3, 31),                       # sxtw x9, w3 (fits 32 bits)
                sbfm(rng.getrandbits(1), 10, 4, 7),      # sxtb
                sbfm(rng.getrandbits(1), 11, 5, 15),     # sxth
                ubfm(0, 12, 6, 7), ubfm(0, 13, 7, 15),   # uxtb, uxth
                ubfm(1, 14, 1, 31),                      # ubfx x14, x1, #0, #32
                ubfm(1, 15, 2, rng.randrange(63))]       # ubfx x15, x2, #0, #w
        check(Case(code=code, x=st["x"], nzcv=st["nzcv"]))


@pytest.mark.parametrize("sf", [0, 1])
def test_signed_conditions_at_sign_edges(sf):
    """GE/LT/GT/LE after CMP (register, immediate) and CMN #imm (kept as a compare
    with a negative immediate): the builder compares the unsigned values and
    corrects by the two sign bits, or by the immediate's known sign.  B.cond and
    CSET on values around 0 and the sign bit, in 32 and 64 bits."""
    rng = random.Random(1400 + sf)
    bits = 64 if sf else 32
    sb = 1 << (bits - 1)
    edges = [0, 1, 2, sb - 2, sb - 1, sb, sb + 1, 2 * sb - 2, 2 * sb - 1]
    for _ in range(300):
        st = random_state(rng)
        st["x"][1] = rng.choice(edges + [rng.getrandbits(bits)])
        st["x"][2] = rng.choice(edges + [st["x"][1], rng.getrandbits(bits)])
        cond = rng.choice([10, 11, 12, 13])          # GE LT GT LE
        imm = rng.choice([0, 1, 2, 0xFFF, rng.randrange(4096)])
        st["x"][1] = rng.choice([st["x"][1], imm, (imm + 1) % (2 * sb), (imm - 1) % (2 * sb),
                                 (2 * sb - imm) % (2 * sb), (2 * sb - imm - 1) % (2 * sb)])
        cmp = rng.choice([
            (sf << 31) | 0x6B00001F | (2 << 16) | (1 << 5),      # cmp x1, x2
            (sf << 31) | 0x6B00001F | (1 << 16) | (2 << 5),      # cmp x2, x1
            (sf << 31) | 0x7100001F | (imm << 10) | (1 << 5),    # cmp x1, #imm
            (sf << 31) | 0x3100001F | (imm << 10) | (1 << 5),    # cmn x1, #imm
        ])
        if rng.random() < 0.5:
            tail = [0x54000040 | cond, 0xD2800020, 0xD2800041]   # b.cond +8; movz x0/x1
        else:
            tail = [0x1A9F07E3 | ((cond ^ 1) << 12)]             # cset w3, cond
        check(Case(code=[cmp] + tail, x=st["x"], nzcv=st["nzcv"]))


@pytest.mark.parametrize("sf", [0, 1])
def test_signed_bitfields_of_any_narrow_and_known_sources(sf):
    """Every SBFM form (ASR, SBFX, SBFIZ, SXTB/SXTH/SXTW) is a test of the field's
    sign bit choosing the field with the bits above it set, or the field alone;
    of a register holding any value (its bits above a W field must not leak into
    the test), of a W result the builder knows fits 32 bits, and of a MOVZ/MOVN
    constant (computed at translation time).  Sign edges of every field width."""
    bits = 64 if sf else 32
    rng = random.Random(1500 + sf)

    def sbfm(rd, rn, immr, imms):
        return (0x93400000 if sf else 0x13000000) | immr << 16 | imms << 10 | rn << 5 | rd

    for _ in range(250):
        st = random_state(rng)
        r = rng.randrange(bits)
        pick = rng.randrange(5)
        s = [bits - 1, r + rng.randrange(bits - r), max(r - 1, 0), rng.randrange(r) if r else 0,
             rng.choice([7, 15, 31 if bits == 64 else 15])][pick]
        if pick == 4:
            r = 0
        edge = 1 << s
        for n in (1, 2):
            st["x"][n] = rng.choice([edge, edge - 1, edge | rng.getrandbits(64), rng.getrandbits(64),
                                     (edge - 1) | (rng.getrandbits(32) << 32), 0, (1 << 64) - 1])
            st["x"][n] &= (1 << 64) - 1
        k = rng.randrange(4)
        imm16 = rng.choice([0x8000, 0x7FFF, 0xFFFF, 0x80, rng.getrandbits(16)])
        known = rng.choice([0xD2800003, 0x92800003, 0x52800003]) | imm16 << 5 | rng.randrange(2 if sf else 1) << 21
        code = [sbfm(8, 1, r, s),                          # any value
                0x11000000 | k << 10 | 2 << 5 | 4,         # add w4, w2, #k (fits 32 bits)
                sbfm(9, 4, r, s),
                known,                                     # movz/movn x3 (a constant)
                sbfm(10, 3, r, s),
                sbfm(11, 31, r, s)]                        # of XZR
        check(Case(code=code, x=st["x"], nzcv=st["nzcv"]))


def test_signed_loads_and_sxtw_indexes():
    """LDRSB/LDRSH/LDRSW into W and X (the loaded value's sign bit chooses), and
    register-offset addresses with a SXTW index, scaled or not, of a register
    holding any value and of a W result known to fit 32 bits, negative or not."""
    from tests.support.oracle import DATA, DATA_SIZE
    rng = random.Random(1600)
    for _ in range(300):
        st = random_state(rng)
        data = bytearray(rng.randbytes(DATA_SIZE))
        size = rng.randrange(3)                         # b, h, w
        opc = rng.choice([2, 3]) if size < 2 else 2     # to X (2) or to W (3)
        s = rng.randrange(2)
        idx = rng.choice([rng.randrange(-200, 200), rng.randrange(-200, 200) + (rng.getrandbits(32) << 32),
                          rng.choice([0x4000_0000, 0x7FFF_FFF0, 0x8000_0000, 0xC000_0000]) + rng.randrange(16)])
        addr = DATA + DATA_SIZE // 2 + rng.randrange(-64, 64) * 8
        for off in range(0, 1 << size, 1):
            data[addr - DATA + off] = rng.choice([0x80, 0x7F, 0xFF, 0x00, rng.getrandbits(8)])
        narrow = rng.random() < 0.5
        w = (idx & 0xFFFF_FFFF)
        sidx = w - (1 << 32) if w >> 31 else w
        st["x"][1] = (addr - (sidx << (size if s else 0))) & ((1 << 64) - 1)
        ld = 0x38200800 | size << 30 | opc << 22 | 2 << 16 | 6 << 13 | s << 12 | 1 << 5 | 0   # ldrs* x0, [x1, w2, sxtw]
        if narrow:
            st["x"][3] = (w - 1) & 0xFFFF_FFFF | (rng.getrandbits(32) << 32)
            code = [0x11000462, ld]                     # add w2, w3, #1; then the load
        else:
            st["x"][2] = idx & ((1 << 64) - 1)
            code = [ld]
        code.append(0x8B000004)                         # add x4, x0, x0 (reads the result)
        check(Case(code=code, x=st["x"], nzcv=st["nzcv"], data=bytes(data)))


@pytest.mark.parametrize("s", [0, 1])
def test_add_sub_of_signed_extended_registers(s):
    """ADD/SUB/ADDS/SUBS/CMP/CMN (extended register) with SXTB/SXTH/SXTW (the
    index's sign bit chooses the field or the field less 2**size), shifted by
    0-4, in W and X, of registers whose field is at its sign edges."""
    rng = random.Random(1700 + s)
    for _ in range(300):
        st = random_state(rng)
        sf, op = rng.getrandbits(1), rng.getrandbits(1)
        option = rng.choice([4, 5, 6])                     # SXTB, SXTH, SXTW
        size = 8 << (option & 3)
        edge = 1 << (size - 1)
        st["x"][2] = (rng.choice([edge, edge - 1, 0, (1 << size) - 1, rng.getrandbits(size)])
                      | (rng.getrandbits(64 - size) << size if rng.random() < 0.5 else 0))
        rd = 31 if s and rng.random() < 0.3 else 3
        word = (sf << 31 | op << 30 | s << 29 | 0x0B200000 | 2 << 16 | option << 13
                | rng.randrange(5) << 10 | 1 << 5 | rd)
        tail = [0x54000040 | rng.randrange(14), 0xD2800020, 0xD2800041] if s else []
        check(Case(code=[word] + tail, x=st["x"], nzcv=st["nzcv"]))
