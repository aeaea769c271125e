"""signalfd(2) for the guest: its own pending signals, read as 128-byte records.

(kern/sigfd.py is the broker's host signalfd; the guest's signals are mkemu's
pending entries in SignalState, which no host signalfd can see.)

A guest signalfd is the read end of a host pipe.  mkemu keeps one byte in the
pipe while a signal of the descriptor's mask is pending, so poll, select and
epoll see it readable exactly then, with no emulation of their own: the
pending set calls `_refresh` after every change (`PendingSignals.watch`), also
when a host signal becomes a guest one in the task's handler.  A guest read
goes to `GuestSignalFd.read` through sys_fs.special_reads, which dequeues the
signals and converts their siginfo as Linux's signalfd_copyinfo does.

Each signalfd holds two reserved descriptors: the pipe's write end and a
duplicate of the read end (to drain it, and to know the pipe by its inode
when a guest descriptor number is looked up).  A signalfd no guest
descriptor names any more is closed when the next one is made.  A forked
child reads its own signals, so at fork it gets pipes of its own, put at the
same descriptor numbers (`_after_fork`).

Limits: the descriptor is a pipe to fstat, F_GETFL (O_RDONLY) and
/proc/self/fd; a write is EBADF (Linux: EINVAL); one passed to another
process (SCM_RIGHTS) or reopened through /proc/self/fd reads as the pipe;
after fork a new mask set by one process is not the other's; under EPOLLET
an edge comes when the first matching signal becomes pending, not for each
signal sent.
"""
from __future__ import annotations

import errno
import fcntl
import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import struct
import termios

from ..record import record as record_class   # record() below makes a siginfo record
from . import sys_fs
from .errors import InterruptedSyscall
from .sigframe import SI_KERNEL, SI_TIMER, SI_USER

RECORD_SIZE = 128
SFD_CLOEXEC, SFD_NONBLOCK = 0o2000000, 0o4000
M32 = 0xFFFF_FFFF

_HEAD = struct.Struct("<iii")          # si_signo, si_errno, si_code
_SI_SIGIO = -5
# siginfo_layout() of the kernel: the union member a (signo, si_code) fills
KILL, TIMER, POLL, FAULT, MCEERR, CHLD, RT, SYS = range(8)
# signals whose positive si_code values have a layout of their own: (last code, layout)
_SPECIFIC = {signal.SIGILL: (11, FAULT), signal.SIGFPE: (15, FAULT),
             signal.SIGSEGV: (10, FAULT), signal.SIGBUS: (5, FAULT),
             signal.SIGTRAP: (6, FAULT), signal.SIGCHLD: (6, CHLD),
             signal.SIGPOLL: (6, POLL), signal.SIGSYS: (2, SYS)}
_NSIGPOLL = 6
_BUS_MCEERR = (4, 5)


def layout(signo: int, code: int) -> int:
    if SI_USER < code < SI_KERNEL:
        limit, kind = _SPECIFIC.get(signo, (0, KILL))
        if code <= limit:
            return MCEERR if signo == signal.SIGBUS and code in _BUS_MCEERR else kind
        return POLL if code <= _NSIGPOLL else KILL
    if code == SI_TIMER:
        return TIMER
    if code == _SI_SIGIO:
        return POLL
    return RT if code < 0 else KILL


def record(info: bytes) -> bytes:
    """struct signalfd_siginfo from a 128-byte arm64 siginfo (signalfd_copyinfo)."""
    signo, err, code = _HEAD.unpack_from(info)
    out = bytearray(RECORD_SIZE)
    struct.pack_into("<Iii", out, 0, signo & M32, err, code)
    kind = layout(signo, code)
    u = info[16:]                     # the union: its members start at offset 16
    if kind in (KILL, RT, CHLD):
        struct.pack_into("<II", out, 12, *struct.unpack_from("<II", u))     # ssi_pid, ssi_uid
    if kind in (TIMER, RT):
        ptr, = struct.unpack_from("<Q", u, 8)                               # si_value
        struct.pack_into("<iQ", out, 44, struct.unpack_from("<i", u, 8)[0], ptr)
    if kind == TIMER:
        tid, overrun = struct.unpack_from("<iI", u)
        struct.pack_into("<I", out, 24, tid & M32)                          # ssi_tid
        struct.pack_into("<I", out, 32, overrun)                            # ssi_overrun
    elif kind == POLL:
        band, fd = struct.unpack_from("<qi", u)
        struct.pack_into("<i", out, 20, fd)                                 # ssi_fd
        struct.pack_into("<I", out, 28, band & M32)                         # ssi_band
    elif kind in (FAULT, MCEERR):
        struct.pack_into("<Q", out, 72, struct.unpack_from("<Q", u)[0])     # ssi_addr
        if kind == MCEERR:
            struct.pack_into("<h", out, 80, struct.unpack_from("<h", u, 8)[0])
    elif kind == CHLD:
        status, utime, stime = struct.unpack_from("<i4xqq", u, 8)
        struct.pack_into("<i", out, 40, status)
        struct.pack_into("<qq", out, 56, utime, stime)
    elif kind == SYS:
        call_addr, nr, arch = struct.unpack_from("<QiI", u)
        struct.pack_into("<i", out, 84, nr)
        struct.pack_into("<Q", out, 88, call_addr)
        struct.pack_into("<I", out, 96, arch)
    return bytes(out)


@record_class(eq=False)
class GuestSignalFd:
    mask: int
    ident: tuple[int, int]     # the pipe's (st_dev, st_ino)
    rd: int                    # reserved: the read end (drained)
    wr: int                    # reserved: the write end (one byte while a signal is pending)
    marked: bool = False

    def names(self, fd: int) -> bool:
        try:
            st = os.fstat(fd)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self.ident

    def read(self, t, fd: int, count: int) -> bytes | None:
        """sys_fs.special_reads: up to count // 128 records, sleeping for the first."""
        if not self.names(fd):                  # closed and reused for something else
            if sys_fs.special_reads.get(fd) == self.read:
                del sys_fs.special_reads[fd]
            return None
        if count < RECORD_SIZE:
            raise OSError(errno.EINVAL, "signalfd read of less than 128 bytes")
        nonblock = not os.get_blocking(fd)
        s = t.sig
        out = []
        was, t.in_syscall = t.in_syscall, False   # a dequeued signal must reach the guest
        try:
            while len(out) < count // RECORD_SIZE:
                sig = s.next_signal(self.mask)
                if sig is not None:
                    out.append(record(s.dequeue(sig).info))
                    continue
                if out:
                    break
                if nonblock:
                    raise OSError(errno.EAGAIN, "no signal pending")
                if s.interrupting():
                    raise InterruptedSyscall()    # -ERESTARTSYS in Linux: SA_RESTART restarts it
                s.sleep(t, lambda: s.next_signal(self.mask) is not None or s.interrupting())
        finally:
            t.in_syscall = was
        return b"".join(out)


_task = None                                   # the task of this process (one per process)
_open: list[GuestSignalFd] = []
_fork_hook = False


def _refresh() -> None:
    """Make each signalfd's pipe hold a byte exactly while a signal of its mask is pending.

    It runs from the task's host signal handler too, so it may interrupt itself:
    each pass recomputes and loops until the pipe matches, whatever ran between."""
    pending = _task.sig.pending
    for s in _open:
        while True:
            want = any(s.mask >> (sig - 1) & 1 for sig in list(pending))
            if want == s.marked:
                break
            if want:
                os.write(s.wr, b"\1")
            else:
                _drain(s.rd)
            s.marked = want


def _drain(fd: int) -> None:
    # the read end's O_NONBLOCK is the guest's (one open file): read only what is there
    n = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    if n:
        os.read(fd, n)


def lookup(fd: int) -> GuestSignalFd | None:
    reader = sys_fs.special_reads.get(fd)
    s = getattr(reader, "__self__", None)
    return s if isinstance(s, GuestSignalFd) and s.names(fd) else None


def _guest_fds(s: GuestSignalFd) -> list[int]:
    return [fd for fd, reader in list(sys_fs.special_reads.items())
            if getattr(reader, "__self__", None) is s and s.names(fd)]


def _close(t, s: GuestSignalFd) -> None:
    for fd in (s.rd, s.wr):
        t.reserved_fds.discard(fd)
        os.close(fd)


def _sweep(t) -> None:
    """Close the signalfds no guest descriptor names any more."""
    for s in list(_open):
        if not _guest_fds(s):
            _open.remove(s)
            _close(t, s)
    for fd, reader in list(sys_fs.special_reads.items()):
        if isinstance(getattr(reader, "__self__", None), GuestSignalFd) and \
                reader.__self__ not in _open:
            del sys_fs.special_reads[fd]


def _new_pipe(t, nonblock: bool) -> tuple[int, int, int, tuple[int, int]]:
    """(guest read end, reserved read end, reserved write end, identity) of a new pipe."""
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        os.set_blocking(w, False)
        os.set_blocking(r, not nonblock)
        w = t.reserve_fd(w)
        rd = t.reserve_fd(os.dup(r))
    except BaseException:
        os.close(r)
        raise
    st = os.fstat(rd)
    return r, rd, w, (st.st_dev, st.st_ino)


def create(t, mask: int, flags: int) -> int:
    """A new guest signalfd for the signals in mask; its descriptor."""
    global _task, _fork_hook
    _task = t
    _sweep(t)
    r, rd, wr, ident = _new_pipe(t, bool(flags & SFD_NONBLOCK))
    s = GuestSignalFd(mask, ident, rd, wr)
    try:
        fd = sys_fs._new_fd(t, r)                 # EMFILE above the guest's limit
    except BaseException:
        _close(t, s)
        raise
    os.set_inheritable(fd, not flags & SFD_CLOEXEC)
    _open.append(s)
    sys_fs.special_reads[fd] = s.read
    t.sig.pending.watch = _refresh
    if not _fork_hook:
        os.register_at_fork(after_in_child=_after_fork)
        _fork_hook = True
    _refresh()
    return fd


def set_mask(s: GuestSignalFd, mask: int) -> None:
    s.mask = mask
    _refresh()


def _after_fork() -> None:
    """In a forked child (kern/fork.py's host fork runs the at-fork hooks): each signalfd
    gets a pipe of its own at the same guest descriptor numbers, so that the child's
    pending signals and the parent's never share one."""
    t = _task
    if t is None or not _open:
        return
    for s in list(_open):
        fds = _guest_fds(s)
        if not fds:
            _open.remove(s)
            _close(t, s)
            continue
        r, rd, wr, ident = _new_pipe(t, not os.get_blocking(fds[0]))
        for fd in fds:
            os.dup2(r, fd, inheritable=os.get_inheritable(fd))
        os.close(r)
        _close(t, s)
        s.rd, s.wr, s.ident, s.marked = rd, wr, ident, False
    _refresh()
