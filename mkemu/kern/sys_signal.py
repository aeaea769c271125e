"""Signal syscalls: dispositions, masks, alternate stacks, sending, waiting, sigreturn.

Delivery itself (the frame a handler runs on) is kern/signals.py with
kern/sigframe.py; rt_sigreturn here reads that frame back.
"""
from __future__ import annotations

import errno
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import struct
import time

from ..ipc import protocol as P
from ..mm.fault import MemFault
from . import brokercall, sigframe, timespec
from .signals import (NSIG, SIG_DFL, SIG_IGN, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK,
                      UNBLOCKABLE, Action)
from .systable import s32, syscall

_SIGACTION = struct.Struct("<QQQQ")      # handler, flags, restorer, mask (arm64 kernel layout)
_STACK_T = struct.Struct("<QiiQ")        # ss_sp, ss_flags, (pad), ss_size
SIGKILL, SIGSTOP = 9, 19
MINSIGSTKSZ = 5120                        # arm64's
_IGNORED_BY_DEFAULT = (signal.SIGCHLD, signal.SIGURG, signal.SIGWINCH, signal.SIGCONT)



def read_sigset(t, addr: int) -> int:
    """A 64-bit sigset_t in guest memory (bit N-1 is signal N)."""
    return struct.unpack("<Q", t.mem.read(addr, 8))[0]


@syscall("rt_sigaction", "signal", "ptr", "ptr", "size")
def sys_rt_sigaction(t, sig, act, oact, size):
    if not 1 <= sig <= NSIG or size != 8:
        return -errno.EINVAL
    cur = t.sig.actions[sig]
    if act and sig in (SIGKILL, SIGSTOP):
        return -errno.EINVAL
    new = None
    if act:
        handler, flags, restorer, mask = _SIGACTION.unpack(t.mem.read(act, 32))
        new = Action(handler, flags & 0xFFFF_FFFF, restorer, mask & ~UNBLOCKABLE)
    if oact:
        t.mem.write(oact, _SIGACTION.pack(cur.handler, cur.flags, cur.restorer, cur.mask))
    if new is not None:
        t.sig.actions[sig] = new
        t.sig.publish_actions()
        # a signal set to be ignored is discarded even while pending (POSIX, Linux)
        if new.handler == SIG_IGN or new.handler == SIG_DFL and sig in _IGNORED_BY_DEFAULT:
            t.sig.pending.pop(sig, None)
        if sig == signal.SIGCHLD:           # the broker decides what a child's end leaves
            brokercall.send(t, P.ProcUpdate(None, None, None, False, None, t.sig.chld_bits()))
    return 0


@syscall("rt_sigprocmask", "int", "ptr", "ptr", "size")
def sys_rt_sigprocmask(t, how, set_ptr, oset_ptr, size):
    if size != 8:
        return -errno.EINVAL
    old = t.sig.blocked
    if set_ptr:
        new = read_sigset(t, set_ptr)
        if how == 0:
            blocked = old | new
        elif how == 1:
            blocked = old & ~new
        elif how == 2:
            blocked = new
        else:
            return -errno.EINVAL
        t.sig.blocked = blocked & ~UNBLOCKABLE
    if oset_ptr:
        t.mem.write(oset_ptr, struct.pack("<Q", old))
    return 0


@syscall("rt_sigpending", "ptr", "size")
def sys_rt_sigpending(t, set_ptr, size):
    if size > 8:
        return -errno.EINVAL
    bits = (t.sig.pending_mask() | t.sig.shared_pending_mask()) & t.sig.blocked
    t.mem.write(set_ptr, struct.pack("<Q", bits)[:size])
    return 0


@syscall("sigaltstack", "ptr", "ptr")
def sys_sigaltstack(t, ss, old):
    s = t.sig
    sp = t.cpu.x[31]
    ss_sp, ss_size, bits = s.altstack
    report = _STACK_T.pack(ss_sp, s.altstack_flags(sp), 0, ss_size)
    if ss:
        new_sp, flags, _, size = _STACK_T.unpack(t.mem.read(ss, 24))
        if s.on_altstack(sp):
            return -errno.EPERM
        err = _set_altstack(s, new_sp, flags & 0xFFFF_FFFF, size)
        if err:
            return err
    if old:
        t.mem.write(old, report)
    return 0


def _set_altstack(s, sp: int, flags: int, size: int) -> int:
    mode = flags & ~SS_AUTODISARM
    if mode not in (0, SS_ONSTACK, SS_DISABLE):
        return -errno.EINVAL
    if mode == SS_DISABLE:
        s.altstack = (0, 0, flags & SS_AUTODISARM)
        return 0
    if size < MINSIGSTKSZ:
        return -errno.ENOMEM
    s.altstack = (sp, size, flags & SS_AUTODISARM)
    return 0


@syscall("rt_sigreturn")
def sys_rt_sigreturn(t):
    """Back from a handler: everything the frame at sp holds (the handler may have
    edited it) becomes the thread's state again; the result is the restored x0."""
    cpu = t.cpu
    sp = cpu.x[31]
    try:
        if sp & 15:
            raise sigframe.BadFrame("misaligned sp")
        state = sigframe.parse(t.mem.read(sp, sigframe.FRAME_SIZE))
    except (MemFault, sigframe.BadFrame) as e:
        # Linux's badframe: a SIGSEGV at sp
        t.fatal(signal.SIGSEGV, f"rt_sigreturn with a bad signal frame at {sp:#x}: {e}",
                sigframe.SEGV_MAPERR, sp)
        return cpu.x[0]
    cpu.x[:31] = state["regs"]
    cpu.x[31] = state["sp"]
    cpu.pc = state["pc"]
    cpu.nzcv = state["nzcv"]
    cpu.v[:] = state["v"]
    cpu.fpcr = state["fpcr"]
    cpu.fpsr = state["fpsr"]
    t.sig.blocked = state["sigmask"] & ~UNBLOCKABLE
    ss_sp, ss_flags, _, ss_size = state["uc_stack"]
    if not t.sig.on_altstack(cpu.x[31]):       # else EPERM, which Linux ignores here
        _set_altstack(t.sig, ss_sp, ss_flags & 0xFFFF_FFFF, ss_size)
    t.sig.restart = None
    return cpu.x[0]


@syscall("rt_sigsuspend", "ptr", "size")
def sys_rt_sigsuspend(t, mask_ptr, size):
    """Replace the mask and sleep until a signal acts; the old mask comes back when the
    handler returns (it is the frame's uc_sigmask), or at once if none runs."""
    if size != 8:
        return -errno.EINVAL
    s = t.sig
    s.wait_mask(t, read_sigset(t, mask_ptr))
    s.sleep(t, s.interrupting)
    return -errno.EINTR


def _deadline(t, ts: int) -> int | None:
    return None if not ts else time.monotonic_ns() + timespec.read_ns(t, ts)


@syscall("rt_sigtimedwait", "ptr", "ptr", "ptr", "size")
def sys_rt_sigtimedwait(t, set_ptr, info, ts, size):
    """Take a pending signal of the set (the caller keeps them blocked so they stay
    pending); sleep for one, up to the timeout (EAGAIN), or until another acts (EINTR)."""
    if size != 8:
        return -errno.EINVAL
    want = read_sigset(t, set_ptr) & ~UNBLOCKABLE
    deadline = _deadline(t, ts)
    s = t.sig
    sig = s.next_signal(want)
    if sig is None:
        s.publish_blocked(s.blocked & ~want)     # Linux: the waited-for ones are let in
        s.claim_shared(t, want)
        try:
            s.sleep(t, lambda: s.next_signal(want) is not None or s.interrupting(), deadline)
        finally:
            s.publish_blocked(s.blocked)
        sig = s.next_signal(want)
        if sig is None:
            return -errno.EINTR if s.interrupting() else -errno.EAGAIN
    entry = s.dequeue(sig)
    if info:
        t.mem.write(info, entry.info)
    return sig


def _signal_self(t, sig: int, code: int = sigframe.SI_USER) -> int:
    if not 0 <= sig <= NSIG:
        return -errno.EINVAL
    if sig:
        t.sig.raise_signal(sig, sigframe.siginfo_kill(sig, code, t.pid, t.uid))
    return 0


@syscall("kill", "int", "signal")
def sys_kill(t, pid, sig):
    pid = s32(pid)
    if not 0 <= sig <= NSIG:
        return -errno.EINVAL
    if pid == t.pid and not t.threaded:
        return _signal_self(t, sig)
    if pid == -(1 << 31):
        return -errno.ESRCH
    info = sigframe.siginfo_kill(sig, sigframe.SI_USER, t.pid, t.uid)
    reply = brokercall.call(t, P.Kill(pid, sig, info), P.KillReply)
    if reply.result == 0 and reply.me_too:
        _signal_self(t, sig)
    return reply.result


def _to_thread(t, tgid: int, tid: int, sig: int, info: bytes) -> int:
    """A signal for one thread (tgid 0: of any group), through the broker unless it is
    the caller."""
    if tid == t.tid and tgid in (0, t.pid):
        if sig:
            t.sig.raise_signal(sig, info)
        return 0
    reply = brokercall.call(t, P.TgKill(tgid, tid, sig, info), P.KillReply)
    if reply.result == 0 and reply.me_too and sig:
        t.sig.raise_signal(sig, info)
    return reply.result


@syscall("tgkill", "int", "int", "signal")
def sys_tgkill(t, tgid, tid, sig):
    if s32(tgid) <= 0 or s32(tid) <= 0 or not 0 <= sig <= NSIG:
        return -errno.EINVAL
    return _to_thread(t, tgid, tid, sig, sigframe.siginfo_kill(sig, sigframe.SI_TKILL, t.pid, t.uid))


@syscall("tkill", "int", "signal")
def sys_tkill(t, tid, sig):
    if s32(tid) <= 0 or not 0 <= sig <= NSIG:
        return -errno.EINVAL
    return _to_thread(t, 0, tid, sig, sigframe.siginfo_kill(sig, sigframe.SI_TKILL, t.pid, t.uid))


def _queue_self(t, sig: int, uinfo: int) -> int:
    if not 0 <= sig <= NSIG:
        return -errno.EINVAL
    info = t.mem.read(uinfo, sigframe.SIGINFO_SIZE)
    if sig:
        t.sig.raise_signal(sig, sigframe.with_signo(info, sig))
    return 0


def _claims_kernel(t, uinfo: int) -> bool:
    """A siginfo another process or thread is sent must not claim to come from the
    kernel (si_code >= 0) or from tkill: only the kernel may (EPERM)."""
    code = struct.unpack("<i", t.mem.read(uinfo + 8, 4))[0]
    return code >= 0 or code == sigframe.SI_TKILL


@syscall("rt_sigqueueinfo", "int", "signal", "ptr")
def sys_rt_sigqueueinfo(t, tgid, sig, uinfo):
    tgid = s32(tgid)
    if tgid == t.pid:
        return _queue_self(t, sig, uinfo)
    if not 0 <= sig <= NSIG:
        return -errno.EINVAL
    if _claims_kernel(t, uinfo):
        return -errno.EPERM
    if tgid <= 0:
        return -errno.ESRCH
    info = sigframe.with_signo(t.mem.read(uinfo, sigframe.SIGINFO_SIZE), sig)
    return brokercall.call(t, P.Kill(tgid, sig, info), P.KillReply).result


@syscall("rt_tgsigqueueinfo", "int", "int", "signal", "ptr")
def sys_rt_tgsigqueueinfo(t, tgid, tid, sig, uinfo):
    if s32(tgid) <= 0 or s32(tid) <= 0 or not 0 <= sig <= NSIG:
        return -errno.EINVAL
    if tgid == t.pid and tid == t.tid:
        return _queue_self(t, sig, uinfo)
    if _claims_kernel(t, uinfo):
        return -errno.EPERM
    info = sigframe.with_signo(t.mem.read(uinfo, sigframe.SIGINFO_SIZE), sig)
    return _to_thread(t, tgid, tid, sig, info)
