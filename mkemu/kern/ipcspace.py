"""The machine's IPC namespace, kept by the broker: SysV keys and ids, POSIX queue names,
and the host directory that is the guest's /dev/shm.

Every host object a guest makes belongs to one machine, so two machines (or a
machine and the host) never meet through a key or a name:

* SysV: the broker makes each object on the host with IPC_PRIVATE and keeps
  guest key -> host id.  The guest's id is the host id, but a task uses an id
  only once the broker said it is this machine's (`check`), so another
  machine's id is EINVAL, as a missing one is on Linux.  IPC_RMID comes here
  too (the key is free again; a removed shm segment lives on, with key 0,
  until its last detach).
* POSIX message queues: the host queue is named mkemu-<broker pid>-<guest
  name>; the broker opens it and hands the descriptor over (SCM_RIGHTS).
* /dev/shm: a host directory /dev/shm/mkemu-<broker pid>-XXXX, bound at the
  guest's /dev/shm (glibc's shm_open and sem_open are files there).

What the machine made is written, before or as it is made, to a record
(/tmp/mkemu-ipc-<broker pid>-XXXX/objects: "+ kind id", "- kind id", "+ mq
name", "dir path").  The broker removes everything at its end (`close`); if
it is killed, its supervisor sweeps its record when it sees it die, and any
later machine's start sweeps the records of brokers that no longer run.
"""
from __future__ import annotations

import ctypes
import errno
import os
import struct

from ..hostdirs import make_dir, remove_tree, temp_root
from . import hostipc as H

RECORD_PREFIX = "mkemu-ipc-"
SHM_ROOT = "/dev/shm"
NAME_MAX = 255
_HOST_SHMID = struct.Struct("<48xQ")       # x86_64 shmid64_ds: shm_segsz
_HOST_SEMID = struct.Struct("<80xQ")       # x86_64 semid64_ds: sem_nsems


class IpcSpace:
    def __init__(self, record_dir: str, shm_dir: str) -> None:
        self.record_dir = record_dir
        self.shm_dir = shm_dir
        self.pid = os.getpid()
        self.keys: dict[str, dict[int, int]] = {kind: {} for kind in H.KINDS}  # key -> id
        self.objects: dict[tuple[str, int], int] = {}     # (kind, id) -> key (0 once removed)
        self.creators: dict[tuple[str, int], int] = {}    # (kind, id) -> guest pid
        self.queues: set[str] = set()                      # host queue names made here
        self._record = os.path.join(record_dir, "objects")
        self._note(f"start {_start_time(self.pid)}")       # names this broker, not its pid
        self._note(f"ns {_ipc_namespace()}")
        self._note(f"dir {shm_dir}")

    @classmethod
    def create(cls) -> "IpcSpace":
        """A new machine's namespace (sweeping what dead brokers left first)."""
        sweep()
        pid = os.getpid()
        record_dir = make_dir(temp_root(), f"{RECORD_PREFIX}{pid}-")
        root = SHM_ROOT if os.path.isdir(SHM_ROOT) else temp_root()
        shm_dir = make_dir(root, f"mkemu-{pid}-", 0o1777)     # as the host's /dev/shm
        return cls(record_dir, shm_dir)

    def _note(self, line: str) -> None:
        # opened for each line: a descriptor kept open would be inherited by the tasks,
        # where it would sit among the guest's own
        fd = os.open(self._record, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, os.fsencode(line + "\n"))
        finally:
            os.close(fd)

    # ---- requests (kern/broker.py on_ipc) -------------------------------------------
    def request(self, op: str, kind: str, key: int, flags: int, arg,
                pid: int = 0) -> tuple[int, int | None]:
        """(value or -errno, a descriptor to hand over or None); pid is the asking guest
        process (the broker makes the host objects, so the host's creator pid is its own)."""
        if op == "get" and kind in H.KINDS:
            ident = self.get(kind, key, flags, arg)
            if ident >= 0:
                self.creators.setdefault((kind, ident), pid)
            return ident, None
        if op == "check" and kind in H.KINDS:        # the key as unsigned: never -errno
            known = self.objects.get((kind, key))
            return (-errno.EINVAL if known is None else known & 0xFFFF_FFFF), None
        if op == "creator" and kind in H.KINDS:
            return self.creators.get((kind, key), -errno.EINVAL), None
        if op == "remove" and kind in H.KINDS:
            return self.remove(kind, key), None
        if op == "mq_open":
            return self.mq_open(kind, flags, key, arg)
        if op == "mq_unlink":
            return self.mq_unlink(kind), None
        return -errno.EINVAL, None

    def get(self, kind: str, key: int, flags: int, arg: int) -> int:
        """semget/msgget/shmget: the id of key's object (made when asked), or -errno."""
        if key != H.IPC_PRIVATE:
            ident = self.keys[kind].get(key)
            if ident is not None:
                if flags & H.IPC_CREAT and flags & H.IPC_EXCL:
                    return -errno.EEXIST
                return self._fits(kind, ident, arg)
            if not flags & H.IPC_CREAT:
                return -errno.ENOENT
        mode = H.IPC_CREAT | flags & 0o777
        if kind == "sem":
            if not 0 < arg <= H.SEMMSL:
                return -errno.EINVAL
            ident = H.call("semget", H.IPC_PRIVATE, arg, mode)
        elif kind == "msg":
            ident = H.call("msgget", H.IPC_PRIVATE, mode)
        else:
            ident = H.call("shmget", H.IPC_PRIVATE, arg, mode)
        if ident < 0:
            return ident
        self._note(f"+ {kind} {ident}")
        self.objects[(kind, ident)] = key
        if key != H.IPC_PRIVATE:
            self.keys[kind][key] = ident
        return ident

    def _fits(self, kind: str, ident: int, arg: int) -> int:
        """An existing object asked for again: EINVAL if it is smaller than asked."""
        if kind == "msg":
            return ident
        buf = bytearray(128)
        cbuf = (ctypes.c_char * 128).from_buffer(buf)
        if kind == "shm":
            r = H.call("shmctl", ident, H.IPC_STAT, cbuf)
            have = _HOST_SHMID.unpack_from(buf)[0]
        else:
            r = H.call("semctl", ident, 0, H.IPC_STAT, cbuf)
            have = _HOST_SEMID.unpack_from(buf)[0]
        if r < 0:
            return r
        return -errno.EINVAL if arg > have or arg < 0 else ident

    def remove(self, kind: str, ident: int) -> int:
        key = self.objects.get((kind, ident))
        if key is None:
            return -errno.EINVAL
        r = H.remove(kind, ident)
        if r < 0:
            return r
        if key != H.IPC_PRIVATE:
            self.keys[kind].pop(key, None)
        if kind == "shm":
            self.objects[(kind, ident)] = H.IPC_PRIVATE   # alive until its last detach
        else:
            del self.objects[(kind, ident)]
            self.creators.pop((kind, ident), None)
            self._note(f"- {kind} {ident}")
        return 0

    def host_queue(self, name: str) -> str | None:
        """The host name of the guest's queue name (as the syscall has it: no '/'),
        or None when Linux would refuse the name itself."""
        if not name or "/" in name or name in (".", ".."):
            return None
        return f"mkemu-{self.pid}-{name}"

    def mq_open(self, name: str, oflag: int, mode: int, attr: bytes | None) -> tuple[int, int | None]:
        host = self.host_queue(name)
        if host is None:
            return (-errno.ENOENT if not name else -errno.EACCES), None
        if len(os.fsencode(name)) > NAME_MAX or len(os.fsencode(host)) > NAME_MAX:
            return -errno.ENAMETOOLONG, None
        if oflag & os.O_CREAT and host not in self.queues:
            self._note(f"+ mq {host}")          # first: a crash now leaves nothing unnamed
            self.queues.add(host)
        buf = None if attr is None else ctypes.create_string_buffer(attr, len(attr))
        umask = os.umask(0)                      # the task applied the guest's
        try:
            fd = H.call("mq_open", ctypes.c_char_p(os.fsencode(host)), oflag | os.O_CLOEXEC, mode,
                        buf)
        finally:
            os.umask(umask)
        if fd < 0:
            return fd, None
        return 0, fd

    def mq_unlink(self, name: str) -> int:
        host = self.host_queue(name)
        if host is None:
            return -errno.ENOENT if not name else -errno.EACCES
        r = H.call("mq_unlink", ctypes.c_char_p(os.fsencode(host)))
        if r == 0:
            self.queues.discard(host)
            self._note(f"- mq {host}")
        return r

    # ---- the end -----------------------------------------------------------------------
    def close(self) -> None:
        """The machine ended: remove every object it made, and its record."""
        clean_record(self.record_dir)


def _ipc_namespace() -> str:
    """This process's IPC namespace ("ipc:[N]"): the objects a record names exist in it."""
    try:
        return os.readlink("/proc/self/ns/ipc")
    except OSError:
        return "?"


def _record_namespace(record_dir: str) -> str | None:
    try:
        with open(os.path.join(record_dir, "objects"), errors="surrogateescape") as f:
            for line in f:
                if line.startswith("ns "):
                    return line[3:].strip()
    except OSError:
        pass
    return None


def _read_record(path: str) -> tuple[set[tuple[str, str]], list[str]]:
    made: set[tuple[str, str]] = set()
    dirs: list[str] = []
    try:
        with open(path, errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError:
        return made, dirs
    for line in lines:
        parts = line.split(" ", 2)
        if len(parts) == 2 and parts[0] == "dir":
            dirs.append(parts[1])
        elif len(parts) == 3 and parts[0] in "+-":
            (made.add if parts[0] == "+" else made.discard)((parts[1], parts[2]))
    return made, dirs


def clean_record(record_dir: str) -> None:
    """Remove what a machine's record names (errors ignored: gone already), then it."""
    made, dirs = _read_record(os.path.join(record_dir, "objects"))
    for kind, what in sorted(made):
        # the calls themselves (hostipc.py), not the sysv_ipc and posix_ipc modules:
        # their import was ~1 ms of every machine's start
        try:
            if kind == "mq":
                H.call("mq_unlink", ctypes.c_char_p(os.fsencode(what)))
            else:
                H.remove(kind, int(what))       # (-errno, ignored: gone already)
        except (ValueError, KeyError, OSError):
            pass
    for d in dirs:
        if os.path.basename(d).startswith("mkemu-"):
            remove_tree(d)
    remove_tree(record_dir)


def _start_time(pid: int) -> str | None:
    """pid's start time (field 22 of /proc/PID/stat), None once it is gone or a zombie
    (killed with its parent, not yet reaped by init)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == b"Z" else fields[19].decode()


def broker_alive(pid: int, record_dir: str | None = None) -> bool:
    """Whether the broker pid still runs: a process that took its number since (another
    start time than the record's) does not count."""
    now = _start_time(pid)
    if now is None or record_dir is None:
        return now is not None
    try:
        with open(os.path.join(record_dir, "objects"), errors="surrogateescape") as f:
            first = f.readline().split()
    except OSError:
        return True
    return not (len(first) == 2 and first[0] == "start" and first[1] != now)


def sweep(broker_pid: int | None = None) -> None:
    """Clean the records (and /dev/shm directories) of brokers that no longer run, or
    of broker_pid alone (its supervisor saw it end)."""
    tmp = temp_root()
    places = [(tmp, RECORD_PREFIX)]
    if os.path.isdir(SHM_ROOT):
        places.append((SHM_ROOT, "mkemu-"))
    for where, prefix in places:
        try:
            names = os.listdir(where)
        except OSError:
            continue
        for name in names:
            if not name.startswith(prefix):
                continue
            pid = name[len(prefix):].split("-", 1)[0]
            path = os.path.join(where, name)
            record = path if prefix == RECORD_PREFIX else None
            if not pid.isdigit() or (int(pid) != broker_pid if broker_pid is not None
                                     else broker_alive(int(pid), record)):
                continue
            if prefix == RECORD_PREFIX:
                if _record_namespace(path) not in (None, _ipc_namespace()):
                    continue    # its objects live in another IPC namespace: not ours to reach
                clean_record(path)
            else:
                remove_tree(path)
