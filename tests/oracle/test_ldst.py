"""Loads and stores against unicorn: every addressing mode, pairs, exclusives,
LSE atomics, SIMD&FP registers and structure loads/stores."""
import random

import pytest

from tests.support.oracle import DATA, DATA_SIZE, Case, check, random_state


def _case(rng, word, pointers, small=()):
    st = random_state(rng, pointers=pointers)
    for r in small:                  # offset registers: small signed values
        st["x"][r] = rng.randrange(-256, 256) & 0xFFFF_FFFF_FFFF_FFFF
    if 31 in pointers:
        st["x"][31] = (DATA + DATA_SIZE // 2 + rng.randrange(0, 64) * 16)
    return Case(code=[word], x=st["x"], v=st["v"], nzcv=st["nzcv"], data=st["data"])


def _regs(word):
    return (word >> 5) & 31, word & 31, (word >> 10) & 31, (word >> 16) & 31


def gen_unsigned_imm(rng):
    size, v, opc = rng.randrange(4), rng.randrange(2), rng.randrange(4)
    word = (size << 30) | (0b111 << 27) | (v << 26) | (1 << 24) | (opc << 22) | \
        (rng.randrange(64) << 10) | (rng.randrange(32) << 5) | rng.randrange(32)
    rn = (word >> 5) & 31
    return word, (rn,), ()


def gen_imm9(rng):
    size, v, opc, mode = rng.randrange(4), rng.randrange(2), rng.randrange(4), rng.randrange(4)
    imm9 = rng.randrange(512)
    rn, rt = rng.randrange(32), rng.randrange(32)
    if mode in (1, 3) and rn == rt and rn != 31:
        rt = (rt + 1) % 31
    word = (size << 30) | (0b111 << 27) | (v << 26) | (opc << 22) | (imm9 << 12) | (mode << 10) | (rn << 5) | rt
    return word, (rn,), ()


def gen_register_offset(rng):
    size, v, opc = rng.randrange(4), rng.randrange(2), rng.randrange(4)
    option = rng.choice([2, 3, 6, 7, rng.randrange(8)])
    rn, rm, rt = rng.randrange(32), rng.randrange(31), rng.randrange(32)
    if rm == rn:
        rm = (rm + 1) % 31
    word = (size << 30) | (0b111 << 27) | (v << 26) | (opc << 22) | (1 << 21) | (rm << 16) | \
        (option << 13) | (rng.randrange(2) << 12) | (2 << 10) | (rn << 5) | rt
    return word, (rn,), (rm,)


def gen_pair(rng):
    opc, v, mode, l = rng.randrange(4), rng.randrange(2), rng.randrange(4), rng.randrange(2)
    rn, rt, rt2 = rng.randrange(32), rng.randrange(32), rng.randrange(32)
    if mode in (1, 3) and rn != 31 and rn in (rt, rt2):
        rn = 31
    if l and rt == rt2:
        rt2 = (rt + 1) % 32          # CONSTRAINED UNPREDICTABLE: not compared
    imm7 = rng.randrange(128)
    word = (opc << 30) | (0b101 << 27) | (v << 26) | (mode << 23) | (l << 22) | (imm7 << 15) | \
        (rt2 << 10) | (rn << 5) | rt
    return word, (rn,), ()


def gen_literal(rng):
    opc, v = rng.randrange(4), rng.randrange(2)
    imm19 = rng.randrange(-64, 64) & 0x7FFFF
    return (opc << 30) | (0b011 << 27) | (v << 26) | (imm19 << 5) | rng.randrange(32), (), ()


def gen_atomic(rng):
    size, a, r, o3, opc = rng.randrange(4), rng.randrange(2), rng.randrange(2), rng.randrange(2), rng.randrange(8)
    if o3:
        opc = 0
    if size < 3 and opc in (4, 5):
        # unicorn's LDSMAX/LDSMIN below 64 bits compare the register
        # operand without sign-extending it (a QEMU bug); the Arm ARM compares
        # both as signed values, as mkemu does. Keep those widths out.
        size = 3
    rn = rng.randrange(32)
    rs, rt = rng.randrange(32), rng.randrange(32)
    word = (size << 30) | (0b111000 << 24) | (a << 23) | (r << 22) | (1 << 21) | (rs << 16) | \
        (o3 << 15) | (opc << 12) | (rn << 5) | rt
    rn = (word >> 5) & 31
    return word, (rn,), ()


def gen_cas(rng):
    size, l, o0 = rng.randrange(4), rng.randrange(2), rng.randrange(2)
    rs, rn, rt = rng.randrange(31), rng.randrange(32), rng.randrange(31)
    word = (size << 30) | (0b001000 << 24) | (1 << 23) | (l << 22) | (1 << 21) | (rs << 16) | \
        (o0 << 15) | (31 << 10) | (rn << 5) | rt
    return word, (rn,), ()


def gen_acq_rel(rng):
    size, l = rng.randrange(4), rng.randrange(2)
    rn, rt = rng.randrange(32), rng.randrange(32)
    word = (size << 30) | (0b001000 << 24) | (1 << 23) | (l << 22) | (31 << 16) | (1 << 15) | \
        (31 << 10) | (rn << 5) | rt
    return word, (rn,), ()


def gen_simd_multi(rng):
    q, l, post = rng.randrange(2), rng.randrange(2), rng.randrange(2)
    opcode = rng.choice([0b0000, 0b0010, 0b0100, 0b0110, 0b0111, 0b1000, 0b1010])
    size, rn, rt = rng.randrange(4), rng.randrange(32), rng.randrange(32)
    rm = rng.choice([31, rng.randrange(31)]) if post else 0
    if post and rm == rn:
        rm = 31
    word = (q << 30) | (0b0011000 << 23) | (post << 23) | (l << 22) | (rm << 16) | (opcode << 12) | \
        (size << 10) | (rn << 5) | rt
    return word, (rn,), ((rm,) if post and rm != 31 else ())


def gen_simd_single(rng):
    q, l, post, r = rng.randrange(2), rng.randrange(2), rng.randrange(2), rng.randrange(2)
    opcode, s, size = rng.randrange(8), rng.randrange(2), rng.randrange(4)
    rn, rt = rng.randrange(32), rng.randrange(32)
    rm = rng.choice([31, rng.randrange(31)]) if post else 0
    if post and rm == rn:
        rm = 31
    word = (q << 30) | (0b0011010 << 23) | (post << 23) | (l << 22) | (r << 21) | (rm << 16) | \
        (opcode << 13) | (s << 12) | (size << 10) | (rn << 5) | rt
    return word, (rn,), ((rm,) if post and rm != 31 else ())


GENERATORS = [gen_unsigned_imm, gen_imm9, gen_register_offset, gen_pair, gen_literal, gen_atomic,
              gen_cas, gen_acq_rel, gen_simd_multi, gen_simd_single]


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__[4:])
def test_load_store_group(gen):
    rng = random.Random(gen.__name__)
    for _ in range(500):
        word, pointers, small = gen(rng)
        check(_case(rng, word, pointers, small))


def test_exclusive_pairs():
    rng = random.Random(5)
    for _ in range(200):
        size = rng.choice([2, 3])
        pair = rng.random() < 0.4
        rn = rng.choice([1, 2, 31])
        if pair:
            ld = (size << 30) | 0x087F0000 | (31 << 16) | (rng.randrange(2) << 15) | (4 << 10) | (rn << 5) | 3
            st = (size << 30) | 0x08200000 | (5 << 16) | (rng.randrange(2) << 15) | (7 << 10) | (rn << 5) | 6
        else:
            ld = (size << 30) | 0x085F7C00 | (rng.randrange(2) << 15) | (rn << 5) | 3
            st = (size << 30) | 0x08007C00 | (5 << 16) | (rng.randrange(2) << 15) | (rn << 5) | 6
        add = 0x91000463   # add x3, x3, #1 (between, like a real RMW loop)
        st_ = random_state(rng, pointers=(rn,))
        if rn == 31:
            st_["x"][31] = DATA + 0x1000
        st_["x"][rn] &= ~15
        clrex = 0xD503305F
        seq = [ld, add, st] if rng.random() < 0.8 else [ld, clrex, st]
        check(Case(code=seq, x=st_["x"], nzcv=st_["nzcv"], data=st_["data"]))
