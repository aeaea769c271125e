"""The device files every guest finds in /dev, whatever its rootfs holds.

They are the host's own character devices, opened directly: reading
/dev/urandom in the guest reads the host's.  /dev/stdin, /dev/stdout,
/dev/stderr and /dev/fd are the usual symlinks into /proc/self/fd.  A host
terminal the guest already holds open (its stdin on /dev/pts/3, say) is
reachable under its own name, so ttyname() and `tty` work; no other host
terminal is.
"""
from __future__ import annotations

import os

from .nodes import HostDevice, Node, Symlink

DEVICES = {
    b"/dev/null": "/dev/null", b"/dev/zero": "/dev/zero", b"/dev/full": "/dev/full",
    b"/dev/random": "/dev/random", b"/dev/urandom": "/dev/urandom", b"/dev/tty": "/dev/tty",
}
LINKS = {
    b"/dev/stdin": b"/proc/self/fd/0", b"/dev/stdout": b"/proc/self/fd/1",
    b"/dev/stderr": b"/proc/self/fd/2", b"/dev/fd": b"/proc/self/fd",
}
_NODES: dict[bytes, Node] = {p: HostDevice(p, h) for p, h in DEVICES.items()}
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
    """Whether one of the guest's descriptors 0-2 is this host terminal."""
    want = os.fsdecode(path)
    for fd in (0, 1, 2):
        if fd in t.reserved_fds:
            continue
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == want:
                return True
        except OSError:
            pass
    return False
