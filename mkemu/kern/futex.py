"""Futexes: wait queues owned by the broker, so that any task can wake any other.

A futex is named by a key.  A private futex (FUTEX_PRIVATE_FLAG, or a word in
private memory) is keyed by its address space and guest address,
("mm", tgid, addr); a shared one in a MAP_SHARED mapping (a file, /dev/shm,
shared anonymous memory, which is a memfd) by the file page behind it,
("file", dev, inode, file offset), what AddressSpace.alias_key names, so two
processes that map the same page at different addresses meet on one queue.

The task side (`futex`, called by sys_futex) decodes the operation, checks
the arguments (EINVAL, EFAULT, the value for EAGAIN) and asks the broker,
whose side (`FutexQueues`) keeps the queues and the deadlines.  A waiter
blocks in recv() on its channel until the broker answers: no host core
spins, and the broker's select() timeout is the nearest deadline.

No lost wake-ups.  A waker stores to the word and then sends its wake; a
waiter reads the word and then sends its wait.  If the broker served the
wake first, the waiter must not sleep: so the broker, which maps the guest
memory segment, reads the word again when the wait arrives, before it queues
the waiter, and answers -EAGAIN if it changed.  The broker serves one
message at a time, so between that read and the queueing no wake can slip
in: the check and the enqueue are one step, as under Linux's hash-bucket
lock.  A word in a file page (a MAP_SHARED file, /dev/shm, shared anonymous
memory: what processes share after fork) is outside the segment: the waiter
sends the file's descriptor with its FutexWait (SCM_RIGHTS) and the broker
reads the word with pread(), which sees the page cache every mapping of the
file shows.

FUTEX_WAKE_OP's read-modify-write of the word is done by the broker, so it is
atomic with respect to every other futex operation of the machine; with
threads it becomes a host atomic on the segment, like the exclusives.
"""
from __future__ import annotations

import errno
import os
import struct
import time

from ..cpu import hostatomic
from ..ipc import protocol as P
from ..ipc.channel import ChannelClosed
from ..mm.fault import MemFault
from ..record import field, record
from . import brokercall, timespec
from .systable import s32

FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 2, 3, 4
FUTEX_WAKE_OP, FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI = 5, 6, 7, 8
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET, FUTEX_WAIT_REQUEUE_PI = 9, 10, 11
FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2 = 12, 13
FUTEX_PRIVATE_FLAG = 128
FUTEX_CLOCK_REALTIME = 256
FUTEX_BITSET_MATCH_ANY = 0xFFFF_FFFF

_U32 = struct.Struct("<I")
_INT_MAX = 0x7FFF_FFFF



def _s12(v: int) -> int:
    v &= 0xFFF
    return v - 0x1000 if v >> 11 else v


# ---- FUTEX_WAKE_OP's operation on the word --------------------------------------------
_OPS = {0: lambda old, arg: arg,                 # FUTEX_OP_SET
        1: lambda old, arg: old + arg,           # FUTEX_OP_ADD
        2: lambda old, arg: old | arg,           # FUTEX_OP_OR
        3: lambda old, arg: old & ~arg,          # FUTEX_OP_ANDN
        4: lambda old, arg: old ^ arg}           # FUTEX_OP_XOR
_CMPS = {0: lambda a, b: a == b, 1: lambda a, b: a != b, 2: lambda a, b: a < b,
         3: lambda a, b: a <= b, 4: lambda a, b: a > b, 5: lambda a, b: a >= b}


def wake_op_valid(encoded: int) -> bool:
    """Whether the operation part of a FUTEX_WAKE_OP val3 is known (else ENOSYS)."""
    return (encoded >> 28) & 7 in _OPS


def wake_op_apply(old: int, encoded: int) -> tuple[int, bool | None]:
    """(the word's new value, whether the old one passes the comparison); the
    comparison is None when unknown (Linux stores the new value, then ENOSYS)."""
    op, shift, cmp = (encoded >> 28) & 7, (encoded >> 31) & 1, (encoded >> 24) & 15
    oparg, cmparg = _s12(encoded >> 12), _s12(encoded)
    if shift:
        oparg = 1 << (oparg & 31)          # Linux warns and masks an out-of-range shift
    new = _OPS[op](old, oparg) & 0xFFFF_FFFF
    test = _CMPS.get(cmp)
    return new, (test(s32(old), cmparg) if test else None)


# ---- the broker's side ---------------------------------------------------------------------
@record
class Waiter:
    rec: object                 # the broker's TaskRecord of the waiting task
    key: tuple
    bitset: int
    deadline: int | None        # host CLOCK_MONOTONIC ns


@record
class FutexQueues:
    """Every futex queue of the machine (held by the broker, which serves one message at
    a time: each method is atomic with respect to every other futex operation).

    `words` is the guest memory segment as a memoryview (None: not mapped, the
    tasks' value checks stand alone)."""
    words: memoryview | None = None
    queues: dict = field(default_factory=dict)       # key -> [Waiter], oldest first
    waiting: dict = field(default_factory=dict)      # TaskRecord id -> Waiter

    def _read(self, frame: int, offset: int) -> int:
        return _U32.unpack_from(self.words, frame * 4096 + offset)[0]

    def _answer(self, w: Waiter, result: int) -> None:
        self.queues[w.key].remove(w)
        if not self.queues[w.key]:
            del self.queues[w.key]
        del self.waiting[id(w.rec)]
        try:
            w.rec.chan.send(P.FutexWaitReply(result))
        except ChannelClosed:
            pass                                      # it died: the reaper drops nothing more

    def wait(self, rec, msg: P.FutexWait, file_fd: int | None = None) -> P.FutexWaitReply | None:
        """Queue the waiter unless its word changed; a word in a file page (shared memory
        of several processes) is read through the file's descriptor (file_fd, sent with
        the message), which sees the same page cache as every mapping of it."""
        self.drop(rec)                                # a task waits on one futex at most
        if msg.frame is not None and self.words is not None:
            now = self._read(msg.frame, msg.offset)
        elif file_fd is not None and msg.key[0] == "file":
            raw = os.pread(file_fd, 4, msg.key[3])
            now = _U32.unpack(raw)[0] if len(raw) == 4 else msg.val
        else:
            now = msg.val
        if now != msg.val:
            return P.FutexWaitReply(-errno.EAGAIN)    # a wake came between check and here
        if msg.deadline is not None and msg.deadline <= time.monotonic_ns():
            return P.FutexWaitReply(-errno.ETIMEDOUT)
        w = Waiter(rec, msg.key, msg.bitset, msg.deadline)
        self.queues.setdefault(msg.key, []).append(w)
        self.waiting[id(rec)] = w
        return None                                   # answered when woken or timed out

    def cancel(self, rec) -> P.FutexCancelReply:
        w = self.waiting.get(id(rec))
        if w is None:
            return P.FutexCancelReply(False)          # its FutexWaitReply is already sent
        self.queues[w.key].remove(w)
        if not self.queues[w.key]:
            del self.queues[w.key]
        del self.waiting[id(rec)]
        return P.FutexCancelReply(True)

    def drop(self, rec) -> None:
        """A task died: it waits no more."""
        if id(rec) in self.waiting:
            self.cancel(rec)

    def wake(self, key: tuple, count: int, bitset: int = FUTEX_BITSET_MATCH_ANY) -> int:
        woken = 0
        for w in list(self.queues.get(key, ())):
            if not w.bitset & bitset:
                continue
            self._answer(w, 0)
            woken += 1
            if woken >= count:                        # as Linux: a count <= 0 wakes one
                break
        return woken

    def requeue(self, msg: P.FutexRequeue) -> int:
        if msg.val is not None and msg.frame is not None and self.words is not None and \
                self._read(msg.frame, msg.offset) != msg.val:
            return -errno.EAGAIN
        done = 0
        for w in list(self.queues.get(msg.key, ())):
            if done - msg.nwake >= msg.nrequeue:
                break
            done += 1
            if done <= msg.nwake:
                self._answer(w, 0)
                continue
            if msg.key2 == msg.key:
                continue
            self.queues[msg.key].remove(w)
            if not self.queues[msg.key]:
                del self.queues[msg.key]
            w.key = msg.key2
            self.queues.setdefault(msg.key2, []).append(w)
        return done

    def wake_op(self, msg: P.FutexWakeOp) -> int:
        if msg.frame2 is None:
            cond = bool(msg.op)                       # the task applied it (a file page)
        elif self.words is None:
            return -errno.EFAULT                      # a broker without the segment (tests)
        else:
            # the read-modify-write is a host compare-and-swap: threads on other cores
            # may be changing the word at the same moment
            host = hostatomic.page_address(self.words) + msg.frame2 * 4096 + msg.offset2
            old = hostatomic.load(host, 4)
            while True:
                new, cond = wake_op_apply(old, msg.op)
                if cond is None:
                    return -errno.ENOSYS
                stored, old = hostatomic.compare_exchange(host, 4, old, new)
                if stored:
                    break
        woken = self.wake(msg.key, msg.nwake)
        if cond:
            woken += self.wake(msg.key2, msg.nwake2)
        return woken

    def next_timeout(self) -> float | None:
        """Seconds until the nearest deadline (None: no waiter has one)."""
        deadlines = [w.deadline for w in self.waiting.values() if w.deadline is not None]
        if not deadlines:
            return None
        return min(max(0.0, (min(deadlines) - time.monotonic_ns()) / 1e9), 86400.0)

    def expire(self) -> None:
        now = time.monotonic_ns()
        for w in [w for w in self.waiting.values() if w.deadline is not None and w.deadline <= now]:
            self._answer(w, -errno.ETIMEDOUT)


# ---- the task's side ---------------------------------------------------------------------
def key_of(t, addr: int, private: bool) -> tuple:
    """The futex key of guest address addr (EINVAL unaligned, MemFault unmapped)."""
    if addr & 3:
        raise OSError(errno.EINVAL, "unaligned futex")
    mm = getattr(t.space, "mm_owner", t.pid)     # CLONE_VM processes share one space
    if private:
        return ("mm", mm, addr)
    vma = t.space.find(addr)
    if vma is None:
        raise MemFault(addr, "r")             # a shared key needs the page (get_user_pages)
    if vma.shared:
        page = t.space.alias_key(addr >> 12)
        if page is not None:
            dev, ino, pageno = page
            return ("file", dev, ino, pageno * 4096 + (addr & 4095))
    return ("mm", mm, addr)


def _sleep(t, msg: P.FutexWait, fds: tuple[int, ...] = ()) -> int:
    """Send the wait and block for the broker's answer; a host signal cancels it."""
    reply = brokercall.wait(t, msg, P.FutexWaitReply, P.FutexCancel(), P.FutexCancelReply, fds)
    return -errno.EINTR if reply is None else reply.result


def futex(t, uaddr: int, op: int, val: int, timeout: int, uaddr2: int, val3: int) -> int:
    """futex(2): the result or -errno (OSError and MemFault propagate to the dispatcher)."""
    cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    private = bool(op & FUTEX_PRIVATE_FLAG)
    if op & FUTEX_CLOCK_REALTIME and cmd not in (FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI,
                                                 FUTEX_LOCK_PI2):
        return -errno.ENOSYS
    val &= 0xFFFF_FFFF
    val3 &= 0xFFFF_FFFF
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        deadline = None
        if timeout:
            ns = timespec.read_ns(t, timeout)
            now = time.monotonic_ns()
            if cmd == FUTEX_WAIT:
                deadline = now + ns                   # relative, on CLOCK_MONOTONIC
            elif op & FUTEX_CLOCK_REALTIME:           # absolute realtime, as monotonic now
                deadline = now + (ns - time.time_ns())
            else:
                deadline = ns
        bitset = FUTEX_BITSET_MATCH_ANY if cmd == FUTEX_WAIT else val3
        if not bitset:
            return -errno.EINVAL
        key = key_of(t, uaddr, private)
        frame = t.space.frame_of(uaddr, "r")
        if t.mem.read_u32(uaddr) != val:
            return -errno.EAGAIN
        fds = ()
        if frame is None and key[0] == "file":       # the broker reads the word in the file
            fd = t.space.find(uaddr).file.fd
            fds = (fd,) if fd >= 0 else ()           # (a SysV segment has no descriptor)
        return _sleep(t, P.FutexWait(key, frame, uaddr & 4095, val, bitset, deadline), fds)
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        bitset = FUTEX_BITSET_MATCH_ANY if cmd == FUTEX_WAKE else val3
        if not bitset:
            return -errno.EINVAL
        key = key_of(t, uaddr, private)
        return brokercall.call(t, P.FutexWake(key, s32(val), bitset), P.FutexCount).count
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        nwake, nrequeue = s32(val), s32(timeout)
        if nwake < 0 or nrequeue < 0:
            return -errno.EINVAL
        key, key2 = key_of(t, uaddr, private), key_of(t, uaddr2, private)
        frame, cmpval = None, None
        if cmd == FUTEX_CMP_REQUEUE:
            frame = t.space.frame_of(uaddr, "r")
            cmpval = val3
            if t.mem.read_u32(uaddr) != cmpval:
                return -errno.EAGAIN
        return brokercall.call(t, P.FutexRequeue(key, key2, frame, uaddr & 4095, cmpval,
                                          nwake, nrequeue), P.FutexCount).count
    if cmd == FUTEX_WAKE_OP:
        key, key2 = key_of(t, uaddr, private), key_of(t, uaddr2, private)
        if not wake_op_valid(val3):
            return -errno.ENOSYS
        frame2 = t.space.frame_of(uaddr2, "w")
        op_or_cond = val3
        if frame2 is None:                            # a file page: the broker cannot reach it
            new, cond = wake_op_apply(t.mem.read_u32(uaddr2), val3)
            t.mem.write_u32(uaddr2, new)
            if cond is None:
                return -errno.ENOSYS
            op_or_cond = int(cond)
        return brokercall.call(t, P.FutexWakeOp(key, key2, frame2, uaddr2 & 4095, op_or_cond,
                                         s32(val), s32(timeout)), P.FutexCount).count
    return -errno.ENOSYS                              # FUTEX_FD (gone from Linux), the PI family


def wake_word(t, addr: int, count: int = 1) -> int:
    """Wake waiters on the futex word at addr, as the kernel does at a thread's end
    (CLONE_CHILD_CLEARTID, robust mutexes): a shared key, which for private memory is
    the same as the private one."""
    return brokercall.call(t, P.FutexWake(key_of(t, addr, False), count,
                                          FUTEX_BITSET_MATCH_ANY), P.FutexCount).count
