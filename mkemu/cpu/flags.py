"""NZCV arithmetic, as the Arm ARM's AddWithCarry defines it.

Translated blocks keep flags symbolic while they can (see BlockBuilder) and
call these helpers only when the flags must exist as bits: for a condition the
symbolic form cannot answer directly, or when something reads CpuState.nzcv
after a block left them lazy (LAZY_KINDS below).
"""
from __future__ import annotations

V_BIT = 1 << 28


def add_with_carry(a: int, b: int, carry: int, bits: int) -> tuple[int, int]:
    """Return (result, nzcv) of a + b + carry on unsigned bits-wide operands."""
    mask = (1 << bits) - 1
    top = 1 << (bits - 1)
    usum = a + b + carry
    res = usum & mask
    ssum = (a ^ top) - top + (b ^ top) - top + carry
    nzcv = ((res >> (bits - 1)) << 31) | ((res == 0) << 30) | ((usum != res) << 29)
    if (res ^ top) - top != ssum:
        nzcv |= V_BIT
    return res, nzcv


def nzcv_add(a: int, b: int, bits: int) -> int:
    return add_with_carry(a, b, 0, bits)[1]


def nzcv_sub(a: int, b: int, bits: int) -> int:
    """Flags of a - b (CMP a, b)."""
    mask = (1 << bits) - 1
    r = (a - b) & mask
    v = ((a ^ b) & (a ^ r)) >> (bits - 1)
    return ((r >> (bits - 1)) << 31) | ((r == 0) << 30) | ((a >= b) << 29) | (v << 28)


def nzcv_logic(r: int, bits: int) -> int:
    """Flags of ANDS/BICS/TST: N and Z from the result, C and V clear."""
    return ((r >> (bits - 1)) << 31) | ((r == 0) << 30)


# Lazy flag kinds.  A block that exits with its flags still symbolic leaves in
# CpuState.fk the function that computes the word from (CpuState.fa, CpuState.fb);
# generated code names it by the key here, e.g. `S.fk = NZCV_SUB64`.
# (the 64- and 32-bit kinds are written out, not calls of nzcv_sub/nzcv_add: a
# trace that starts with a branch on the flags the one before left computes
# them here, once per entry)
def nzcv_sub64(a: int, b: int) -> int:
    r = (a - b) & 0xFFFF_FFFF_FFFF_FFFF
    return (((r >> 63) << 31) | ((r == 0) << 30) | ((a >= b) << 29)
            | ((((a ^ b) & (a ^ r)) >> 63) << 28))


def nzcv_sub32(a: int, b: int) -> int:
    r = (a - b) & 0xFFFF_FFFF
    return (((r >> 31) << 31) | ((r == 0) << 30) | ((a >= b) << 29)
            | ((((a ^ b) & (a ^ r)) >> 31) << 28))


def nzcv_add64(a: int, b: int) -> int:
    u = a + b
    r = u & 0xFFFF_FFFF_FFFF_FFFF
    return (((r >> 63) << 31) | ((r == 0) << 30) | ((u != r) << 29)
            | (((~(a ^ b) & (a ^ r)) >> 63) << 28))


def nzcv_add32(a: int, b: int) -> int:
    u = a + b
    r = u & 0xFFFF_FFFF
    return (((r >> 31) << 31) | ((r == 0) << 30) | ((u != r) << 29)
            | ((((~(a ^ b) & (a ^ r)) >> 31) & 1) << 28))


def nzcv_logic64(a: int, b: int) -> int:
    return ((a >> 63) << 31) | ((a == 0) << 30)


def nzcv_logic32(a: int, b: int) -> int:
    return ((a >> 31) << 31) | ((a == 0) << 30)


LAZY_KINDS = {"NZCV_SUB64": nzcv_sub64, "NZCV_SUB32": nzcv_sub32,
              "NZCV_ADD64": nzcv_add64, "NZCV_ADD32": nzcv_add32,
              "NZCV_LOGIC64": nzcv_logic64, "NZCV_LOGIC32": nzcv_logic32}


def lazy_kind(kind: str, bits: int) -> str:
    """The LAZY_KINDS name for BlockBuilder's symbolic flags (kind, bits)."""
    return f"NZCV_{kind.upper()}{bits}"
