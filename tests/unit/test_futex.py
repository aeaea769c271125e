"""Futex queues in a real broker loop, with real task processes on its channels.

Each test forks task processes from a real Broker (as tests/unit/test_broker.py
does) that speak the futex messages of ipc/protocol.py and map the same guest
memory segment; each task reports the first check that failed as its exit
code (0: all held).  A waker knows a waiter is queued without sleeping: the
waiter raises a flag in shared memory after sending its FutexWait, and the
waker, once it sees the flag, makes two round trips to the broker: the
select() that returns the first one already saw the waiter's message, which
the broker serves in that pass at the latest.
"""
from __future__ import annotations

import errno
import os
import select
import signal
import struct
import time
from types import SimpleNamespace

import pytest

from mkemu.ipc import protocol as P
from mkemu.kern import futex
from mkemu.kern.broker import Broker
from mkemu.kern.errors import InterruptedSyscall
from mkemu.mm.physmem import PAGE_SIZE, PhysMem
from tests.support.testbroker import shut_down

NFRAMES = 16
WORD = (7, 0)            # (frame, offset) of the futex word
FLAG = 8 * PAGE_SIZE     # byte offset of the waiter's "wait sent" flag
K1 = ("mm", 1000, 0x7000)
K2 = ("mm", 1000, 0x8000)
ANY = futex.FUTEX_BITSET_MATCH_ANY
_U32 = struct.Struct("<I")


class Checks:
    """Numbered checks inside a task process; the first failure is the exit code."""

    def __init__(self) -> None:
        self.failed = 0

    def __call__(self, n: int, ok: bool) -> None:
        if not ok and not self.failed:
            self.failed = n


def _mem(fd: int) -> memoryview:
    return PhysMem(fd, NFRAMES * PAGE_SIZE).view


def _wait_msg(key=K1, val=0, bitset=ANY, deadline=None) -> P.FutexWait:
    return P.FutexWait(key, WORD[0], WORD[1], val, bitset, deadline)


def _wait_sent(mem: memoryview) -> None:
    mem[FLAG] = 1


def _settle(chan, mem: memoryview) -> None:
    """Return once the broker has served the waiter's FutexWait (see the module doc)."""
    deadline = time.monotonic() + 20
    while not mem[FLAG]:
        if time.monotonic() > deadline:
            raise TimeoutError("the waiter never sent its wait")
        time.sleep(0.001)
    for _ in range(2):
        chan.call(P.GetPpid(), P.PpidReply)


def _wake(chan, key=K1, count=1, bitset=ANY) -> int:
    return chan.call(P.FutexWake(key, count, bitset), P.FutexCount).count


def _exit(chan, checks: Checks) -> None:
    chan.send(P.ExitGroup(checks.failed, 0, False))


def _woken_waiter(**wait):
    """A task that waits once (on _wait_msg(**wait)) and expects to be woken."""
    def waiter(chan, mem):
        c = Checks()
        chan.send(_wait_msg(**wait))
        _wait_sent(mem)
        c(1, chan.recv() == P.FutexWaitReply(0))
        _exit(chan, c)
    return waiter


def _run(*mains):
    """Serve tasks running mains[i](chan, mem) until all are gone: (broker, records)."""
    fd = PhysMem.create_fd(NFRAMES * PAGE_SIZE)
    broker = Broker(fd, nframes=NFRAMES)
    recs = []
    try:
        for main in mains:
            recs.append(broker.spawn(lambda chan, main=main: main(chan, _mem(fd)), ppid=1))
        broker.serve()
    finally:
        shut_down(broker, recs, fd)
    return broker, recs


def _assert_all_passed(broker, recs) -> None:
    for n, rec in enumerate(recs):
        assert rec.exit is not None, f"task {n} died without a goodbye"
        assert rec.exit.code == 0, f"task {n}: check {rec.exit.code} failed"
    assert not broker.futex.queues and not broker.futex.waiting


def test_one_task_wakes_another_exactly_once():
    def waiter(chan, mem):
        c = Checks()
        chan.send(_wait_msg())
        _wait_sent(mem)
        c(1, chan.recv() == P.FutexWaitReply(0))
        # a second reply would arrive before this one: the waiter was woken once
        c(2, chan.call(P.GetPpid(), P.PpidReply).ppid == 1)
        _exit(chan, c)

    def waker(chan, mem):
        c = Checks()
        _settle(chan, mem)
        c(1, _wake(chan, K2) == 0)                        # another futex: nobody
        c(2, _wake(chan, count=0x7FFF_FFFF) == 1)
        c(3, _wake(chan, count=0x7FFF_FFFF) == 0)         # it is gone from the queue
        _exit(chan, c)

    _assert_all_passed(*_run(waiter, waker))


def test_a_wake_wakes_only_waiters_whose_bitset_matches():
    waiter = _woken_waiter(bitset=0b01)

    def waker(chan, mem):
        c = Checks()
        _settle(chan, mem)
        c(1, _wake(chan, bitset=0b10) == 0)
        c(2, _wake(chan, bitset=0b11) == 1)
        _exit(chan, c)

    _assert_all_passed(*_run(waiter, waker))


def test_requeue_moves_a_waiter_to_the_second_futex():
    waiter = _woken_waiter()

    def requeuer(chan, mem):
        c = Checks()
        _settle(chan, mem)
        # CMP_REQUEUE: the broker reads the word itself (0), and 5 is not it
        cmp = P.FutexRequeue(K1, K2, WORD[0], WORD[1], 5, 0, 1)
        c(1, chan.call(cmp, P.FutexCount).count == -errno.EAGAIN)
        move = P.FutexRequeue(K1, K2, WORD[0], WORD[1], 0, 0, 1)
        c(2, chan.call(move, P.FutexCount).count == 1)
        c(3, _wake(chan, K1) == 0)
        c(4, _wake(chan, K2) == 1)
        _exit(chan, c)

    _assert_all_passed(*_run(waiter, requeuer))


def test_wake_op_changes_the_word_and_wakes_by_its_comparison():
    waiter = _woken_waiter(key=K2)

    def waker(chan, mem):
        c = Checks()
        _settle(chan, mem)
        at = WORD[0] * PAGE_SIZE + 64
        _U32.pack_into(mem, at, 3)
        # FUTEX_OP(ADD, 4, CMP_EQ, 4): 3 -> 7, and 3 == 4 is false: K2 not woken
        op = (1 << 28) | (0 << 24) | (4 << 12) | 4
        msg = P.FutexWakeOp(K1, K2, WORD[0], 64, op, 1, 1)
        c(1, chan.call(msg, P.FutexCount).count == 0)
        c(2, _U32.unpack_from(mem, at)[0] == 7)
        # FUTEX_OP(SET, 0, CMP_EQ, 7): 7 -> 0, and 7 == 7: K2's waiter is woken
        msg = P.FutexWakeOp(K1, K2, WORD[0], 64, (0 << 28) | 7, 1, 1)
        c(3, chan.call(msg, P.FutexCount).count == 1)
        c(4, _U32.unpack_from(mem, at)[0] == 0)
        _exit(chan, c)

    _assert_all_passed(*_run(waiter, waker))


def test_the_broker_rechecks_the_word_before_it_queues():
    def waiter(chan, mem):
        c = Checks()
        # the task read 0 and decided to sleep; a waker stored 1 and woke (nobody)
        # before the wait arrived: the broker sees the 1 and does not queue it
        _U32.pack_into(mem, WORD[0] * PAGE_SIZE + WORD[1], 1)
        c(1, chan.call(_wait_msg(val=0), P.FutexWaitReply).result == -errno.EAGAIN)
        _exit(chan, c)

    _assert_all_passed(*_run(waiter))


def test_deadlines_and_cancel():
    def waiter(chan, mem):
        c = Checks()
        soon = time.monotonic_ns() + 30_000_000
        c(1, chan.call(_wait_msg(deadline=soon), P.FutexWaitReply).result == -errno.ETIMEDOUT)
        past = time.monotonic_ns() - 1
        c(2, chan.call(_wait_msg(deadline=past), P.FutexWaitReply).result == -errno.ETIMEDOUT)
        chan.send(_wait_msg())
        c(3, chan.call(P.FutexCancel(), P.FutexCancelReply).queued)
        c(4, not chan.call(P.FutexCancel(), P.FutexCancelReply).queued)
        _exit(chan, c)

    _assert_all_passed(*_run(waiter))


def test_a_host_signal_interrupts_a_waiting_task_with_eintr():
    def waiter(chan, mem):
        c = Checks()
        t = SimpleNamespace(chan=chan, in_syscall=True)

        def interrupt(signum, frame):
            if t.in_syscall:
                raise InterruptedSyscall()

        signal.signal(signal.SIGALRM, interrupt)
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        c(1, futex._sleep(t, _wait_msg()) == -errno.EINTR)
        _exit(chan, c)

    _assert_all_passed(*_run(waiter))


def test_a_killed_waiter_leaves_no_queue_entry():
    def waiter(chan, mem):
        chan.send(_wait_msg())
        _wait_sent(mem)
        chan.recv()                               # killed here
        os._exit(3)

    def killer(chan, mem, victim: list):
        c = Checks()
        _settle(chan, mem)
        pidfd = os.pidfd_open(victim[0])
        os.kill(victim[0], signal.SIGKILL)
        c(1, bool(select.select([pidfd], [], [], 20)[0]))
        os.close(pidfd)
        # it is dead now: the select() that returns the next request sees its pidfd
        # too, and the broker reaps it in that pass, before serving the wake after
        chan.call(P.GetPpid(), P.PpidReply)
        c(2, _wake(chan, count=0x7FFF_FFFF) == 0)
        _exit(chan, c)

    victim: list[int] = []
    fd = PhysMem.create_fd(NFRAMES * PAGE_SIZE)
    broker = Broker(fd, nframes=NFRAMES)
    recs = []
    try:
        recs.append(broker.spawn(lambda chan: waiter(chan, _mem(fd)), ppid=1))
        victim.append(recs[0].host_pid)
        recs.append(broker.spawn(lambda chan: killer(chan, _mem(fd), victim), ppid=1))
        status = broker.serve()
    finally:
        shut_down(broker, recs, fd)
    assert status == signal.SIGKILL
    assert recs[1].exit is not None and recs[1].exit.code == 0, \
        f"killer: check {recs[1].exit.code if recs[1].exit else '?'} failed"
    assert not broker.futex.queues and not broker.futex.waiting


@pytest.mark.parametrize("encoded, old, new, cond", [
    ((0 << 28) | (9 << 12), 3, 9, False),                   # SET 9, EQ 0 (old 3: no)
    ((1 << 28) | (0xFFF << 12) | (2 << 24) | 0, 0, 0xFFFF_FFFF, False),   # ADD -1, LT 0
    ((8 << 28) | (2 << 28) | (5 << 12), 0, 32, True),       # OR 1<<5
    ((3 << 28) | (1 << 12) | (5 << 24) | 1, 3, 2, True),     # ANDN 1, GE 1
    ((4 << 28) | (0xFF << 12) | (4 << 24) | 0xFFF, 0, 0xFF, True),   # XOR 0xff, GT -1
])
def test_wake_op_arithmetic(encoded, old, new, cond):
    assert futex.wake_op_apply(old, encoded) == (new, cond)
