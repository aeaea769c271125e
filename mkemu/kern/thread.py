"""clone with CLONE_VM (and no CLONE_VFORK): guest threads, and processes sharing memory.

Each guest thread is a host process of its own, so two threads run on two
host cores.  The caller's address space becomes shared the first time
(mm/sharedspace.py: the page map and the VMA list move to shared memory);
the new task process is a host clone of the caller with CLONE_PARENT (the
broker is every task's parent), CLONE_FILES when the guest shares its
descriptor table (the host kernel then shares the table between the two
processes) and CLONE_FS for the umask.  The guest's working directory and,
with CLONE_SIGHAND, its signal dispositions are kept in the space's control
block (mm/sharedmm.py) and read by every thread of the group.

As with fork, the broker first reserves the child (Fork with `share`: its
tid, record and channel), the host clone happens in the task, and the child
says Hello.  CLONE_PARENT_SETTID is written before the clone: glibc's
pthread_join waits on that word, which the child clears when it ends
(CLONE_CHILD_CLEARTID), and a child that ends at once must not have its
clear overwritten by the parent's late store.
"""
from __future__ import annotations

import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)

from ..ipc import protocol as P
from ..mm.physmem import FramePool
from ..mm.sharedspace import SharedAddressSpace
from . import brokercall
from .hostclone import (CLONE_FILES, CLONE_FS, CLONE_PARENT, CLONE_PARENT_SETTID,
                        CLONE_SIGHAND, CLONE_THREAD, child_registers, host_clone, put_tid,
                        say_hello, take_channel)


def clone_vm(t, flags: int, newsp: int, ptid: int, tls: int, ctid: int) -> int:
    """A new thread (CLONE_THREAD) or process that shares the caller's memory: its tid
    in the caller, 0 in the child; or -errno."""
    thread = bool(flags & CLONE_THREAD)
    first = not isinstance(t.space, SharedAddressSpace)
    space = SharedAddressSpace.promote(t.space)
    if first:
        space.mm_owner = t.pid            # private futex keys of every task of the space
        t.frames.holdings.make_atomic()
        t.sig.watch_blocked(space.ctl, space.slot)
    if flags & CLONE_SIGHAND:
        t.sig.share_actions(space.ctl)
    if flags & CLONE_FS:
        t.fs.share(space.ctl)
    slot = space.reserve_slot()
    if slot < 0:
        return -11                        # EAGAIN: the control block's thread slots are full
    try:
        reply = brokercall.call(t, P.Fork(False, "thread" if thread else "vm", (space.slot, slot)),
                                P.ForkReply, fds=(space.ctl.fd,))
    except BaseException:
        space.ctl.free_slot(slot)
        raise
    tid = reply.pid
    (chan_fd,) = t.chan.fds
    t.chan.fds = []
    chan_fd = t.reserve_fd(chan_fd)
    if flags & CLONE_PARENT_SETTID and ptid:
        put_tid(t, ptid, tid)
    host_flags = CLONE_PARENT | (CLONE_FILES if flags & CLONE_FILES else 0) \
        | (CLONE_FS if flags & CLONE_FS else 0) | (0 if thread else signal.SIGCHLD)
    host_pid = host_clone(host_flags)
    if host_pid == 0:
        _become_thread(t, tid, chan_fd, slot, flags, newsp, tls, ctid)
        return 0
    t.reserved_fds.discard(chan_fd)
    if not flags & CLONE_FILES:
        os.close(chan_fd)                 # the child's copy of the table has its own
    if host_pid < 0:
        space.ctl.free_slot(slot)
        brokercall.send(t, P.Forked(tid, -1, False))
        return host_pid
    brokercall.send(t, P.Forked(tid, host_pid, False))
    t.threaded = True
    t.engine.stop_regions()               # cpu/region.py: not with threads (yet)
    t.shares_fds = t.shares_fds or bool(flags & CLONE_FILES)
    return tid


def _become_thread(t, tid: int, chan_fd: int, slot: int, flags: int, newsp: int, tls: int,
                   ctid: int) -> None:
    """In the new host process: take the thread's channel, tid, frame pool and slot."""
    shared_fds = bool(flags & CLONE_FILES)
    take_channel(t, chan_fd, shared_fds)
    # the parent's free frames stay the parent's; frames are the space's (one holdings)
    t.frames = t.space.frames = FramePool(t.phys, t.frames.refill, t.frames.holdings)
    t.frames.gate = t.space
    t.space.join(os.getpid(), slot, t.sig.blocked)
    if flags & CLONE_THREAD:
        t.tid = tid
    else:
        t.ppid, t.pid, t.tid = t.pid, tid, tid
        t.is_child = True
    t.threaded = True
    t.code_cache.start = None           # the start kit is the first thread's to write
    t.engine.stop_regions()
    t.shares_fds = shared_fds
    say_hello(t, shared_fds)
    t.sig.new_thread(slot)
    t.space.catch_up()
    t.robust_list = (0, 0)
    child_registers(t, tid, flags, newsp, tls, ctid)
