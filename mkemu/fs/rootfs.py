"""The guest's root directory: a host directory the guest cannot leave.

Every guest path is resolved by the host kernel with openat2(2) and
RESOLVE_IN_ROOT against an O_PATH descriptor of the rootfs: `..` at the top
stays at the top and absolute symlinks are taken relative to the rootfs, all
inside the kernel's own path walk, so no symlink race can escape it either.
Operations that act on a name rather than an open file (unlink, mkdir,
rename, readlink, lstat...) open the parent directory that way and use the
*at() call on the last component.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import posixpath

O_PATH = 0o10000000
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10
SYS_OPENAT2 = 437

_libc = ctypes.CDLL(None, use_errno=True)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def normalize(path: bytes) -> bytes:
    """Lexically clean an absolute guest path (for overlay matching only)."""
    out = posixpath.normpath(path)
    if out.startswith(b"//"):
        out = b"/" + out.lstrip(b"/")
    return out


class RootFS:
    def __init__(self, host_dir: str, fd_base: int = 1024) -> None:
        self.host_dir = os.path.realpath(host_dir)
        if not os.path.isdir(self.host_dir):
            raise FileNotFoundError(errno.ENOENT, "rootfs is not a directory", host_dir)
        fd = os.open(self.host_dir, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.root_fd = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, fd_base)
        os.close(fd)
        self.reserved_fds = [self.root_fd]
        self._prefix = self.host_dir.rstrip("/").encode()

    def openat2(self, path: bytes, flags: int, mode: int = 0) -> int:
        """Open an absolute guest path; returns a host fd (raises OSError)."""
        how = _OpenHow(flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
        fd = _libc.syscall(SYS_OPENAT2, self.root_fd, path or b"/", ctypes.byref(how),
                           ctypes.sizeof(how))
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path.decode(errors="replace"))
        return fd

    def open_parent(self, path: bytes) -> tuple[int, bytes]:
        """(O_PATH fd of the parent directory, last component) of an absolute guest path."""
        path = path.rstrip(b"/") or b"/"
        parent, name = posixpath.split(path)
        if not name:
            name = b"."
        if name == b"..":
            # the parent of '..' is the directory it names: open it and use '.'
            return self.openat2(path, O_PATH | os.O_DIRECTORY), b"."
        return self.openat2(parent or b"/", O_PATH | os.O_DIRECTORY), name

    def guest_path_of_fd(self, fd: int) -> bytes | None:
        """The guest path of an open host fd, or None if it is not inside the rootfs."""
        try:
            host = os.readlink(f"/proc/self/fd/{fd}").encode()
        except OSError:
            return None
        return self.guest_path_of_host(host)

    def guest_path_of_host(self, host: bytes) -> bytes | None:
        if host == self._prefix:
            return b"/"
        if host.startswith(self._prefix + b"/"):
            return host[len(self._prefix):]
        if self._prefix == b"":
            return host
        return None
