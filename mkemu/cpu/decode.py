"""Top-level A64 decode: route an encoding to its instruction-class family.

The Arm ARM splits A64 by op0 = bits [28:25]; each class has one family module
whose `decode(insn)` returns the emitter for that encoding (a function
`emit(b: BlockBuilder, insn: int)`) or None when the encoding is unallocated
(the guest then gets SIGILL).  Families may also export HELPERS, runtime
functions that their generated code calls (merged into the block globals).
"""
from __future__ import annotations

from collections.abc import Callable

from . import a64_branch_sys, a64_dp_imm, a64_dp_reg, a64_ldst, a64_simd

Emitter = Callable[..., None]

_FAMILIES = (a64_dp_imm, a64_branch_sys, a64_ldst, a64_dp_reg, a64_simd)


_decoded: dict[int, Emitter | None] = {}
_DECODED_MAX = 1 << 20       # encodings remembered (then the memo starts again)


def decode(insn: int) -> Emitter | None:
    """The emitter of an encoding, remembered: a program's traces decode the
    same encodings again and again (python3 -c pass: 345,000 decodes of
    49,000 distinct encodings), and the routing below is pure."""
    try:
        return _decoded[insn]
    except KeyError:
        pass
    if len(_decoded) >= _DECODED_MAX:
        _decoded.clear()
    emit = _decoded[insn] = _route(insn)
    return emit


def _route(insn: int) -> Emitter | None:
    op0 = (insn >> 25) & 0xF
    if op0 & 0b1110 == 0b1000:
        return a64_dp_imm.decode(insn)
    if op0 & 0b1110 == 0b1010:
        return a64_branch_sys.decode(insn)
    if op0 & 0b0101 == 0b0100:
        return a64_ldst.decode(insn)
    if op0 & 0b0111 == 0b0101:
        return a64_dp_reg.decode(insn)
    if op0 & 0b0111 == 0b0111:
        return a64_simd.decode(insn)
    return None   # op0 = 0000 (UDF), 0001, 0010, 0011: unallocated / SVE


def block_helpers() -> dict:
    helpers: dict = {}
    for fam in _FAMILIES:
        helpers.update(getattr(fam, "HELPERS", {}))
    return helpers
