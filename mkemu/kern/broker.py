"""The broker: the machine's kernel process, a loop over typed messages.

It owns what tasks share -- the task table (guest pids, parents, exit
statuses), page-frame allocation and the futex queues (kern/futex.py) -- and
never runs guest code.  It maps the guest memory segment to read futex words.  It is the
host parent of every task process, so it reaps them all: a task that dies
without saying goodbye (SIGKILL, a crash of the interpreter) is reported as
killed by its host signal, and the broker and other tasks go on.
"""
from __future__ import annotations

import ctypes
import os
import selectors
import signal
from dataclasses import dataclass, field

from ..ipc import protocol as P
from ..ipc.channel import Channel, ChannelClosed
from ..mm.hostmap import HostMapping
from ..mm.physmem import DEFAULT_SIZE, PAGE_SIZE
from .futex import FutexQueues

PR_SET_PDEATHSIG = 1
FIRST_PID = 1000

_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """Have the host kill this process if its parent process dies."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass
class TaskRecord:
    host_pid: int
    pid: int
    tid: int
    ppid: int
    chan: Channel
    pidfd: int
    exit: P.ExitGroup | None = None
    alive: bool = True


@dataclass
class Broker:
    phys_fd: int
    nframes: int = DEFAULT_SIZE // PAGE_SIZE
    tasks: dict = field(default_factory=dict)       # host pid -> TaskRecord
    next_pid: int = FIRST_PID
    next_frame: int = 1                               # frame 0 is never handed out
    status: int | None = None                         # wait status of the first process

    def __post_init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.calls = {
            P.MsgType.HELLO: self.on_hello,
            P.MsgType.GET_PPID: self.on_get_ppid,
            P.MsgType.FRAME_REQUEST: self.on_frame_request,
            P.MsgType.EXIT_GROUP: self.on_exit_group,
            P.MsgType.FUTEX_WAIT: self.on_futex_wait,
            P.MsgType.FUTEX_CANCEL: self.on_futex_cancel,
            P.MsgType.FUTEX_WAKE: self.on_futex_wake,
            P.MsgType.FUTEX_REQUEUE: self.on_futex_requeue,
            P.MsgType.FUTEX_WAKE_OP: self.on_futex_wake_op,
        }
        self.first_pid = None
        # the segment stays mapped here after its descriptor is closed (futex words)
        self.segment = HostMapping(self.phys_fd, 0, self.nframes * PAGE_SIZE, writable=True) \
            if self.phys_fd >= 0 else None
        self.futex = FutexQueues(self.segment.view if self.segment else None)

    # ---- task creation ------------------------------------------------------------
    def spawn(self, child_main, ppid: int = 0) -> TaskRecord:
        """Fork a task process running child_main(channel); the broker is its parent."""
        mine, theirs = Channel.pair()
        pid = self.next_pid
        self.next_pid += 1
        host_pid = os.fork()
        if host_pid == 0:
            try:
                mine.close()
                self.sel.close()
                die_with_parent()
                child_main(theirs)
            finally:
                os._exit(70)
        theirs.close()
        rec = TaskRecord(host_pid, pid, pid, ppid, mine, os.pidfd_open(host_pid))
        self.tasks[host_pid] = rec
        self.sel.register(mine.sock, selectors.EVENT_READ, (rec, "chan"))
        self.sel.register(rec.pidfd, selectors.EVENT_READ, (rec, "exit"))
        if self.first_pid is None:
            self.first_pid = pid
        return rec

    # ---- the server loop ------------------------------------------------------------
    def serve(self) -> int:
        """Serve until every task has exited; return the first process's wait status."""
        while any(r.alive for r in self.tasks.values()):
            for key, _ in self.sel.select(self.futex.next_timeout()):
                rec, kind = key.data
                if kind == "chan":
                    self._serve_one(rec)
                else:
                    self._reap(rec)
            self.futex.expire()
        return self.status if self.status is not None else 0

    def _serve_one(self, rec: TaskRecord) -> None:
        try:
            msg = rec.chan.recv()
        except ChannelClosed:
            self.sel.unregister(rec.chan.sock)
            return
        except P.BadMessage as e:
            reply = P.ErrorReply(e.kind, str(e))
        else:
            handler = self.calls.get(msg.TYPE)
            reply = handler(rec, msg) if handler else \
                P.ErrorReply(msg.TYPE, f"the broker does not serve {type(msg).__name__}")
        if reply is not None:
            try:
                rec.chan.send(reply)
            except ChannelClosed:
                pass

    def _reap(self, rec: TaskRecord) -> None:
        _, wstatus = os.waitpid(rec.host_pid, 0)
        self.sel.unregister(rec.pidfd)
        os.close(rec.pidfd)
        # drain a goodbye that raced with the exit
        try:
            while rec.exit is None:
                self._serve_one(rec)
        except (OSError, KeyError, ValueError):
            pass
        try:
            self.sel.unregister(rec.chan.sock)
        except (KeyError, ValueError):
            pass
        rec.chan.close()
        rec.alive = False
        self.futex.drop(rec)
        if rec.exit is not None:
            guest = (rec.exit.code & 0xFF) << 8 if not rec.exit.signal else \
                rec.exit.signal | (0x80 if rec.exit.core else 0)
        elif os.WIFSIGNALED(wstatus):
            guest = os.WTERMSIG(wstatus)          # the host process was killed: same signal
        else:
            guest = signal.SIGABRT                # it vanished without a word: a crash
        if rec.pid == self.first_pid:
            self.status = guest

    def close(self) -> None:
        """Drop the selector and the segment's mapping (a broker that returns, as in tests)."""
        self.sel.close()
        self.futex.words = None
        if self.segment is not None:
            self.segment.unmap()

    # ---- handlers -----------------------------------------------------------------------
    def on_hello(self, rec: TaskRecord, msg: P.Hello):
        return P.Welcome(rec.pid, rec.tid, rec.ppid)

    def on_get_ppid(self, rec: TaskRecord, msg: P.GetPpid):
        return P.PpidReply(rec.ppid)

    def on_frame_request(self, rec: TaskRecord, msg: P.FrameRequest):
        count = max(0, min(msg.count, self.nframes - self.next_frame))
        first = self.next_frame
        self.next_frame += count
        return P.FrameGrant(first, count)

    def on_exit_group(self, rec: TaskRecord, msg: P.ExitGroup):
        rec.exit = msg
        return None

    def on_futex_wait(self, rec: TaskRecord, msg: P.FutexWait):
        return self.futex.wait(rec, msg)          # None: the reply comes when woken

    def on_futex_cancel(self, rec: TaskRecord, msg: P.FutexCancel):
        return self.futex.cancel(rec)

    def on_futex_wake(self, rec: TaskRecord, msg: P.FutexWake):
        return P.FutexCount(self.futex.wake(msg.key, msg.count, msg.bitset))

    def on_futex_requeue(self, rec: TaskRecord, msg: P.FutexRequeue):
        return P.FutexCount(self.futex.requeue(msg))

    def on_futex_wake_op(self, rec: TaskRecord, msg: P.FutexWakeOp):
        return P.FutexCount(self.futex.wake_op(msg))


def wait_status_to_exit_code(status: int) -> int:
    """A guest wait status as a shell would report it: code, or 128 + signal."""
    sig = status & 0x7F
    if sig:
        return 128 + sig
    return (status >> 8) & 0xFF
