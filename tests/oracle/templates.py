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
