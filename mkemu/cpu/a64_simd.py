"""A64 data processing -- scalar FP and Advanced SIMD (op0 = x111): routing, and
the inline code of Q register loads and stores (a64_ldst's 16-byte forms).

bit 28 = 1 and bit 30 = 0: scalar floating point and FP<->integer conversions
(a64_fp.py).  Everything else in this class -- Advanced SIMD vector and scalar
forms and the cryptographic extensions -- is decoded by a64_neon.py, which
routes each Arm ARM encoding class to its a64_neon_* family file.
"""
from __future__ import annotations

from . import a64_fp, a64_neon

HELPERS: dict = {}
HELPERS.update(getattr(a64_fp, "HELPERS", {}))
HELPERS.update(getattr(a64_neon, "HELPERS", {}))


def decode(insn: int):
    if (insn >> 28) & 1 and not (insn >> 30) & 1:
        return a64_fp.decode(insn)
    return a64_neon.decode(insn)


# ---- Q register loads and stores (the 16-byte forms of a64_ldst) ------------------
# A V register is one 128-bit int, so a Q access is two 8-byte words of the page:
# inline, with no helper call (U128 and P128 are Python functions around a struct
# call or a slice assignment).

def load_q(b, dst: str, addr: str) -> None:
    """dst = the 16 bytes at guest addr (addr a simple name or literal).  One
    two-word unpack; a page-crossing one is short and raises, so LD takes it.
    dst is assigned only after the access succeeded."""
    lo, hi = b.tmp("q"), b.tmp("q")
    b.line(f"try: {lo}, {hi} = U2Q(RT[{addr} >> 12], {addr} & 4095); {dst} = {lo} | ({hi} << 64)")
    b.line(f"except Exception: {dst} = LD({addr}, 16)")


def store_q(b, addr: str, value: str) -> None:
    """Store the 128-bit value at guest addr: one slice assignment of its 16 bytes
    (one memcpy: a tenth cheaper than two items of the page's word view, with
    no alignment test); a page-crossing slice is short, which raises, and the
    slow path takes it as it takes a missing or faulting page."""
    b.line(f"try: _o = {addr} & 4095; WT[{addr} >> 12][_o:_o + 16] = ({value}).to_bytes(16, 'little')")
    b.line(f"except Exception: ST({addr}, 16, {value})")
