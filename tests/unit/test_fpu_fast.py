"""The host-float fast paths of cpu/fpu.py against its general (exact rational) path.

The fast paths take shortcuts that rest on theorems (Fast2Sum for the
exactness of a sum, short significands for an exact product, a single product
exact in double); the general path follows the Arm ARM's FPRound.  Both must
give the same bits and the same cumulative FPSR flags for every input, with
FPSR.IXC clear (the exactness checks run) and set (they do not)."""
from __future__ import annotations

import random
import struct

import pytest

from mkemu.cpu import fpu
from mkemu.cpu.state import CpuState


def _bits64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _bits32(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _values(esize: int, rng: random.Random, n: int) -> list[int]:
    """Edge values, short significands (the exact cases) and random bit patterns."""
    bits = _bits64 if esize == 64 else _bits32
    top = 2.0 ** (1023 if esize == 64 else 127)
    tiny = fpu.MIN_NORMAL[esize]
    k = 27 if esize == 64 else 13                # x*x needs 2k significant bits: one too many
    edge = [((1 << k) - 1) * 2.0 ** (1 - k), 0.0, -0.0, 1.0, -1.0, 1.5, 0.75, 3.0, 0.1, -2.5, 1e-3, top, -top, tiny, tiny / 4,
            -tiny * 3, 2.0 ** -600 if esize == 64 else 2.0 ** -70, float("inf"), float("-inf")]
    out = [bits(v) for v in edge]
    out += [bits(v) | 1 for v in edge[:6]]                        # one ulp off: long significands
    out += [0x7FF8_0000_0000_0001 if esize == 64 else 0x7FC0_0001,   # quiet and signalling NaN
            0x7FF0_0000_0000_0001 if esize == 64 else 0x7F80_0001]
    for _ in range(n):
        r = rng.random()
        if r < 0.1:                              # odd significands of 26 and 27 bits: x*y at the edge
            k = rng.choice((26, 27)) if esize == 64 else rng.choice((12, 13))
            out.append(bits(rng.randrange((1 << (k - 1)) + 1, 1 << k, 2) * 2.0 ** rng.randint(-40, 0)))
        elif r < 0.4:                                               # small multiples of 2^-k
            out.append(bits(rng.randint(-64, 64) * 2.0 ** rng.randint(-8, 8)))
        elif r < 0.6:
            out.append(bits(rng.uniform(-1e6, 1e6)))
        elif r < 0.8:                                               # near in magnitude: cancellation
            v = rng.uniform(1, 2)
            out.append(bits(v))
            out.append(bits(-v) ^ rng.randint(0, 3))
        else:
            out.append(rng.getrandbits(esize))
    return out


def _run(fn, args, fpcr: int, ixc_before: bool):
    st = CpuState()
    st.fpsr = fpu.IXC if ixc_before else 0
    r = fn(*args, fpcr | (0 if ixc_before else fpu.FP_SLOW), st)
    return r, st.fpsr


def _general(fn, esize):
    return lambda *a: fn(*a[:-2], esize, a[-2], a[-1])


@pytest.mark.parametrize("esize", [64, 32])
@pytest.mark.parametrize("name", ["fadd", "fsub", "fmul", "fdiv"])
def test_two_operand_fast_paths_match_the_general_path(name, esize):
    rng = random.Random(f"{name}{esize}")
    fast = getattr(fpu, f"{name}{esize}")
    slow = _general(getattr(fpu, name), esize)
    vals = _values(esize, rng, 150)
    pairs = [(a, b) for a in vals[:40] for b in vals[:40]]
    pairs += [(rng.choice(vals), rng.choice(vals)) for _ in range(3000)]
    for a, b in pairs:
        for ixc in (False, True):
            assert _run(fast, (a, b), 0, ixc) == _run(slow, (a, b), 0, ixc), (hex(a), hex(b), ixc)


@pytest.mark.parametrize("esize", [64, 32])
def test_fused_multiply_add_fast_path_matches_the_general_path(esize):
    rng = random.Random(f"fma{esize}")
    fast = getattr(fpu, f"fmadd{esize}")
    slow = _general(fpu.fmadd, esize)
    vals = _values(esize, rng, 150)
    triples = [(a, b, c) for a in vals[:20] for b in vals[:20] for c in vals[:20]]
    triples += [tuple(rng.choice(vals) for _ in range(3)) for _ in range(4000)]
    for a, b, c in triples:
        for ixc in (False, True):
            assert _run(fast, (a, b, c), 0, ixc) == _run(slow, (a, b, c), 0, ixc), \
                (hex(a), hex(b), hex(c), ixc)


def test_fused_multiply_add_with_a_rounded_product_is_fused():
    # x*y is not a double: rounding it first and then adding z would give 0
    x = 1.0 + 2.0 ** -30
    y = 1.0 - 2.0 ** -30
    z = -1.0
    r, fpsr = _run(fpu.fmadd64, (_bits64(x), _bits64(y), _bits64(z)), 0, False)
    assert r == _bits64(-(2.0 ** -60)) and not fpsr & fpu.IXC


def test_a_non_default_fpcr_takes_the_general_path():
    one, third = _bits64(1.0), _bits64(3.0)
    up = 1 << 22                                                   # round toward +inf
    r_up, _ = _run(fpu.fdiv64, (one, third), up, False)
    r_near, _ = _run(fpu.fdiv64, (one, third), 0, False)
    assert r_up == r_near + 1


@pytest.mark.parametrize("esize", [64, 32])
def test_integer_to_float_matches_exact_rounding(esize):
    from fractions import Fraction
    rng = random.Random(f"scvtf{esize}")
    ints = [0, 1, -1, (1 << 24) + 1, (1 << 53) + 1, -(1 << 53) - 1, (1 << 63) - 1, -(1 << 63), (1 << 64) - 1]
    ints += [rng.randrange(-(1 << 63), 1 << 63) >> rng.randrange(64) for _ in range(3000)]
    for v in ints:
        unsigned = v >= 1 << 63
        for fpcr in (0, fpu.FP_SLOW, 1 << 22, 3 << 22):
            got, want = CpuState(), CpuState()
            r = fpu.from_fixed(v & ((1 << 64) - 1), 64, unsigned, 0, esize, fpcr, got)
            w = fpu.round_exact(Fraction(v), esize, fpcr, want) if v else 0
            assert (r, got.fpsr) == (w, want.fpsr), (v, fpcr)


@pytest.mark.parametrize("esize", [64, 32])
def test_compare_fast_path_matches_the_general_path(esize):
    rng = random.Random(f"fcmp{esize}")
    vals = _values(esize, rng, 60)
    for a in vals:
        for b in vals[:30] + [0]:
            for fpcr in (0, fpu.FZ):
                for signal_all in (False, True):
                    fast, slow = CpuState(), CpuState()
                    fast.fpcr = slow.fpcr = fpcr
                    r = fpu.fcompare(a, b, esize, signal_all, fast)
                    w = fpu.fcompare_general(a, b, esize, signal_all, slow)
                    assert (r, fast.fpsr) == (w, slow.fpsr), (hex(a), hex(b), fpcr, signal_all)
