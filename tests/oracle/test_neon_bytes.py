"""Byte-lane forms written with whole-image bytes operations: CMEQ/CMTST of
8-bit lanes as one translate of the register's bytes (lanes.EQ0/NE0), SHRN to
bytes with a shift of at most 8 as one slice with no mask; against unicorn,
with lanes that are zero, equal, and random."""
import random

import pytest

from tests.support.oracle import Case, check


def _bytes_value(rng: random.Random, other: int = 0) -> int:
    """16 bytes, each zero, equal to `other`'s byte, or random."""
    out = 0
    for i in range(16):
        r = rng.random()
        byte = 0 if r < 0.3 else (other >> (8 * i)) & 0xFF if r < 0.6 else rng.getrandbits(8)
        out |= byte << (8 * i)
    return out


@pytest.mark.parametrize("q", [0, 1])
def test_cmeq_cmtst_bytes(q):
    rng = random.Random(f"bytes-cmp-{q}")
    for _ in range(60):
        v2 = _bytes_value(rng)
        v = {1: rng.getrandbits(128), 2: v2, 3: _bytes_value(rng, v2)}
        code = [
            0x2E208C00 | (q << 30) | (3 << 16) | (2 << 5) | 4,   # cmeq v4.16b/8b, v2, v3
            0x0E208C00 | (q << 30) | (3 << 16) | (2 << 5) | 5,   # cmtst v5, v2, v3
            0x0E209800 | (q << 30) | (2 << 5) | 6,               # cmeq v6, v2, #0
            0x0E209800 | (q << 30) | (3 << 5) | 3,               # cmeq v3, v3, #0 (in place)
        ]
        check(Case(code=code, v=v))


@pytest.mark.parametrize("q", [0, 1])
def test_shrn_to_bytes(q):
    rng = random.Random(f"bytes-shrn-{q}")
    for shift in range(1, 9):
        for _ in range(8):
            v = {2: rng.getrandbits(128), 7: rng.getrandbits(128)}
            # shrn(2) v7.8b/16b, v2.8h, #shift
            check(Case(code=[0x0F008400 | (q << 30) | ((16 - shift) << 16) | (2 << 5) | 7], v=v))
