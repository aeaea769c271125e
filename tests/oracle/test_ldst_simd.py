"""SIMD&FP loads and stores against unicorn.

LDR/STR of B/H/S/D/Q in every addressing mode (unsigned offset, unscaled,
pre/post-index, register offset, literal), LDP/STP/LDNP/STNP of S/D/Q, the
multiple-structure forms LD1-LD4/ST1-ST4 (1-4 registers for LD1/ST1), the
single-lane forms and LD1R-LD4R, each with and without post-index by
immediate or register.  Loads into B/H/S/D zero the rest of the register and
the 64-bit vector forms zero the upper half; every V register is compared.
Addresses are chosen first (inside DATA, sometimes straddling a page) and the
base register derived from them; see test_ldst.py for the shared helpers.
"""
from __future__ import annotations

import random

import pytest

from tests.oracle.test_ldst import (M64, gen_imm9, gen_literal, gen_pair, gen_regoff, gen_uimm,
                                    random_value, run, state, sweep, target)

N = 300                  # executions per generator in the default run


def _simd(gen):
    def g(rng):
        return gen(rng, v=1)
    g.__name__ = gen.__name__
    return g


def enc_multi(q, l, post, rm, opcode, size, rn, rt):
    return 0x0C000000 | q << 30 | post << 23 | l << 22 | rm << 16 | opcode << 12 | size << 10 | rn << 5 | rt


def enc_single(q, l, post, r, rm, opcode, s, size, rn, rt):
    return (0x0D000000 | q << 30 | post << 23 | l << 22 | r << 21 | rm << 16 | opcode << 13 | s << 12
            | size << 10 | rn << 5 | rt)


_MULTI_REGS = {0b0000: 4, 0b0010: 4, 0b0100: 3, 0b0110: 3, 0b0111: 1, 0b1000: 2, 0b1010: 2}


def _post_reg(rng, x, post, rn):
    """Rm of a post-index form: 31 (immediate) or a register with some offset."""
    if not post:
        return 0
    rm = rng.choice([31, 31, rng.randrange(31)])
    if rm != 31 and rm != rn:
        x[rm] = rng.choice([rng.randrange(-128, 128) & M64, random_value(rng)])
    return rm


def gen_multi(rng):
    """LD1/ST1 (1-4 registers), LD2/ST2, LD3/ST3, LD4/ST4 (multiple structures)."""
    x, v, data = state(rng)
    q, l, post, size = rng.randrange(2), rng.randrange(2), rng.randrange(2), rng.randrange(4)
    opcode = rng.choice(list(_MULTI_REGS) * 4 + [rng.randrange(16)])
    rn, rt = rng.randrange(32), rng.randrange(32)
    rm = _post_reg(rng, x, post, rn)
    x[rn] = target(rng, 4 * 16)
    if rng.random() < 0.05:
        rm = rng.randrange(32) if not post else rm       # non-post with Rm != 0: unallocated
    return [enc_multi(q, l, post, rm, opcode, size, rn, rt)], x, v, data


def gen_single(rng):
    """LD1-LD4/ST1-ST4 (single structure, one lane) and LD1R-LD4R."""
    x, v, data = state(rng)
    q, l, post, r = rng.randrange(2), rng.randrange(2), rng.randrange(2), rng.randrange(2)
    opcode, s, size = rng.randrange(8), rng.randrange(2), rng.randrange(4)
    if rng.random() < 0.25:
        l, opcode, s = 1, rng.choice([6, 7]), 0          # more replicates
    elif rng.random() < 0.6:                             # an allocated lane form
        opcode = rng.randrange(6)
        if opcode >> 1 == 1:
            size &= 2                                    # H lanes: size<0> == 0
        elif opcode >> 1 == 2:
            size, s = (0, s) if rng.random() < 0.5 else (1, 0)   # S or D lanes
    rn, rt = rng.randrange(32), rng.randrange(32)
    rm = _post_reg(rng, x, post, rn)
    x[rn] = target(rng, 4 * 8)
    return [enc_single(q, l, post, r, rm, opcode, s, size, rn, rt)], x, v, data


GENERATORS = [_simd(gen_uimm), _simd(gen_imm9), _simd(gen_regoff), _simd(gen_literal),
              _simd(gen_pair), gen_multi, gen_single]


def _run_gen(gen, seed, n):
    rng = random.Random(f"simd-{gen.__name__}-{seed}")
    for _ in range(n):
        run(*gen(rng))


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__[4:])
def test_group(gen):
    _run_gen(gen, 0, N)


@pytest.mark.slow
@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__[4:])
def test_group_slow(gen):
    _run_gen(gen, 1, 20 * N)


def test_memcpy_shapes():
    """What glibc's memcpy/memset/strlen do: LDP/STP Q, LD1 pairs with post-index, ST1 4 regs."""
    rng = random.Random(3)
    words = [
        0xAD400C22,   # ldp q2, q3, [x1]
        0xAD000C02,   # stp q2, q3, [x0]
        0xACC10C22,   # ldp q2, q3, [x1], #32
        0x4CDFA020,   # ld1 {v0.16b, v1.16b}, [x1], #32
        0x4C9F2000,   # st1 {v0.16b-v3.16b}, [x0], #64
        0x3DC00020,   # ldr q0, [x1]
        0x3C810400,   # str q0, [x0], #16
        0x4DDFC020,   # ld1r {v0.16b}, [x1], #1
        0x0D408420,   # ld1 {v0.d}[0], [x1]
        0xFC1F0C00,   # str d0, [x0, #-16]!
    ]
    for w in words:
        for _ in range(15):
            x, v, data = state(rng)
            x[0], x[1] = target(rng, 64), target(rng, 64)
            run([w], x, v, data)


def test_sweep_simd_class():
    # the SIMD&FP half of the load/store class (bit 26 set): structures, LDR/STR, pairs
    sweep(random.Random(31), 600, 0x0A000000 | 1 << 26, 0x0C000000)


@pytest.mark.slow
def test_sweep_simd_class_slow():
    sweep(random.Random(32), 20000, 0x0A000000 | 1 << 26, 0x0C000000)
