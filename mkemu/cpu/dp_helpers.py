"""The run-time half of the register data-processing family (a64_dp_reg.py): what
its traces call (RBIT, REV32 of a 64-bit register, CRC32, SDIV).  Apart from the
decoder so that traces from the code cache run without importing it
(familyhelpers.py)."""
from __future__ import annotations

# each byte value with its bits reversed: RBIT is the bytes in the other order,
# each translated (three C calls, not a string of 64 digits)
_RBIT8 = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _rev32_64(x: int) -> int:
    lo, hi = x & 0xFFFF_FFFF, x >> 32
    return int.from_bytes(lo.to_bytes(4, "little"), "big") | \
        (int.from_bytes(hi.to_bytes(4, "little"), "big") << 32)


def _crc_table(poly: int) -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLES: dict[bool, list[int]] = {}     # castagnoli -> its table, made at first use


def _crc(acc: int, value: int, nbytes: int, castagnoli: bool) -> int:
    table = _CRC_TABLES.get(castagnoli)
    if table is None:
        table = _CRC_TABLES[castagnoli] = _crc_table(0x82F63B78 if castagnoli else 0xEDB88320)
    crc = acc & 0xFFFF_FFFF
    for i in range(nbytes):
        crc = table[(crc ^ (value >> (8 * i))) & 0xFF] ^ (crc >> 8)
    return crc


def _sdiv(a: int, b: int, bits: int) -> int:
    top = 1 << (bits - 1)
    sa, sb = (a ^ top) - top, (b ^ top) - top
    if sb == 0:
        return 0
    q = abs(sa) // abs(sb)
    return (-q if (sa < 0) != (sb < 0) else q) & ((1 << bits) - 1)


HELPERS = {"RBIT8": _RBIT8, "REV32_64": _rev32_64, "CRC": _crc, "SDIV": _sdiv}
