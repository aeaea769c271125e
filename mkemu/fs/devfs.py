"""The device files every guest finds in /dev, whatever its rootfs holds.

They are the host's own character devices, opened directly: reading
/dev/urandom in the guest reads the host's.
"""
from __future__ import annotations

DEVICES = {
    b"/dev/null": "/dev/null", b"/dev/zero": "/dev/zero", b"/dev/full": "/dev/full",
    b"/dev/random": "/dev/random", b"/dev/urandom": "/dev/urandom", b"/dev/tty": "/dev/tty",
}


def host_device(path: bytes) -> str | None:
    return DEVICES.get(path)
