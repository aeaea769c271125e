"""Which frames an address space holds: a bitmap the broker can read after a crash.

A task marks here every frame it maps or keeps free in its pool.  The bitmap
is a memfd the broker also holds, so when the task's host process ends --
exit, a guest fatal signal, or SIGKILL with no word said -- the broker walks
it (`reclaim`): a free frame goes back to the broker, a mapped one loses that
task's reference and goes back if it was the last.  One bit per frame of the
segment (2 MiB for 64 GiB), sparse: only the part under the highest frame in
use costs memory.
"""
from __future__ import annotations

import os

from ..cpu.hostatomic import fetch_op
from .hostmap import HostMapping

_fetch_or = fetch_op("or", 1)
_fetch_and = fetch_op("and", 1)
_SEQ_CST = 5


class Holdings:
    def __init__(self, fd: int, nframes: int) -> None:
        self.fd = fd
        self.nframes = nframes
        self.users = 1             # the broker's: processes sharing the space (CLONE_VM)
        self.mapping = HostMapping(fd, 0, self.nbytes(nframes), writable=True)
        self.bits = self.mapping.view

    @staticmethod
    def nbytes(nframes: int) -> int:
        return -(-(nframes // 8) // 4096) * 4096

    @classmethod
    def create(cls, nframes: int) -> "Holdings":
        fd = os.memfd_create("mkemu-frame-holdings", os.MFD_CLOEXEC)
        os.ftruncate(fd, cls.nbytes(nframes))
        return cls(fd, nframes)

    def add(self, frame: int) -> None:
        self.bits[frame >> 3] |= 1 << (frame & 7)

    def discard(self, frame: int) -> None:
        self.bits[frame >> 3] &= ~(1 << (frame & 7)) & 0xFF

    def make_atomic(self) -> None:
        """Several processes (threads of one space) now change these bits at once: each
        change becomes one host atomic read-modify-write of its byte."""
        base = self.mapping.addr
        self.add = lambda frame: _fetch_or(base + (frame >> 3), 1 << (frame & 7), _SEQ_CST)
        self.discard = lambda frame: _fetch_and(base + (frame >> 3), ~(1 << (frame & 7)) & 0xFF,
                                                _SEQ_CST)

    def __contains__(self, frame: int) -> bool:
        return bool(self.bits[frame >> 3] >> (frame & 7) & 1)

    def frames(self, below: int) -> list[int]:
        """Every frame held, below frame number `below`."""
        out = []
        n = -(-below // 8)
        chunk = 4096
        for base in range(0, n, chunk):
            block = bytes(self.bits[base:min(base + chunk, n)])
            if not any(block):
                continue
            as_int = int.from_bytes(block, "little")
            while as_int:
                low = as_int & -as_int
                bit = low.bit_length() - 1
                out.append(base * 8 + bit)
                as_int ^= low
        return [f for f in out if f < below]

    def close(self) -> None:
        self.bits = None
        self.mapping.unmap()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
