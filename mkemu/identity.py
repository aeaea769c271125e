"""The machine's identity: what uname(2) reports, and who the guest is, in one place.

uname(2), sethostname/setdomainname, /proc/version and /proc/sys/kernel/*
all read one Identity.  The node name starts as the rootfs's /etc/hostname
(as the guest's init would set it at boot), so `uname -n`, `hostname` and
`cat /etc/hostname` agree.  This module imports nothing of mkemu: the kernel
(which owns the instance) and the /proc overlay (which shows it) both read it.
"""
from __future__ import annotations

from .record import record


UTS_FIELD = 65             # each utsname field: __NEW_UTS_LEN (64) bytes and a NUL
MAX_NAME = UTS_FIELD - 1


@record
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


# ---- who the guest runs as ------------------------------------------------------------------
# The guest's first process is root (uid 0, gid 0) when the host user is root, or when
# ownership is recorded in the metadata store (`mkemu run --root-as-user`, the default for a
# host user who is not root: a guest system expects to be root, as under fakeroot).  With
# --no-root-as-user a host user who is not root is seen as itself, as under qemu-user.

def default_root_as_user(host_euid: int) -> bool:
    """Whether ownership is recorded when the user said neither way: for a user who is not
    root, whose chown the host would refuse."""
    return host_euid != 0


def guest_ids(root_as_user: bool, host_uid: int, host_gid: int) -> tuple[int, int]:
    """(uid, gid) of the guest's first process."""
    if root_as_user:
        return 0, 0
    return host_uid, host_gid
