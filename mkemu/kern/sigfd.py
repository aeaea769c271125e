"""signalfd(2) for the broker: blocked signals read as records in its select loop.

The broker must know who sent a signal: ^C on its terminal (si_code
SI_KERNEL) goes to the guest's foreground process group, while the
supervisor's requests come as its own real-time carriers.  Python's signal
handlers do not say who sent a signal and run between any two bytecodes
(in the middle of a process-table change); a signalfd is read where the
loop chooses and carries the sender's si_code and pid.
"""
from __future__ import annotations

import ctypes
import os
import struct

_libc = ctypes.CDLL(None, use_errno=True)
SFD_NONBLOCK, SFD_CLOEXEC = 0o4000, 0o2000000
# struct signalfd_siginfo: 128 bytes; ssi_signo, ssi_errno, ssi_code, ssi_pid come first
_RECORD = struct.Struct("<IiiI")
RECORD_SIZE = 128


def open_signalfd(signals) -> int:
    """A non-blocking signalfd for signals (the caller blocks them)."""
    mask = 0
    for s in signals:
        mask |= 1 << (int(s) - 1)
    buf = ctypes.create_string_buffer(struct.pack("<Q", mask), 8)
    fd = _libc.signalfd(-1, buf, SFD_NONBLOCK | SFD_CLOEXEC)   # glibc passes _NSIG/8 bytes
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return fd


def read_signals(fd: int) -> list[tuple[int, int, int]]:
    """The (signo, si_code, si_pid) of every signal waiting on fd."""
    got = []
    while True:
        try:
            data = os.read(fd, RECORD_SIZE * 16)
        except BlockingIOError:
            return got
        for off in range(0, len(data) - RECORD_SIZE + 1, RECORD_SIZE):
            signo, _errno, code, pid = _RECORD.unpack_from(data, off)
            got.append((signo, code, pid))
