"""Lane arithmetic for Advanced SIMD: split a 128-bit register value into
lanes, apply an operation, join the lanes again.  Whole-register bitwise
operations never come here (they are one Python expression); these helpers
serve the lane-wise ones, called from generated code through HELPERS.
"""
from __future__ import annotations


def split(v: int, esize: int, n: int) -> list[int]:
    m = (1 << esize) - 1
    return [(v >> (i * esize)) & m for i in range(n)]


def join(lanes: list[int], esize: int) -> int:
    m = (1 << esize) - 1
    out = 0
    for i, x in enumerate(lanes):
        out |= (x & m) << (i * esize)
    return out


def sx(x: int, esize: int) -> int:
    top = 1 << (esize - 1)
    return (x ^ top) - top


def sat(x: int, esize: int, unsigned: bool) -> tuple[int, bool]:
    """Saturate x to an esize lane; returns (value, saturated)."""
    if unsigned:
        lo, hi = 0, (1 << esize) - 1
    else:
        lo, hi = -(1 << (esize - 1)), (1 << (esize - 1)) - 1
    if x < lo:
        return lo, True
    if x > hi:
        return hi, True
    return x, False


# Lane operations are functions fn(x, y, esize) (or fn(x, esize)) on unsigned
# lane values; results may be any int and are masked to the lane.
def map2(fn, a: int, b: int, esize: int, n: int) -> int:
    """Lane i of the result is fn(a[i], b[i], esize)."""
    m = (1 << esize) - 1
    out = 0
    for i in range(n):
        sh = i * esize
        out |= (fn((a >> sh) & m, (b >> sh) & m, esize) & m) << sh
    return out


def map3(fn, d: int, a: int, b: int, esize: int, n: int) -> int:
    """Accumulating forms: lane i is fn(d[i], a[i], b[i], esize)."""
    m = (1 << esize) - 1
    out = 0
    for i in range(n):
        sh = i * esize
        out |= (fn((d >> sh) & m, (a >> sh) & m, (b >> sh) & m, esize) & m) << sh
    return out


def map1(fn, a: int, esize: int, n: int) -> int:
    m = (1 << esize) - 1
    out = 0
    for i in range(n):
        sh = i * esize
        out |= (fn((a >> sh) & m, esize) & m) << sh
    return out


def pairwise(fn, a: int, b: int, esize: int, n: int) -> int:
    """ADDP-style: the pairs of a, then the pairs of b (b:a concatenated)."""
    la = split(a, esize, n) + split(b, esize, n)
    return join([fn(la[2 * i], la[2 * i + 1], esize) for i in range(n)], esize)


def reduce_lanes(fn, a: int, esize: int, n: int) -> int:
    lanes = split(a, esize, n)
    acc = lanes[0]
    for x in lanes[1:]:
        acc = fn(acc, x, esize) & ((1 << esize) - 1)
    return acc
