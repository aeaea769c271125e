"""The device files every guest finds in /dev, whatever its rootfs holds.

They are the host's own character devices, opened directly: reading
/dev/urandom in the guest reads the host's.  /dev/stdin, /dev/stdout,
/dev/stderr and /dev/fd are the usual symlinks into /proc/self/fd.  /dev/tty
is the opener's controlling terminal (the broker knows it); /dev/console the
machine's terminal (mkemu's own, or its pty under `mkemu boot`).  /dev/ptmx makes
a new host pty.  A host terminal the guest already holds (its stdin on
/dev/pts/3, its controlling terminal, the slave of a pty it made) is
reachable under its own name, so ttyname(), `tty` and openpty() work; no
other host terminal is.
"""
from __future__ import annotations

import fcntl
import os
import stat

from .nodes import Console, ControllingTerminal, HostDevice, HostDir, Node, Symlink

DEVICES = {
    b"/dev/null": "/dev/null", b"/dev/zero": "/dev/zero", b"/dev/full": "/dev/full",
    b"/dev/random": "/dev/random", b"/dev/urandom": "/dev/urandom", b"/dev/tty": "/dev/tty",
    b"/dev/ptmx": "/dev/ptmx",
}
TIOCGPTN = 0x80045430
PTMX_MAJOR = 5                      # /dev/ptmx is (5, 2)
LINKS = {
    b"/dev/stdin": b"/proc/self/fd/0", b"/dev/stdout": b"/proc/self/fd/1",
    b"/dev/stderr": b"/proc/self/fd/2", b"/dev/fd": b"/proc/self/fd",
}
_NODES: dict[bytes, Node] = {p: HostDevice(p, h) for p, h in DEVICES.items()}
_NODES[b"/dev/tty"] = ControllingTerminal(b"/dev/tty", "/dev/tty")
_NODES[b"/dev/console"] = Console(b"/dev/console", "/dev/console")
# listed as the host's (numbers only); a terminal in it opens only if the guest holds it
_NODES[b"/dev/pts"] = HostDir(b"/dev/pts", "/dev/pts")
_NODES.update({p: Symlink(p, target) for p, target in LINKS.items()})


def host_device(path: bytes) -> str | None:
    return DEVICES.get(path)


def lookup(t, path: bytes) -> Node | None:
    """The overlay node of a normalized guest path under /dev, or None (then: the rootfs)."""
    node = _NODES.get(path)
    if node is not None:
        return node
    if path.startswith(b"/dev/fd/"):
        return Symlink(path, b"/proc/self/fd/" + path[8:])
    if path.startswith(b"/dev/pts/") and _held_terminal(t, path):
        return HostDevice(path, os.fsdecode(path))
    return None


def _held_terminal(t, path: bytes) -> bool:
    """Whether the guest holds this host terminal: one of its descriptors 0-2, its
    controlling terminal, or the slave of a pty whose master it holds."""
    want = os.fsdecode(path)
    for fd in (0, 1, 2):
        if fd in t.reserved_fds:
            continue
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == want:
                return True
        except OSError:
            pass
    if t.controlling_terminal() == want:
        return True
    number = want[len("/dev/pts/"):]
    return number.isdigit() and int(number) in _pty_numbers(t)


def _pty_numbers(t) -> set[int]:
    """The numbers of the ptys whose masters (/dev/ptmx) the guest has open."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd in t.reserved_fds:
            continue
        try:
            st = os.fstat(fd)
            if stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == PTMX_MAJOR \
                    and os.minor(st.st_rdev) == 2:
                found.add(int.from_bytes(fcntl.ioctl(fd, TIOCGPTN, bytes(4)), "little"))
        except OSError:
            continue
    return found
