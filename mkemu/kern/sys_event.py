"""Event descriptors and epoll: epoll_*, eventfd2, timerfd_*, signalfd4, pidfd_*.

Each is a host object at the guest's descriptor number, so poll, select,
epoll, fork, dup and close treat it as Linux does without mkemu's help.

* epoll: a host epoll.  The guest's struct epoll_event is 16 bytes (u32
  events, 4 bytes of padding, u64 data), x86_64's a packed 12: the handlers
  repack it, and the guest's 64-bit data word is kept by the host epoll
  itself (its data field is 64 bits too).  So there is no table of data
  words to keep in step: an epoll shared by fork, dup'd or passed to another
  process carries the words with it, as on Linux.  The event bits are the
  same on both.
  A wait blocks the host signals and sleeps in the host's epoll_pwait2 with
  them open, so a host signal either arrives before the sleep (its handler
  has run: the guest signal is pending and checked) or breaks it; never
  between the check and the sleep.  Events taken from the host are always
  written to the guest: signals that come meanwhile stay pending.
* eventfd2, timerfd: the host's (same flags, clocks and struct itimerspec);
  reads and writes go through read/write.
* signalfd4: kern/signalfd.py (the guest's own signals, not the host's).
* pidfd_open: a host pidfd of the process's task (a task is a host process
  that ends when the guest process does), so it is readable when the process
  ends; pidfd_send_signal finds the guest pid again and sends through the
  broker, as kill does.
"""
from __future__ import annotations

import ctypes
import errno
import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import struct
import time

from ..ipc import protocol as P
from ..lazyre import lazy_compile
from . import brokercall, guestpids, sigframe, signalfd, sys_fs, timespec
from .signals import HOST_SIGNALS, NSIG, UNBLOCKABLE
from .sys_fs import _fd, _new_fd
from .sys_signal import read_sigset
from .systable import s32, syscall

M32 = 0xFFFF_FFFF
O_CLOEXEC, O_NONBLOCK = 0o2000000, 0o4000      # the same bits on aarch64 and x86_64

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_pyapi = ctypes.pythonapi
_SYS_EPOLL_PWAIT, _SYS_EPOLL_PWAIT2 = 281, 441      # x86_64


def _check(r: int) -> int:
    if r < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return r


# ---- epoll ---------------------------------------------------------------------------------
EPOLL_CLOEXEC = O_CLOEXEC
EPOLL_CTL_DEL = 2
_GUEST_EVENT = struct.Struct("<I4xQ")     # aarch64 struct epoll_event
_HOST_EVENT = struct.Struct("<IQ")        # x86_64's, __attribute__((packed))
EP_MAX_EVENTS = 0x7FFF_FFFF // _GUEST_EVENT.size
_BATCH = 1024                             # events taken from the host per call at most


@syscall("epoll_create1", "flags")
def sys_epoll_create1(t, flags):
    if flags & M32 & ~EPOLL_CLOEXEC:
        return -errno.EINVAL
    return _new_fd(t, _check(_libc.epoll_create1(ctypes.c_int(flags & EPOLL_CLOEXEC))))


@syscall("epoll_ctl", "fd", "int", "fd", "ptr")
def sys_epoll_ctl(t, epfd, op, fd, event):
    op = s32(op)
    host_event = None
    if op != EPOLL_CTL_DEL:            # Linux reads the event first (EFAULT before EBADF)
        events, data = _GUEST_EVENT.unpack(t.mem.read(event, _GUEST_EVENT.size))
        host_event = ctypes.create_string_buffer(_HOST_EVENT.pack(events, data),
                                                 _HOST_EVENT.size)
    epfd, fd = _fd(t, epfd), _fd(t, fd)
    _check(_libc.epoll_ctl(epfd, op, fd, host_event))
    return 0


def _sigset_bytes(sigs) -> bytes:
    return struct.pack("<Q", sum(1 << (int(s) - 1) for s in sigs if 0 < int(s) <= 64))


_have_pwait2 = True


def _host_wait(epfd: int, buf, nmax: int, timeout_ns: int | None, open_mask: bytes | None) -> int:
    """One host epoll_pwait2 (epoll_pwait in whole milliseconds on a host older than
    Linux 5.11); timeout None sleeps until an event or a signal."""
    global _have_pwait2
    mask = None if open_mask is None else ctypes.create_string_buffer(open_mask, 8)
    if _have_pwait2:
        ts = None if timeout_ns is None else ctypes.create_string_buffer(
            timespec.TIMESPEC.pack(*divmod(timeout_ns, timespec.NS)), 16)
        r = _libc.syscall(ctypes.c_long(_SYS_EPOLL_PWAIT2), ctypes.c_long(epfd), buf,
                          ctypes.c_long(nmax), ts, mask, ctypes.c_long(8))
        if r >= 0 or ctypes.get_errno() != errno.ENOSYS:
            return r
        _have_pwait2 = False
    ms = -1 if timeout_ns is None else -(-timeout_ns // 1_000_000)
    return _libc.syscall(ctypes.c_long(_SYS_EPOLL_PWAIT), ctypes.c_long(epfd), buf,
                         ctypes.c_long(nmax), ctypes.c_long(min(ms, 0x7FFF_FFFF)), mask,
                         ctypes.c_long(8))


def _wait(t, epfd: int, nmax: int, deadline: int | None) -> tuple[int, bytes]:
    """(count, host events) from the host epoll, or (-EINTR, b"") when a guest signal that
    acts came first.  The caller holds signals pending (t.in_syscall False)."""
    buf = ctypes.create_string_buffer(_HOST_EVENT.size * nmax)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HOST_SIGNALS)
    try:
        _pyapi.PyErr_CheckSignals()      # signals that came before the block are pending now
        open_mask = _sigset_bytes(old)
        while True:
            # what is ready comes first: Linux's ep_poll sends events before it looks
            # at signals
            n = _check(_host_wait(epfd, buf, nmax, 0, None))
            if n:
                return n, buf.raw[:_HOST_EVENT.size * n]
            if t.sig.interrupting():
                return -errno.EINTR, b""
            left = None if deadline is None else deadline - time.monotonic_ns()
            if left is not None and left <= 0:
                return 0, b""
            n = _host_wait(epfd, buf, nmax, left, open_mask)
            if n > 0:
                return n, buf.raw[:_HOST_EVENT.size * n]
            if n < 0 and ctypes.get_errno() != errno.EINTR:
                _check(n)
            _pyapi.PyErr_CheckSignals()  # a host signal broke the sleep: its handler runs
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _pwait(t, epfd, events, maxevents, deadline, sigmask, sigsetsize) -> int:
    mask = None
    if sigmask:
        if sigsetsize != 8:
            return -errno.EINVAL
        mask = read_sigset(t, sigmask)
    maxevents = s32(maxevents)
    if not 0 < maxevents <= EP_MAX_EVENTS:
        return -errno.EINVAL
    nmax = min(maxevents, _BATCH)
    epfd = _fd(t, epfd)
    if mask is not None:
        t.sig.wait_mask(t, mask)
    # from here a signal only becomes pending: events taken must reach the guest
    t.in_syscall = False
    try:
        n, raw = _wait(t, epfd, nmax, deadline)
    except OSError:
        t.sig.restore_mask()
        raise
    if n == -errno.EINTR:
        return n             # the handler runs with the caller's mask saved (sigreturn restores)
    t.sig.restore_mask()
    # a buffer that faults loses edge-triggered and one-shot events (Linux puts them back
    # on the ready list; level-triggered ones the host reports again anyway)
    t.mem.write(events, b"".join(_GUEST_EVENT.pack(*_HOST_EVENT.unpack_from(raw, off))
                                 for off in range(0, len(raw), _HOST_EVENT.size)))
    return n


_PWAIT_STATUS = ("partial: an events buffer that faults loses the edge-triggered and one-shot "
                 "events taken from the host (Linux keeps them ready)")


@syscall("epoll_pwait", "fd", "ptr", "int", "int", "ptr", "size", status=_PWAIT_STATUS)
def sys_epoll_pwait(t, epfd, events, maxevents, timeout, sigmask, sigsetsize):
    ms = s32(timeout)
    deadline = None if ms < 0 else time.monotonic_ns() + ms * 1_000_000
    return _pwait(t, epfd, events, maxevents, deadline, sigmask, sigsetsize)


@syscall("epoll_pwait2", "fd", "ptr", "int", "ptr", "ptr", "size", status=_PWAIT_STATUS)
def sys_epoll_pwait2(t, epfd, events, maxevents, timeout, sigmask, sigsetsize):
    deadline = None if not timeout else time.monotonic_ns() + timespec.read_ns(t, timeout)
    return _pwait(t, epfd, events, maxevents, deadline, sigmask, sigsetsize)


# ---- eventfd and timerfd -------------------------------------------------------------------
_COUNTERS = ("anon_inode:[eventfd]", "anon_inode:[timerfd]")


def _counter_read(t, fd: int, count: int) -> bytes | None:
    """sys_fs.special_reads for eventfds and timerfds: a read of less than 8 bytes is
    EINVAL at once, before the host read would have waited for the counter."""
    if count >= 8:
        return None
    try:
        is_counter = os.readlink(f"/proc/self/fd/{fd}") in _COUNTERS
    except OSError:
        is_counter = False
    if is_counter:
        raise OSError(errno.EINVAL, "read of less than 8 bytes")
    sys_fs.special_reads.pop(fd, None)       # closed, and the number reused
    return None


def _counter_fd(t, fd: int) -> int:
    fd = _new_fd(t, fd)
    sys_fs.special_reads[fd] = _counter_read
    return fd


@syscall("eventfd2", "uint", "flags")
def sys_eventfd2(t, initval, flags):
    # EFD_CLOEXEC, EFD_NONBLOCK and EFD_SEMAPHORE are the same on both; the host checks them
    return _counter_fd(t, os.eventfd(initval & M32, s32(flags)))




@syscall("timerfd_create", "clock", "flags")
def sys_timerfd_create(t, clockid, flags):
    # clock ids and TFD_CLOEXEC/TFD_NONBLOCK are the same numbers; the host checks them
    return _counter_fd(t, _check(_libc.timerfd_create(ctypes.c_int(s32(clockid)),
                                                      ctypes.c_int(s32(flags)))))


@syscall("timerfd_settime", "fd", "flags", "ptr", "ptr")
def sys_timerfd_settime(t, fd, flags, new, old):
    host_fd = _fd(t, fd)
    timespec.settime(t, new, old, lambda spec, prev: _check(_libc.timerfd_settime(
        host_fd, ctypes.c_int(s32(flags)), spec, prev)))
    return 0


@syscall("timerfd_gettime", "fd", "ptr")
def sys_timerfd_gettime(t, fd, cur):
    host_fd = _fd(t, fd)
    timespec.gettime(t, cur, lambda buf: _check(_libc.timerfd_gettime(host_fd, buf)))
    return 0


# ---- signalfd ------------------------------------------------------------------------------
@syscall("signalfd4", "fd", "ptr", "size", "flags",
         status="partial: the descriptor is a host pipe to fstat, F_GETFL and /proc/self/fd, "
                "and a write is EBADF; passed to another process it reads as that pipe; "
                "after fork a new mask is not shared; under EPOLLET only the first pending "
                "signal makes an edge")
def sys_signalfd4(t, fd, mask_ptr, size, flags):
    if size != 8:
        return -errno.EINVAL
    mask = read_sigset(t, mask_ptr) & ~UNBLOCKABLE
    if flags & M32 & ~(signalfd.SFD_CLOEXEC | signalfd.SFD_NONBLOCK):
        return -errno.EINVAL
    if s32(fd) == -1:
        return signalfd.create(t, mask, flags)
    fd = _fd(t, fd)
    os.fstat(fd)                           # EBADF for a descriptor that is not open
    s = signalfd.lookup(fd)
    if s is None:
        return -errno.EINVAL
    signalfd.set_mask(s, mask)
    return fd


# ---- pidfd ---------------------------------------------------------------------------------
PIDFD_NONBLOCK, PIDFD_THREAD = O_NONBLOCK, 0o200
PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_SIGNAL_PROCESS_GROUP = 1, 2, 4
_FDINFO_PID = lazy_compile(rb"(?m)^Pid:\s*(-?\d+)")     # ((?m): re.M without importing re)
# (st_dev, st_ino) of a pidfd -> its guest pid, to know it once the task is reaped: the pipe
# of a process that had ended, or a host pidfd where the host gives each pid an inode of
# its own (pidfs, Linux 6.9); None where two pids share one (an older host's anon inode)
_by_inode: dict[tuple[int, int], int | None] = {}


def _remember(fd: int, pid: int) -> None:
    st = os.fstat(fd)
    key = (st.st_dev, st.st_ino)
    _by_inode[key] = pid if _by_inode.get(key, pid) == pid else None


def _pidfd_read(t, fd: int, count: int) -> bytes | None:
    """sys_fs.special_reads: a pidfd has no read (EINVAL); the host read would wait."""
    try:
        st = os.fstat(fd)
        is_pidfd = (st.st_dev, st.st_ino) in _by_inode or \
            os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[pidfd]"
    except OSError:
        is_pidfd = False
    if is_pidfd:
        raise OSError(errno.EINVAL, "read of a pidfd")
    sys_fs.special_reads.pop(fd, None)
    return None


def _ended_pidfd(pid: int, nonblock: bool) -> int:
    """The pidfd of a process that has ended (its task is gone): a pipe that polls readable
    and hung up, as a pidfd of a reaped process does."""
    r, w = os.pipe2(os.O_CLOEXEC | (os.O_NONBLOCK if nonblock else 0))
    os.write(w, b"\0")
    os.close(w)
    _remember(r, pid)
    return r


@syscall("pidfd_open", "int", "flags",
         status="partial: a host pidfd of the process's task: /proc/self/fdinfo shows its host "
                "pid, waitid(P_PIDFD) and pidfd_getfd do not take it; a process that had "
                "already ended is a pipe that polls readable")
def sys_pidfd_open(t, pid, flags):
    pid, flags = s32(pid), flags & M32
    if flags & ~(PIDFD_NONBLOCK | PIDFD_THREAD) or pid <= 0:
        return -errno.EINVAL
    info = t.proc_info(pid)
    if info is None:
        return -errno.ESRCH
    host = info["host_pid"]
    fd = -1
    if info["state"] != "Z" and host:
        try:
            fd = os.pidfd_open(host, flags & PIDFD_NONBLOCK)
        except ProcessLookupError:
            fd = -1
        # the broker reaps a task only after the guest process has ended, so a host pid
        # still alive now was not reused between the two questions
        again = t.proc_info(pid) if fd >= 0 else None
        if fd >= 0 and (again is None or again["state"] == "Z" or again["host_pid"] != host):
            os.close(fd)
            fd = -1
    if fd < 0:
        fd = _ended_pidfd(pid, bool(flags & PIDFD_NONBLOCK))
    else:
        guestpids.remember(host, pid)
        _remember(fd, pid)
    fd = _new_fd(t, fd)
    sys_fs.special_reads[fd] = _pidfd_read
    return fd


def pidfd_target(t, fd: int) -> tuple[int | None, str]:
    """(guest pid, "running", "ended" (a zombie) or "gone") of the process a pidfd names;
    EBADF if fd is no pidfd."""
    st = os.fstat(fd)
    try:
        with open(f"/proc/self/fdinfo/{fd}", "rb") as f:
            found = _FDINFO_PID.search(f.read())
    except OSError:
        found = None
    host = int(found.group(1)) if found is not None else 0
    if host <= 0:                # an ended process (its task is reaped), or not a pidfd
        key = (st.st_dev, st.st_ino)
        if found is None and key not in _by_inode:
            raise OSError(errno.EBADF, "not a pidfd")
        pid = _by_inode.get(key)
        info = t.proc_info(pid) if pid is not None else None
        return pid, "ended" if info is not None and info["state"] == "Z" else "gone"
    pid = guestpids.guest_pid_of_host(t, host) or None
    return pid, "gone" if pid is None else "running"


@syscall("pidfd_send_signal", "fd", "signal", "ptr", "flags",
         status="partial: on a host without pidfs (Linux < 6.9) a pidfd opened while the process ran is ESRCH "
                "once it has ended (Linux: 0 until it is reaped)")
def sys_pidfd_send_signal(t, pidfd, sig, info, flags):
    flags &= M32
    scope = flags & (PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP)
    if flags != scope or bin(scope).count("1") > 1:
        return -errno.EINVAL
    pid, state = pidfd_target(t, _fd(t, pidfd))
    siginfo = None
    if info:
        siginfo = t.mem.read(info, sigframe.SIGINFO_SIZE)
        signo, _, code = struct.unpack_from("<iii", siginfo)
        if signo != sig:
            return -errno.EINVAL
        # only a process signalling itself may claim to be the kernel
        if (pid != t.pid or scope == PIDFD_SIGNAL_PROCESS_GROUP) and \
                (code >= 0 or code == sigframe.SI_TKILL):
            return -errno.EPERM
    if not 0 <= sig <= NSIG:
        return -errno.EINVAL
    if state != "running":
        return 0 if state == "ended" else -errno.ESRCH    # a zombie takes (and drops) it
    if siginfo is None:
        code = sigframe.SI_TKILL if scope == PIDFD_SIGNAL_THREAD else sigframe.SI_USER
        siginfo = sigframe.siginfo_kill(sig, code, t.pid, t.uid)
    siginfo = sigframe.with_signo(siginfo, sig)
    if scope == PIDFD_SIGNAL_PROCESS_GROUP:
        target = t.proc_info(pid)
        if target is None:
            return -errno.ESRCH
        reply = brokercall.call(t, P.Kill(-target["pgid"], sig, siginfo), P.KillReply)
        if reply.result or not reply.me_too:
            return reply.result
    elif pid != t.pid:
        return brokercall.call(t, P.Kill(pid, sig, siginfo), P.KillReply).result
    if sig:
        t.sig.raise_signal(sig, siginfo)
    return 0
