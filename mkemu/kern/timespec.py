"""struct timespec in guest memory (the same 16 bytes on aarch64 and x86_64)."""
from __future__ import annotations

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
