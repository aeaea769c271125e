"""Scalar floating point and Advanced SIMD against unicorn.

Register contents are FP values (edge values in both formats, ordinary numbers, random
bits), FPCR is drawn like test_neon_fp's "all FPCR" runs (every rounding mode, FZ, FZ16,
DN) and the whole FPSR is compared, cumulative flags included."""
import random
import struct

import pytest

from tests.oracle.templates import NEON_GROUPS, instance
from tests.oracle.test_neon import unicorn_bug
from tests.support.oracle import Case, Unimplemented, check, random_fpcr, random_state

SPECIAL32 = [0, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000, 0x7FC00000,
             0x7F800001, 0x00000001, 0x007FFFFF, 0x7F7FFFFF, 0x4F000000, 0xCF000000, 0x3F000000,
             0x40490FDB, 0x5F000000, 0x4B000001]
SPECIAL64 = [0, 1 << 63, 0x3FF0000000000000, 0xBFF0000000000000, 0x7FF0000000000000,
             0x7FF8000000000000, 0x7FF0000000000001, 1, 0x000FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF,
             0x41E0000000000000, 0xC3E0000000000000, 0x3FE0000000000000, 0x400921FB54442D18,
             0x43E0000000000000, 0x4330000000000001]


def fp_value(rng):
    r = rng.random()
    if r < 0.25:
        return rng.choice(SPECIAL32) | (rng.choice(SPECIAL64) << 64)
    if r < 0.6:   # ordinary numbers in both formats
        f = rng.choice([rng.uniform(-1e6, 1e6), rng.uniform(-4, 4), float(rng.randrange(-1000, 1000))])
        d = rng.choice([rng.uniform(-1e12, 1e12), rng.uniform(-4, 4), float(rng.randrange(-10**6, 10**6))])
        lo = struct.unpack("<I", struct.pack("<f", f))[0]
        hi = struct.unpack("<Q", struct.pack("<d", d))[0]
        lanes = lo | (lo << 32) if rng.random() < 0.5 else lo | (struct.unpack("<I", struct.pack("<f", -f / 3))[0] << 32)
        return lanes | (hi << 64) if rng.random() < 0.5 else hi | (hi << 64)
    return rng.getrandbits(128)


FP_GROUPS = [
    ("fp_dp1", 0xFF207C00, 0x1E204000),
    ("fp_dp2", 0xFF200C00, 0x1E200800),
    ("fp_dp3", 0xFF000000, 0x1F000000),
    ("fp_cmp", 0xFF20FC07, 0x1E202000),
    ("fp_ccmp", 0xFF200C00, 0x1E200400),
    ("fp_csel", 0xFF200C00, 0x1E200C00),
    ("fp_imm", 0xFF201FE0, 0x1E201000),
    ("fp_int", 0x7F20FC00, 0x1E200000),
    ("fp_fixed", 0x7F200000, 0x1E000000),
]

# the Advanced SIMD classes that take FP-valued lanes here (test_neon runs them all with
# integer edge values)
FP_VALUED = {"copy", "modimm", "three_same", "three_diff", "two_misc", "across", "shift_imm",
             "by_element", "permute", "ext", "tbl", "scalar_three_same", "scalar_two_misc",
             "scalar_pairwise", "scalar_shift_imm", "scalar_copy"}
NEON_FP_GROUPS = [g for g in NEON_GROUPS if g[0] in FP_VALUED]


def _run(groups, per, seed):
    """Every encoding must match unicorn exactly, and none that unicorn executes may be
    undefined in mkemu (those are collected to show a few in the failure)."""
    rng = random.Random(seed)
    for name, mask, value in groups:
        gaps = []
        for _ in range(per):
            st = random_state(rng)
            v = {n: fp_value(rng) for n in range(32)}
            word = instance(rng, mask, value)
            while unicorn_bug(word):         # unicorn's known wrong answers (see test_neon)
                word = instance(rng, mask, value)
            try:
                check(Case(code=[word], x=st["x"], v=v, nzcv=st["nzcv"], fpcr=random_fpcr(rng, full=True)),
                      check_fpsr=True)
            except Unimplemented as e:
                gaps.append(str(e))
        assert not gaps, f"{name}: {len(gaps)}/{per} unimplemented, e.g. {gaps[:8]}"


@pytest.mark.parametrize("group", FP_GROUPS, ids=lambda g: g[0])
def test_scalar_fp(group):
    _run([group], 400, group[0])


@pytest.mark.parametrize("group", NEON_FP_GROUPS, ids=lambda g: g[0])
def test_advanced_simd(group):
    _run([group], 400, group[0])


@pytest.mark.slow
def test_big_simd_fp_sweep():
    for group in FP_GROUPS + NEON_FP_GROUPS:
        _run([group], 2000, 99)


def _short_value(rng, single: bool):
    """A double or single with a short significand (the exact cases of the fast
    paths) or an ordinary one, sometimes with garbage above the scalar."""
    r = rng.random()
    if r < 0.5:
        x = rng.randint(-300, 300) * 2.0 ** rng.randint(-70, 70)
    elif r < 0.8:
        x = rng.uniform(-1e3, 1e3)
    else:
        x = rng.choice([0.0, -0.0, 2.0 ** -1020, 2.0 ** 1000, 1.0 + 2.0 ** -30, 1.0 - 2.0 ** -30])
    bits = struct.unpack("<Q", struct.pack("<d", x))[0]
    if single:
        bits = struct.unpack("<I", struct.pack("<f", x))[0] if abs(x) < 1e30 else 0x3F800000
    if rng.random() < 0.2:
        bits |= rng.getrandbits(64) << 64
    return bits


def test_fp_sequences_with_default_fpcr():
    """Two or three scalar FMADD/FMSUB/FADD/FSUB/FMUL/FDIV in a row, mostly with FPCR
    at its default: the host-float fast paths (written into the trace for FMADD),
    with FPSR.IXC clear and, after an inexact one, set; the other FPCRs must leave
    them."""
    rng = random.Random("fp-sequences")
    groups = [g for g in FP_GROUPS if g[0] in ("fp_dp2", "fp_dp3")]
    for _ in range(800):
        single = rng.random() < 0.4
        words = []
        for _ in range(rng.choice((2, 3))):
            name, mask, value = rng.choice(groups)
            word = instance(rng, mask, value)
            if name == "fp_dp2":
                word = (word & ~0xF000) | (rng.randrange(4) << 12)   # FMUL FDIV FADD FSUB
            word = (word & ~(3 << 22)) | ((not single) << 22)
            words.append(word)
        v = {n: _short_value(rng, single) for n in range(32)}
        fpcr = random_fpcr(rng, full=True) if rng.random() < 0.3 else 0
        check(Case(code=words, v=v, fpcr=fpcr), check_fpsr=True)
