"""A64 Advanced SIMD (vector and scalar forms) and the cryptographic extensions:
the decode table, routing each encoding class of the Arm ARM to its family.

    a64_neon_permute.py  copy, modified immediate, extract, table lookup, permute
    a64_neon_arith.py    integer three same, three same extra, three different,
                         vector x indexed element
    a64_neon_shift.py    shift by immediate
    a64_neon_misc.py     integer two-register misc, across lanes, scalar pairwise
    a64_neon_fp.py       the FP rows of those classes, and the FP16 classes
    a64_neon_crypto.py   AES, SHA1, SHA256, SHA512, SHA3, SM3, SM4
    a64_neon_expr.py     translation-time expression builders they share
    lanes.py             runtime lane helpers they share

Covered: every Advanced SIMD vector and scalar group, half precision
(FEAT_FP16), SQRDMLAH (RDM), dot products, FCMLA/FCADD, FMLAL/FMLSL (FHM),
FRINT32/64, AES, PMULL, SHA1, SHA256, SHA512, SHA3, SM3 and SM4.  Not
covered (undefined): BFloat16 and the int8 matrix multiplies.

Generated code may only use helper names that exist at import (HELPERS, which
the block globals copy): a trace from the on-disk code cache is run without
being translated again, so no family creates a helper while translating.
"""
from __future__ import annotations

from . import a64_neon_arith as arith
from . import a64_neon_crypto as crypto
from . import a64_neon_fp as fp
from . import a64_neon_misc as misc
from . import a64_neon_permute as permute
from . import a64_neon_shift as shift
from . import lanes
from .bits import field

HELPERS: dict = {}
for _family in (lanes, permute, arith, shift, misc, fp, crypto):
    HELPERS.update(_family.HELPERS)


def decode(insn: int):
    if field(insn, 31, 31):
        return _decode_crypto_ext(insn)
    scalar = field(insn, 28, 28)
    b2824 = field(insn, 28, 24)
    if (insn & 0xFFFE0C00) == 0x4E280800:
        return crypto.emit_aes
    if (insn & 0xFFE08C00) == 0x5E000000:
        return crypto.emit_sha3
    if (insn & 0xFFFE0C00) == 0x5E280800:
        return crypto.emit_sha2
    if not scalar:
        if field(insn, 28, 21) == 0b01110000 and field(insn, 15, 15) == 0 and field(insn, 10, 10):
            return permute.emit_copy
        if field(insn, 29, 24) == 0b001110 and not field(insn, 21, 21) and not field(insn, 15, 15):
            if field(insn, 11, 10) == 0b10:
                return permute.emit_permute
            if field(insn, 11, 10) == 0 and field(insn, 23, 22) == 0:
                return permute.emit_tbl
            if not field(insn, 10, 10):
                return None           # (bit 10 set: half-precision three-same, below)
        if field(insn, 29, 24) == 0b101110 and not field(insn, 21, 21) and not field(insn, 15, 15) \
                and not field(insn, 10, 10) and field(insn, 23, 22) == 0:
            return permute.emit_ext
    if b2824 in (0b01110, 0b11110):
        if field(insn, 21, 21):
            if field(insn, 10, 10):                                   # three same
                return fp.emit_three_same if field(insn, 15, 11) >= 0x18 else arith.emit_three_same
            if field(insn, 11, 10) == 0b00:
                return arith.emit_three_different
            if field(insn, 20, 17) == 0b0000 and field(insn, 11, 10) == 0b10:
                return fp.emit_two_misc if fp.is_fp_two_misc(insn) else misc.emit_two_misc
            if field(insn, 22, 17) == 0b111100 and field(insn, 11, 10) == 0b10:
                return fp.emit_fp16_two_misc
            if field(insn, 20, 17) == 0b1000 and field(insn, 11, 10) == 0b10:
                fp_row = field(insn, 16, 12) in ((12, 15) if not scalar else (12, 13, 15))
                if not scalar:                                        # across lanes
                    return fp.emit_across if fp_row else misc.emit_across
                return fp.emit_scalar_pairwise if fp_row else misc.emit_scalar_pairwise
        elif field(insn, 15, 15) and field(insn, 10, 10):             # three same extra
            return fp.emit_three_same_extra if _is_fcmla_fcadd(insn) else arith.emit_three_same_extra
        elif field(insn, 22, 22) and field(insn, 15, 14) == 0 and field(insn, 10, 10):
            return fp.emit_fp16_three_same
        elif scalar and field(insn, 23, 21) == 0 and field(insn, 15, 15) == 0 and field(insn, 10, 10) \
                and field(insn, 29, 29) == 0:
            return permute.emit_copy
        return None
    if b2824 in (0b01111, 0b11111) and field(insn, 10, 10):
        if field(insn, 23, 23):
            return None
        if field(insn, 22, 19) == 0:
            return permute.emit_modified_imm if not scalar else None
        return shift.emit_shift_imm
    if b2824 in (0b01111, 0b11111) and not field(insn, 10, 10):
        return fp.emit_by_element if fp.is_fp_by_element(insn) else arith.emit_by_element
    return None


def _is_fcmla_fcadd(insn: int) -> bool:
    """Three same extra: FCMLA (opcode 8-11) and FCADD (12, 14), vector, U=1, size != 0."""
    opcode = field(insn, 14, 11)
    return bool(field(insn, 29, 29) and opcode >= 8 and opcode not in (13, 15) and field(insn, 23, 22)
                and not field(insn, 28, 28))


def _decode_crypto_ext(insn: int):
    """Bit 31 set: the cryptographic three-register, two-register and four-register classes."""
    if (insn & 0xFFE0F000) == 0xCE608000:          # SHA512H/H2/SU1, RAX1
        return crypto.emit_sha512_3
    if (insn & 0xFFE0F000) == 0xCE60C000 and field(insn, 11, 10) != 3:   # SM3PARTW1/2, SM4EKEY
        return crypto.emit_sm_3
    if (insn & 0xFFFFF000) == 0xCEC08000 and field(insn, 11, 10) < 2:    # SHA512SU0, SM4E
        return crypto.emit_sha512su0 if not field(insn, 11, 10) else crypto.emit_sm_3
    if (insn & 0xFFE0C000) == 0xCE408000:          # SM3TT1A/1B/2A/2B
        return crypto.emit_sm3tt
    if (insn & 0xFFE08000) == 0xCE400000:          # SM3SS1
        return crypto.emit_sm3ss1
    if (insn & 0xFFC08000) == 0xCE000000:          # EOR3 (Op0 00), BCAX (01)
        return crypto.emit_eor3_bcax
    if (insn & 0xFFE00000) == 0xCE800000:
        return crypto.emit_xar
    return None
