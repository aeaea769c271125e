"""inotify: the host's, on files reached inside the root.

The descriptor is a host inotify instance at the guest's number, so read,
poll, epoll, dup and fork need nothing of mkemu: struct inotify_event and the
IN_* bits are the same on aarch64 and x86_64, and the watch descriptors and
the names in events (relative to the watched directory) pass through.

A watch is added on the file a guest path names, opened inside the root
(`namei.Target`: an O_PATH descriptor whose /proc/self/fd/N link the host
follows to the file itself), never on a host path the guest chose.  With
IN_DONT_FOLLOW that descriptor is of the symlink itself, so the host is
always asked to follow (the magic link), not to stop at it.
"""
from __future__ import annotations

import ctypes
import errno
import os

from ..fs import namei
from ..fs.namei import AT_FDCWD
from ..fs.namei import guest_fd as _fd
from .sys_fs import _new_fd, _path
from .systable import s32, syscall

IN_NONBLOCK = 0o4000          # = O_NONBLOCK, the same on both
IN_CLOEXEC = 0o2000000        # = O_CLOEXEC, the same on both
IN_DONT_FOLLOW = 0x0200_0000

_libc = ctypes.CDLL(None, use_errno=True)
_libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
_libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]


def _checked(r: int) -> int:
    if r < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return r


@syscall("inotify_init1", "flags")
def sys_inotify_init1(t, flags):
    flags &= 0xFFFF_FFFF
    if flags & ~(IN_NONBLOCK | IN_CLOEXEC):
        return -errno.EINVAL
    return _new_fd(t, _checked(_libc.inotify_init1(flags)))


@syscall("inotify_add_watch", "fd", "path", "hex")
def sys_inotify_add_watch(t, fd, path_addr, mask):
    fd, mask = _fd(t, fd), mask & 0xFFFF_FFFF
    os.fstat(fd)                                  # EBADF before the path is looked at
    path = _path(t, path_addr)
    with namei.Target(t, AT_FDCWD, path, follow=not mask & IN_DONT_FOLLOW) as tg:
        return _checked(_libc.inotify_add_watch(fd, os.fsencode(tg.host),
                                                mask & ~IN_DONT_FOLLOW))


@syscall("inotify_rm_watch", "fd", "int")
def sys_inotify_rm_watch(t, fd, wd):
    return _checked(_libc.inotify_rm_watch(_fd(t, fd), s32(wd)))
