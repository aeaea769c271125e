"""struct timespec in guest memory (the same 16 bytes on aarch64 and x86_64)."""
from __future__ import annotations

import ctypes
import errno
import struct

TIMESPEC = struct.Struct("<qq")
NS = 1_000_000_000


def read_ns(t, addr: int) -> int:
    """The timespec at addr as nanoseconds; EINVAL for a negative or unnormalized one."""
    sec, nsec = TIMESPEC.unpack(t.mem.read(addr, 16))
    if sec < 0 or not 0 <= nsec < NS:
        raise OSError(errno.EINVAL, "bad timespec")
    return sec * NS + nsec


ITIMERSPEC_SIZE = 32          # struct itimerspec: two timespecs, one layout on both


def settime(t, new: int, old: int, host_call) -> None:
    """A settime call (timer_settime, timerfd_settime) on the host's own timer:
    host_call(new buffer, old buffer) gets the guest's itimerspec as it is, and the
    previous one goes back to old when asked for."""
    new_buf = ctypes.create_string_buffer(t.mem.read(new, ITIMERSPEC_SIZE), ITIMERSPEC_SIZE)
    old_buf = ctypes.create_string_buffer(ITIMERSPEC_SIZE)
    host_call(new_buf, old_buf if old else None)
    if old:
        t.mem.write(old, old_buf.raw)


def gettime(t, cur: int, host_call) -> None:
    """A gettime call: host_call(buffer) fills the itimerspec the guest reads at cur."""
    buf = ctypes.create_string_buffer(ITIMERSPEC_SIZE)
    host_call(buf)
    t.mem.write(cur, buf.raw)
