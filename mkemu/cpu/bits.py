"""Bit-field helpers used at translation time (the Arm ARM's shared pseudocode)."""
from __future__ import annotations


def field(insn: int, hi: int, lo: int) -> int:
    """insn<hi:lo> as an unsigned int."""
    return (insn >> lo) & ((1 << (hi - lo + 1)) - 1)


def sign_extend(value: int, bits: int) -> int:
    top = 1 << (bits - 1)
    return (value & ((1 << bits) - 1) ^ top) - top


def ror(value: int, shift: int, width: int) -> int:
    shift %= width
    mask = (1 << width) - 1
    return ((value >> shift) | (value << (width - shift))) & mask


def replicate(value: int, esize: int, width: int) -> int:
    out = 0
    for i in range(0, width, esize):
        out |= value << i
    return out


def decode_bit_masks(n: int, imms: int, immr: int, immediate: bool, datasize: int):
    """DecodeBitMasks: return (wmask, tmask), or None if the encoding is reserved."""
    combined = (n << 6) | (~imms & 0x3F)
    if combined == 0:
        return None
    length = combined.bit_length() - 1
    if length < 1:
        return None
    levels = (1 << length) - 1
    if immediate and (imms & levels) == levels:
        return None
    s = imms & levels
    r = immr & levels
    diff = (s - r) & levels
    esize = 1 << length
    if esize > datasize:
        return None
    welem = (1 << (s + 1)) - 1
    telem = (1 << (diff + 1)) - 1
    wmask = replicate(ror(welem, r, esize), esize, datasize)
    tmask = replicate(telem, esize, datasize)
    return wmask, tmask
