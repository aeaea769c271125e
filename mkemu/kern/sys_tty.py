"""Terminals seen from a task: the tty ioctls and the job-control checks.

termios, window sizes and pty numbering are the host terminal's own (the
structures and request numbers are asm-generic on both aarch64 and x86_64),
so they go to the host.  What belongs to guest sessions -- the controlling
terminal, its foreground group, and whether a background process may read
or change the terminal -- is asked of the broker (kern/terminals.py).
"""
from __future__ import annotations

import errno
import fcntl
import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import stat
import termios

from ..ipc import protocol as P
from . import brokercall, fdkinds, sigframe
from .errors import InterruptedSyscall
from .signals import SIG_IGN, bit
from .systable import s32
from .terminals import SIGNALLED

TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TCGETA, TCSETA, TCSETAW, TCSETAF = 0x5405, 0x5406, 0x5407, 0x5408
TCSBRK, TCXONC, TCFLSH = 0x5409, 0x540A, 0x540B
TIOCEXCL, TIOCNXCL, TIOCSCTTY = 0x540C, 0x540D, 0x540E
TIOCGPGRP, TIOCSPGRP, TIOCOUTQ = 0x540F, 0x5410, 0x5411
TIOCGWINSZ, TIOCSWINSZ = 0x5413, 0x5414
FIONREAD, TIOCNOTTY, TIOCGSID = 0x541B, 0x5422, 0x5429
TCSBRKP, TIOCGEXCL = 0x5425, 0x80045440
TIOCGPTN, TIOCSPTLCK, TIOCGPTLCK, TIOCGPTPEER = 0x80045430, 0x40045431, 0x80045439, 0x5441

# requests that change the terminal: a background process gets SIGTTOU for them
_CHANGES = frozenset((TCSETS, TCSETSW, TCSETSF, TCSETA, TCSETAW, TCSETAF, TCXONC, TCFLSH))
TTY_REQUESTS = frozenset((TCGETS, TCGETA, TCSBRK, TCSBRKP, TIOCEXCL, TIOCNXCL, TIOCGEXCL,
                          TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCOUTQ, TIOCGWINSZ, TIOCSWINSZ,
                          TIOCNOTTY, TIOCGSID, TIOCGPTN, TIOCSPTLCK, TIOCGPTLCK, TIOCGPTPEER,
                          *_CHANGES))


def _terminal(fd: int) -> os.stat_result:
    """fd's stat if it is a terminal; ENOTTY otherwise."""
    st = os.fstat(fd)
    if not stat.S_ISCHR(st.st_mode) or not os.isatty(fd):
        raise OSError(errno.ENOTTY, "not a terminal")
    return st


def _ask(t, op: str, rdev: int, arg: int = 0, path: str = "") -> P.TtyReply:
    return brokercall.call(t, P.Tty(op, rdev, arg, path), P.TtyReply)


def _ignores(t, sig: int) -> bool:
    return t.sig.actions[sig].handler == SIG_IGN or bool(t.sig.blocked & bit(sig))


def _job_check(t, rdev: int, op: str) -> None:
    """Linux's job control: a background process reading (SIGTTIN) or changing
    (SIGTTOU) its controlling terminal is signalled, with its group, and its call
    interrupted (restarted once continued); EIO where that cannot stop it."""
    sig = signal.SIGTTIN if op == "read" else signal.SIGTTOU
    value = _ask(t, op, rdev, int(_ignores(t, sig))).value
    if value == SIGNALLED:
        t.sig.raise_signal(sig, sigframe.siginfo_kill(sig, sigframe.SI_KERNEL))
        t.cpu.pending = True
        raise InterruptedSyscall()
    if value < 0:
        raise OSError(-value, os.strerror(-value))


def before_read(t, fd: int) -> None:
    """read and readv on fd: the job-control check if fd is a terminal."""
    if fdkinds.kind(t, fd):             # no terminal (known without asking the host again)
        return
    st = os.fstat(fd)
    if stat.S_ISCHR(st.st_mode) and os.isatty(fd):
        _job_check(t, st.st_rdev, "read")


def before_write(t, fd: int) -> None:
    """write and writev: a background process may write unless the terminal has TOSTOP."""
    if fdkinds.kind(t, fd):
        return
    st = os.fstat(fd)
    if stat.S_ISCHR(st.st_mode) and os.isatty(fd) and \
            termios.tcgetattr(fd)[3] & termios.TOSTOP:
        _job_check(t, st.st_rdev, "write")


def opened(t, fd: int, noctty: bool) -> None:
    """A guest open made fd: a session leader without a controlling terminal that
    opens a terminal without O_NOCTTY gets it as one, as on Linux."""
    if not os.isatty(fd):
        return
    _ask(t, "open", os.fstat(fd).st_rdev, int(not noctty), os.ttyname(fd))


def controlling_terminal(t) -> str | None:
    """The host device of the caller's controlling terminal (what /dev/tty opens)."""
    reply = _ask(t, "ctty", 0)
    return reply.path if reply.value == 0 else None


def ioctl(t, fd: int, req: int, arg: int, new_fd) -> int:
    """A tty request on fd (TTY_REQUESTS); new_fd(t, host_fd) installs a descriptor."""
    st = _terminal(fd)
    rdev = st.st_rdev
    if req in _CHANGES or req == TIOCSPGRP:
        _job_check(t, rdev, "setattr")
    if req in (TCGETS, TCGETA):
        size = 36 if req == TCGETS else 18
        t.mem.write(arg, fcntl.ioctl(fd, req, bytes(size)))
        return 0
    if req in (TCSETS, TCSETSW, TCSETSF):
        fcntl.ioctl(fd, req, t.mem.read(arg, 36))
        return 0
    if req in (TCSETA, TCSETAW, TCSETAF):
        fcntl.ioctl(fd, req, t.mem.read(arg, 18))
        return 0
    if req == TIOCGWINSZ:
        t.mem.write(arg, fcntl.ioctl(fd, req, bytes(8)))
        return 0
    if req == TIOCSWINSZ:
        fcntl.ioctl(fd, req, t.mem.read(arg, 8))
        return 0
    if req in (TCSBRK, TCSBRKP, TCXONC, TCFLSH):
        fcntl.ioctl(fd, req, s32(arg))
        return 0
    if req in (TIOCEXCL, TIOCNXCL):
        fcntl.ioctl(fd, req)
        return 0
    if req in (TIOCOUTQ, TIOCGEXCL, TIOCGPTN, TIOCGPTLCK):
        t.mem.write(arg, fcntl.ioctl(fd, req, bytes(4)))
        return 0
    if req == TIOCSPTLCK:
        fcntl.ioctl(fd, req, t.mem.read(arg, 4))
        return 0
    if req == TIOCGPTPEER:
        return new_fd(t, fcntl.ioctl(fd, req, s32(arg) | os.O_NOCTTY))
    if req == TIOCSCTTY:
        return _ask(t, "sctty", rdev, s32(arg), os.ttyname(fd)).value
    if req == TIOCNOTTY:
        return _ask(t, "notty", rdev).value
    if req in (TIOCGPGRP, TIOCGSID):
        value = _ask(t, "gpgrp" if req == TIOCGPGRP else "gsid", rdev).value
        if value < 0:
            return value
        t.mem.write_u32(arg, value)
        return 0
    if req == TIOCSPGRP:
        return _ask(t, "spgrp", rdev, s32(t.mem.read_u32(arg))).value
    return -errno.ENOTTY
