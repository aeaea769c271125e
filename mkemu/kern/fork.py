"""fork, vfork and clone without CLONE_VM: a guest child is a host fork of its task.

The parent's task process forks itself on the host (its Python state -- CPU,
translated code, TLB, page map, descriptors -- is copied by the host for
free) with clone(CLONE_PARENT), so the child is the broker's host child like
every task.  Guest memory is not copied: the child's page map names the same
frames, each gains a reference, and both sides mark every private page
copy-on-write (mm/space.py `share_for_fork`), so fork costs a little per mapped
page, nothing per byte.  Shared mappings (MAP_SHARED files, /dev/shm, shared
anonymous memory) are host MAP_SHARED windows the host fork keeps shared.

The broker first reserves the child (`Fork`: its pid, its process record, a
channel, and the child's frame-holdings bitmap, so its frames are taken back
however it ends); the child then says Hello with its host pid and the parent
says Forked.  vfork (CLONE_VM | CLONE_VFORK, what glibc's vfork and
posix_spawn use) is the same fork without copy-on-write marks: the child
writes the parent's frames, and the parent sleeps (Forked with wait) until
the child execs or ends, as vfork's contract says.  Threads and other
CLONE_VM children are kern/thread.py's.  A fork of a threaded process takes
a private copy of the shared page map with the space's lock held across the
host fork, so no sibling thread changes the map in between.
"""
from __future__ import annotations

import errno
import gc
import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import struct

from ..ipc import protocol as P
from ..mm.holdings import Holdings
from . import brokercall
from .hostclone import (CLONE_FILES, CLONE_FS, CLONE_NEWNS, CLONE_PARENT, CLONE_PARENT_SETTID,
                        CLONE_PIDFD, CLONE_PTRACE, CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK,
                        CLONE_VM, CSIGNAL, child_registers, host_clone, put_tid, say_hello,
                        take_channel)
from .systable import syscall
from .thread import clone_vm

# namespaces and other flags a process fork cannot honour here
_UNSUPPORTED = 0x7E00_0000 | CLONE_PIDFD | CLONE_PTRACE | CLONE_NEWNS

# A fork child's references to big parent structures it no longer needs (the
# start kit: thousands of tuples and code objects).  Freeing them would write a
# reference count or a free-list link on every page they sit on, and each such
# write is a copy-on-write fault of the host fork (~480 a child, ~1.7 ms).  Kept
# here they cost nothing: the pages stay the parent's, shared, until os._exit.
inherited: list = []


def _host_fork_as_sibling() -> int:
    """fork(2) of this process whose child has our parent (the broker) as its parent."""
    return host_clone(CLONE_PARENT | signal.SIGCHLD)


def fork(t, flags: int, newsp: int = 0, ptid: int = 0, tls: int = 0, ctid: int = 0) -> int:
    """A new process: the child's pid in the parent, 0 in the child; or -errno."""
    was, t.in_syscall = t.in_syscall, False    # a signal waits: fork is never cut in half
    try:
        return _fork(t, flags, newsp, ptid, tls, ctid)
    finally:
        t.in_syscall = was


def _fork(t, flags: int, newsp: int, ptid: int, tls: int, ctid: int) -> int:
    # Linux: a thread group shares its signal handlers, and shared handlers need shared memory
    if flags & CLONE_THREAD and not flags & CLONE_SIGHAND or \
            flags & CLONE_SIGHAND and not flags & CLONE_VM:
        return -errno.EINVAL
    if flags & _UNSUPPORTED:
        return -errno.EINVAL
    if flags & CLONE_VM and not flags & CLONE_VFORK:
        return clone_vm(t, flags, newsp, ptid, tls, ctid)
    if flags & (CLONE_FILES | CLONE_FS):
        return -errno.EINVAL              # a copied process cannot share these (no CLONE_VM)
    vfork = bool(flags & CLONE_VFORK)
    # the code this site's last children had to make: made here, the next ones inherit it
    site = t.code_cache.fork_site(t.exe_path, t.cpu.pc)
    t.code_cache.warm(site, t.engine.globals)
    holdings = Holdings.create(t.phys.nframes)
    holdings_fd = t.reserve_fd(holdings.fd)
    holdings.fd = holdings_fd
    reply = brokercall.call(t, P.Fork(vfork), P.ForkReply, fds=(holdings_fd,))
    child_pid = reply.pid
    for first, n in reply.runs:          # the child's first frames: its own from now on,
        for f in range(first, first + n):     # even should the host fork fail
            holdings.add(f)
    (chan_fd,) = t.chan.fds
    t.chan.fds = []
    chan_fd = t.reserve_fd(chan_fd)
    ctl = getattr(t.space, "ctl", None)
    if ctl is None:
        t.space.share_for_fork(holdings, vfork)
        host_pid = _host_fork_as_sibling()
    else:
        host_pid = -errno.EAGAIN
        ctl.lock()                        # threads: nothing changes the map until the fork
        try:
            t.space.share_for_fork(holdings, vfork)
            snapshot = t.space.snapshot()
            host_pid = _host_fork_as_sibling()
        finally:
            if host_pid != 0:
                ctl.unlock()
        if host_pid == 0:
            t.sig.unshare()
            t.fs.unshare()
            t.space.make_private(snapshot)
            t.threaded = t.shares_fds = False
    if host_pid == 0:
        _become_child(t, child_pid, chan_fd, holdings, reply.runs, flags, newsp, tls, ctid)
        if t.code_cache.start is not None:
            inherited.append(t.code_cache.start)      # not freed: see inherited
        t.inherited = inherited                   # nor the old image at its execve
        t.code_cache.forked_child(site)
        return 0
    t.reserved_fds.discard(chan_fd)
    os.close(chan_fd)
    t.reserved_fds.discard(holdings_fd)
    holdings.close()
    if host_pid < 0:
        # the child never existed: the broker takes back the references given to it
        brokercall.send(t, P.Forked(child_pid, -1, False))
        return host_pid
    if flags & CLONE_PARENT_SETTID and ptid:
        put_tid(t, ptid, child_pid)
    if vfork:
        brokercall.call(t, P.Forked(child_pid, host_pid, True), P.VforkDone)
    else:
        brokercall.send(t, P.Forked(child_pid, host_pid, False))
    return child_pid


def _become_child(t, pid: int, chan_fd: int, holdings: Holdings, runs, flags: int,
                  newsp: int, tls: int, ctid: int) -> None:
    """In the new host process: take the child's channel, pid and frame pool."""
    # Everything the parent made is the collector's permanent generation here: a
    # collection would write a header word of each object it scans, a copy-on-write
    # fault per page (a forkexec child's one middle collection: ~115 faults).  The
    # merge of the collector's lists is O(1); objects the child makes are collected.
    gc.freeze()
    take_channel(t, chan_fd, shares_fds=False)
    parents = t.frames.holdings                    # the parent's to keep, not this process's
    t.reserved_fds.discard(parents.fd)
    parents.close()
    t.frames = t.space.frames = t.frames.forked(holdings, runs)
    t.ppid, t.pid, t.tid = t.pid, pid, pid
    say_hello(t, shares_fds=False, quiet=True)     # its ids are known: no Welcome to wait for
    t.sig.pending.clear()
    t.sig.posix_timers.clear()            # the host's fork gave the child none
    t.is_child = True
    # a new process's high-water marks start at its fork (Linux: the pages it has then)
    t.space.peak_bytes = t.space.peak_pages = 0
    t.maxrss_carried = 0
    child_registers(t, pid, flags, newsp, tls, ctid)


@syscall("clone", "hex", "ptr", "ptr", "ptr", "ptr",
         status="partial: CLONE_PIDFD, namespaces and CLONE_FILES/CLONE_FS without CLONE_VM "
                "are EINVAL")
def sys_clone(t, flags, newsp, ptid, tls, ctid):
    return fork(t, flags & 0xFFFF_FFFF, newsp, ptid, tls, ctid)


_CLONE_ARGS = struct.Struct("<11Q")


@syscall("clone3", "ptr", "size",
         status="partial: as clone; set_tid and cgroup are EINVAL")
def sys_clone3(t, args, size):
    if size < 64 or size > 4096:
        return -errno.EINVAL
    raw = t.mem.read(args, min(size, _CLONE_ARGS.size)).ljust(_CLONE_ARGS.size, b"\0")
    flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, \
        set_tid_size, cgroup = _CLONE_ARGS.unpack(raw)
    if exit_signal > 64 or set_tid or set_tid_size or cgroup or flags >> 32 or flags & CSIGNAL:
        return -errno.EINVAL
    if (stack == 0) != (stack_size == 0):
        return -errno.EINVAL
    return fork(t, flags, stack + stack_size if stack else 0, parent_tid, tls, child_tid)
