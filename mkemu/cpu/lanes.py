"""Advanced SIMD at run time: the lane helpers translated blocks call, shared by
the a64_neon_* families (each family adds its own in its HELPERS).

A 128-bit register value is split into lanes by struct unpack and joined by
pack: N{U,S}{e}_{n} unpacks n lanes of e bits (unsigned, signed) from the
little-endian bytes, NP{U,S}{e}_{n} packs them; FB turns the bytes back into an
int.  They exist for every register-shaped lane count (one element, 64 and 128
bits), and unpackers for 256 bits (the pair Vm:Vn of the pairwise FP forms).
Saturating operations set FPSR.QC through qmap/qclamp.  Whole-register
bitwise and SWAR operations never come here (a64_neon_expr.py makes them one
Python expression).
"""
from __future__ import annotations

import operator
import struct
from itertools import repeat

QC = 1 << 27      # FPSR.QC, cumulative saturation


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


def sat_s(v: int, e: int) -> tuple[int, bool]:
    """v saturated to a signed e-bit lane; returns (value, saturated)."""
    hi = (1 << (e - 1)) - 1
    if v > hi:
        return hi, True
    if v < -hi - 1:
        return -hi - 1, True
    return v, False


def sat_u(v: int, e: int) -> tuple[int, bool]:
    """v saturated to an unsigned e-bit lane; returns (value, saturated)."""
    if v > (1 << e) - 1:
        return (1 << e) - 1, True
    if v < 0:
        return 0, True
    return v, False


# Lane operations are functions fn(x, y, esize) (or fn(d, x, y, esize)) on unsigned
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


# Saturating lane operations: fn(...) -> (value, saturated); any saturation sets QC
def _saturating(results, st) -> list[int]:
    out = []
    q = False
    for v, s in results:
        out.append(v)
        q |= s
    if q:
        st.fpsr |= QC
    return out


def qmap(fn, xs, ys, e, st):
    """Lane results of fn(x, y, e)."""
    return _saturating(map(fn, xs, ys, repeat(e)), st)


def qmap3(fn, ds, xs, ys, e, st):
    """Lane results of fn(d, x, y, e)."""
    return _saturating(map(fn, ds, xs, ys, repeat(e)), st)


def qmap1(fn, xs, e, st):
    """Lane results of fn(x, e)."""
    return _saturating(map(fn, xs, repeat(e)), st)


def qclamp(raw, lo, hi, st):
    """Clamp the lane values to [lo, hi]; any clamping sets FPSR.QC."""
    out = list(map(min, map(max, raw, repeat(lo)), repeat(hi)))
    if out != raw:
        st.fpsr |= QC
    return out


def _packers() -> dict:
    fmt = {8: "B", 16: "H", 32: "I", 64: "Q"}
    out = {}
    for e in (8, 16, 32, 64):
        for n in {1, 64 // e, 128 // e}:
            u, s = struct.Struct(f"<{n}{fmt[e]}"), struct.Struct(f"<{n}{fmt[e].lower()}")
            out[f"NU{e}_{n}"], out[f"NPU{e}_{n}"] = u.unpack, u.pack
            out[f"NS{e}_{n}"], out[f"NPS{e}_{n}"] = s.unpack, s.pack
        if e > 8:
            out[f"NU{e}_{256 // e}"] = struct.Struct(f"<{256 // e}{fmt[e]}").unpack
    return out


# byte -> 0xff if it is zero (CMEQ), if it is not (CMTST): byte lanes compare by translate
EQ0 = bytes([0xFF] + [0] * 255)
NE0 = bytes([0] + [0xFF] * 255)

HELPERS: dict = {"NEQ0": EQ0, "NNE0": NE0, "FB": int.from_bytes, "OADD": operator.add, "OSUB": operator.sub,
                 "OMUL": operator.mul, "OAND": operator.and_, "REPEAT": repeat,
                 "MAP2": map2, "MAP3": map3, "NQMAP": qmap, "NQMAP3": qmap3, "NQMAP1": qmap1,
                 "NQCLAMP": qclamp, **_packers()}
