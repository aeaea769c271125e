"""The machine's identity: what uname(2) reports, in one place.

uname(2), sethostname/setdomainname, /proc/version and /proc/sys/kernel/*
all read one Identity.  The node name starts as the rootfs's /etc/hostname
(as the guest's init would set it at boot), so `uname -n`, `hostname` and
`cat /etc/hostname` agree.  This module imports nothing of mkemu: the kernel
(which owns the instance) and the /proc overlay (which shows it) both read it.
"""
from __future__ import annotations

from dataclasses import dataclass

UTS_FIELD = 65             # each utsname field: __NEW_UTS_LEN (64) bytes and a NUL
MAX_NAME = UTS_FIELD - 1


@dataclass
class Identity:
    sysname: bytes = b"Linux"
    nodename: bytes = b"mkemu"
    release: bytes = b"6.1.0-mkemu"
    version: bytes = b"#1 SMP PREEMPT mkemu"
    machine: bytes = b"aarch64"
    domainname: bytes = b"(none)"

    def utsname(self) -> bytes:
        """struct new_utsname (six NUL-padded 65-byte fields, the same on every architecture)."""
        return b"".join(f[:MAX_NAME].ljust(UTS_FIELD, b"\0") for f in (
            self.sysname, self.nodename, self.release, self.version, self.machine,
            self.domainname))

    def proc_version(self) -> str:
        """/proc/version, in the kernel's format."""
        return f"{self.sysname.decode(errors='replace')} version " \
               f"{self.release.decode(errors='replace')} (mkemu@mkemu) (gcc) " \
               f"{self.version.decode(errors='replace')}\n"


def hostname_from_file(data: bytes) -> bytes | None:
    """The node name an /etc/hostname holds (its first line), or None if it names none."""
    name = data.split(b"\n", 1)[0].strip()
    if not name or len(name) > MAX_NAME or b"\0" in name:
        return None
    return name
