"""What a test session can leave behind on the host, and how to find it.

mkemu's host resources are processes (supervisor, broker, one per task),
memfds (guest memory, /proc overlay files), socket pairs (the channels) and,
for guest System V IPC, host SysV objects.  A memfd or a socket lives exactly
as long as some process holds it (a descriptor or a mapping), so a leak of one
is a process that holds it: one left behind, or the test process itself.

left_behind() puts the three together for a session (tests/conftest.py):
- leftover_processes(): live descendants of a process, and every process
  anywhere whose environment holds the session token (an orphan is re-parented
  to init and is no descendant any more);
- held_objects(pid): the memfds and sockets a process holds, by inode;
- sysv_objects(): the SysV shared memory segments, semaphore sets and message
  queues of the caller's IPC namespace (/proc/sysvipc), and its POSIX message
  queues (posix_queues()).  Other users of the host create and remove their
  own objects at any time, so a session calls isolate_sysv_ipc() first: in a
  new IPC namespace of its own, everything that appears there was made by the
  session or its children.
"""
from __future__ import annotations

import ctypes
import os
import subprocess
import tempfile

CLONE_NEWIPC = 0x08000000
SYSV_KINDS = ("shm", "sem", "msg")


# ---- processes ---------------------------------------------------------------
def _proc_stat(pid: str) -> tuple[int, str] | None:
    """(parent pid, state letter) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            rest = f.read().rsplit(b")", 1)[1].split()
        return int(rest[1]), rest[0].decode()
    except (OSError, IndexError, ValueError):
        return None


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _carries(pid: int, token: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return token in f.read().split(b"\0")
    except OSError:
        return False


def leftover_processes(root: int, env_token: str) -> dict[int, str]:
    """Live (non-zombie) processes below `root` or carrying `env_token` (NAME=VALUE) in
    their environment, `root` itself excepted: pid -> command line."""
    parent: dict[int, int] = {}
    state: dict[int, str] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (st := _proc_stat(name)):
            parent[int(name)], state[int(name)] = st
    found = set()
    for pid in parent:
        p, depth = pid, 0
        while p > 1 and depth < 64:
            p, depth = parent.get(p, 0), depth + 1
            if p == root:
                found.add(pid)
                break
    token = env_token.encode()
    found |= {pid for pid in parent if pid != root and pid not in found and _carries(pid, token)}
    return {pid: cmdline(pid) for pid in sorted(found) if state.get(pid) != "Z"}


# ---- memfds and sockets ----------------------------------------------------------
def held_objects(pid: int) -> set[str]:
    """The memfds and sockets `pid` holds, as descriptors or (memfds) as mappings:
    "memfd:NAME inode N" and "socket inode N"."""
    held = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return held
    for fd in fds:
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
            ino = os.stat(f"{fd_dir}/{fd}").st_ino
        except OSError:
            continue                          # closed meanwhile (or our own listdir fd)
        if target.startswith("/memfd:"):
            held.add(f"memfd:{target[7:].removesuffix(' (deleted)')} inode {ino}")
        elif target.startswith("socket:"):
            held.add(f"socket inode {ino}")
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and fields[5].startswith("/memfd:"):
                    name = fields[5].strip()[7:].removesuffix(" (deleted)")
                    held.add(f"memfd:{name} inode {fields[4]}")
    except OSError:
        pass
    return held


# ---- System V IPC ------------------------------------------------------------------
def isolate_sysv_ipc() -> bool:
    """Move this process (and the children it starts from now on) into a new IPC
    namespace; False where that is not permitted (no CAP_SYS_ADMIN)."""
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.unshare(CLONE_NEWIPC) == 0


def posix_queues() -> set[str]:
    """The POSIX message queue names of this IPC namespace (an mqueue file system
    mounted in a private mount namespace: the host's mount table stays as it is);
    empty where that is not permitted."""
    with tempfile.TemporaryDirectory() as where:
        try:
            r = subprocess.run(["unshare", "-m", "sh", "-c",
                                f"mount -t mqueue none {where} && ls -A {where}"],
                               capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return set()
    # (a name is any bytes but "/": a fuzzed mq_open's need not be UTF-8)
    return set(os.fsdecode(r.stdout).splitlines()) if r.returncode == 0 else set()


def remove_posix_queues(names) -> None:
    """Unlink POSIX message queues of this IPC namespace by name (a guest's mq_open
    makes host queues, and like Linux's they outlive the process that made them)."""
    names = sorted(names)
    if not names:
        return
    with tempfile.TemporaryDirectory() as where:
        try:
            subprocess.run(["unshare", "-m", "sh", "-c",
                            'mount -t mqueue none "$0" && cd "$0" && rm -f -- "$@"',
                            where, *(os.fsencode(n) for n in names)],
                           capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            pass


def sysv_objects() -> set[str]:
    """Every SysV object of this IPC namespace: "shm key 0x... id N (cpid P)" etc., and
    its POSIX message queues: "mqueue NAME"."""
    found = {f"mqueue {name}" for name in posix_queues()}
    for kind in SYSV_KINDS:
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                header, *rows = f.read().splitlines()
        except OSError:
            continue
        names = header.split()
        for row in rows:
            rec = dict(zip(names, row.split()))
            key = int(rec.get("key", "0"))
            ident = rec.get("shmid") or rec.get("semid") or rec.get("msqid")
            who = f" (cpid {rec['cpid']})" if "cpid" in rec else ""
            found.add(f"{kind} key {key & 0xFFFF_FFFF:#010x} id {ident}{who}")
    return found


# ---- all of it ------------------------------------------------------------------------
def left_behind(root: int, env_token: str, sysv_before: set[str]) -> list[str]:
    """Everything a session rooted at process `root` left behind, one line each: its
    leftover processes with the memfds and sockets they hold, and the SysV objects
    that are not in sysv_before."""
    found = [f"process {pid} ({cmd}) holding {', '.join(sorted(held_objects(pid))) or 'no memfd or socket'}"
             for pid, cmd in leftover_processes(root, env_token).items()]
    found += [f"SysV IPC object {obj}" for obj in sorted(sysv_objects() - sysv_before)]
    return found
