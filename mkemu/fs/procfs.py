"""A small /proc: the links and text files programs commonly read.

Links (/proc/self/exe, fd/N, cwd) answer readlink; text files are served as
memfds holding text generated when they are opened, so reading them is an
ordinary host read.
"""
from __future__ import annotations

import os
import re

_SELF = re.compile(rb"^/proc/(self|thread-self|\d+)(/.*)?$")

CPUINFO = "".join(
    f"processor\t: {n}\nBogoMIPS\t: 100.00\nFeatures\t: fp asimd cpuid\n"
    "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n"
    "CPU part\t: 0xd08\nCPU revision\t: 3\n\n" for n in range(os.cpu_count() or 1))


def _meminfo() -> str:
    with open("/proc/meminfo") as f:
        return f.read()


def split_self(task, path: bytes) -> bytes | None:
    """The part after /proc/<self> if path names this process, else None."""
    m = _SELF.match(path)
    if not m:
        return None
    who = m.group(1)
    if who not in (b"self", b"thread-self") and int(who) not in (task.pid, task.tid):
        return None
    return m.group(2) or b""


def readlink(task, path: bytes) -> bytes | None:
    """Target of a /proc magic link, or None if path is not one."""
    rest = split_self(task, path)
    if rest is None:
        return None
    if rest == b"/exe":
        return task.exe_path.encode(errors="surrogateescape")
    if rest == b"/cwd":
        return task.fs.cwd
    if rest == b"/root":
        return b"/"
    if rest.startswith(b"/fd/"):
        try:
            fd = int(rest[4:])
        except ValueError:
            return None
        if fd in task.reserved_fds:
            return None
        guest = task.fs.root.guest_path_of_fd(fd)
        if guest is not None:
            return guest
        try:
            host = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return None
        return host.encode() if not host.startswith("/") else None
    return None


def text_file(task, path: bytes) -> str | None:
    if path == b"/proc/cpuinfo":
        return CPUINFO
    if path == b"/proc/meminfo":
        return _meminfo()
    if path == b"/proc/mounts" or path == b"/proc/self/mounts":
        return "rootfs / rootfs rw 0 0\nproc /proc proc rw 0 0\n"
    rest = split_self(task, path)
    if rest == b"/maps":
        return task.proc_maps()
    if rest == b"/status":
        return (f"Name:\t{os.path.basename(task.exe_path)}\nState:\tR (running)\nTgid:\t{task.pid}\n"
                f"Pid:\t{task.tid}\nPPid:\t{task.ppid}\nUid:\t{task.uid}\t{task.euid}\t{task.suid}\t{task.euid}\n"
                f"Gid:\t{task.gid}\t{task.egid}\t{task.sgid}\t{task.egid}\nThreads:\t1\n")
    if rest == b"/cmdline":
        return "\0".join(a.decode(errors="replace") for a in getattr(task, "argv", [])) + "\0"
    return None


def open_text(text: str) -> int:
    fd = os.memfd_create("mkemu-proc", 0)
    os.write(fd, text.encode())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
