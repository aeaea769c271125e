"""Extended attributes: the host's, on the files the guest names.

A path is resolved inside the root (fs/namei.py `Target`: an O_PATH
descriptor, reached as /proc/self/fd/N, so the host never walks a path the
guest chose); the l- variants do not follow a last symlink.  What the host
file system allows is what the guest gets (ENOTSUP where it keeps none, EPERM
for user.* on a symlink).  A host device node of /dev is never changed.
"""
from __future__ import annotations

import errno
import os

from ..fs import namei
from ..fs.namei import guest_fd as _fd
from ..fs.nodes import check_modifiable
from ..mm.fault import MemFault
from .sys_fs import _path
from .systable import syscall

XATTR_NAME_MAX, XATTR_SIZE_MAX, XATTR_LIST_MAX = 255, 65536, 65536
XATTR_CREATE, XATTR_REPLACE = 1, 2


def _name(t, addr: int) -> str:
    try:
        raw = t.mem.read_cstring(addr, XATTR_NAME_MAX + 1)
    except MemFault as e:
        if e.kind == "too long":
            raise OSError(errno.ERANGE, "attribute name too long") from None
        raise
    if not raw or len(raw) > XATTR_NAME_MAX:
        raise OSError(errno.ERANGE, "bad attribute name")
    return os.fsdecode(raw)


def _give(t, data: bytes, buf: int, size: int, cap: int) -> int:
    """getxattr/listxattr's answer: size 0 asks for the length; too small is ERANGE."""
    if size == 0:
        return len(data)
    if len(data) > size:
        return -(errno.E2BIG if len(data) > cap else errno.ERANGE)
    t.mem.write(buf, data)
    return len(data)


def _get(t, where, follow: bool, name_addr: int, buf: int, size: int) -> int:
    return _give(t, os.getxattr(where, _name(t, name_addr), follow_symlinks=follow),
                 buf, size, XATTR_SIZE_MAX)


def _list(t, where, follow: bool, buf: int, size: int) -> int:
    names = os.listxattr(where, follow_symlinks=follow)
    data = b"".join(os.fsencode(n) + b"\0" for n in names)
    return _give(t, data, buf, size, XATTR_LIST_MAX)


def _set(t, where, follow: bool, name_addr: int, value: int, size: int, flags: int) -> int:
    if flags & ~(XATTR_CREATE | XATTR_REPLACE):
        return -errno.EINVAL
    if size > XATTR_SIZE_MAX:
        return -errno.E2BIG
    name = _name(t, name_addr)
    data = t.mem.read(value, size) if size else b""
    os.setxattr(where, name, data, flags, follow_symlinks=follow)
    return 0


def _remove(t, where, follow: bool, name_addr: int) -> int:
    os.removexattr(where, _name(t, name_addr), follow_symlinks=follow)
    return 0


def _at_path(t, path_addr: int, follow: bool, modify: bool, act, own: int) -> int:
    """act(host path) on what the guest path names; own: the answer for a file of
    mkemu's own /proc or /dev (no host file behind it), which keeps no attributes."""
    path = _path(t, path_addr)
    found = namei.lookup(t, namei.AT_FDCWD, path, follow)
    node = found.node
    if node is not None and not namei.has_host_file(node, follow):
        # (`ls -l /proc/self/fd` asks each link's security.selinux: Linux's proc
        # files have no attributes, EOPNOTSUPP, where Target would say ELOOP)
        return own
    with namei.Target(t, namei.AT_FDCWD, path, follow, modify=modify, found=found) as tg:
        # the O_PATH descriptor is the file itself (a symlink when not followed):
        # going through its /proc/self/fd link reaches exactly that inode
        return act(tg.host)


def _path_calls(name: str, follow: bool) -> None:
    no = -errno.EOPNOTSUPP

    @syscall(f"{name}getxattr", "path", "str", "obuf", "size")
    def get(t, path, attr, buf, size):
        return _at_path(t, path, follow, False, lambda h: _get(t, h, True, attr, buf, size), no)

    @syscall(f"{name}listxattr", "path", "obuf", "size")
    def listx(t, path, buf, size):
        return _at_path(t, path, follow, False, lambda h: _list(t, h, True, buf, size), 0)

    @syscall(f"{name}setxattr", "path", "str", "buf", "size", "flags")
    def setx(t, path, attr, value, size, flags):
        return _at_path(t, path, follow, True,
                        lambda h: _set(t, h, True, attr, value, size, flags), no)

    @syscall(f"{name}removexattr", "path", "str")
    def remove(t, path, attr):
        return _at_path(t, path, follow, True, lambda h: _remove(t, h, True, attr), no)


_path_calls("", True)
_path_calls("l", False)


@syscall("fgetxattr", "fd", "str", "obuf", "size")
def sys_fgetxattr(t, fd, attr, buf, size):
    return _get(t, _fd(t, fd), True, attr, buf, size)


@syscall("flistxattr", "fd", "obuf", "size")
def sys_flistxattr(t, fd, buf, size):
    return _list(t, _fd(t, fd), True, buf, size)


@syscall("fsetxattr", "fd", "str", "buf", "size", "flags")
def sys_fsetxattr(t, fd, attr, value, size, flags):
    fd = _fd(t, fd)
    check_modifiable(os.fstat(fd))
    return _set(t, fd, True, attr, value, size, flags)


@syscall("fremovexattr", "fd", "str")
def sys_fremovexattr(t, fd, attr):
    fd = _fd(t, fd)
    check_modifiable(os.fstat(fd))
    return _remove(t, fd, True, attr)
