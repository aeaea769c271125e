"""System V IPC for the guest: semaphore sets, message queues, shared memory.

Each guest object is a real host object (so SEM_UNDO, blocking, msgtyp
selection and shm_nattch are the host kernel's), made by the broker with
IPC_PRIVATE and looked up by the guest's key in the machine's table
(kern/ipcspace.py): two machines using one key never meet.  The guest's id
is the host id; a task uses one only after the broker said it is this
machine's (`_id`, remembered per process), so another machine's id is
EINVAL.  Layouts: struct sembuf, msgbuf and the msqid64_ds/shmid64_ds are
the same on aarch64 and x86_64; semid64_ds is not (x86_64 pads the times),
and every *_ds is repacked so that the guest sees its own key and guest pids.

shmat maps the segment into the guest's space through a host shmat
(mm/sysvshm.py): guest loads and stores are the segment's bytes.  Fork keeps
host attachments; a thread in another task process attaches when it loads the
published VMA list.

Blocking: semop sleeps in the host's semtimedop in slices, looking for a
guest signal that acts between them (a host signal breaks the sleep at once;
one that lands just before it is seen at the slice's end); msgsnd/msgrcv try
with IPC_NOWAIT and sleep in between with the host signals taken as they
come (kern/signals.py `sleep`).  Nothing done is ever lost to a signal: the
handler's host calls run with signals held pending.
"""
from __future__ import annotations

import ctypes
import errno
import struct
import time

from ..ipc import protocol as P
from ..ipc.channel import RequestRefused
from ..mm.sysvshm import SysvSegment
from . import brokercall, timespec
from . import hostipc as H
from .guestpids import guest_pid_of_host as guest_pid
from .systable import s32, syscall

SEMOPM = 500                       # Linux's most operations per semop
SLICE_NS = 50_000_000              # the longest a blocked semop goes without a signal check
MSG_POLL_NS = (200_000, 20_000_000)   # msgsnd/msgrcv: first and longest wait between tries
SHMLBA = 4096
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4

_PERM = struct.Struct("<iIIIIIH")  # ipc64_perm: key, uid, gid, cuid, cgid, mode, seq (48 bytes)
PERM_SIZE = 48
_GUEST_SEM_TAIL = struct.Struct("<qqQQQ")      # aarch64 semid64_ds after the perm: 88 bytes
_HOST_SEM_TAIL = struct.Struct("<qQqQQQQ")     # x86_64's: 104 bytes
MSQID_SIZE, SHMID_SIZE = 120, 112
_MSG_PIDS, _SHM_PIDS = 96, 80      # offsets of (lspid, lrpid) and (cpid, lpid)

_known: set[tuple[str, int]] = set()     # ids the broker said are this machine's


def _ask(t, op: str, kind: str, key: int, flags: int = 0, arg=0) -> int:
    try:
        return brokercall.call(t, P.Ipc(op, kind, key, flags, arg), P.Value).value
    except RequestRefused:
        return -errno.ENOSYS            # a broker without an IPC namespace (unit tests)


def _id(t, kind: str, ident: int) -> int:
    """ident as a host id of this machine's object of kind, or EINVAL."""
    ident = s32(ident)
    if ident < 0:
        raise OSError(errno.EINVAL, "negative IPC id")
    if (kind, ident) not in _known:
        r = _ask(t, "check", kind, ident)
        if r < 0:
            raise OSError(-r, "not this machine's IPC object")
        _known.add((kind, ident))
    return ident


def _get(t, kind: str, key: int, flags: int, arg: int) -> int:
    r = _ask(t, "get", kind, s32(key), s32(flags), arg)
    if r >= 0:
        _known.add((kind, r))
    return r


def _remove(t, kind: str, ident: int) -> int:
    r = _ask(t, "remove", kind, ident)
    _known.discard((kind, ident))
    return r


def _ok(r: int) -> int:
    if r < 0:
        raise OSError(-r, "host IPC call")
    return r


def _buf(size: int, data: bytes = b""):
    return ctypes.create_string_buffer(data.ljust(size, b"\0"), size)


def _guest_perm(t, kind: str, ident: int, host: bytes) -> bytes:
    """The host's ipc64_perm with the guest's key."""
    key = _ask(t, "check", kind, ident)
    perm = bytearray(host[:PERM_SIZE])
    struct.pack_into("<I", perm, 0, key if key >= 0 else 0)
    return bytes(perm)


def _pids(t, raw: bytearray, at: int) -> None:
    """Two host pids at offset at, as guest pids (0 for a process outside the machine)."""
    for off in (at, at + 4):
        host = struct.unpack_from("<i", raw, off)[0]
        struct.pack_into("<i", raw, off, guest_pid(t, host) if host > 0 else 0)


def _read_set(t, addr: int, size: int) -> tuple[int, int, int]:
    """IPC_SET's (uid, gid, mode) from the guest's *_ds."""
    _key, uid, gid, _cuid, _cgid, mode, _seq = _PERM.unpack_from(t.mem.read(addr, size))
    return uid, gid, mode


# ---- semaphores ---------------------------------------------------------------------
@syscall("semget", "hex", "int", "hex")
def sys_semget(t, key, nsems, semflg):
    nsems = s32(nsems)
    if nsems < 0:
        return -errno.EINVAL
    return _get(t, "sem", key, semflg, nsems)


@syscall("semop", "int", "ptr", "size")
def sys_semop(t, semid, sops, nsops):
    return _semtimedop(t, semid, sops, nsops, 0)


@syscall("semtimedop", "int", "ptr", "size", "ptr")
def sys_semtimedop(t, semid, sops, nsops, timeout):
    return _semtimedop(t, semid, sops, nsops, timeout)


def _semtimedop(t, semid, sops, nsops, timeout) -> int:
    if nsops < 1 or s32(semid) < 0:
        return -errno.EINVAL
    if nsops > SEMOPM:
        return -errno.E2BIG
    ops = t.mem.read(sops, 6 * nsops)
    deadline = time.monotonic_ns() + timespec.read_ns(t, timeout) if timeout else None
    ident = _id(t, "sem", semid)
    t.host_exit_work = True          # SEM_UNDO is applied by the host process's exit
    buf = _buf(len(ops), ops)
    was, t.in_syscall = t.in_syscall, False      # a signal stays pending while the host acts
    try:
        while True:
            left = SLICE_NS if deadline is None else min(SLICE_NS, deadline - time.monotonic_ns())
            if left <= 0:
                return -errno.EAGAIN                 # semtimedop's timeout
            begun = time.monotonic_ns()
            r = H.call("semtimedop", ident, buf, nsops,
                       _buf(16, timespec.TIMESPEC.pack(*divmod(left, timespec.NS))))
            if r == -errno.EAGAIN and time.monotonic_ns() - begun < left:
                return r                             # IPC_NOWAIT: it would block
            if r not in (-errno.EAGAIN, -errno.EINTR):
                return r
            if t.sig.interrupting():
                return -errno.EINTR
    finally:
        t.in_syscall = was


def _sem_nsems(ident: int) -> int:
    raw = _buf(104)
    _ok(H.call("semctl", ident, 0, H.IPC_STAT, raw))
    return _HOST_SEM_TAIL.unpack_from(raw.raw, PERM_SIZE)[4]


@syscall("semctl", "int", "int", "int", "hex",
         status="partial: SEM_STAT and SEM_STAT_ANY (an index into the host's table) are EINVAL; "
                "SEM_INFO counts the host's sets")
def sys_semctl(t, semid, semnum, cmd, arg):
    cmd = s32(cmd) & ~H.IPC_64
    semnum = s32(semnum)
    if cmd in (H.IPC_INFO, H.SEM_INFO):
        raw = _buf(40)
        r = _ok(H.call("semctl", 0, 0, cmd, raw))
        t.mem.write(arg, raw.raw)
        return r
    if cmd not in (H.IPC_RMID, H.IPC_SET, H.IPC_STAT, H.GETPID, H.GETVAL, H.GETALL, H.GETNCNT,
                   H.GETZCNT, H.SETVAL, H.SETALL):
        return -errno.EINVAL
    ident = _id(t, "sem", semid)
    if cmd == H.IPC_RMID:
        return _remove(t, "sem", ident)
    if cmd == H.IPC_STAT:
        raw = _buf(104)
        _ok(H.call("semctl", ident, 0, H.IPC_STAT, raw))
        otime, _, ctime, _, nsems, _, _ = _HOST_SEM_TAIL.unpack_from(raw.raw, PERM_SIZE)
        t.mem.write(arg, _guest_perm(t, "sem", ident, raw.raw)
                    + _GUEST_SEM_TAIL.pack(otime, ctime, nsems, 0, 0))
        return 0
    if cmd == H.IPC_SET:
        uid, gid, mode = _read_set(t, arg, 88)
        raw = _buf(104, _PERM.pack(0, uid, gid, 0, 0, mode, 0))
        return _ok(H.call("semctl", ident, 0, H.IPC_SET, raw))
    if cmd in (H.GETALL, H.SETALL):
        n = _sem_nsems(ident)
        if cmd == H.SETALL:
            values = _buf(2 * n, t.mem.read(arg, 2 * n))
            return _ok(H.call("semctl", ident, 0, H.SETALL, values))
        values = _buf(2 * n)
        _ok(H.call("semctl", ident, 0, H.GETALL, values))
        t.mem.write(arg, values.raw)
        return 0
    value = s32(arg) if cmd == H.SETVAL else 0
    r = _ok(H.call("semctl", ident, semnum, cmd, value))
    return guest_pid(t, r) if cmd == H.GETPID and r > 0 else r


# ---- message queues -------------------------------------------------------------------
@syscall("msgget", "hex", "hex")
def sys_msgget(t, key, msgflg):
    return _get(t, "msg", key, msgflg, 0)


def _msg_wait(t, attempt) -> int:
    """attempt() until it does not say "would block" (None); a guest signal that acts
    in between is -EINTR."""
    pause = MSG_POLL_NS[0]
    was, t.in_syscall = t.in_syscall, False
    try:
        while True:
            r = attempt()
            if r is not None:
                return r
            if t.sig.sleep(t, t.sig.interrupting, time.monotonic_ns() + pause):
                return -errno.EINTR
            pause = min(pause * 2, MSG_POLL_NS[1])
    finally:
        t.in_syscall = was


@syscall("msgsnd", "int", "ptr", "size", "hex")
def sys_msgsnd(t, msqid, msgp, msgsz, msgflg):
    msgflg = s32(msgflg)
    mtype = struct.unpack("<q", t.mem.read(msgp, 8))[0]
    if msgsz > _msgmax() or s32(msqid) < 0 or mtype < 1:
        return -errno.EINVAL
    msg = t.mem.read(msgp, 8 + msgsz)
    ident = _id(t, "msg", msqid)
    buf = _buf(len(msg), msg)

    def attempt():
        r = H.call("msgsnd", ident, buf, msgsz, msgflg | H.IPC_NOWAIT)
        return None if r == -errno.EAGAIN and not msgflg & H.IPC_NOWAIT else r

    return _msg_wait(t, attempt)


def _msgmax() -> int:
    """The host's largest message (what msgrcv needs room for at most)."""
    try:
        with open("/proc/sys/kernel/msgmax") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 8192


@syscall("msgrcv", "int", "ptr", "size", "int", "hex")
def sys_msgrcv(t, msqid, msgp, msgsz, msgtyp, msgflg):
    msgflg = s32(msgflg)
    if s32(msqid) < 0 or msgsz >> 63 or msgflg & H.MSG_COPY and not msgflg & H.IPC_NOWAIT:
        return -errno.EINVAL
    ident = _id(t, "msg", msqid)
    msgsz = min(msgsz, _msgmax())          # no message is longer
    buf = _buf(8 + msgsz)
    typ = msgtyp - (1 << 64) if msgtyp >> 63 else msgtyp

    def attempt():
        r = H.call("msgrcv", ident, buf, msgsz, typ, msgflg | H.IPC_NOWAIT)
        return None if r == -errno.ENOMSG and not msgflg & H.IPC_NOWAIT else r

    n = _msg_wait(t, attempt)
    if n >= 0:
        t.mem.write(msgp, buf.raw[:8 + n])      # a fault loses the message, as on Linux
    return n


@syscall("msgctl", "int", "int", "ptr",
         status="partial: MSG_STAT and MSG_STAT_ANY (an index into the host's table) are "
                "EINVAL; MSG_INFO counts the host's queues")
def sys_msgctl(t, msqid, cmd, buf):
    cmd = s32(cmd) & ~H.IPC_64
    if cmd in (H.IPC_INFO, H.MSG_INFO):
        raw = _buf(32)
        r = _ok(H.call("msgctl", 0, cmd, raw))
        t.mem.write(buf, raw.raw)
        return r
    if cmd not in (H.IPC_RMID, H.IPC_SET, H.IPC_STAT):
        return -errno.EINVAL
    ident = _id(t, "msg", msqid)
    if cmd == H.IPC_RMID:
        return _remove(t, "msg", ident)
    if cmd == H.IPC_SET:
        guest = t.mem.read(buf, MSQID_SIZE)
        uid, gid, mode = _read_set(t, buf, MSQID_SIZE)
        raw = _buf(MSQID_SIZE, _PERM.pack(0, uid, gid, 0, 0, mode, 0).ljust(88, b"\0")
                   + guest[88:])          # msg_qbytes at 88, as on x86_64
        return _ok(H.call("msgctl", ident, H.IPC_SET, raw))
    raw = _buf(MSQID_SIZE)
    _ok(H.call("msgctl", ident, H.IPC_STAT, raw))
    out = bytearray(_guest_perm(t, "msg", ident, raw.raw) + raw.raw[PERM_SIZE:])
    _pids(t, out, _MSG_PIDS)
    t.mem.write(buf, bytes(out))
    return 0


# ---- shared memory ------------------------------------------------------------------------
@syscall("shmget", "hex", "size", "hex")
def sys_shmget(t, key, size, shmflg):
    if size > 1 << 62:
        return -errno.EINVAL
    return _get(t, "shm", key, shmflg, size)


def _segment_size(ident: int) -> int:
    raw = _buf(SHMID_SIZE)
    _ok(H.call("shmctl", ident, H.IPC_STAT, raw))
    return struct.unpack_from("<Q", raw.raw, 48)[0]


@syscall("shmat", "int", "ptr", "hex")
def sys_shmat(t, shmid, addr, shmflg):
    shmflg = s32(shmflg)
    if addr & (SHMLBA - 1):
        if not shmflg & H.SHM_RND:
            return -errno.EINVAL
        addr &= ~(SHMLBA - 1)
    if shmflg & H.SHM_REMAP and not addr:
        return -errno.EINVAL
    ident = _id(t, "shm", shmid)
    size = _segment_size(ident)
    key = _ask(t, "check", "shm", ident)
    writable = not shmflg & H.SHM_RDONLY
    prot = PROT_READ | (PROT_WRITE if writable else 0) | (PROT_EXEC if shmflg & H.SHM_EXEC else 0)
    segment = SysvSegment(ident, size, writable, f"/SYSV{max(key, 0):08x} (deleted)")
    t.host_exit_work = True          # shm_nattch drops when the host process ends
    try:
        return t.space.attach_segment(addr, segment, prot, bool(shmflg & H.SHM_REMAP))
    finally:
        if segment.users == 0:             # not mapped after all: detach it again
            segment.window.unmap()


@syscall("shmdt", "ptr")
def sys_shmdt(t, addr):
    if addr & (SHMLBA - 1):
        return -errno.EINVAL
    t.space.detach_segment(addr)
    return 0


@syscall("shmctl", "int", "int", "ptr",
         status="partial: SHM_STAT and SHM_STAT_ANY (an index into the host's table) are "
                "EINVAL; IPC_INFO and SHM_INFO are the host's")
def sys_shmctl(t, shmid, cmd, buf):
    cmd = s32(cmd) & ~H.IPC_64
    if cmd in (H.IPC_INFO, H.SHM_INFO):
        raw = _buf(SHMID_SIZE)
        r = _ok(H.call("shmctl", 0, cmd, raw))
        t.mem.write(buf, raw.raw[:72 if cmd == H.IPC_INFO else 48])   # shminfo64, shm_info
        return r
    if cmd not in (H.IPC_RMID, H.IPC_SET, H.IPC_STAT, H.SHM_LOCK, H.SHM_UNLOCK):
        return -errno.EINVAL
    ident = _id(t, "shm", shmid)
    if cmd == H.IPC_RMID:
        return _remove(t, "shm", ident)
    if cmd in (H.SHM_LOCK, H.SHM_UNLOCK):
        return _ok(H.call("shmctl", ident, cmd, None))
    if cmd == H.IPC_SET:
        uid, gid, mode = _read_set(t, buf, SHMID_SIZE)
        raw = _buf(SHMID_SIZE, _PERM.pack(0, uid, gid, 0, 0, mode, 0))
        return _ok(H.call("shmctl", ident, H.IPC_SET, raw))
    raw = _buf(SHMID_SIZE)
    _ok(H.call("shmctl", ident, H.IPC_STAT, raw))
    out = bytearray(_guest_perm(t, "shm", ident, raw.raw) + raw.raw[PERM_SIZE:])
    _pids(t, out, _SHM_PIDS)
    struct.pack_into("<i", out, _SHM_PIDS, max(_ask(t, "creator", "shm", ident), 0))
    t.mem.write(buf, bytes(out))
    return 0
