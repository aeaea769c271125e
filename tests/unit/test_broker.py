"""The broker answers what it cannot serve with ErrorReply and goes on serving.

A real broker loop serves a real forked task process that sends it bogus
messages over its channel; the task checks each reply and reports the first
check that failed as its exit code (0: all held).
"""
import os
import pickle
import signal
import struct
import time

from mkemu.ipc import protocol as P
from mkemu.ipc.channel import RequestRefused
from mkemu.kern.broker import Broker
from mkemu.mm.holdings import Holdings
from mkemu.mm.physmem import PhysMem
from tests.support.testbroker import shut_down

BOGUS = [
    b"\x07",                                              # shorter than a type
    struct.pack("<H", 999) + pickle.dumps(()),            # a type number nobody declared
    struct.pack("<H", P.MsgType.HELLO) + b"not a pickle",  # undecodable fields
    struct.pack("<H", P.MsgType.HELLO) + pickle.dumps((1, 2, 3)),   # wrong field count
    P.encode(P.Welcome(1, 2, 3)),                         # a reply type, not a request
]


def _bogus_task(chan) -> None:
    failed = 0
    for n, data in enumerate(BOGUS, start=1):
        chan.sock.send(data)
        reply = chan.recv()
        if not isinstance(reply, P.ErrorReply) or not reply.reason:
            failed = failed or n
    try:
        chan.call(P.Welcome(1, 2, 3), P.PpidReply)
        failed = failed or 10
    except RequestRefused:
        pass
    if chan.call(P.GetPpid(), P.PpidReply).ppid != 77:        # still serving, correctly
        failed = failed or 11
    chan.send(P.ExitGroup(failed, 0, False))


def test_bogus_messages_get_error_replies_and_the_broker_serves_on():
    broker = Broker(phys_fd=-1)
    task = broker.spawn(_bogus_task, ppid=77)
    try:
        status = broker.serve()
    finally:
        broker.sel.close()
        if task.alive:                       # the broker failed: leave no task behind
            os.kill(task.host_pid, signal.SIGKILL)
            os.waitpid(task.host_pid, 0)
    assert status == 0, f"check {status >> 8} failed (see BOGUS)"


def test_decode_names_the_type_of_a_bad_message():
    try:
        P.decode(struct.pack("<H", 999) + pickle.dumps(()))
    except P.BadMessage as e:
        assert e.kind == 999
    else:
        raise AssertionError("an unknown type decoded")


def _init_task(chan) -> None:
    time.sleep(1.5)                      # outlives the forker below
    chan.send(P.ExitGroup(0, 0, False))


def _dies_forking(chan) -> None:
    """Reserves a child with Fork and dies before its host fork: the child is never born."""
    holdings = Holdings.create(64 * 1024)
    chan.call(P.Fork(False), P.ForkReply, fds=(holdings.fd,))
    os._exit(0)


def test_a_child_never_born_is_dropped_when_its_parent_dies_forking():
    # the never-born child's record must not outlive its parent (reparented to init
    # and waited for forever, the broker would never return)
    fd = PhysMem.create_fd(1 << 28)
    broker = Broker(fd, nframes=(1 << 28) // 4096)
    recs = [broker.spawn(_init_task)]
    recs.append(broker.spawn(_dies_forking, ppid=recs[0].pid))

    def hung(signum, frame):
        raise TimeoutError("the broker still serves a child that was never born")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        broker.serve()
        assert not broker.tasks, broker.tasks
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        shut_down(broker, recs, fd)


_GO_R, _GO_W = -1, -1        # the pipe that lets the slow-to-go child's host process end


def _waits_for_its_child(chan) -> None:
    """Waits for its child, then lets that child's host process end; exits with the pid
    and status the wait reported (0: not as expected)."""
    os.close(_GO_R)
    reply = chan.call(P.Wait(1, 1001, 4), P.WaitReply)      # P_PID 1001, WEXITED
    ok = reply.pid == 1001 and reply.status == 7 << 8
    os.write(_GO_W, b"x")
    chan.send(P.ExitGroup(0 if ok else 1, 0, False))


def _says_goodbye_and_lingers(chan) -> None:
    """exit(7) with its descriptors closed (ExitGroup closed=True), and then a host process
    that stays until its parent was told: the end is reported before the host's."""
    os.close(_GO_W)
    chan.send(P.ExitGroup(7, 0, False, False, True))
    os.read(_GO_R, 1)


def test_a_goodbye_with_descriptors_closed_is_reported_before_the_host_process_ends():
    global _GO_R, _GO_W
    _GO_R, _GO_W = os.pipe()
    fd = PhysMem.create_fd(1 << 28)
    broker = Broker(fd, nframes=(1 << 28) // 4096)
    recs = [broker.spawn(_waits_for_its_child)]
    recs.append(broker.spawn(_says_goodbye_and_lingers, ppid=recs[0].pid))
    assert recs[1].pid == 1001
    os.close(_GO_R)

    def hung(signum, frame):
        raise TimeoutError("the parent heard of its child's end only when its host process was gone")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        status = broker.serve()
        assert status == 0, "the wait did not report the child's exit(7)"
        assert not broker.burying                # every host process was reaped
        assert broker.frame_counts()[1] == 0
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        os.close(_GO_W)                          # a child still there ends
        for rec in recs:
            if rec.host_pid:
                try:
                    os.kill(rec.host_pid, signal.SIGKILL)
                    os.waitpid(rec.host_pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
        broker.close()
        os.close(fd)


def test_a_process_signal_skips_a_thread_whose_slot_a_new_thread_took():
    # A thread that left freed its slot before its host process ended (the broker still
    # lists it); a new thread took that slot and lets SIGUSR2 in there.  The signal must
    # go to the new thread: sent to the one that left, it would be lost.
    from mkemu.kern.proctable import Proc
    from mkemu.mm.sharedmm import MmControl, RESERVED_SLOT
    ctl = MmControl()
    try:
        usr2 = 1 << (signal.SIGUSR2 - 1)
        everything = (1 << 64) - 1
        main = Proc(1000, 1, None, host_pid=501, pidfd=7, tid=1000, ctl=ctl, slot=0)
        left = Proc(1000, 1, None, host_pid=502, pidfd=8, tid=1001, group=main, slot=1)
        new = Proc(1000, 1, None, host_pid=503, pidfd=9, tid=1002, group=main, slot=1)
        main.members = [main, left, new]
        ctl.set_slot(0, 501, 0, blocked=usr2)
        ctl.set_slot(1, 503, 0, blocked=everything & ~usr2)
        assert Broker._thread_for(None, main, signal.SIGUSR2) is new
        # not started yet (its slot reserved): nobody takes it, it waits for the process
        ctl.set_slot(1, RESERVED_SLOT, 0, blocked=0)
        assert Broker._thread_for(None, main, signal.SIGUSR2) is None
        # the main thread letting it in takes it first
        ctl.set_blocked(0, 0)
        assert Broker._thread_for(None, main, signal.SIGUSR2) is main
    finally:
        ctl.close()
        os.close(ctl.fd)
