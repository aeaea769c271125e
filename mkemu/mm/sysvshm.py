"""An attached System V shared memory segment as the backing of a guest mapping.

shmat in the guest is a host shmat of the segment in the task process; the
guest's pages are memoryviews of that host attachment, exactly as a file
mapping's pages are views of its host window (mm/filebacking.py), so a
store is a store into the segment every other attacher sees.  The object
has FileBacking's shape (window, page, size, retain/release, the fields a
shared space publishes), with no descriptor (fd -1): a SysV segment has
none.  The last VMA's release is the shmdt.

Host attachments are inherited by fork, so a forked task keeps them (and
Linux's shm_nattch counts them, as it counts the guest's).  A thread in
another task process attaches the segment itself when it loads the
published VMA list (`attach`, called by mm/sharedspace.py for dev SYSV_DEV).
"""
from __future__ import annotations

import ctypes
import errno
import os

from .hostmap import host_view

PAGE_SIZE = 4096
SHM_RDONLY = 0o10000
SYSV_DEV = -1          # the "device" of a segment's alias keys: ("file", SYSV_DEV, shmid, offset)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
_libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
_libc.shmdt.argtypes = [ctypes.c_void_p]
_FAILED = ctypes.c_void_p(-1).value


class _Attachment:
    """The segment shmat'ed into this process: a HostMapping's shape (offset 0)."""

    def __init__(self, shmid: int, length: int, writable: bool) -> None:
        addr = _libc.shmat(shmid, None, 0 if writable else SHM_RDONLY)
        if addr in (None, _FAILED):
            err = ctypes.get_errno()
            raise OSError(err, f"host shmat: {os.strerror(err)}")
        self.addr, self.offset, self.length = addr, 0, length
        self.view = host_view(addr, length, writable)

    def unmap(self) -> None:
        if self.view is not None:
            self.view = None
            _libc.shmdt(ctypes.c_void_p(self.addr))


class SysvSegment:
    segment = True

    def __init__(self, shmid: int, size: int, writable: bool, name: str) -> None:
        self.fd = -1
        self.path = name
        self.dev, self.inode = SYSV_DEV, shmid
        self.writable = writable
        self.users = 0
        self.window = _Attachment(shmid, (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1), writable)

    @classmethod
    def attach(cls, fd: int, path: str, writable: bool, offset: int, length: int, dev: int,
               inode: int) -> "SysvSegment":
        """A sibling thread's attachment, from what its space published."""
        return cls(inode, length, writable, path)

    @property
    def length(self) -> int:
        return self.window.length

    def retain(self) -> "SysvSegment":
        self.users += 1
        return self

    def release(self) -> None:
        """Drop a VMA's reference; the last one is the host shmdt (after the shootdown)."""
        self.users -= 1
        if self.users <= 0:
            self.window.unmap()

    def size(self) -> int:
        return self.window.length

    def covers(self, start: int, end: int) -> bool:
        return True           # the whole segment is attached; beyond it is a bus fault

    def page(self, offset: int) -> memoryview:
        return self.window.view[offset:offset + PAGE_SIZE]

    def rewindow(self, start: int, end: int) -> None:
        raise OSError(errno.EINVAL, "a SysV segment is attached whole")
