"""A process's file-system context: its root, working directory and umask."""
from __future__ import annotations

import os

from .rootfs import O_PATH, RootFS


class FsContext:
    def __init__(self, root: RootFS, cwd: bytes = b"/", umask: int = 0o022) -> None:
        self.root = root
        self.cwd = cwd            # always a resolved guest path
        self.umask = umask
        os.umask(umask)           # the host applies it to our creates, as the kernel would

    def absolute(self, path: bytes, base: bytes | None = None) -> bytes:
        if path.startswith(b"/"):
            return path
        base = self.cwd if base is None else base
        return base.rstrip(b"/") + b"/" + path

    def open_exec(self, path: str) -> int:
        """Open a program for execve (a regular file with an execute bit)."""
        import errno
        import stat
        fd = self.root.openat2(self.absolute(path.encode(errors="surrogateescape")),
                               os.O_RDONLY | os.O_CLOEXEC)
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode) or not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise OSError(errno.EACCES, "not a regular file", path)
        if not st.st_mode & 0o111:
            os.close(fd)
            raise OSError(errno.EACCES, "not executable", path)
        return fd

    def chdir_fd(self, fd: int) -> None:
        guest = self.root.guest_path_of_fd(fd)
        if guest is None:
            import errno
            raise OSError(errno.ENOENT, "directory outside the rootfs")
        self.cwd = guest

    def copy(self) -> "FsContext":
        return FsContext(self.root, self.cwd, self.umask)


__all__ = ["FsContext", "O_PATH"]
