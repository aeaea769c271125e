"""Guest-physical memory: one sparse shared segment per machine, and its frames.

The segment is a memfd (no name in /dev/shm, so it cannot leak: it disappears
when the last process holding it exits), truncated to a large size and
mapped MAP_SHARED by the broker and every task process; only touched pages
cost host memory.  A frame is one 4 KiB page of it, named by its index.

Frames are handed out by the broker in grants (ranges of frame numbers, see
ipc/protocol.py FrameGrant); a task allocates from its grants locally, so a
page fault costs no round trip.  A freed frame is hole-punched, which returns
its memory to the host and makes it read as zeros when it is reused.
"""
from __future__ import annotations

import ctypes
import os
from typing import Callable

from .hostmap import HostMapping

PAGE_SIZE = 4096
DEFAULT_SIZE = 64 << 30          # 64 GiB of sparse guest-physical space
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02

_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]


class PhysMem:
    """The shared segment, mapped into this process."""

    @staticmethod
    def create_fd(size: int = DEFAULT_SIZE) -> int:
        """A new sparse segment (the broker makes one per machine)."""
        fd = os.memfd_create("mkemu-guest-memory", os.MFD_CLOEXEC)
        os.ftruncate(fd, size)
        return fd

    def __init__(self, fd: int | None = None, size: int = DEFAULT_SIZE) -> None:
        if fd is None:
            fd = self.create_fd(size)
        self.fd = fd
        self.size = size
        self.view = HostMapping(fd, 0, size, writable=True).view

    def page(self, frame: int) -> memoryview:
        off = frame * PAGE_SIZE
        return self.view[off:off + PAGE_SIZE]

    def punch(self, first: int, count: int) -> None:
        """Give frames [first, first+count) back to the host (they read as zero after)."""
        if _libc.fallocate(self.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                           first * PAGE_SIZE, count * PAGE_SIZE) != 0:
            # Without hole punching the frame must still read as zero when reused.
            for f in range(first, first + count):
                self.page(f)[:] = bytes(PAGE_SIZE)


class FramePool:
    """A task's local frame allocator, refilled from broker grants.

    `refill()` asks the broker for a grant and returns (first, count).
    """

    def __init__(self, phys: PhysMem, refill: Callable[[], tuple[int, int]]) -> None:
        self.phys = phys
        self.refill = refill
        self.free: list[int] = []
        self.next = 0
        self.end = 0

    def alloc(self) -> int:
        """A zero-filled frame."""
        if self.free:
            return self.free.pop()
        if self.next >= self.end:
            first, count = self.refill()
            if count <= 0:
                raise MemoryError("guest-physical memory exhausted")
            self.next, self.end = first, first + count
        f = self.next
        self.next += 1
        return f

    def release(self, frames: list[int]) -> None:
        """Return frames: punch them (runs of consecutive frames at once) and keep them."""
        if not frames:
            return
        frames = sorted(frames)
        run_start = prev = frames[0]
        for f in frames[1:] + [None]:
            if f is not None and f == prev + 1:
                prev = f
                continue
            self.phys.punch(run_start, prev - run_start + 1)
            if f is not None:
                run_start = prev = f
        self.free.extend(frames)
