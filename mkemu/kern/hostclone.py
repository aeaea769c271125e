"""clone(2) of a task process on the host, and the clone flag names.

A new guest process or thread is a host clone of the task that asks for it
(never a host execve): CLONE_PARENT makes it the broker's child like every
task, and CLONE_FILES / CLONE_FS share the host descriptor table and umask
between the threads of a group.  Never CLONE_VM: each task is a whole Python
interpreter with its own memory, which is the point (real parallelism).

The new process's first and last steps are the same for a forked child and a
CLONE_VM child (kern/fork.py, kern/thread.py): take_channel, say_hello and
child_registers.
"""
from __future__ import annotations

import _signal              # pthread_sigmask without enum conversion (fork is hot)
import ctypes
import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import time

from ..ipc import hostsock
from ..ipc import protocol as P
from ..mm.fault import MemFault

CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT = 0x1000, 0x2000, 0x4000, 0x8000
CLONE_THREAD, CLONE_NEWNS, CLONE_SYSVSEM, CLONE_SETTLS = 0x10000, 0x20000, 0x40000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID = 0x100000, 0x200000
CLONE_DETACHED, CLONE_UNTRACED, CLONE_CHILD_SETTID = 0x400000, 0x800000, 0x1000000
CLONE_IO = 0x80000000
CSIGNAL = 0xFF
_HOST_CLONE = 56              # x86_64 clone(2)
PR_SET_PDEATHSIG = 1

_pyapi = ctypes.pythonapi
_libpy = ctypes.PyDLL(None, use_errno=True)       # keeps the GIL across the fork, as os.fork
_libpy.syscall.restype = ctypes.c_long
_libpy.syscall.argtypes = [ctypes.c_long, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong, ctypes.c_ulong]
libc = ctypes.CDLL(None, use_errno=True)
_ALL_SIGNALS = signal.valid_signals()


def host_clone(flags: int) -> int:
    """clone(2) of this process with flags (no CLONE_VM: a copy of this interpreter)."""
    # Host signals are held until Python's after-fork work is done: it forgets the
    # signals it has not yet handled, which would lose one sent to the new child.
    old_mask = _signal.pthread_sigmask(signal.SIG_BLOCK, _ALL_SIGNALS)
    try:
        _pyapi.PyOS_BeforeFork()
        pid = _libpy.syscall(_HOST_CLONE, flags, 0, 0, 0, 0)
        err = ctypes.get_errno()
        if pid == 0:
            _pyapi.PyOS_AfterFork_Child()
        else:
            _pyapi.PyOS_AfterFork_Parent()
    finally:
        _signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    return pid if pid >= 0 else -err


# ---- the new task process's side (fork, vfork and CLONE_VM children alike) ---------
def take_channel(t, chan_fd: int, shares_fds: bool) -> None:
    """First thing in the new process: it dies with the broker, and talks to it on its
    own channel.  The parent's channel is closed here, or only let go of when the
    descriptor table is shared with the parent (CLONE_FILES: it is still the parent's)."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    old = t.chan.sock
    if shares_fds:
        old.detach()
    else:
        t.reserved_fds.discard(old.fileno())
        old.close()
    # the same Channel object task_main holds; its kind given: no getsockopt to learn it
    t.chan.sock = hostsock.socket(hostsock.AF_UNIX, hostsock.SOCK_SEQPACKET, 0, chan_fd)


def say_hello(t, shares_fds: bool, quiet: bool = False) -> None:
    """Tell the broker this process exists, with a signal mailbox of its own (the
    parent's stays the parent's), and start its own accounts: no PR_SET_PDEATHSIG
    (not inherited), --stats counting from here.  quiet: no Welcome is awaited (a fork
    child knows its ids; the broker reads its channel in order, so the Hello comes
    before anything the child asks after it)."""
    mailbox = t.open_signal_mailbox(keep_old=shares_fds)
    if quiet:
        t.chan.send(P.Hello(os.getpid(), True), fds=(mailbox,))
    else:
        t.chan.call(P.Hello(os.getpid()), P.Welcome, fds=(mailbox,))
    os.close(mailbox)
    t.pdeathsig = 0
    t.count_gc_frozen()
    t.started = time.monotonic()
    t.cpu.icount = 0
    t.engine.blocks_translated = t.engine.blocks_from_cache = t.engine.block_runs = 0
    if t.profiler is not None:
        t.profiler.clear()                # MKEMU_PROFILE: this process's own calls from here


def put_tid(t, addr: int, tid: int) -> None:
    """A SETTID word of clone: Linux drops a fault writing it (put_user's result is unused),
    so the clone still succeeds, with 0 in the child."""
    try:
        t.mem.write_u32(addr, tid)
    except MemFault:
        pass


def child_registers(t, tid: int, flags: int, newsp: int, tls: int, ctid: int) -> None:
    """The new task's stack, TLS and tid words, as clone's flags ask."""
    cpu = t.cpu
    if newsp:
        cpu.x[31] = newsp
    if flags & CLONE_SETTLS:
        cpu.tpidr = tls
    if flags & CLONE_CHILD_SETTID and ctid:
        put_tid(t, ctid, tid)
    t.clear_child_tid = ctid if flags & CLONE_CHILD_CLEARTID else 0
