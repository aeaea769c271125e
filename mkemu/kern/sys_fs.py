"""File syscalls: thin wrappers that decode guest arguments and call the host.

Guest descriptors are host descriptors of the task process, so reads and
writes go straight to the host; paths go through the task's FsContext and
RootFS (confined with openat2 RESOLVE_IN_ROOT), with /dev and /proc overlays.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import stat
import struct

from ..fs import devfs, procfs
from ..fs.rootfs import O_PATH, normalize
from ..fs.structs import open_flags_to_guest, open_flags_to_host, pack_stat, pack_statx
from .systable import syscall

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_EMPTY_PATH = 0x1000
MAX_IO = 16 << 20

_libc = ctypes.CDLL(None, use_errno=True)


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v


def _fd(t, fd: int) -> int:
    fd = _s32(fd)
    if fd < 0 or fd in t.reserved_fds:
        raise OSError(errno.EBADF, "bad file descriptor")
    return fd


def _path(t, addr: int) -> bytes:
    p = t.mem.read_cstring(addr, 4096)
    return p


def _abs(t, dirfd: int, path: bytes) -> bytes:
    """The absolute guest path of (dirfd, path)."""
    if path.startswith(b"/"):
        return path
    dirfd = _s32(dirfd)
    if dirfd == AT_FDCWD:
        return t.fs.absolute(path)
    base = t.fs.root.guest_path_of_fd(_fd(t, dirfd))
    if base is None:
        raise OSError(errno.ENOTDIR, "dirfd is not a directory in the rootfs")
    return t.fs.absolute(path, base)


class _Parent:
    """The parent directory of a guest path, open for *at() calls."""

    def __init__(self, t, dirfd: int, path: bytes) -> None:
        if not path:
            raise OSError(errno.ENOENT, "empty path")
        self.fd, self.name = t.fs.root.open_parent(_abs(t, dirfd, path))

    def __enter__(self):
        return self.fd, self.name.decode(errors="surrogateescape")

    def __exit__(self, *exc):
        os.close(self.fd)


def _open_path(t, dirfd: int, path: bytes, follow: bool = True) -> int:
    """An O_PATH fd for a guest path (the caller closes it)."""
    if not path:
        raise OSError(errno.ENOENT, "empty path")
    flags = O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    ap = _abs(t, dirfd, path)
    dev = devfs.host_device(normalize(ap))
    if dev:
        return os.open(dev, O_PATH | os.O_CLOEXEC)
    return t.fs.root.openat2(ap, flags)


def _stat(t, dirfd: int, path_addr: int, flags: int) -> os.stat_result:
    path = _path(t, path_addr) if path_addr else b""
    if not path:
        if not flags & AT_EMPTY_PATH:
            raise OSError(errno.ENOENT, "empty path")
        if _s32(dirfd) == AT_FDCWD:
            return _stat_cwd(t)
        return os.fstat(_fd(t, dirfd))
    fd = _open_path(t, dirfd, path, follow=not flags & AT_SYMLINK_NOFOLLOW)
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def _stat_cwd(t) -> os.stat_result:
    fd = t.fs.root.openat2(t.fs.cwd, O_PATH | os.O_CLOEXEC)
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


# ---- reading and writing --------------------------------------------------------------
@syscall("read", "fd", "obuf", "size")
def sys_read(t, fd, buf, count):
    data = os.read(_fd(t, fd), min(count, MAX_IO))
    t.mem.write(buf, data)
    return len(data)


@syscall("write", "fd", "buf", "size")
def sys_write(t, fd, buf, count):
    return os.write(_fd(t, fd), t.mem.read(buf, min(count, MAX_IO)))


@syscall("pread64", "fd", "obuf", "size", "int")
def sys_pread64(t, fd, buf, count, off):
    data = os.pread(_fd(t, fd), min(count, MAX_IO), off)
    t.mem.write(buf, data)
    return len(data)


@syscall("pwrite64", "fd", "buf", "size", "int")
def sys_pwrite64(t, fd, buf, count, off):
    return os.pwrite(_fd(t, fd), t.mem.read(buf, min(count, MAX_IO)), off)


def _iovecs(t, iov: int, n: int) -> list[tuple[int, int]]:
    if n > 1024:
        raise OSError(errno.EINVAL, "too many iovecs")
    raw = t.mem.read(iov, 16 * n)
    return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(n)]


def _scatter(t, vecs, data: bytes) -> None:
    pos = 0
    for base, length in vecs:
        if pos >= len(data):
            break
        chunk = data[pos:pos + length]
        t.mem.write(base, chunk)
        pos += len(chunk)


@syscall("readv", "fd", "ptr", "int")
def sys_readv(t, fd, iov, n):
    vecs = _iovecs(t, iov, n)
    data = os.read(_fd(t, fd), min(sum(l for _, l in vecs), MAX_IO))
    _scatter(t, vecs, data)
    return len(data)


@syscall("writev", "fd", "ptr", "int")
def sys_writev(t, fd, iov, n):
    vecs = _iovecs(t, iov, n)
    return os.write(_fd(t, fd), b"".join(t.mem.read(b, l) for b, l in vecs))


@syscall("preadv", "fd", "ptr", "int", "int")
def sys_preadv(t, fd, iov, n, off):
    vecs = _iovecs(t, iov, n)
    data = os.pread(_fd(t, fd), min(sum(l for _, l in vecs), MAX_IO), off)
    _scatter(t, vecs, data)
    return len(data)


@syscall("pwritev", "fd", "ptr", "int", "int")
def sys_pwritev(t, fd, iov, n, off):
    vecs = _iovecs(t, iov, n)
    return os.pwrite(_fd(t, fd), b"".join(t.mem.read(b, l) for b, l in vecs), off)


@syscall("lseek", "fd", "int", "int")
def sys_lseek(t, fd, off, whence):
    off = off - (1 << 64) if off >> 63 else off
    return os.lseek(_fd(t, fd), off, whence)


@syscall("sendfile", "fd", "fd", "ptr", "size")
def sys_sendfile(t, out_fd, in_fd, off_ptr, count):
    out_fd, in_fd = _fd(t, out_fd), _fd(t, in_fd)
    if off_ptr:
        off = t.mem.read_u64(off_ptr)
        n = os.sendfile(out_fd, in_fd, off, min(count, MAX_IO))
        t.mem.write_u64(off_ptr, off + n)
        return n
    return os.sendfile(out_fd, in_fd, None, min(count, MAX_IO))


@syscall("copy_file_range", "fd", "ptr", "fd", "ptr", "size", "flags")
def sys_copy_file_range(t, fd_in, off_in, fd_out, off_out, count, flags):
    oi = t.mem.read_u64(off_in) if off_in else None
    oo = t.mem.read_u64(off_out) if off_out else None
    n = os.copy_file_range(_fd(t, fd_in), _fd(t, fd_out), min(count, MAX_IO), oi, oo)
    if off_in:
        t.mem.write_u64(off_in, oi + n)
    if off_out:
        t.mem.write_u64(off_out, oo + n)
    return n


# ---- opening and closing -----------------------------------------------------------------
@syscall("openat", "dirfd", "path", "oflags", "mode")
def sys_openat(t, dirfd, path_addr, flags, mode):
    path = _path(t, path_addr)
    if not path:
        return -errno.ENOENT
    ap = _abs(t, dirfd, path)
    norm = normalize(ap)
    hflags = open_flags_to_host(flags & 0xFFFF_FFFF)
    dev = devfs.host_device(norm)
    if dev:
        return os.open(dev, hflags & ~os.O_CREAT, mode & 0o7777)
    if norm.startswith(b"/proc/"):
        text = procfs.text_file(t, norm)
        if text is not None:
            return procfs.open_text(text)
    return t.fs.root.openat2(ap, hflags, mode & 0o7777)


@syscall("close", "fd")
def sys_close(t, fd):
    os.close(_fd(t, fd))
    return 0


@syscall("close_range", "fd", "fd", "flags")
def sys_close_range(t, first, last, flags):
    first, last = first & 0xFFFF_FFFF, last & 0xFFFF_FFFF
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if first <= fd <= last and fd not in t.reserved_fds:
            try:
                if flags & 4:      # CLOSE_RANGE_CLOEXEC
                    os.set_inheritable(fd, False)
                else:
                    os.close(fd)
            except OSError:
                pass
    return 0


@syscall("dup", "fd")
def sys_dup(t, fd):
    return os.dup(_fd(t, fd))


@syscall("dup3", "fd", "fd", "flags")
def sys_dup3(t, old, new, flags):
    old, new = _fd(t, old), _fd(t, new)
    if old == new:
        return -errno.EINVAL
    if flags & ~os.O_CLOEXEC:
        return -errno.EINVAL
    return os.dup2(old, new, inheritable=not flags & os.O_CLOEXEC)


@syscall("fcntl", "fd", "int", "hex")
def sys_fcntl(t, fd, cmd, arg):
    fd = _fd(t, fd)
    if cmd in (0, 1030):             # F_DUPFD, F_DUPFD_CLOEXEC
        return fcntl.fcntl(fd, cmd, arg & 0xFFFF_FFFF)
    if cmd in (1, 2):                # F_GETFD, F_SETFD
        return fcntl.fcntl(fd, cmd, arg & 0xFFFF_FFFF)
    if cmd == 3:                     # F_GETFL
        return open_flags_to_guest(fcntl.fcntl(fd, cmd))
    if cmd == 4:                     # F_SETFL
        return fcntl.fcntl(fd, cmd, open_flags_to_host(arg & 0xFFFF_FFFF))
    if cmd in (5, 6, 7, 36, 37, 38):  # record locks: struct flock is the same on both
        buf = t.mem.read(arg, 32)
        out = fcntl.fcntl(fd, cmd, buf)
        if cmd in (5, 36):
            t.mem.write(arg, out)
        return 0
    if cmd in (8, 9, 1031, 1032, 1033, 1034):   # owner, pipe size, seals
        return fcntl.fcntl(fd, cmd, arg & 0xFFFF_FFFF)
    return -errno.EINVAL


_TCGETS, _TCSETS, _TCSETSW, _TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
_TIOCGWINSZ, _TIOCSWINSZ, _TIOCGPGRP, _TIOCSPGRP = 0x5413, 0x5414, 0x540F, 0x5410
_FIONREAD, _FIONBIO, _FIOCLEX, _FIONCLEX = 0x541B, 0x5421, 0x5451, 0x5450


@syscall("ioctl", "fd", "hex", "hex")
def sys_ioctl(t, fd, req, arg):
    fd = _fd(t, fd)
    req &= 0xFFFF_FFFF
    # termios and winsize have the same layout and numbers on aarch64 and x86_64
    if req == _TCGETS:
        t.mem.write(arg, fcntl.ioctl(fd, req, bytes(36)))
        return 0
    if req in (_TCSETS, _TCSETSW, _TCSETSF):
        fcntl.ioctl(fd, req, t.mem.read(arg, 36))
        return 0
    if req == _TIOCGWINSZ:
        t.mem.write(arg, fcntl.ioctl(fd, req, bytes(8)))
        return 0
    if req == _TIOCSWINSZ:
        fcntl.ioctl(fd, req, t.mem.read(arg, 8))
        return 0
    if req == _TIOCGPGRP:
        os.tcgetpgrp(fd)          # fails with ENOTTY for non-terminals
        t.mem.write_u32(arg, t.pid)
        return 0
    if req == _TIOCSPGRP:
        os.tcgetpgrp(fd)
        return 0
    if req == _FIONREAD:
        t.mem.write(arg, fcntl.ioctl(fd, req, bytes(4)))
        return 0
    if req == _FIONBIO:
        os.set_blocking(fd, not t.mem.read_u32(arg))
        return 0
    if req in (_FIOCLEX, _FIONCLEX):
        os.set_inheritable(fd, req == _FIONCLEX)
        return 0
    return -errno.ENOTTY


@syscall("pipe2", "ptr", "oflags")
def sys_pipe2(t, fds, flags):
    r, w = os.pipe2(open_flags_to_host(flags & 0xFFFF_FFFF))
    t.mem.write(fds, struct.pack("<ii", r, w))
    return 0


@syscall("flock", "fd", "int")
def sys_flock(t, fd, op):
    fcntl.flock(_fd(t, fd), op)
    return 0


# ---- metadata ------------------------------------------------------------------------
@syscall("newfstatat", "dirfd", "path", "ptr", "flags")
def sys_newfstatat(t, dirfd, path, buf, flags):
    t.mem.write(buf, pack_stat(_stat(t, dirfd, path, flags)))
    return 0


@syscall("fstat", "fd", "ptr")
def sys_fstat(t, fd, buf):
    t.mem.write(buf, pack_stat(os.fstat(_fd(t, fd))))
    return 0


@syscall("statx", "dirfd", "path", "flags", "hex", "ptr")
def sys_statx(t, dirfd, path, flags, mask, buf):
    t.mem.write(buf, pack_statx(_stat(t, dirfd, path, flags)))
    return 0


@syscall("getdents64", "fd", "obuf", "size")
def sys_getdents64(t, fd, buf, count):
    # struct linux_dirent64 is architecture independent: pass the host's through
    fd = _fd(t, fd)
    count = min(count, 1 << 20)
    host = ctypes.create_string_buffer(count)
    n = _libc.syscall(217, fd, host, count)     # x86_64 getdents64
    if n < 0:
        return -ctypes.get_errno()
    t.mem.write(buf, host.raw[:n])
    return n


@syscall("readlinkat", "dirfd", "path", "obuf", "size")
def sys_readlinkat(t, dirfd, path_addr, buf, size):
    path = _path(t, path_addr)
    ap = _abs(t, dirfd, path)
    target = procfs.readlink(t, normalize(ap))
    if target is None:
        with _Parent(t, dirfd, path) as (pfd, name):
            target = os.readlink(name.encode(errors="surrogateescape"), dir_fd=pfd)
    if _s32(size) <= 0:
        return -errno.EINVAL
    data = target[:size]
    t.mem.write(buf, data)
    return len(data)


@syscall("faccessat", "dirfd", "path", "int")
def sys_faccessat(t, dirfd, path, mode):
    return sys_faccessat2(t, dirfd, path, mode, 0)


@syscall("faccessat2", "dirfd", "path", "int", "flags")
def sys_faccessat2(t, dirfd, path_addr, mode, flags):
    path = _path(t, path_addr)
    fd = _open_path(t, dirfd, path, follow=not flags & AT_SYMLINK_NOFOLLOW)
    try:
        if mode and not os.access(f"/proc/self/fd/{fd}", mode):
            return -errno.EACCES
        return 0
    finally:
        os.close(fd)


@syscall("fchmod", "fd", "mode")
def sys_fchmod(t, fd, mode):
    os.chmod(_fd(t, fd), mode & 0o7777)
    return 0


@syscall("fchmodat", "dirfd", "path", "mode")
def sys_fchmodat(t, dirfd, path_addr, mode):
    fd = _open_path(t, dirfd, _path(t, path_addr))
    try:
        os.chmod(f"/proc/self/fd/{fd}", mode & 0o7777)
    finally:
        os.close(fd)
    return 0


@syscall("fchown", "fd", "int", "int")
def sys_fchown(t, fd, uid, gid):
    os.chown(_fd(t, fd), _s32(uid), _s32(gid))
    return 0


@syscall("fchownat", "dirfd", "path", "int", "int", "flags")
def sys_fchownat(t, dirfd, path_addr, uid, gid, flags):
    path = _path(t, path_addr)
    if not path and flags & AT_EMPTY_PATH:
        os.chown(_fd(t, dirfd), _s32(uid), _s32(gid))
        return 0
    if flags & AT_SYMLINK_NOFOLLOW:
        with _Parent(t, dirfd, path) as (pfd, name):
            os.chown(name, _s32(uid), _s32(gid), dir_fd=pfd, follow_symlinks=False)
        return 0
    fd = _open_path(t, dirfd, path)
    try:
        os.chown(f"/proc/self/fd/{fd}", _s32(uid), _s32(gid))
    finally:
        os.close(fd)
    return 0


@syscall("utimensat", "dirfd", "path", "ptr", "flags")
def sys_utimensat(t, dirfd, path_addr, times, flags):
    # struct timespec[2] (with UTIME_NOW / UTIME_OMIT) is the same on both: pass it through
    ts = t.mem.read(times, 32) if times else None
    path = _path(t, path_addr) if path_addr else b""
    if not path:
        target_fd, name, nofollow = _fd(t, dirfd), b"", 0
        r = _libc.futimens(target_fd, ts)
    else:
        with _Parent(t, dirfd, path) as (pfd, name):
            r = _libc.utimensat(pfd, name.encode(errors="surrogateescape"), ts,
                                flags & AT_SYMLINK_NOFOLLOW)
    if r != 0:
        return -ctypes.get_errno()
    return 0


@syscall("umask", "mode")
def sys_umask(t, mask):
    old = t.fs.umask
    t.fs.umask = mask & 0o777
    os.umask(t.fs.umask)
    return old


# ---- names ------------------------------------------------------------------------------
@syscall("mkdirat", "dirfd", "path", "mode")
def sys_mkdirat(t, dirfd, path, mode):
    with _Parent(t, dirfd, _path(t, path)) as (pfd, name):
        os.mkdir(name, mode & 0o7777, dir_fd=pfd)
    return 0


@syscall("mknodat", "dirfd", "path", "mode", "hex")
def sys_mknodat(t, dirfd, path, mode, dev):
    kind = mode & stat.S_IFMT
    with _Parent(t, dirfd, _path(t, path)) as (pfd, name):
        if kind == stat.S_IFIFO:
            os.mkfifo(name, mode & 0o7777, dir_fd=pfd)
        elif kind in (0, stat.S_IFREG):
            os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode & 0o7777, dir_fd=pfd))
        else:
            return -errno.EPERM      # device nodes need the metadata store (later)
    return 0


@syscall("unlinkat", "dirfd", "path", "flags")
def sys_unlinkat(t, dirfd, path, flags):
    with _Parent(t, dirfd, _path(t, path)) as (pfd, name):
        if flags & AT_REMOVEDIR:
            os.rmdir(name, dir_fd=pfd)
        else:
            os.unlink(name, dir_fd=pfd)
    return 0


@syscall("renameat", "dirfd", "path", "dirfd", "path")
def sys_renameat(t, olddir, oldpath, newdir, newpath):
    return sys_renameat2(t, olddir, oldpath, newdir, newpath, 0)


@syscall("renameat2", "dirfd", "path", "dirfd", "path", "flags")
def sys_renameat2(t, olddir, oldpath, newdir, newpath, flags):
    with _Parent(t, olddir, _path(t, oldpath)) as (ofd, oname), \
            _Parent(t, newdir, _path(t, newpath)) as (nfd, nname):
        if flags:
            r = _libc.renameat2(ofd, oname.encode(errors="surrogateescape"), nfd,
                                nname.encode(errors="surrogateescape"), flags)
            if r != 0:
                return -ctypes.get_errno()
        else:
            os.rename(oname, nname, src_dir_fd=ofd, dst_dir_fd=nfd)
    return 0


@syscall("linkat", "dirfd", "path", "dirfd", "path", "flags")
def sys_linkat(t, olddir, oldpath, newdir, newpath, flags):
    with _Parent(t, olddir, _path(t, oldpath)) as (ofd, oname), \
            _Parent(t, newdir, _path(t, newpath)) as (nfd, nname):
        os.link(oname, nname, src_dir_fd=ofd, dst_dir_fd=nfd,
                follow_symlinks=bool(flags & AT_SYMLINK_FOLLOW))
    return 0


@syscall("symlinkat", "str", "dirfd", "path")
def sys_symlinkat(t, target, newdir, linkpath):
    tgt = t.mem.read_cstring(target, 4096)
    with _Parent(t, newdir, _path(t, linkpath)) as (pfd, name):
        os.symlink(tgt, name.encode(errors="surrogateescape"), dir_fd=pfd)
    return 0


# ---- directories ----------------------------------------------------------------------
@syscall("getcwd", "obuf", "size")
def sys_getcwd(t, buf, size):
    cwd = t.fs.cwd + b"\0"
    if size < len(cwd):
        return -errno.ERANGE
    t.mem.write(buf, cwd)
    return len(cwd)


@syscall("chdir", "path")
def sys_chdir(t, path):
    fd = t.fs.root.openat2(_abs(t, AT_FDCWD, _path(t, path)), O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        t.fs.chdir_fd(fd)
    finally:
        os.close(fd)
    return 0


@syscall("fchdir", "fd")
def sys_fchdir(t, fd):
    fd = _fd(t, fd)
    if not stat.S_ISDIR(os.fstat(fd).st_mode):
        return -errno.ENOTDIR
    t.fs.chdir_fd(fd)
    return 0


@syscall("chroot", "path")
def sys_chroot(t, path):
    return -errno.EPERM


# ---- sizes, syncing, file systems -----------------------------------------------------
@syscall("truncate", "path", "int")
def sys_truncate(t, path, length):
    fd = t.fs.root.openat2(_abs(t, AT_FDCWD, _path(t, path)), os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.ftruncate(fd, length)
    finally:
        os.close(fd)
    return 0


@syscall("ftruncate", "fd", "int")
def sys_ftruncate(t, fd, length):
    os.ftruncate(_fd(t, fd), length)
    return 0


@syscall("fsync", "fd")
def sys_fsync(t, fd):
    os.fsync(_fd(t, fd))
    return 0


@syscall("fdatasync", "fd")
def sys_fdatasync(t, fd):
    os.fdatasync(_fd(t, fd))
    return 0


@syscall("sync")
def sys_sync(t):
    os.sync()
    return 0


@syscall("fallocate", "fd", "int", "int", "int")
def sys_fallocate(t, fd, mode, off, length):
    if _libc.fallocate(_fd(t, fd), ctypes.c_int(mode), ctypes.c_long(off), ctypes.c_long(length)) != 0:
        return -ctypes.get_errno()
    return 0


@syscall("fadvise64", "fd", "int", "int", "int")
def sys_fadvise64(t, fd, off, length, advice):
    _fd(t, fd)
    return 0


@syscall("fstatfs", "fd", "ptr")
def sys_fstatfs(t, fd, buf):
    out = ctypes.create_string_buffer(120)      # struct statfs: same layout on both
    if _libc.fstatfs(_fd(t, fd), out) != 0:
        return -ctypes.get_errno()
    t.mem.write(buf, out.raw)
    return 0


@syscall("statfs", "path", "ptr")
def sys_statfs(t, path, buf):
    fd = t.fs.root.openat2(_abs(t, AT_FDCWD, _path(t, path)), O_PATH | os.O_CLOEXEC)
    try:
        out = ctypes.create_string_buffer(120)
        if _libc.fstatfs(fd, out) != 0:
            return -ctypes.get_errno()
        t.mem.write(buf, out.raw)
    finally:
        os.close(fd)
    return 0
