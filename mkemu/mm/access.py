"""Typed access to guest memory for the kernel side (syscall arguments, ELF loading).

Every method raises MemFault for a bad guest pointer; the syscall layer turns
that into -EFAULT.
"""
from __future__ import annotations

import struct
from collections.abc import Callable

from .fault import MemFault
from .tlb import SoftTLB

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class GuestAccess:
    def __init__(self, tlb: SoftTLB) -> None:
        self.tlb = tlb
        # read(addr, size) -> bytes is the TLB's own (b"" for size 0): one call less per use
        self.read: Callable[[int, int], bytes] = tlb.read

    def write(self, addr: int, data: bytes) -> None:
        if data:
            self.tlb.write(addr, bytes(data))

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string (without the NUL); MemFault if unterminated within limit."""
        if addr == 0:
            raise MemFault(0, "r")
        out = bytearray()
        while len(out) < limit:
            chunk = 4096 - (addr & 0xFFF)
            data = self.tlb.read(addr, chunk)
            nul = data.find(0)
            if nul >= 0:
                out += data[:nul]
                return bytes(out)
            out += data
            addr += chunk
        raise MemFault(addr, "r", "too long")

    def read_u32(self, addr: int) -> int:
        return _U32.unpack(self.tlb.read(addr, 4))[0]

    def read_u64(self, addr: int) -> int:
        return _U64.unpack(self.tlb.read(addr, 8))[0]

    def write_u32(self, addr: int, value: int) -> None:
        self.tlb.write(addr, _U32.pack(value & 0xFFFF_FFFF))

    def write_u64(self, addr: int, value: int) -> None:
        self.tlb.write(addr, _U64.pack(value & 0xFFFF_FFFF_FFFF_FFFF))
