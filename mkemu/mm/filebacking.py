"""What a file mapping is backed by: a host file held open and a host window on it.

One guest mmap of a file (or of shared anonymous memory, which is a memfd)
makes one FileBacking: a duplicate of the descriptor, kept above the guest's
fd range, and a host mmap(MAP_SHARED) of the mapped part of the file.  Guest
pages of the mapping are memoryviews of that window, so a store is a store
into the host page cache: read() through any other descriptor sees it at once,
and a write() is seen through the mapping.  MAP_PRIVATE mappings read through
the same (read-only) window until their first write copies the page.

The VMAs split from one mapping (partial munmap, mprotect, mremap) share the
backing and count their references; the last one closes it.  A second task
process maps the same backing from (fd, window_offset, window_length): see
docs/ARCHITECTURE.md, Memory.
"""
from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Callable

from .hostmap import HostMapping

PAGE_SIZE = 4096
DEV_ZERO = os.makedev(1, 5)

# A file's size is read again once per epoch.  The task starts a new one each time the
# guest's code stops and each time it goes on (kern/task.py: a system call, a signal, a
# fault), so a size another process changed is seen from the guest's next stop on, as a
# change in the same call is (space.file_shrunk starts one too); a TLB fill of a file page
# between two stops (each checks the size: beyond it is SIGBUS) reads it once, not once a
# page (150 fstat calls of a dynamically linked /bin/true's start, 36 after).
_epoch = 0


def new_epoch() -> None:
    """File sizes may have changed: the next size() of each backing reads it again."""
    global _epoch
    _epoch += 1


class FileBacking:
    _size = 0
    _size_epoch = -1          # the epoch _size was read in

    def __init__(self, fd: int, path: str | None, writable: bool, offset: int, length: int,
                 st: os.stat_result | None = None) -> None:
        st = st or os.fstat(fd)           # (st: fd's file as the caller just saw it)
        self.fd = fd
        self.path = path
        self.inode = st.st_ino
        self.dev = st.st_dev
        self.writable = writable          # the host window (and so the guest) may store
        self.users = 0
        self.window = HostMapping(fd, offset, length, writable)

    @classmethod
    def attach(cls, fd: int, path: str | None, writable: bool, offset: int, length: int, dev: int,
               inode: int) -> "FileBacking":
        """A sibling thread's backing: its descriptor (in the shared descriptor table) and
        window as published, mapped into this process."""
        b = cls.__new__(cls)
        b.fd, b.path, b.writable, b.dev, b.inode, b.users = fd, path, writable, dev, inode, 0
        b.window = HostMapping(fd, offset, length, writable)
        return b

    @classmethod
    def of_fd(cls, guest_fd: int, shared: bool, want_write: bool, offset: int, length: int,
              hold: Callable[[int], int], st: os.stat_result | None = None) -> "FileBacking":
        """The backing of an mmap of a guest descriptor, checked as Linux checks it.

        hold(fd) returns a duplicate of fd above the guest's fd range; st: the fstat of
        guest_fd if the caller has it.  Its path is None: /proc/PID/maps asks the
        file's name of the held descriptor when read (AddressSpace.name_of_fd)."""
        try:
            st = st or os.fstat(guest_fd)
            flags = fcntl.fcntl(guest_fd, fcntl.F_GETFL)
        except OSError:
            flags = os.O_PATH
        if flags & os.O_PATH:
            raise OSError(errno.EBADF, "mmap of a bad fd")
        access = flags & os.O_ACCMODE
        if shared and want_write and access != os.O_RDWR or access == os.O_WRONLY:
            raise OSError(errno.EACCES, "mmap beyond the descriptor's access mode")
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.ENODEV, "mmap of a file that is not regular")
        fd = hold(guest_fd)
        try:
            try:
                return cls(fd, None, shared and access == os.O_RDWR, offset, length, st)
            except PermissionError:
                if not shared or want_write or access != os.O_RDWR:
                    raise
                # a write-sealed memfd: a read-only shared map is allowed (and stays so)
                return cls(fd, None, False, offset, length, st)
        except BaseException:
            os.close(fd)
            raise

    @classmethod
    def shared_anonymous(cls, length: int, hold: Callable[[int], int]) -> "FileBacking":
        """MAP_SHARED | MAP_ANONYMOUS: a memfd of the mapping's size (beyond it is SIGBUS,
        as beyond Linux's shmem object behind such a mapping)."""
        memfd = os.memfd_create("mkemu-shared-anon", os.MFD_CLOEXEC)
        try:
            os.ftruncate(memfd, length)
            fd = hold(memfd)
        finally:
            os.close(memfd)
        try:
            return cls(fd, "/dev/zero (deleted)", True, 0, length)
        except BaseException:
            os.close(fd)
            raise

    # ---- references -------------------------------------------------------------------
    def retain(self) -> "FileBacking":
        self.users += 1
        return self

    def release(self) -> None:
        """Drop a VMA's reference; the last one unmaps the window (its views must be
        gone from every TLB by then) and closes the descriptor."""
        self.users -= 1
        if self.users <= 0 and self.fd >= 0:
            self.window.unmap()
            os.close(self.fd)
            self.fd = -1

    # ---- pages ------------------------------------------------------------------------
    def size(self) -> int:
        """The file's size as of this epoch."""
        if self._size_epoch != _epoch:
            self._size = os.fstat(self.fd).st_size
            self._size_epoch = _epoch
        return self._size

    def covers(self, start: int, end: int) -> bool:
        """Does the window hold file range [start, end)?"""
        w = self.window
        return w.offset <= start and end <= w.offset + w.length

    def page(self, offset: int) -> memoryview:
        """The window's view of the file page at offset (which the window covers)."""
        at = offset - self.window.offset
        return self.window.view[at:at + PAGE_SIZE]

    def rewindow(self, start: int, end: int) -> None:
        """Map file range [start, end) (and what was mapped) instead of the old window
        (mremap growing a mapping).  Views of the old window must be gone from every TLB."""
        old = self.window
        lo, hi = min(start, old.offset), max(end, old.offset + old.length)
        self.window = HostMapping(self.fd, lo, hi - lo, self.writable)
        old.unmap()


def is_dev_zero(fd: int, st: os.stat_result | None = None) -> bool:
    """mmap of /dev/zero is anonymous memory (shared or private as asked).  st: fd's
    fstat, if the caller has it."""
    if st is None:
        try:
            st = os.fstat(fd)
        except OSError:
            return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == DEV_ZERO
