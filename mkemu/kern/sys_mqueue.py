"""POSIX message queues for the guest: mq_open, mq_unlink, mq_timedsend, mq_timedreceive,
mq_notify, mq_getsetattr.

A queue is a host queue named mkemu-<broker pid>-<guest name>, opened by the
broker (kern/ipcspace.py keeps the machine's names and removes them at its
end) and handed over with SCM_RIGHTS.  An mqd_t is a descriptor, so the
guest's is the host's at the lowest free guest number (close-on-exec, as
Linux's mq_open makes it): poll, epoll, dup and fork need nothing of mkemu.
struct mq_attr and struct sigevent have one layout on aarch64 and x86_64.

Blocking send and receive sleep in the host call in slices (the guest's
CLOCK_REALTIME deadline or the slice end, whichever is first) and look for a
guest signal that acts between slices, with signals held pending while the
host call runs, so a message taken is never lost to a signal.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import struct
import time

from ..ipc import protocol as P
from ..ipc.channel import RequestRefused
from . import brokercall, timespec
from . import hostipc as H
from .signals import HOST_SIGNALS, NSIG
from .sys_fs import _fd, _new_fd
from .systable import s32, syscall

MQ_ATTR_SIZE = 64
SIGEVENT_SIZE = 64
SIGEV_SIGNAL, SIGEV_NONE = 0, 1
SLICE_NS = 50_000_000
MQ_PRIO_MAX = 32768
PATH_MAX = 4096
_OFLAGS = os.O_ACCMODE | os.O_CREAT | os.O_EXCL | os.O_NONBLOCK   # the same bits on both


def _name(t, addr: int) -> str:
    name = t.mem.read_cstring(addr, PATH_MAX)
    return name.decode(errors="surrogateescape")


def _ask(t, op: str, name: str, oflag: int = 0, mode: int = 0, attr=None) -> int:
    try:
        return brokercall.call(t, P.Ipc(op, name, mode, oflag, attr), P.Value).value
    except RequestRefused:
        return -errno.ENOSYS


@syscall("mq_open", "str", "oflags", "mode", "ptr",
         status="partial: a name longer than 255 bytes less the machine's prefix "
                "(mkemu-<broker pid>-) is ENAMETOOLONG")
def sys_mq_open(t, name, oflag, mode, attr):
    name = _name(t, name)
    oflag = s32(oflag)
    raw = t.mem.read(attr, MQ_ATTR_SIZE) if attr and oflag & os.O_CREAT else None
    # the broker opens it: the caller's umask is applied here, as Linux applies it
    r = _ask(t, "mq_open", name, oflag & _OFLAGS, mode & 0o7777 & ~t.fs.umask, raw)
    fds, t.chan.fds = t.chan.fds, []
    if r < 0:
        for fd in fds:
            os.close(fd)
        return r
    (got,) = fds
    low = fcntl.fcntl(got, fcntl.F_DUPFD_CLOEXEC, 0)      # the lowest free number
    if low > got:
        os.close(low)
        low = got
        fcntl.fcntl(low, fcntl.F_SETFD, fcntl.FD_CLOEXEC)
    else:
        os.close(got)
    return _new_fd(t, low)


@syscall("mq_unlink", "str")
def sys_mq_unlink(t, name):
    return _ask(t, "mq_unlink", _name(t, name))


def _sliced(t, host_call, deadline: int | None) -> int:
    """host_call(host absolute CLOCK_REALTIME timespec buffer) in slices until it is not
    a slice's ETIMEDOUT; a guest signal that acts in between is -EINTR."""
    was, t.in_syscall = t.in_syscall, False
    try:
        while True:
            now = time.time_ns()
            until = now + SLICE_NS if deadline is None else min(deadline, now + SLICE_NS)
            ts = ctypes.create_string_buffer(timespec.TIMESPEC.pack(*divmod(until, timespec.NS)), 16)
            r = host_call(ts)
            if r == -errno.ETIMEDOUT and deadline is not None and time.time_ns() >= deadline:
                return r
            if r not in (-errno.ETIMEDOUT, -errno.EINTR):
                return r
            if t.sig.interrupting():
                return -errno.EINTR
    finally:
        t.in_syscall = was


@syscall("mq_timedsend", "fd", "ptr", "size", "uint", "ptr")
def sys_mq_timedsend(t, mqdes, msg_ptr, msg_len, prio, abs_timeout):
    # Linux's order: the priority, the timeout, the descriptor, the size, the bytes
    if prio & 0xFFFF_FFFF >= MQ_PRIO_MAX:
        return -errno.EINVAL
    deadline = timespec.read_ns(t, abs_timeout) if abs_timeout else None
    fd = _fd(t, mqdes)
    if msg_len > _attr(fd)[2]:
        return -errno.EMSGSIZE
    msg = t.mem.read(msg_ptr, msg_len)
    buf = ctypes.create_string_buffer(msg, max(msg_len, 1))
    return _sliced(t, lambda ts: H.call("mq_timedsend", fd, buf, msg_len, prio & 0xFFFF_FFFF, ts),
                   deadline)


def _attr(fd: int) -> tuple[int, int, int, int]:
    old = ctypes.create_string_buffer(MQ_ATTR_SIZE)
    r = H.call("mq_getsetattr", fd, None, old)
    if r < 0:
        raise OSError(-r, "mq_getsetattr")
    return struct.unpack_from("<qqqq", old.raw)


@syscall("mq_timedreceive", "fd", "ptr", "size", "ptr", "ptr")
def sys_mq_timedreceive(t, mqdes, msg_ptr, msg_len, prio_ptr, abs_timeout):
    deadline = timespec.read_ns(t, abs_timeout) if abs_timeout else None
    fd = _fd(t, mqdes)
    msgsize = _attr(fd)[2]
    if msg_len < msgsize:
        return -errno.EMSGSIZE
    buf = ctypes.create_string_buffer(max(msgsize, 1))
    prio = ctypes.c_uint(0)
    n = _sliced(t, lambda ts: H.call("mq_timedreceive", fd, buf, msgsize, ctypes.byref(prio), ts),
                deadline)
    if n >= 0:
        t.mem.write(msg_ptr, buf.raw[:n])          # a fault loses the message, as on Linux
        if prio_ptr:
            t.mem.write_u32(prio_ptr, prio.value)
    return n


@syscall("mq_notify", "fd", "ptr",
         status="partial: SIGEV_SIGNAL's siginfo has no sender (si_pid 0) and a signal the "
                "task cannot catch on the host is EINVAL; SIGEV_THREAD (glibc's, over netlink) "
                "is EINVAL")
def sys_mq_notify(t, mqdes, sevp):
    fd = _fd(t, mqdes)
    buf = None
    if sevp:
        raw = t.mem.read(sevp, SIGEVENT_SIZE)
        _value, signo, notify = struct.unpack_from("<Qii", raw)
        if notify not in (SIGEV_SIGNAL, SIGEV_NONE):
            return -errno.EINVAL
        if notify == SIGEV_SIGNAL and (not 1 <= signo <= NSIG or signo not in HOST_SIGNALS):
            return -errno.EINVAL
        buf = ctypes.create_string_buffer(raw, SIGEVENT_SIZE)
    return H.call("mq_notify", fd, buf)


@syscall("mq_getsetattr", "fd", "ptr", "ptr")
def sys_mq_getsetattr(t, mqdes, newattr, oldattr):
    fd = _fd(t, mqdes)
    new = None
    if newattr:
        new = ctypes.create_string_buffer(t.mem.read(newattr, MQ_ATTR_SIZE), MQ_ATTR_SIZE)
    old = ctypes.create_string_buffer(MQ_ATTR_SIZE)
    r = H.call("mq_getsetattr", fd, new, old)
    if r >= 0 and oldattr:
        t.mem.write(oldattr, old.raw)
    return r
