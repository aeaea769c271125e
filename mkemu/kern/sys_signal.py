"""Signal syscalls: dispositions, masks, alternate stacks, kill to self."""
from __future__ import annotations

import errno
import struct

from ..ipc import protocol as P
from . import brokercall
from .signals import NSIG, Action
from .systable import syscall

_SIGACTION = struct.Struct("<QQQQ")      # handler, flags, restorer, mask (arm64 kernel layout)
SIGKILL, SIGSTOP = 9, 19
_UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))


@syscall("rt_sigaction", "signal", "ptr", "ptr", "size",
         status="partial: dispositions are recorded; guest handlers are not run (a handled signal is dropped)")
def sys_rt_sigaction(t, sig, act, oact, size):
    if not 1 <= sig <= NSIG or size != 8:
        return -errno.EINVAL
    cur = t.sig.actions[sig]
    if act and sig in (SIGKILL, SIGSTOP):
        return -errno.EINVAL
    new = None
    if act:
        handler, flags, restorer, mask = _SIGACTION.unpack(t.mem.read(act, 32))
        new = Action(handler, flags, restorer, mask & ~_UNBLOCKABLE)
    if oact:
        t.mem.write(oact, _SIGACTION.pack(cur.handler, cur.flags, cur.restorer, cur.mask))
    if new is not None:
        t.sig.actions[sig] = new
    return 0


@syscall("rt_sigprocmask", "int", "ptr", "ptr", "size")
def sys_rt_sigprocmask(t, how, set_ptr, oset_ptr, size):
    if size != 8:
        return -errno.EINVAL
    old = t.sig.blocked
    if set_ptr:
        new = struct.unpack("<Q", t.mem.read(set_ptr, 8))[0]
        if how == 0:
            blocked = old | new
        elif how == 1:
            blocked = old & ~new
        elif how == 2:
            blocked = new
        else:
            return -errno.EINVAL
        t.sig.blocked = blocked & ~_UNBLOCKABLE
    if oset_ptr:
        t.mem.write(oset_ptr, struct.pack("<Q", old))
    return 0


@syscall("rt_sigpending", "ptr", "size")
def sys_rt_sigpending(t, set_ptr, size):
    bits = sum(1 << (s - 1) for s in t.sig.pending)
    t.mem.write(set_ptr, struct.pack("<Q", bits & t.sig.blocked))
    return 0


@syscall("sigaltstack", "ptr", "ptr")
def sys_sigaltstack(t, ss, old):
    if old:
        sp, size, flags = t.sig.altstack
        t.mem.write(old, struct.pack("<QiiQ", sp, flags, 0, size))
    if ss:
        sp, flags, _, size = struct.unpack("<QiiQ", t.mem.read(ss, 24))
        if flags & 2:
            t.sig.altstack = (0, 0, 2)
        elif size < 2048:
            return -errno.ENOMEM
        else:
            t.sig.altstack = (sp, size, 0)
    return 0


def _signal_self(t, sig: int) -> int:
    if not 0 <= sig <= NSIG:
        return -errno.EINVAL
    if sig:
        t.sig.raise_signal(sig)
    return 0


@syscall("kill", "int", "signal")
def sys_kill(t, pid, sig):
    pid &= 0xFFFF_FFFF
    pid = pid - (1 << 32) if pid >> 31 else pid
    if not 0 <= sig <= NSIG:
        return -errno.EINVAL
    if pid == t.pid:
        return _signal_self(t, sig)
    if pid == -(1 << 31):
        return -errno.ESRCH
    reply = brokercall.call(t, P.Kill(pid, sig), P.KillReply)
    if reply.result == 0 and reply.me_too:
        _signal_self(t, sig)
    return reply.result


@syscall("tgkill", "int", "int", "signal",
         status="partial: reaches only the calling thread (others are ESRCH)")
def sys_tgkill(t, tgid, tid, sig):
    if tgid != t.pid or tid != t.tid:
        return -errno.ESRCH
    return _signal_self(t, sig)


@syscall("tkill", "int", "signal", status="partial: reaches only the calling thread (others are ESRCH)")
def sys_tkill(t, tid, sig):
    if tid != t.tid:
        return -errno.ESRCH
    return _signal_self(t, sig)
