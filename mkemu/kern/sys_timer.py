"""POSIX per-process timers (timer_create and friends) on the host's own.

A guest timer is a host timer of the task process, made with the same
sigevent: struct sigevent and struct itimerspec have one layout on aarch64
and x86_64, and the timer ids are the host kernel's.  Its signal arrives as a
host signal that the task takes as the guest's; SignalState gives it the
SI_TIMER siginfo (timer id, overrun, sigev_value) from `posix_timers`,
because Python's handlers do not see the host's.  Timers are not inherited
by fork (the host does the same: the child's table is cleared) and are
deleted by execve.  SIGEV_THREAD is glibc's, done with SIGEV_THREAD_ID and a
helper thread: it needs threads.
"""
from __future__ import annotations

import ctypes
import errno
import os
import struct

from . import timespec
from .signals import HOST_SIGNALS, NSIG
from .systable import s32, syscall

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
# x86_64 numbers of the host calls
_TIMER_CREATE, _TIMER_SETTIME, _TIMER_GETTIME, _TIMER_GETOVERRUN, _TIMER_DELETE = \
    222, 223, 224, 225, 226
SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
_SIGEVENT = struct.Struct("<Qii")           # sigev_value, sigev_signo, sigev_notify
SIGEVENT_SIZE = 64
SIGALRM = 14


def _host(nr: int, *args) -> int:
    r = _libc.syscall(nr, *args)
    if r < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return r


@syscall("timer_create", "clock", "ptr", "ptr",
         status="partial: SIGEV_SIGNAL, SIGEV_NONE and SIGEV_THREAD_ID to the caller; "
                "SIGEV_THREAD needs threads (EINVAL); a signal the task cannot catch on "
                "the host (SIGSEGV, SIGKILL, ...) is EINVAL")
def sys_timer_create(t, clock, sevp, timerid_ptr):
    clock = s32(clock)
    if clock < 0:
        return -errno.EINVAL           # CPU-time clocks of other processes and threads
    if sevp:
        raw = bytearray(t.mem.read(sevp, SIGEVENT_SIZE))
        value, signo, notify = _SIGEVENT.unpack_from(raw)
    else:
        value, signo, notify = None, SIGALRM, SIGEV_SIGNAL
        raw = bytearray(SIGEVENT_SIZE)
    if notify == SIGEV_THREAD_ID:
        if struct.unpack_from("<i", raw, 16)[0] != t.tid:
            return -errno.EINVAL
        struct.pack_into("<i", raw, 16, os.getpid())
    elif notify not in (SIGEV_SIGNAL, SIGEV_NONE):
        return -errno.EINVAL
    if notify != SIGEV_NONE and (not 1 <= signo <= NSIG or signo not in HOST_SIGNALS):
        return -errno.EINVAL
    out = ctypes.c_int(0)
    if value is None:
        # no sigevent: SIGALRM whose value is the timer's id, known once made
        struct.pack_into("<Qii", raw, 0, 0, SIGALRM, SIGEV_SIGNAL)
    buf = ctypes.create_string_buffer(bytes(raw), SIGEVENT_SIZE)
    _host(_TIMER_CREATE, clock, buf, ctypes.byref(out))
    timer = out.value
    t.sig.posix_timers[timer] = (signo if notify != SIGEV_NONE else 0,
                                 timer if value is None else value)
    try:
        t.mem.write_u32(timerid_ptr, timer)
    except BaseException:
        _delete(t, timer)
        raise
    return 0


def _known(t, timer: int) -> int:
    timer = s32(timer)
    if timer < 0:
        raise OSError(errno.EINVAL, "bad timer id")
    return timer


@syscall("timer_settime", "int", "flags", "ptr", "ptr")
def sys_timer_settime(t, timer, flags, new, old):
    timer = _known(t, timer)
    timespec.settime(t, new, old, lambda spec, prev: _host(_TIMER_SETTIME, timer, flags & 1,
                                                           spec, prev))
    return 0


@syscall("timer_gettime", "int", "ptr")
def sys_timer_gettime(t, timer, curr):
    timer = _known(t, timer)
    timespec.gettime(t, curr, lambda cur: _host(_TIMER_GETTIME, timer, cur))
    return 0


@syscall("timer_getoverrun", "int")
def sys_timer_getoverrun(t, timer):
    return _host(_TIMER_GETOVERRUN, _known(t, timer))


def _delete(t, timer: int) -> None:
    _host(_TIMER_DELETE, timer)
    t.sig.posix_timers.pop(timer, None)


@syscall("timer_delete", "int")
def sys_timer_delete(t, timer):
    _delete(t, _known(t, timer))
    return 0


def delete_all(t) -> None:
    """execve: the old image's timers go (the host process, which stays, keeps them
    otherwise)."""
    for timer in list(t.sig.posix_timers):
        try:
            _delete(t, timer)
        except OSError:
            t.sig.posix_timers.pop(timer, None)
