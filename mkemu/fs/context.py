"""A process's file-system context: its root, working directory and umask.

The working directory is kept as a guest path string, always the resolved
real path (chdir stores the path the kernel reports for the directory it
opened), so a relative guest path is simply cwd + "/" + path walked from
the root (fs/namei.py): `..` works up to the rootfs's top and no further.
"""
from __future__ import annotations

import errno
import os
import stat

from .rootfs import O_PATH, RootFS


class FsContext:
    # Threads made with CLONE_FS share the context: then it lives in the space's control
    # block (mm/sharedmm.py) and each change is published there (the host umask is
    # shared by the host clone itself).
    _shared = None
    _gen = 0

    def __init__(self, root: RootFS, cwd: bytes = b"/", umask: int = 0o022) -> None:
        self.root = root
        self._cwd = cwd           # always a resolved guest path
        self._umask = umask
        os.umask(umask)           # the host applies it to our creates, as the kernel would

    def _fresh(self) -> None:
        shared = self._shared
        if shared is not None and shared.fs_gen() != self._gen:
            self._cwd, self._umask = shared.load_fs()
            self._gen = shared.fs_gen()

    def _publish(self) -> None:
        if self._shared is not None:
            self._shared.store_fs(self._cwd, self._umask)
            self._gen = self._shared.fs_gen()

    @property
    def cwd(self) -> bytes:
        self._fresh()
        return self._cwd

    @cwd.setter
    def cwd(self, path: bytes) -> None:
        self._cwd = path
        self._publish()

    @property
    def umask(self) -> int:
        self._fresh()
        return self._umask

    @umask.setter
    def umask(self, mask: int) -> None:
        self._umask = mask
        self._publish()

    def share(self, ctl) -> None:
        """CLONE_FS: from now cwd and umask are the thread group's."""
        if self._shared is None:
            self._shared = ctl
            self._publish()

    def unshare(self) -> None:
        self._fresh()
        self._shared = None

    def absolute(self, path: bytes, base: bytes | None = None) -> bytes:
        """The absolute guest path of `path` taken relative to base (default: the cwd)."""
        if path.startswith(b"/"):
            return path
        base = self.cwd if base is None else base
        if not path:
            return base
        return base.rstrip(b"/") + b"/" + path

    def set_umask(self, mask: int) -> int:
        old, self.umask = self.umask, mask & 0o777
        os.umask(self.umask)
        return old

    def chdir(self, path: bytes) -> None:
        """chdir to an absolute guest path."""
        fd = self.root.open(path, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self.chdir_fd(fd)
        finally:
            os.close(fd)

    def chdir_fd(self, fd: int) -> None:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.ENOTDIR, "not a directory")
        if not os.access(f"/proc/self/fd/{fd}", os.X_OK):
            raise OSError(errno.EACCES, "no search permission")
        guest = self.root.guest_path_of_fd(fd)
        if guest is None:
            raise OSError(errno.ENOENT, "directory outside the rootfs")
        self.cwd = guest

    def copy(self) -> "FsContext":
        """The context a forked child starts with (same root, cwd and umask)."""
        new = FsContext.__new__(FsContext)
        new.root, new._cwd, new._umask = self.root, self.cwd, self.umask
        return new


__all__ = ["FsContext", "O_PATH"]
