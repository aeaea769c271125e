"""Encoding templates for random-instruction oracle tests: (name, mask, value).

A random instruction of a group keeps the bits under `mask` equal to `value`
and takes random bits everywhere else, so every register number, shift,
immediate and size of the group gets exercised (unallocated combinations
included: unicorn and mkemu must then agree that they are undefined).
"""
import random

DP_IMM = [
    ("adr", 0x1F000000, 0x10000000),
    ("addsub_imm", 0x1F800000, 0x11000000),
    ("logic_imm", 0x1F800000, 0x12000000),
    ("movewide", 0x1F800000, 0x12800000),
    ("bitfield", 0x1F800000, 0x13000000),
    ("extract", 0x1F800000, 0x13800000),
]

DP_REG = [
    ("logic_shifted", 0x1F000000, 0x0A000000),
    ("addsub_shifted", 0x1F200000, 0x0B000000),
    ("addsub_extended", 0x1F200000, 0x0B200000),
    ("adc", 0x1FE0FC00, 0x1A000000),
    ("ccmp", 0x1FE00410, 0x1A400000),
    ("csel", 0x1FE00000, 0x1A800000),
    ("dp2", 0x5FE00000, 0x1AC00000),
    ("dp1", 0x5FFF0000, 0x5AC00000),
    ("dp3", 0x1F000000, 0x1B000000),
]

FLAG_SETTERS = [
    ("subs_imm", 0x7F800000, 0x71000000),     # SUBS/CMP immediate (both sizes via bit 31)
    ("adds_imm", 0x7F800000, 0x31000000),
    ("subs_reg", 0x7F200000, 0x6B000000),
    ("adds_reg", 0x7F200000, 0x2B000000),
    ("ands_reg", 0x7F000000, 0x6A000000),
    ("ccmp", 0x1FE00410, 0x1A400000),
]

CONSUMERS = [
    ("csel", 0x1FE00000, 0x1A800000),
    ("ccmp", 0x1FE00410, 0x1A400000),
    ("adc", 0x1FE0FC00, 0x1A000000),
]


def instance(rng: random.Random, mask: int, value: int) -> int:
    return (rng.getrandbits(32) & ~mask) | value

# Advanced SIMD and crypto, one group per encoding class of the Arm ARM
NEON_GROUPS = [
    ("copy", 0xBFE08400, 0x0E000400),
    ("modimm", 0x9FF80C00, 0x0F000400),
    ("three_same", 0x9F200400, 0x0E200400),
    ("three_same_extra", 0x9F208400, 0x0E008400),
    ("three_diff", 0x9F200C00, 0x0E200000),
    ("two_misc", 0x9F3E0C00, 0x0E200800),
    ("across", 0x9F3E0C00, 0x0E300800),
    ("shift_imm", 0x9F800400, 0x0F000400),
    ("by_element", 0x9F000400, 0x0F000000),
    ("permute", 0xBF208C00, 0x0E000800),
    ("ext", 0xBFE08400, 0x2E000000),
    ("tbl", 0xBFE08C00, 0x0E000000),
    ("scalar_three_same", 0xDF200400, 0x5E200400),
    ("scalar_three_diff", 0xDF200C00, 0x5E200000),
    ("scalar_two_misc", 0xDF3E0C00, 0x5E200800),
    ("scalar_pairwise", 0xDF3E0C00, 0x5E300800),
    ("scalar_shift_imm", 0xDF800400, 0x5F000400),
    ("scalar_by_element", 0xDF000400, 0x5F000000),
    ("scalar_copy", 0xFFE08400, 0x5E000400),
    ("aes", 0xFFFECC00, 0x4E284800),
    ("sha3", 0xFFE08C00, 0x5E000000),
    ("sha2", 0xFFFECC00, 0x5E280800),
    ("fp16_three_same", 0x9F60C400, 0x0E400400),
    ("fp16_two_misc", 0x9F7E0C00, 0x0E780800),
    ("scalar_fp16_three_same", 0xDF60C400, 0x5E400400),
    ("scalar_fp16_two_misc", 0xDF7E0C00, 0x5E780800),
    ("shift_imm_bit23", 0x9F800400, 0x0F800400),
    ("sha512_3", 0xFFE0F000, 0xCE608000),
    ("sha512su0", 0xFFFFF800, 0xCEC08000),
    ("eor3_bcax", 0xFFA08000, 0xCE000000),
    ("xar", 0xFFE00000, 0xCE800000),
    ("sm3ss1", 0xFFE08000, 0xCE400000),
    ("sm3tt", 0xFFE0C000, 0xCE408000),
    ("sm3partw_sm4ekey", 0xFFE0F000, 0xCE60C000),
    ("sm4e", 0xFFFFFC00, 0xCEC08400),
]
