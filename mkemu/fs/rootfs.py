"""The guest's root directory: a host directory the guest cannot leave.

Every guest path is resolved by the host kernel with openat2(2) and
RESOLVE_IN_ROOT against an O_PATH descriptor of the rootfs: `..` at the top
stays at the top and absolute symlinks are taken relative to the rootfs, all
inside the kernel's own path walk, so no symlink race can escape it either.
Operations that act on a name rather than an open file (unlink, mkdir,
rename, readlink, lstat...) open the parent directory that way and use the
*at() call on the last component, which the host never follows.

This class is the whole guest-path -> host mapping, so it is where a mount
table lives: `bind(guest_dir, host_dir)` adds a host folder at a guest path.
A path is matched to its mount lexically (after `.`/`..` folding); the path
walk (fs/namei.py) hands it paths whose symlinks it has already followed.
Inside a bind mount, `..` and absolute symlinks stop at the mount's own top,
which is safe but not quite Linux (docs/ARCHITECTURE.md).
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import posixpath
import stat

from ..record import record
from .metastore import MetaStore

O_PATH = 0o10000000
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10
SYS_OPENAT2 = 437            # the same number on x86_64 and every other architecture

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_HOW_SIZE = ctypes.sizeof(_OpenHow)


def normalize(path: bytes) -> bytes:
    """Lexically clean an absolute guest path (for mount and overlay matching only)."""
    out = posixpath.normpath(path)
    if out.startswith(b"//"):
        out = b"/" + out.lstrip(b"/")
    return out


def split_last(path: bytes) -> tuple[bytes, bytes]:
    """(parent, last component) of an absolute path; trailing slashes are dropped."""
    path = path.rstrip(b"/") or b"/"
    parent, name = posixpath.split(path)
    return parent or b"/", name or b"."


@record
class Mount:
    guest: bytes      # normalized guest path of the mount point
    host: str         # host directory (real path)
    fd: int           # O_PATH descriptor of the host directory, in the reserved range
    tmpfs: bool = False   # a fresh directory of the machine's own (/dev/shm, --tmpfs)


class RootFS:
    def __init__(self, host_dir: str, fd_base: int = 1024, records_owners: bool = False) -> None:
        self.fd_base = fd_base
        self.host_dir = os.path.realpath(host_dir)
        if not os.path.isdir(self.host_dir):
            raise FileNotFoundError(errno.ENOENT, "rootfs is not a directory", host_dir)
        # ownership, modes and device nodes the host does not hold (fs/metastore.py)
        self.meta = MetaStore(self.host_dir, records_owners, fd_base)
        self.reserved_fds: list[int] = []
        self.root_fd = self._high_path_fd(self.host_dir)
        self.mounts: list[Mount] = [Mount(b"/", self.host_dir, self.root_fd)]
        self._prefix = self.host_dir.rstrip("/").encode()
        # names at the top of the tree seen to be symlinks (merged /usr: bin, lib, sbin):
        # a path walk asks top_link first, so /lib/x costs one look more, not four
        self.top_links: set[bytes] = set()

    def _high_path_fd(self, host_dir: str) -> int:
        fd = os.open(host_dir, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, self.fd_base)
        finally:
            os.close(fd)
        self.reserved_fds.append(high)
        return high

    def close(self) -> None:
        self.meta.close()
        for m in self.mounts:
            try:
                os.close(m.fd)
            except OSError:
                pass
        self.mounts = []
        self.reserved_fds = []

    # ---- the mount table -----------------------------------------------------------------
    def bind(self, guest_dir: bytes, host_dir: str, tmpfs: bool = False) -> int:
        """Make host_dir appear at guest_dir (tmpfs: a directory of the machine's own,
        shown as a tmpfs in /proc/mounts); returns the new reserved fd."""
        host = os.path.realpath(host_dir)
        if not os.path.isdir(host):
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", host_dir)
        m = Mount(normalize(guest_dir), host, self._high_path_fd(host), tmpfs)
        self.mounts.append(m)
        self.mounts.sort(key=lambda m: len(m.guest), reverse=True)
        return m.fd

    def mount_of(self, path: bytes) -> Mount:
        """The mount that holds a normalized absolute guest path."""
        for m in self.mounts:
            if m.guest == b"/" or path == m.guest or path.startswith(m.guest + b"/"):
                return m
        return self.mounts[-1]

    def locate(self, path: bytes) -> tuple[int, bytes]:
        """(O_PATH fd of the mount's top, path inside it) for an absolute guest path."""
        if len(self.mounts) == 1:
            return self.root_fd, path
        # most paths are already clean: normpath only when a '.', '..' or '//' could be in it
        norm = normalize(path) if b"/." in path or b"//" in path or path.endswith(b"/") \
            else path
        crossed = False            # the path went through a mount and came back out of it
        for m in self.mounts:
            g = m.guest
            if g == b"/":
                break
            if norm == g or norm.startswith(g + b"/"):
                return m.fd, norm[len(g):] or b"/"
            crossed = crossed or path.startswith(g + b"/")
        return self.root_fd, norm if crossed else path

    # ---- resolving -----------------------------------------------------------------------
    def open(self, path: bytes, flags: int, mode: int = 0, resolve: int = 0) -> int:
        """Open an absolute guest path with host open flags; returns a host fd (raises OSError).

        No O_CLOEXEC is added: the caller's flags are exactly what the guest asked for.
        """
        base, rel = self.locate(path or b"/")
        how = _OpenHow(flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve)
        for _ in range(8):
            fd = _syscall(SYS_OPENAT2, base, rel or b"/", ctypes.byref(how), _HOW_SIZE)
            if fd >= 0:
                return fd
            err = ctypes.get_errno()
            if err != errno.EAGAIN:      # EAGAIN: a rename raced the walk; the kernel asks to retry
                break
        raise OSError(err, os.strerror(err), path.decode(errors="replace"))

    openat2 = open      # the name the task code uses

    def open_path(self, path: bytes, follow: bool = True, directory: bool = False) -> int:
        """An O_PATH|O_CLOEXEC fd of a guest path (the caller closes it)."""
        flags = O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW) | \
            (os.O_DIRECTORY if directory else 0)
        return self.open(path, flags)

    def inspect(self, path: bytes) -> tuple[int, bytes | None]:
        """(st_mode, symlink target or None) of what a guest path names, following no symlink.

        An intermediate component that is a symlink is ELOOP (RESOLVE_NO_SYMLINKS): the
        caller (the path walk) then looks at the components one at a time.  The last
        component is not followed, so a symlink there is reported with its target.
        """
        fd = self.open(path, O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS)
        try:
            mode = os.fstat(fd).st_mode
            return mode, os.readlink(b"", dir_fd=fd) if stat.S_ISLNK(mode) else None
        finally:
            os.close(fd)

    def top_link(self, name: bytes) -> bytes | None:
        """The target of the symlink `name` at the top of the root mount, or None when it
        is no symlink there now (or a bind mount covers it).  One readlinkat on the
        root's descriptor: a single name, which the host neither follows nor leaves the
        directory for."""
        if len(self.mounts) > 1 and self.mount_of(b"/" + name).guest != b"/":
            return None
        try:
            return os.readlink(name, dir_fd=self.root_fd)
        except OSError:
            return None

    def open_parent(self, path: bytes) -> tuple[int, bytes]:
        """(O_PATH fd of the parent directory, last component) of an absolute guest path."""
        parent, name = split_last(path)
        if name == b"..":
            # the parent of '..' is the directory it names: open it and use '.'
            return self.open(path, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC), b"."
        if len(self.mounts) > 1 and name != b".":
            # a mount point is its own top: act on it through its mount, not its parent
            norm = normalize(path)
            for m in self.mounts:
                if m.guest == norm and m.guest != b"/":
                    return os.dup(m.fd), b"."
        return self.open(parent, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC), name

    # ---- host -> guest -------------------------------------------------------------------
    def guest_path_of_fd(self, fd: int) -> bytes | None:
        """The guest path of an open host fd, or None if it is not inside the rootfs."""
        try:
            host = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return None
        return self.guest_path_of_host(os.fsencode(host))

    def guest_path_of_host(self, host: bytes) -> bytes | None:
        best: bytes | None = None
        best_len = -1
        for m in self.mounts:
            prefix = os.fsencode(m.host).rstrip(b"/")
            if host == prefix or host.startswith(prefix + b"/") or prefix == b"":
                if len(prefix) > best_len:
                    rest = host[len(prefix):]
                    best = (m.guest.rstrip(b"/") + rest) or b"/"
                    best_len = len(prefix)
        return best
