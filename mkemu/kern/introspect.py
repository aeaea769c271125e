"""Asking another guest process what only its own task knows.

/proc/PID/maps, environ, cwd, status, fd/ ... and process_vm_readv/writev
need the target's address space, descriptor table and credentials, which
live in its task process.  The asker makes a stream socket pair and sends
one end with Introspect(tid, request) to the broker; the broker passes the
request and that end to the target over the target's door (a SOCK_SEQPACKET
pair made at Hello, whose broker end travelled over the signal mailbox) and
rings it with CARRIER, the host signal that carries mailed guest signals and
which, with nothing mailed, delivers no guest signal.  The asker reads the
answer until the end closes, waiting at most ASK_TIMEOUT.

The target answers from its CARRIER handler when that is safe: when it sits
in a syscall handler (a read() on a pipe, a poll) and not inside memory
management, a broker exchange, fork or the translator.  Anything else is
queued and answered at the top of the run loop, which the handler reaches
soon by setting cpu.pending (the translator leaves its block).  A target
sleeping in a broker wait (waitpid, a futex) answers what needs no broker call
(Task.broker_call_allowed raises Deferred for the rest, which is queued); the
broker asks a thread of the process that is not in such a wait when it can.  A stopped process cannot run: the
broker answers -EAGAIN for it at once; a zombie is -ESRCH.  A target that
sleeps in sigsuspend or sigtimedwait (SignalState.sleep: the host signals
blocked, taken with sigwaitinfo) answers when sigwaitinfo returns CARRIER.

Nothing here runs on a hot path: the run loop tests one attribute per trap.
"""
from __future__ import annotations

import errno
import fcntl
import marshal
import os
import select
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import sys
import time

from ..ipc import hostsock
from ..fs import procfs
from ..ipc import protocol as P
from ..mm.fault import MemFault
from . import brokercall
from .reserved import RESERVED_FD_BASE
from .signals import CARRIER

DOOR_TAG = b"introspection door"
ASK_TIMEOUT = 2.0
MAX_REQUEST = 1 << 20
PAGE = 4096

_THREAD_OPS = {"set_comm"}      # asked of the thread named, never another of its process


class Deferred(Exception):
    """An answer needs a broker call, and this task sleeps in a broker wait: later."""


# ---- the target's door -------------------------------------------------------------------
def new_door(t, mailbox: hostsock.socket, keep_old: bool) -> None:
    """Make this task's door and hand its other end to the broker on the signal mailbox
    (read by the broker at Hello).  keep_old: the old door is a sibling thread's (a shared
    descriptor table); else it is a copy the fork left here, and goes."""
    old = t.door
    if old is not None:
        if keep_old:
            old.detach()
        else:
            t.reserved_fds.discard(old.fileno())
            old.close()
    mine, theirs = hostsock.socketpair(hostsock.AF_UNIX, hostsock.SOCK_SEQPACKET)
    try:
        hostsock.send_fds(mailbox, [DOOR_TAG], [theirs.fileno()])
    finally:
        theirs.close()
    high = t.reserve_fd(os.dup(mine.fileno()))
    mine.close()
    t.door = hostsock.socket(hostsock.AF_UNIX, hostsock.SOCK_SEQPACKET, 0, high)
    t.door.setblocking(False)
    t.introspect_queue = []
    t.introspect_due = t.introspect_rang = False


def take_door(mailbox: hostsock.socket) -> hostsock.socket | None:
    """The broker's end of a task's door, sent over its mailbox before Hello (None: a task
    that has none, as in unit tests)."""
    try:
        data, fds, _, _ = hostsock.recv_fds(mailbox, len(DOOR_TAG), 1)
    except (BlockingIOError, OSError):
        return None
    if data != DOOR_TAG or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        return None
    door = hostsock.socket(fileno=fds[0])
    door.setblocking(False)
    return door


def pass_on(door: hostsock.socket, request: bytes, answer_fd: int) -> bool:
    """The broker's part: the request and the asker's socket into the target's door."""
    try:
        hostsock.send_fds(door, [request], [answer_fd])
        return True
    except OSError:
        return False


def install(t) -> None:
    """Answer requests when CARRIER rings (before the mailed-signal handling it also does)."""
    previous = signal.getsignal(CARRIER)

    def on_carrier(signum, frame):
        serve(t, frame)
        if callable(previous):
            previous(signum, frame)

    signal.signal(CARRIER, on_carrier)
    # a task asleep in sigsuspend or sigtimedwait takes CARRIER with sigwaitinfo
    t.sig.on_carrier = lambda: serve(t, sys._getframe())


# ---- the target answers -------------------------------------------------------------------
def _safety(frame) -> str:
    """How much a handler that interrupted `frame` may do: "all", "nobroker" (answer
    what needs no broker call) or "none"."""
    if frame is None:
        return "all"                       # the run loop's top
    mode = "all"
    while frame is not None:
        code = frame.f_code
        where = code.co_filename.replace("\\", "/")
        if "/mkemu/mm/" in where or "/mkemu/cpu/" in where or "/mkemu/ipc/" in where or \
                where.endswith(("/kern/fork.py", "/kern/thread.py", "/kern/hostclone.py",
                                "/kern/sys_mm.py", "/kern/loader.py")):
            return "none"
        if where.endswith("/kern/brokercall.py"):
            if code.co_name != "wait":
                return "none"
            mode = "nobroker"
        if where.endswith("/kern/syscalls.py") and code.co_name == "dispatch":
            # in a syscall: what called dispatch holds nothing half done (the run
            # loop, or the engine's dispatch loop between two traces: Engine.on_svc)
            return mode
        frame = frame.f_back
    return "none"


def serve(t, frame=None) -> None:
    """Take the requests in the door and answer those this moment allows."""
    if t.proc_writers:
        _take_writes(t)
    door = t.door
    if door is None:
        return
    if t.introspecting:
        t.introspect_rang = True          # the serve this interrupted reads the door again
        return
    t.introspecting = True
    try:
        mode = _safety(frame)
        kept = []
        # the queued ones first, then the door until it is empty (a ring that came while
        # an answer was being written found introspecting set: its request is read here)
        pending = list(t.introspect_queue)
        while True:
            if not pending:
                t.introspect_rang = False
                pending = _take(door)
                if not pending:
                    if t.introspect_rang:
                        continue          # a ring during the read: read the door again
                    break
            data, fd = pending.pop(0)
            if mode == "none" or not _answer(t, data, fd, mode == "nobroker"):
                kept.append((data, fd))
        t.introspect_queue = kept
        t.introspect_due = bool(kept)
        if kept:
            t.cpu.pending = True           # the translator stops soon: the run loop answers
    finally:
        t.introspecting = False


def _take(door: hostsock.socket) -> list[tuple[bytes, int]]:
    """The requests waiting in the door, each with its answer socket."""
    taken = []
    while True:
        try:
            data, fds, _, _ = hostsock.recv_fds(door, MAX_REQUEST, 1)
        except OSError:                       # BlockingIOError: none left
            return taken
        if not data and not fds:
            return taken
        if len(fds) == 1:
            taken.append((data, _fd_high(fds[0])))
        else:
            for fd in fds:
                os.close(fd)


def _answer(t, data: bytes, fd: int, no_broker: bool = False) -> bool:
    """Answer one request on its socket fd (closed); False: it needs a broker call that
    cannot be made now (fd kept for later)."""
    passed = None
    t.broker_busy = no_broker
    try:
        op, args, who = marshal.loads(data)
        value, passed = _do(t, op, args, who)
        reply = (0, value)
    except Deferred:
        return False
    except OSError as e:
        reply = (-(e.errno or errno.EIO), None)
    except MemFault:
        reply = (-errno.EFAULT, None)
    except Exception as e:                         # a bug: the asker sees EIO, not a hang
        reply = (-errno.EIO, repr(e))
    finally:
        t.broker_busy = False
    out = hostsock.socket(fileno=fd)
    try:
        out.settimeout(ASK_TIMEOUT)
        hostsock.send_fds(out, [b"F" if passed is not None else b"-"],
                        [passed] if passed is not None else [])
        out.sendall(marshal.dumps(reply))
    except OSError:
        pass                                       # the asker gave up meanwhile
    finally:
        out.close()
    return True


def _may_trace(t, who) -> bool:
    """ptrace_may_access(PTRACE_MODE_REALCREDS): root, or the same user and group in every id."""
    uid, gid = who
    if uid == 0:
        return True
    return {t.uid, t.euid, t.suid} == {uid} and {t.gid, t.egid, t.sgid} == {gid}


def _as_thread(t, status: bytes, tid: int) -> bytes:
    """/proc/PID/status answered by another thread of the process: the named thread's
    Name and Pid lines (the rest is the process's)."""
    info = t.proc_info(tid)
    lines = status.split(b"\n")
    for i, line in enumerate(lines):
        if line.startswith(b"Name:\t") and info is not None:
            lines[i] = b"Name:\t" + info["comm"].encode(errors="replace")
        elif line.startswith(b"Pid:\t"):
            lines[i] = b"Pid:\t%d" % tid
    return b"\n".join(lines)


def _do(t, op: str, args, who):
    """(value, descriptor to pass or None) for one request."""
    who, who_tid = who[:2], (who[2] if len(who) > 2 else None)
    if op == "text":
        if args in procfs.TRACED_TEXT and not _may_trace(t, who):
            raise OSError(errno.EACCES, "not permitted")
        node = procfs.lookup(t, b"/proc/self" + args)
        if node is None or not hasattr(node, "make"):
            raise OSError(errno.ENOENT, "no such file")
        value = node.make(t)
        value = value.encode() if isinstance(value, str) else bytes(value)
        if args == b"/status" and who_tid not in (None, t.tid):
            value = _as_thread(t, value, who_tid)
        return value, None
    if op == "readlink":
        if not _may_trace(t, who):
            raise OSError(errno.EACCES, "not permitted")
        node = procfs.lookup(t, b"/proc/self" + args)
        if node is None:
            raise OSError(errno.ENOENT, "no such file")
        return node.readlink(t), None
    if op == "fds":
        if not _may_trace(t, who):
            raise OSError(errno.EACCES, "not permitted")
        return guest_fds(t), None
    if op == "getfd":
        if not _may_trace(t, who):
            raise OSError(errno.EACCES, "not permitted")
        if args not in guest_fds(t):
            raise OSError(errno.ENOENT, "no such file")
        return args, args
    if op == "stat_memory":
        return procfs.stat_memory(t), None
    if op == "set_comm":
        t.comm = bytes(args)[:15]
        t.announce_comm()
        return 0, None
    if op in ("vm_read", "vm_write"):
        if not _may_trace(t, who):
            raise OSError(errno.EPERM, "not permitted")
        if op == "vm_read":
            return transfer(t, args[0], args[1], None), None
        return transfer(t, args[0], args[1], args[2]), None
    raise OSError(errno.EINVAL, f"unknown request {op!r}")


def guest_fds(t) -> list[int]:
    """The guest's open descriptors, ascending."""
    fds = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd < RESERVED_FD_BASE and fd not in t.reserved_fds:
            try:
                fcntl.fcntl(fd, fcntl.F_GETFD)      # not the listing's own, closed by now
            except OSError:
                continue
            fds.append(fd)
    return sorted(fds)


def transfer(t, remote: list, limit: int, data: bytes | None):
    """process_vm_readv/writev's remote side over this task's memory: read (data None) or
    write data along the remote iovecs, at most limit bytes, stopping at the first page
    that faults.  A read returns the bytes, a write the count; a fault on the very first
    byte raises MemFault (EFAULT), as Linux."""
    mem, done, out = t.mem, 0, bytearray()
    for base, length in remote:
        length = min(length, limit - done)
        addr = base
        while length > 0:
            chunk = min(length, PAGE - (addr & (PAGE - 1)))
            try:
                if data is None:
                    out += mem.read(addr, chunk)
                else:
                    mem.write(addr, data[done:done + chunk])
            except MemFault:
                if done == 0:
                    raise
                return bytes(out) if data is None else done
            addr += chunk
            length -= chunk
            done += chunk
        if done >= limit:
            break
    return bytes(out) if data is None else done


# ---- writable /proc files --------------------------------------------------------------
def open_writer(t, apply) -> int:
    """A descriptor whose writes reach apply(t, data) at once (/proc/self/comm): the write
    end of a pipe whose read end, O_ASYNC, rings CARRIER in this task when data comes, so
    the change is made before the guest's write() returns to it."""
    r, w = os.pipe2(os.O_CLOEXEC)
    r = t.reserve_fd(r)
    os.set_blocking(r, False)
    fcntl.fcntl(r, fcntl.F_SETOWN, os.getpid())
    fcntl.fcntl(r, fcntl.F_SETSIG, CARRIER)
    fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_ASYNC)
    t.proc_writers[r] = apply
    return w


def _take_writes(t) -> None:
    for r, apply in list(t.proc_writers.items()):
        try:
            data = os.read(r, 4096)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if data:
            apply(t, data)
            continue
        del t.proc_writers[r]               # every writer closed it
        t.reserved_fds.discard(r)
        os.close(r)


# ---- the asker ----------------------------------------------------------------------------
def ask(t, tid: int, op: str, args=None):
    """(0, value, passed fd or None) from task tid, or (-errno, None, None).  -ESRCH: no
    such process or a zombie; -EAGAIN: a stopped one, or no answer within ASK_TIMEOUT."""
    pair = hostsock.socketpair(hostsock.AF_UNIX, hostsock.SOCK_STREAM)
    mine, theirs = (_high(t, s) for s in pair)
    try:
        request = marshal.dumps((op, args, (t.euid, t.egid, tid)))
        r = brokercall.call(t, P.Introspect(tid, request, op in _THREAD_OPS), P.Value,
                            fds=(theirs.fileno(),))
        _drop(t, theirs)
        if r.value < 0:
            return r.value, None, None
        return _read_answer(mine)
    finally:
        _drop(t, theirs)
        _drop(t, mine)


def _drop(t, s: hostsock.socket) -> None:
    if s.fileno() >= 0:
        t.reserved_fds.discard(s.fileno())
        s.close()


def _fd_high(fd: int) -> int:
    """fd moved above the guest's descriptors (a sibling thread never sees it)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, RESERVED_FD_BASE)
    os.close(fd)
    return high


def _high(t, s: hostsock.socket) -> hostsock.socket:
    return hostsock.socket(fileno=t.reserve_fd(s.detach()))


def _wait_readable(sock: hostsock.socket, deadline: float) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if poller.poll(left * 1000):
            return True


def _read_answer(sock: hostsock.socket):
    deadline = time.monotonic() + ASK_TIMEOUT
    if not _wait_readable(sock, deadline):
        return -errno.EAGAIN, None, None
    head, fds, _, _ = hostsock.recv_fds(sock, 1, 1)
    if not head:
        return -errno.ESRCH, None, None         # it ended before answering
    passed = _fd_high(fds[0]) if fds else None
    body = bytearray()
    while True:
        if not _wait_readable(sock, deadline):
            if passed is not None:
                os.close(passed)
            return -errno.EAGAIN, None, None
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        body += chunk
    err, value = marshal.loads(bytes(body))
    if err < 0 and passed is not None:
        os.close(passed)
        passed = None
    return err, value, passed
