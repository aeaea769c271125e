"""Guest-physical memory: one sparse shared segment per machine, and its frames.

The segment is a memfd (no name in /dev/shm, so it cannot leak: it disappears
when the last process holding it exits), truncated to a large size and
mapped MAP_SHARED by the broker and every task process; only touched pages
cost host memory.  A frame is one 4 KiB page of it, named by its index.

The first frames of the segment hold the frame table: one 32-bit reference
count per frame (how many address spaces map it), changed only with host
atomic operations (libatomic), because a forked parent and child drop their
references to a shared frame on two host cores at once.  Those frames are
never handed out (`PhysMem.first_frame` is the first that is).

Frames are handed out by the broker in grants (lists of runs, see
ipc/protocol.py FrameGrant); a task allocates from its grants locally, so a
page fault costs no round trip.  Which frames a task holds -- mapped, or free
in its pool -- is recorded in its `Holdings` bitmap (mm/holdings.py), which
the broker reads when the task ends, however it ends, to take back every
frame no one else maps.  A frame whose count drops to zero is hole-punched,
which returns its memory to the host and makes it read as zeros when reused.
"""
from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

from ..cpu.hostatomic import fetch_op
from .holdings import Holdings
from .hostmap import HostMapping

PAGE_SIZE = 4096
DEFAULT_SIZE = 64 << 30          # 64 GiB of sparse guest-physical space
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
_SEQ_CST = 5

_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
_fetch_add = fetch_op("add", 4)
_fetch_sub = fetch_op("sub", 4)


def table_frames(size: int) -> int:
    """How many frames the reference-count table of a segment of `size` bytes takes."""
    return -(-(size // PAGE_SIZE) * 4 // PAGE_SIZE)


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
        self.nframes = size // PAGE_SIZE
        self.first_frame = max(1, table_frames(size))
        self.mapping = HostMapping(fd, 0, size, writable=True)
        self.view = self.mapping.view
        self.counts = self.view[:self.first_frame * PAGE_SIZE].cast("I")

    def page(self, frame: int) -> memoryview:
        off = frame * PAGE_SIZE
        return self.view[off:off + PAGE_SIZE]

    # ---- reference counts (atomic: other processes change them at the same time) ----
    def ref(self, frame: int) -> int:
        return self.counts[frame]

    def ref_up(self, frame: int) -> int:
        """Add a reference; the count before."""
        return _fetch_add(self.mapping.addr + 4 * frame, 1, _SEQ_CST)

    def ref_down(self, frame: int) -> int:
        """Drop a reference; the count before (1: that was the last one)."""
        return _fetch_sub(self.mapping.addr + 4 * frame, 1, _SEQ_CST)

    def punch(self, first: int, count: int) -> None:
        """Give frames [first, first+count) back to the host (they read as zero after)."""
        if _libc.fallocate(self.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                           first * PAGE_SIZE, count * PAGE_SIZE) != 0:
            # Without hole punching the frame must still read as zero when reused.
            for f in range(first, first + count):
                self.page(f)[:] = bytes(PAGE_SIZE)

    def reclaim(self, holdings: Holdings, below: int) -> list[int]:
        """A task has ended: drop its reference to each frame it held and return the
        frames now free (punched).  A frame with no reference was free in its pool."""
        free = []
        for f in holdings.frames(below):
            if f < self.first_frame:
                continue
            if self.counts[f] == 0 or self.ref_down(f) == 1:
                free.append(f)
        self.punch_frames(free)
        return free

    def punch_frames(self, frames: list[int]) -> None:
        """Punch a list of frames, a run of consecutive ones at a time."""
        if not frames:
            return
        frames = sorted(frames)
        run_start = prev = frames[0]
        for f in frames[1:] + [None]:
            if f is not None and f == prev + 1:
                prev = f
                continue
            self.punch(run_start, prev - run_start + 1)
            if f is not None:
                run_start = prev = f


Refill = Callable[[int], list[tuple[int, int]]]


class FramePool:
    """An address space's frame allocator, refilled from broker grants.

    `refill(count)` asks the broker for about `count` frames and returns runs
    [(first, n), ...].  Grants start small and double (a forked child that
    writes a few pages before exec needs few) up to GRANT_MAX.
    """
    GRANT_MIN, GRANT_MAX = 64, 4096

    def __init__(self, phys: PhysMem, refill: Refill, holdings: Holdings | None = None) -> None:
        self.phys = phys
        self.refill = refill
        # holdings nobody else reads when none are given (unit tests: no broker)
        self.holdings = holdings if holdings is not None else Holdings.create(phys.nframes)
        self.free: list[int] = []
        self.grant = self.GRANT_MIN
        # A shared address space (threads, mm/sharedspace.py) is the gate: a frame freed
        # by a change waits in limbo until every sibling has caught up with that change,
        # since until then a sibling's TLB may still reach it
        self.gate = None
        self.limbo: list[tuple[int, list[int]]] = []     # (generation, frames)

    def alloc(self) -> int:
        """A zero-filled frame, with one reference (the caller's mapping)."""
        if not self.free:
            if self.limbo:
                self._drain_limbo()
            if not self.free:
                self._refill()
        f = self.free.pop()
        self.phys.counts[f] = 1          # a free frame is ours alone: no one else can race
        return f

    def _refill(self) -> None:
        runs = self.refill(self.grant)
        self.grant = min(self.grant * 2, self.GRANT_MAX)
        if not self.take(runs):
            raise MemoryError("guest-physical memory exhausted")

    def take(self, runs) -> int:
        """Put granted frames (runs [(first, n), ...]) in the pool and its holdings; how many."""
        got = [f for first, n in runs for f in range(first, first + n)]
        for f in got:
            self.holdings.add(f)
        got.reverse()                    # pop() hands out the lowest first
        self.free.extend(got)
        return len(got)

    def share(self, frame: int) -> None:
        """One more address space maps frame (fork)."""
        self.phys.ref_up(frame)

    def release(self, frames: list[int]) -> None:
        """Drop this space's reference to each frame.  A frame no one maps any more is
        punched and kept in the pool; one still mapped elsewhere leaves our holdings.
        The holding bit goes first: a task killed in between leaks the frame rather
        than letting the broker drop a reference twice."""
        last = []
        for f in frames:
            self.holdings.discard(f)
            if self.phys.ref_down(f) == 1:
                self.holdings.add(f)
                last.append(f)
        if last:
            self.phys.punch_frames(last)
            if self.gate is not None:
                self.limbo.append((self.gate.next_gen(), last))
            else:
                self.free.extend(last)

    def _drain_limbo(self) -> None:
        horizon = self.gate.horizon() if self.gate is not None else 1 << 64
        keep = []
        for gen, frames in self.limbo:
            if gen <= horizon:
                self.free.extend(frames)
            else:
                keep.append((gen, frames))
        self.limbo = keep

    def give_back(self) -> list[int]:
        """The pool's free frames, taken out of the holdings (a thread ends: they are the
        broker's again).  Frames in limbo stay: a sibling's TLB may still reach them."""
        free, self.free = self.free, []
        for f in free:
            self.holdings.discard(f)
        return free

    def forked(self, holdings: Holdings, runs=()) -> "FramePool":
        """The pool of a forked child: its own holdings bitmap, and as free frames only
        the runs the broker granted it with the fork (the parent's stay the parent's)."""
        pool = FramePool(self.phys, self.refill, holdings)
        if pool.take(runs):
            pool.grant = min(pool.grant * 2, pool.GRANT_MAX)
        return pool
