"""A64 data processing -- scalar FP and Advanced SIMD (op0 = x111): routing only.

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
