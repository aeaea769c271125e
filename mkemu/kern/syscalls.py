"""Syscall dispatch: from an SVC trap to the handler in the table, and back.

Also the strace-like tracer (`mkemu run --strace`), which prints each call's
arguments by the kinds named in its table row.
"""
from __future__ import annotations

import errno
import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)

from ..mm.fault import MemFault
# the handlers nearly every program calls (a static hello: brk, mmap, openat, write, exit);
# every other module registering handlers is imported at its first call (kern/sysmodules.py)
from . import sys_fs, sys_mm, sys_proc, sys_timer  # noqa: F401  (each registers its handlers)
from . import fdkinds
from .errors import InterruptedSyscall, TaskExit
from .sigframe import SI_USER, siginfo_kill
from .systable import handler_row, syscall_name

M64 = 0xFFFF_FFFF_FFFF_FFFF
# the calls whose EPIPE (a pipe or socket with no reader) comes with a SIGPIPE in Linux
_WRITES = {"write", "writev", "pwrite64", "pwritev", "pwritev2", "sendfile", "splice", "tee",
           "vmsplice"}

# calls that never sleep but change state in several steps (a process, an image,
# the address space, the signal state): a host signal must not cut one in the
# middle (InterruptedSyscall); it stays pending and acts when the call is done
_UNINTERRUPTED = frozenset(("clone", "clone3", "execve", "execveat", "exit", "exit_group",
                            "rt_sigreturn", "rt_sigaction", "rt_sigprocmask", "sigaltstack",
                            "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
                            "mmap", "munmap", "mremap", "mprotect", "brk", "madvise",
                            "setitimer", "getitimer", "dup", "dup3", "pipe2"))


# calls that sleep in brokercall.wait, which is interruptible where it sleeps (poll) and
# lets the broker settle a cancel against an answer already sent: a signal arriving
# between the entry check below and the request's send must not break the call there,
# or waitpid returns EINTR while a zombie child is waiting for it (Linux returns it)
_BROKER_WAITS = frozenset(("wait4", "waitid"))

_EPIPE, _EINTR = -errno.EPIPE, -errno.EINTR


def _entry(row):
    """What dispatch needs of a table row, worked out once per call number: (handler,
    argument count, interruptible, a write (SIGPIPE on EPIPE), keeps the descriptor
    table as it was (kern/fdkinds.py), the row)."""
    return (row.handler, len(row.args), row.name not in _UNINTERRUPTED, row.name in _WRITES,
            row.name in fdkinds.KEEPS_FDS, row.name in _BROKER_WAITS, row)


_ENTRIES: dict = {}


def dispatch(task) -> None:
    cpu = task.cpu
    x = cpu.x
    nr = x[8]
    entry = _ENTRIES.get(nr)
    if entry is None:
        row = handler_row(nr)
        if row is None:
            if nr not in task.enosys_logged:
                task.enosys_logged.add(nr)
                task.log(f"unimplemented syscall {syscall_name(nr)} ({nr}): returning -ENOSYS")
            ret = -errno.ENOSYS
            if task.config.strace:
                _trace(task, nr, None, x[:6], ret)
            x[0] = ret & M64
            return
        entry = _ENTRIES[nr] = _entry(row)
    handler, nargs, interruptible, is_write, keeps_fds, broker_wait, row = entry
    args = x[:nargs]
    x0 = x[0]
    config = task.config
    if config.inject_crash is not None and config.inject_crash == row.name:
        raise RuntimeError(f"injected crash at {row.name} (--inject-crash)")
    sig = task.sig
    if interruptible:
        try:
            task.in_syscall = True
            early = sig.pending and sig.interrupting()
        except InterruptedSyscall:      # one that acts arrived during the check itself
            early = True
        if early:
            # A signal that acts came after the last check in guest code: Linux would
            # have delivered it before this SVC, so deliver it now and run the SVC after it.
            task.in_syscall = False
            cpu.pc = (cpu.pc - 4) & M64
            return
        if broker_wait:
            task.in_syscall = False     # brokercall.wait makes its sleep interruptible
    # an exec replaces the memory its path and vectors are in: shown before the call
    shown = _shown(task, row, args) if config.strace and row.name in _NEW_IMAGE else None
    try:
        ret = handler(task, *args)
    except BaseException as e:
        task.in_syscall = False         # first: a host signal now must not replace e
        if config.strace and isinstance(e, TaskExit):
            _trace(task, nr, row, args, None, shown)    # exit never returns: "= ?"
        if not isinstance(e, (InterruptedSyscall, OSError, MemFault)):
            if not isinstance(e, TaskExit):
                # a bug of mkemu (bad input is -errno, never an exception): the task's
                # "internal error" report ends with the call, to run it again
                e.add_note(f"in syscall {row.name}({', '.join(hex(a) for a in args)}) "
                           f"[nr {nr}] of pid {task.pid}")
            raise
        ret = _error_result(e)
    finally:
        task.in_syscall = False
        sig.restarted = False
        if not keeps_fds and task.fd_kinds:
            task.fd_kinds.clear()       # the call may have closed or replaced a descriptor
    if ret < 0:
        if ret == _EPIPE and is_write:
            sig.raise_signal(signal.SIGPIPE, siginfo_kill(signal.SIGPIPE, SI_USER, task.pid, task.uid))
        elif ret == _EINTR and row.name != "rt_sigreturn" and sig.interrupting():
            # a signal that acts broke the call: delivery decides whether it runs again
            # (SA_RESTART, or no handler) with x0 as it came (kern/signals.py)
            sig.note_interrupted(row.name, args, x0)
    if config.strace:
        _trace(task, nr, row, args, ret, shown)
    x[0] = ret & M64


def _error_result(e: BaseException) -> int:
    if isinstance(e, InterruptedSyscall):
        return -errno.EINTR
    if isinstance(e, OSError):
        return -(e.errno or errno.EIO)
    return -errno.EFAULT


# ---- tracing --------------------------------------------------------------------
def _fmt_arg(task, kind: str, value: int) -> str:
    if kind in ("path", "str"):
        try:
            s = task.mem.read_cstring(value, 256)
        except MemFault:
            return f"{value:#x}"
        return repr(s.decode(errors="replace"))
    if kind in ("int", "fd", "dirfd", "signal", "clock"):
        v = value - (1 << 64) if value >> 63 else value
        if kind == "dirfd" and v == -100:
            return "AT_FDCWD"
        return str(v)
    if kind in ("size", "uint"):
        return str(value)
    if kind == "mode":
        return f"{value:#o}"
    return f"{value:#x}"


_NEW_IMAGE = frozenset(("execve", "execveat"))


def _shown(task, row, args) -> str:
    kinds = row.args if row else ("hex",) * len(args)
    return ", ".join(_fmt_arg(task, k, a) for k, a in zip(kinds, args))


def _trace(task, nr: int, row, args, ret: int, shown: str | None = None) -> None:
    name = row.name if row else syscall_name(nr)
    if shown is None:
        shown = _shown(task, row, args)
    if ret is None:
        res = "?"
    elif -4096 < ret < 0:
        res = f"-1 {errno.errorcode.get(-ret, '?')} ({os.strerror(-ret)})"
    else:
        res = f"{ret:#x}" if ret > 0xFFFF else str(ret)
    os.write(task.log_fd, f"[{task.tid}] {name}({shown}) = {res}\n".encode(errors="replace"))
