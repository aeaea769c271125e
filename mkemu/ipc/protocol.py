"""The broker <-> task protocol: every message type, declared once.

Transport: one SOCK_SEQPACKET Unix socket pair per task (ipc/channel.py), so
messages keep their boundaries, descriptors can travel with SCM_RIGHTS, and
nothing is left in /dev/mqueue or /dev/shm if a process dies.  A message is
a 2-byte type followed by the pickled tuple of its fields.  A task sends a
request and waits for the reply of the matching type; the broker (a MINIX
style server loop, kern/broker.py) looks the request type up in its call
table.  Requests marked "no reply" are notifications.  A message the broker
cannot serve (an unknown type number, a type it does not handle, fields that
do not decode) is answered with ErrorReply(request, reason), and the broker
goes on serving; the task's call() raises it as RequestRefused.

FutexWait is the one request whose reply comes later: the broker answers it
when the waiter is woken, its deadline passes, or at once (-EAGAIN) when the
futex word it re-reads in guest memory differs from val.  A waiter a host
signal interrupts sends FutexCancel and reads until FutexCancelReply (a
FutexWaitReply sent before the cancel arrives first).  See kern/futex.py.

| request        | fields                        | reply                       |
|----------------|-------------------------------|-----------------------------|
| Hello          | host_pid (+ the holdings memfd| Welcome(pid, tid, ppid)     |
|                | of a first task, and the write|                             |
|                | end of its signal mailbox)    |                             |
| GetPpid        |                               | PpidReply(ppid)             |
| FrameRequest   | count                         | FrameGrant(runs)            |
| FrameReturn    | runs                          | (no reply)                  |
| ExitGroup      | code, signal, core, thread,   | (no reply; the task exits)  |
|                | closed                        |                             |
| FutexWait      | key, frame, offset, val,      | FutexWaitReply(result) when |
|                | bitset, deadline              | woken, timed out, refused   |
| FutexCancel    |                               | FutexCancelReply(queued)    |
| FutexWake      | key, count, bitset            | FutexCount(count)           |
| FutexRequeue   | key, key2, frame, offset, val,| FutexCount(count) or        |
|                | nwake, nrequeue               | FutexCount(-EAGAIN)         |
| FutexWakeOp    | key, key2, frame2, offset2,   | FutexCount(count)           |
|                | op, nwake, nwake2             |                             |
| Fork           | vfork, share, slots (+ the    | ForkReply(pid) (+ the       |
|                | child's holdings memfd, or    | child's channel end)        |
|                | the shared space's control)   |                             |
| Forked         | pid, host_pid, wait           | VforkDone() if wait, when   |
|                |                               | the child execs or ends     |
| ProcUpdate     | comm, cmdline, exe, execed,   | (no reply)                  |
|                | pdeathsig, chld               |                             |
| Wait           | idtype, id, options           | WaitReply(pid, status, code,|
|                |                               | cpu) now, or when a child   |
|                |                               | ends                        |
| Cancel         |                               | CancelReply(queued)         |
| Kill           | pid, sig, info                | KillReply(result, me_too)   |
| SetPgid        | pid, pgid                     | Value(0 or -errno)          |
| GetPgid/GetSid | pid                           | Value(id or -errno)         |
| SetSid         |                               | Value(sid or -errno)        |
| ProcList       |                               | ProcListReply(pids)         |
| ProcInfo       | pid                           | ProcInfoReply(info or None) |
| Stop           | sig                           | Value(0: stopped and now    |
|                |                               | continued; 1: discarded)    |
| Tty            | op, rdev, arg, path           | TtyReply(value, path)       |
| TgKill         | tgid, tid, sig, info          | KillReply(result, me_too)   |
| TakeSignals    | mask                          | SignalsReply(infos)         |
| Leaving        |                               | Value(0): no signal is sent |
|                |                               | to this thread from now     |
| ReturnSignals  | infos                         | (no reply; sent to the      |
|                |                               | process again)              |
| ExecAlone      |                               | Value(0) when the group's   |
|                |                               | other threads are gone      |
| Ipc            | op, kind, key, flags, arg     | Value(id, key, 0 or -errno) |
|                |                               | (+ the queue's descriptor   |
|                |                               | for a mq_open)              |
| Introspect     | tid, request, thread (+ the   | Value(0: passed on to the   |
|                | socket the target answers on) | target; -ESRCH, -EAGAIN)    |
| (anything else)|                               | ErrorReply(request, reason) |

Fork is two steps because the host fork happens in the task: Fork reserves
the child's pid and record and hands over its channel; the task forks; the
child says Hello(host_pid) on its new channel and the parent says
Forked(pid, host_pid), whichever comes first lets the broker watch the new
process.  Wait is answered later when no child has ended yet (like
FutexWait); a waiter a signal interrupts sends Cancel.
"""
from __future__ import annotations

import _pickle as pickle    # (pickle's own dumps/loads: importing pickle imports re, ~4 ms)
import struct

from ..record import SCALARS, plain, plain_init


class MsgType:
    """Message type numbers (the header's uint16).  Plain ints, not an IntEnum:
    making an enum of these 46 cost every `mkemu run` ~1 ms of start-up, and
    nothing here needs their names."""
    HELLO = 1
    WELCOME = 2
    GET_PPID = 3
    PPID_REPLY = 4
    FRAME_REQUEST = 5
    FRAME_GRANT = 6
    EXIT_GROUP = 7
    ERROR_REPLY = 9
    FUTEX_WAIT = 10
    FUTEX_WAIT_REPLY = 11
    FUTEX_CANCEL = 12
    FUTEX_CANCEL_REPLY = 13
    FUTEX_WAKE = 14
    FUTEX_COUNT = 15
    FUTEX_REQUEUE = 16
    FUTEX_WAKE_OP = 17
    FORK = 18
    FORK_REPLY = 19
    FORKED = 20
    VFORK_DONE = 21
    PROC_UPDATE = 22
    WAIT = 23
    WAIT_REPLY = 24
    CANCEL = 25
    CANCEL_REPLY = 26
    KILL = 27
    KILL_REPLY = 28
    SET_PGID = 29
    GET_PGID = 30
    GET_SID = 31
    SET_SID = 32
    VALUE = 33
    PROC_LIST = 34
    PROC_LIST_REPLY = 35
    PROC_INFO = 36
    PROC_INFO_REPLY = 37
    STOP = 38
    TTY = 39
    TTY_REPLY = 40
    TG_KILL = 41
    EXEC_ALONE = 42
    TAKE_SIGNALS = 43
    SIGNALS_REPLY = 44
    FRAME_RETURN = 45
    INTROSPECT = 46
    LEAVING = 47
    RETURN_SIGNALS = 48
    IPC = 80


def _repr(self) -> str:
    return f"{type(self).__qualname__}(" + \
        ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS) + ")"


def _eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    return all(getattr(self, name) == getattr(other, name) for name in self.FIELDS)


def message(cls):
    """A message type, declared like a dataclass: its annotated attributes are its
    fields, in order, a value given there their default.  Instances get __init__,
    and compare and print by their fields.  (@dataclass made three functions per
    class at import: a tenth of mkemu's start-up for these 46; record.plain_init
    makes __init__ without compiling it.)"""
    names = tuple(cls.__dict__.get("__annotations__", {}))
    cls.__init__ = plain_init(cls.__qualname__, names,
                              {n: cls.__dict__[n] for n in names if n in cls.__dict__})
    cls.FIELDS = names
    cls.__match_args__ = names
    cls.__repr__ = _repr
    cls.__eq__ = _eq
    cls.__hash__ = None             # (as a dataclass with eq: mutable, so unhashable)
    return cls


@message
class Hello:
    """A new task exists; Welcome answers unless `quiet` (a fork child knows its ids)."""
    TYPE = MsgType.HELLO
    host_pid: int
    quiet: bool = False


@message
class Welcome:
    TYPE = MsgType.WELCOME
    pid: int
    tid: int
    ppid: int


@message
class GetPpid:
    TYPE = MsgType.GET_PPID


@message
class PpidReply:
    TYPE = MsgType.PPID_REPLY
    ppid: int


@message
class FrameRequest:
    TYPE = MsgType.FRAME_REQUEST
    count: int


@message
class FrameReturn:
    """A thread ends while its process goes on: the free frames of its pool (runs),
    no longer in the holdings bitmap, are the broker's again.  No reply."""
    TYPE = MsgType.FRAME_RETURN
    runs: list


@message
class FrameGrant:
    """Free frames for the task's pool, as runs [(first, count), ...]; empty: none left."""
    TYPE = MsgType.FRAME_GRANT
    runs: list


@message
class TgKill:
    """tgkill/tkill/rt_tgsigqueueinfo to one thread (tgid 0: any group); KillReply."""
    TYPE = MsgType.TG_KILL
    tgid: int
    tid: int
    sig: int
    info: bytes = b""


@message
class TakeSignals:
    """A thread now lets in signals of mask: the process-directed ones the broker kept
    while every thread blocked them (Linux's shared pending set).  SignalsReply."""
    TYPE = MsgType.TAKE_SIGNALS
    mask: int


@message
class Leaving:
    """A thread exits while its process goes on: the broker routes no signal to it from
    the reply (Value(0)) on, so the process-directed ones it got before are all in
    hand, and come back with ReturnSignals."""
    TYPE = MsgType.LEAVING


@message
class ReturnSignals:
    """A leaving thread's process-directed signals it did not take (siginfo records):
    the broker sends them to the process again, for another thread.  No reply."""
    TYPE = MsgType.RETURN_SIGNALS
    infos: list


@message
class SignalsReply:
    TYPE = MsgType.SIGNALS_REPLY
    infos: list


@message
class ExecAlone:
    """execve in a thread group: end the other threads first (Value(0) once they are
    gone; the caller's thread id becomes the group's pid)."""
    TYPE = MsgType.EXEC_ALONE


@message
class ExitGroup:
    """The guest thread group ends: exit(code) when signal == 0, else killed by signal.
    thread: only the sender's thread ends (exit(2)); the group ends with it if it was
    the last.  closed: the process (one thread, its own descriptor table) has closed
    every descriptor but its channel, so nothing of it is left that the guest could
    see: the broker may report its end before the host process is gone."""
    TYPE = MsgType.EXIT_GROUP
    code: int
    signal: int
    core: bool
    thread: bool = False
    closed: bool = False
    maxrss: int = 0          # the process's peak of pages present, kB (ru_maxrss)


@message
class FutexWait:
    """Sleep on futex `key` until woken; frame/offset locate the 32-bit word in the
    segment (frame None: a file page the broker does not map), deadline is a host
    CLOCK_MONOTONIC time in ns or None."""
    TYPE = MsgType.FUTEX_WAIT
    key: tuple
    frame: int | None
    offset: int
    val: int
    bitset: int
    deadline: int | None


@message
class FutexWaitReply:
    """0 when woken, -EAGAIN (the word differs), -ETIMEDOUT."""
    TYPE = MsgType.FUTEX_WAIT_REPLY
    result: int


@message
class FutexCancel:
    """The waiter was interrupted: take it off its queue."""
    TYPE = MsgType.FUTEX_CANCEL


@message
class FutexCancelReply:
    """queued: the waiter was still queued (so no FutexWaitReply was sent)."""
    TYPE = MsgType.FUTEX_CANCEL_REPLY
    queued: bool


@message
class FutexWake:
    TYPE = MsgType.FUTEX_WAKE
    key: tuple
    count: int
    bitset: int


@message
class FutexCount:
    """How many waiters a wake, requeue or wake-op woke (and requeued); or -errno."""
    TYPE = MsgType.FUTEX_COUNT
    count: int


@message
class FutexRequeue:
    """Wake nwake waiters of key, move up to nrequeue more to key2; when val is not
    None, only if the word at frame/offset (key's) still holds val, else -EAGAIN."""
    TYPE = MsgType.FUTEX_REQUEUE
    key: tuple
    key2: tuple
    frame: int | None
    offset: int
    val: int | None
    nwake: int
    nrequeue: int


@message
class FutexWakeOp:
    """FUTEX_WAKE_OP: the broker applies op (the encoded val3) to the word at
    frame2/offset2 (key2's), wakes nwake of key and, if the old value passes op's
    comparison, nwake2 of key2.  frame2 None: the task already applied it, and op's
    comparison result is passed as op (0 or 1) with key2 only woken if 1."""
    TYPE = MsgType.FUTEX_WAKE_OP
    key: tuple
    key2: tuple
    frame2: int | None
    offset2: int
    op: int
    nwake: int
    nwake2: int


@message
class Fork:
    """Reserve a child: its pid, its record, its channel (sent back over SCM_RIGHTS).
    The request carries the child's frame-holdings memfd, or with `share` (CLONE_VM
    without CLONE_VFORK) the space's control memfd (mm/sharedmm.py): "thread" makes a
    thread of the caller's group, "vm" a process sharing its memory; slots: the
    control slots of the caller and the child (their blocked signals are there)."""
    TYPE = MsgType.FORK
    vfork: bool
    share: str = ""
    slots: tuple = ()


@message
class ForkReply:
    """The child's pid; for a process fork, runs: the child's first frames (as FrameGrant's,
    already the child's: its parent records them in the child's holdings)."""
    TYPE = MsgType.FORK_REPLY
    pid: int
    runs: tuple = ()


@message
class Forked:
    """The parent's host fork made process host_pid for child pid (-1: the fork failed,
    drop the child); with wait, answer VforkDone when the child execs or ends."""
    TYPE = MsgType.FORKED
    pid: int
    host_pid: int
    wait: bool


@message
class VforkDone:
    TYPE = MsgType.VFORK_DONE


@message
class ProcUpdate:
    """What /proc shows of the sender changed (None: unchanged); execed: it exec'd;
    pdeathsig: the signal it wants when its parent ends (prctl PR_SET_PDEATHSIG)."""
    TYPE = MsgType.PROC_UPDATE
    comm: str | None
    cmdline: bytes | None
    exe: str | None
    execed: bool
    pdeathsig: int | None = None
    chld: int | None = None            # proctable.CHLD_* bits: how it takes SIGCHLD now


@message
class Wait:
    """wait4/waitid: idtype P_ALL 0, P_PID 1, P_PGID 2; options as waitid's.  quiet: the
    caller is one thread whose SIGCHLD is SIG_DFL and unblocked, so while it waits a
    SIGCHLD would be discarded as it is generated: the broker sends none."""
    TYPE = MsgType.WAIT
    idtype: int
    id: int
    options: int
    quiet: bool = False


@message
class WaitReply:
    """pid > 0: that child's wait status and si_code, and its CPU time (user, system
    seconds) if it ended; 0: none yet (WNOHANG); -errno."""
    TYPE = MsgType.WAIT_REPLY
    pid: int
    status: int
    code: int
    cpu: tuple = (0.0, 0.0)
    maxrss: int = 0          # kB: its peak, or a waited-for descendant's if larger


@message
class Cancel:
    """The waiter was interrupted by a signal: drop its Wait."""
    TYPE = MsgType.CANCEL


@message
class CancelReply:
    """queued: it was still waiting (so no WaitReply was sent)."""
    TYPE = MsgType.CANCEL_REPLY
    queued: bool


@message
class Kill:
    """kill(2): pid > 0 one process, 0 the caller's group, -1 all it may, < -1 a group;
    info: the 128-byte siginfo the targets get (the sender's pid and uid, a value)."""
    TYPE = MsgType.KILL
    pid: int
    sig: int
    info: bytes = b""


@message
class KillReply:
    """result 0 or -errno; me_too: the caller is a target (it raises the signal itself)."""
    TYPE = MsgType.KILL_REPLY
    result: int
    me_too: bool


@message
class SetPgid:
    TYPE = MsgType.SET_PGID
    pid: int
    pgid: int


@message
class GetPgid:
    TYPE = MsgType.GET_PGID
    pid: int


@message
class GetSid:
    TYPE = MsgType.GET_SID
    pid: int


@message
class SetSid:
    TYPE = MsgType.SET_SID


@message
class Value:
    """A number or -errno."""
    TYPE = MsgType.VALUE
    value: int


@message
class ProcList:
    TYPE = MsgType.PROC_LIST


@message
class ProcListReply:
    TYPE = MsgType.PROC_LIST_REPLY
    pids: list


@message
class ProcInfo:
    TYPE = MsgType.PROC_INFO
    pid: int


@message
class ProcInfoReply:
    """A dict of what /proc/PID shows (pid, ppid, pgid, sid, comm, cmdline, exe, state,
    host_pid, started, tty_nr, tpgid), or None: no such process."""
    TYPE = MsgType.PROC_INFO_REPLY
    info: dict | None


@message
class Stop:
    """The sender takes a stop signal's default action (job control): the broker
    stops its host process and tells its parent; the reply is read once continued."""
    TYPE = MsgType.STOP
    sig: int


@message
class Tty:
    """A controlling-terminal question or change (kern/terminals.py): op is one of
    open, sctty, notty, gpgrp, spgrp, gsid, read, write, setattr, ctty; rdev the
    terminal's st_rdev; path its host device name where the task knows it."""
    TYPE = MsgType.TTY
    op: str
    rdev: int
    arg: int
    path: str


@message
class TtyReply:
    """value: the answer or -errno (terminals.SIGNALLED: the caller's group was sent
    SIGTTIN/SIGTTOU); path: the controlling terminal's host device (op ctty)."""
    TYPE = MsgType.TTY_REPLY
    value: int
    path: str


@message
class Ipc:
    """The machine's IPC namespace (kern/ipcspace.py).  op "get": kind sem/msg/shm, key,
    flags, arg (nsems or size) -> the id; "check": key is an id -> its guest key, or
    -EINVAL when not this machine's; "creator": its creator's guest pid; "remove":
    IPC_RMID of id key; "mq_open": kind is
    the guest's queue name, flags the oflag, key the mode, arg the mq_attr bytes or None
    -> Value(0) with the descriptor; "mq_unlink": kind is the name."""
    TYPE = MsgType.IPC
    op: str
    kind: str
    key: int
    flags: int
    arg: object


@message
class Introspect:
    """Pass request (kern/introspect.py's encoding) and the socket that came with it to
    the task of tid, and ring it; the task answers on that socket."""
    TYPE = MsgType.INTROSPECT
    tid: int
    request: bytes
    thread: bool = False       # about that thread itself (else: any thread of its process)


@message
class ErrorReply:
    """The broker could not serve a request: its type number (-1 if unreadable) and why."""
    TYPE = MsgType.ERROR_REPLY
    request: int
    reason: str


class BadMessage(ValueError):
    """Bytes that are not a well-formed message; `kind` is their type number, -1 if unreadable."""

    def __init__(self, kind: int, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


MESSAGES = {cls.TYPE: cls for cls in (Hello, Welcome, GetPpid, PpidReply, FrameRequest,
                                      FrameGrant, ExitGroup, ErrorReply, FutexWait,
                                      FutexWaitReply, FutexCancel, FutexCancelReply, FutexWake,
                                      FutexCount, FutexRequeue, FutexWakeOp, Fork, ForkReply,
                                      Forked, VforkDone, ProcUpdate, Wait, WaitReply, Cancel,
                                      CancelReply, Kill, KillReply, SetPgid, GetPgid, GetSid,
                                      SetSid, Value, ProcList, ProcListReply, ProcInfo,
                                      ProcInfoReply, Stop, Tty, TtyReply, TgKill, ExecAlone,
                                      TakeSignals, SignalsReply, FrameReturn, Introspect,
                                      Leaving, ReturnSignals)}
MESSAGES[Ipc.TYPE] = Ipc
_HEADER = struct.Struct("<H")


def encode(msg) -> bytes:
    values = tuple(getattr(msg, name) for name in msg.FIELDS)
    if not all(type(v) in SCALARS for v in values):
        values = tuple(plain(v) for v in values)
    return _HEADER.pack(msg.TYPE) + pickle.dumps(values, protocol=-1)


def decode(data: bytes):
    """The message in data; raises BadMessage if it is not one."""
    if len(data) < _HEADER.size:
        raise BadMessage(-1, f"message of {len(data)} bytes has no type")
    (kind,) = _HEADER.unpack_from(data)
    cls = MESSAGES.get(kind)
    if cls is None:
        raise BadMessage(kind, f"unknown message type {kind}")
    try:
        values = pickle.loads(data[_HEADER.size:])
    except Exception as e:           # pickle raises many kinds for damaged data
        raise BadMessage(kind, f"undecodable {cls.__name__} message: {e}") from None
    if not isinstance(values, tuple) or len(values) != len(cls.FIELDS):
        raise BadMessage(kind, f"malformed {cls.__name__} message")
    return cls(*values)
