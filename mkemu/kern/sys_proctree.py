"""Syscalls of the process tree: wait4, waitid, parents, groups and sessions.

The tree lives in the broker (kern/proctable.py); these handlers check their
arguments, ask it, and lay the answer out in guest memory.  A wait that has
to sleep is a broker request answered when a child ends, and a guest signal
that acts cancels it with EINTR (kern/brokercall.py).
"""
from __future__ import annotations

import errno
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import struct

from ..ipc import protocol as P
from ..fs.namei import guest_fd
from . import brokercall, groupcpu, sys_event
from .proctable import (P_ALL, P_PGID, P_PID, WCONTINUED, WEXITED, WNOHANG, WNOWAIT, WUNTRACED,
                        si_status)
from .signals import SIG_DFL
from .systable import s32, syscall

__WNOTHREAD, __WALL, __WCLONE = 0x2000_0000, 0x4000_0000, 0x8000_0000
_WAIT4_OPTIONS = WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE
_WAITID_OPTIONS = WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL \
    | __WCLONE
P_PIDFD = 3
RUSAGE_SIZE = 144
_SIGINFO_CHLD = struct.Struct("<iii4xiIi")     # signo, errno, code, pid, uid, status



def _wait(t, idtype: int, id_: int, options: int) -> P.WaitReply | None:
    if options & WNOHANG:
        return brokercall.call(t, P.Wait(idtype, id_, options), P.WaitReply)
    return brokercall.wait(t, P.Wait(idtype, id_, options, _chld_discarded(t)), P.WaitReply,
                           P.Cancel(), P.CancelReply)


def _chld_discarded(t) -> bool:
    """Whether a SIGCHLD generated while this caller sleeps in the wait would be thrown
    away at once (Linux's sig_ignored: SIG_DFL's action for SIGCHLD is to ignore it, and
    only an unblocked signal is ignored).  Nothing can change that meanwhile in a
    process of one thread: its handler runs after the wait returns."""
    sig = t.sig
    return not t.threaded and sig.actions[signal.SIGCHLD].handler == SIG_DFL and \
        not sig.blocked >> (signal.SIGCHLD - 1) & 1


@syscall("wait4", "int", "ptr", "flags", "ptr",
         status="partial: rusage has the child's user and system times and ru_maxrss alone")
def sys_wait4(t, pid, wstatus, options, rusage):
    pid = s32(pid)
    if options & ~_WAIT4_OPTIONS:
        return -errno.EINVAL
    if pid == -(1 << 31):
        return -errno.ESRCH
    if pid > 0:
        idtype, id_ = P_PID, pid
    elif pid == -1:
        idtype, id_ = P_ALL, 0
    else:
        idtype, id_ = P_PGID, -pid          # 0: the caller's group
    reply = _wait(t, idtype, id_, options | WEXITED)
    if reply is None:
        return -errno.EINTR
    if reply.pid > 0:
        if wstatus:
            t.mem.write_u32(wstatus, reply.status)
        if rusage:
            t.mem.write(rusage, groupcpu.rusage(*reply.cpu, reply.maxrss))
    return reply.pid


@syscall("waitid", "int", "int", "ptr", "flags", "ptr",
         status="partial: rusage has the child's user and system times and ru_maxrss alone")
def sys_waitid(t, idtype, id_, infop, options, rusage):
    id_ = s32(id_)
    if options & ~_WAITID_OPTIONS or not options & (WEXITED | WUNTRACED | WCONTINUED):
        return -errno.EINVAL
    if idtype == P_ALL:
        id_ = 0
    elif idtype == P_PID:
        if id_ <= 0:
            return -errno.EINVAL
    elif idtype == P_PGID:
        if id_ < 0:
            return -errno.EINVAL
    elif idtype == P_PIDFD:
        pid, _state = sys_event.pidfd_target(t, guest_fd(t, id_))
        if pid is None:
            return -errno.ECHILD
        idtype, id_ = P_PID, pid
    else:
        return -errno.EINVAL
    reply = _wait(t, idtype, id_, options)
    if reply is None:
        return -errno.EINTR
    if reply.pid < 0:
        return reply.pid
    if infop:
        if reply.pid:
            info = _SIGINFO_CHLD.pack(signal.SIGCHLD, 0, reply.code, reply.pid, t.uid, si_status(reply.code, reply.status))
        else:
            info = bytes(_SIGINFO_CHLD.size)         # WNOHANG, none ready: Linux zeroes it
        t.mem.write(infop, info)
    if rusage:
        t.mem.write(rusage, groupcpu.rusage(*reply.cpu, reply.maxrss) if reply.pid
                    else bytes(RUSAGE_SIZE))
    return 0


@syscall("getppid")
def sys_getppid(t):
    return brokercall.call(t, P.GetPpid(), P.PpidReply).ppid


@syscall("getpgid", "int")
def sys_getpgid(t, pid):
    return brokercall.call(t, P.GetPgid(s32(pid)), P.Value).value


@syscall("getsid", "int")
def sys_getsid(t, pid):
    return brokercall.call(t, P.GetSid(s32(pid)), P.Value).value


@syscall("setsid")
def sys_setsid(t):
    return brokercall.call(t, P.SetSid(), P.Value).value


@syscall("setpgid", "int", "int")
def sys_setpgid(t, pid, pgid):
    return brokercall.call(t, P.SetPgid(s32(pid), s32(pgid)), P.Value).value
