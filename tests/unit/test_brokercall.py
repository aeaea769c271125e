"""brokercall.wait: a reply read is final.  A host signal that acts raises
InterruptedSyscall wherever the task is while in_syscall is set (signals.py
on_signal); after wait has read the broker's answer (a WaitReply: the child is
reaped), that must no longer happen, or the caller returns EINTR and the answer
is lost (a guest waitpid once returned -1 for a child that had exited)."""
from __future__ import annotations

import pytest

from mkemu.ipc import protocol as P
from mkemu.ipc.channel import Channel
from mkemu.kern import brokercall
from mkemu.kern.errors import InterruptedSyscall


class _Sig:
    def __init__(self) -> None:
        self.acting = False

    def interrupting(self) -> bool:
        return self.acting


class _Task:
    def __init__(self, chan: Channel) -> None:
        self.chan = chan
        self.sig = _Sig()
        self.in_syscall = True            # as the syscall dispatcher sets it


def _host_signal(t) -> None:
    """What signals.on_signal does when a host signal that acts arrives."""
    t.sig.acting = True
    if t.in_syscall and t.sig.interrupting():
        t.in_syscall = False
        raise InterruptedSyscall()


@pytest.fixture
def ends():
    task_end, broker_end = Channel.pair()
    yield task_end, broker_end
    task_end.close()
    broker_end.close()


def test_a_signal_after_the_reply_does_not_lose_it(ends):
    task_end, broker = ends
    t = _Task(task_end)
    broker.send(P.WaitReply(1002, 7 << 8, 1))          # the child had ended already
    reply = brokercall.wait(t, P.Wait(1, 1002, 4), P.WaitReply, P.Cancel(), P.CancelReply)
    assert reply == P.WaitReply(1002, 7 << 8, 1)
    assert isinstance(broker.recv(), P.Wait)
    _host_signal(t)                                      # SIGCHLD lands after the read: pending
    assert t.sig.acting and not t.in_syscall


def test_a_reply_that_crossed_the_cancel_is_kept_and_final(ends):
    task_end, broker = ends
    t = _Task(task_end)
    t.sig.acting = True                                  # pending before the wait: cancel at once
    broker.send(P.WaitReply(1002, 7 << 8, 1))
    broker.send(P.CancelReply(False))
    reply = brokercall.wait(t, P.Wait(1, 1002, 4), P.WaitReply, P.Cancel(), P.CancelReply)
    assert reply == P.WaitReply(1002, 7 << 8, 1)
    assert not t.in_syscall
    assert isinstance(broker.recv(), P.Wait) and isinstance(broker.recv(), P.Cancel)


def test_a_cancelled_wait_gives_the_call_back_its_interruptible_state(ends):
    task_end, broker = ends
    t = _Task(task_end)
    t.sig.acting = True
    broker.send(P.CancelReply(True))
    assert brokercall.wait(t, P.Wait(1, 1002, 4), P.WaitReply, P.Cancel(), P.CancelReply) is None
    assert t.in_syscall                                  # the caller returns EINTR itself


def test_wait4_is_entered_uninterruptible_until_its_sleep(monkeypatch):
    # a signal landing between the syscall entry and the Wait's send would raise
    # InterruptedSyscall there: waitpid -1 EINTR with a zombie child waiting (the vfork
    # waitpid of test_threads::test_clone_vm_child_process_like_linux)
    from types import SimpleNamespace

    from mkemu.kern import syscalls
    from mkemu.kern.systable import load_all

    SYSCALLS = load_all()

    nr = next(n for n, row in SYSCALLS.items() if row.name == "wait4")
    seen = []
    _, *rest = syscalls._entry(SYSCALLS[nr])
    monkeypatch.setitem(syscalls._ENTRIES, nr,
                        (lambda t, *args: seen.append(t.in_syscall) or 0, *rest))
    x = [0] * 32
    x[8] = nr
    task = SimpleNamespace(cpu=SimpleNamespace(x=x, pc=0x1004), in_syscall=False,
                           config=SimpleNamespace(inject_crash=None, strace=False),
                           sig=SimpleNamespace(pending={}, restarted=False,
                                               interrupting=lambda: False),
                           fd_kinds={})
    syscalls.dispatch(task)
    assert seen == [False]
