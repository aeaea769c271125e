"""The lazy flag kinds (flags.LAZY_KINDS) are written out per width for speed:
each must give the general function's NZCV word for every operand pair."""
import random

import pytest

from mkemu.cpu import flags

EDGES = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
         0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF]


def _operands(bits: int):
    mask = (1 << bits) - 1
    edges = sorted({e & mask for e in EDGES})
    rng = random.Random(bits)
    pairs = [(a, b) for a in edges for b in edges]
    pairs += [(rng.getrandbits(bits), rng.getrandbits(bits)) for _ in range(20000)]
    return pairs


@pytest.mark.parametrize("bits", [32, 64])
def test_written_out_kinds_equal_the_general_functions(bits):
    sub, add, logic = (flags.LAZY_KINDS[f"NZCV_{k}{bits}"] for k in ("SUB", "ADD", "LOGIC"))
    for a, b in _operands(bits):
        assert sub(a, b) == flags.nzcv_sub(a, b, bits), (a, b)
        assert add(a, b) == flags.nzcv_add(a, b, bits), (a, b)
        assert logic(a, b) == flags.nzcv_logic(a, bits), (a, b)
