"""File syscalls: decode guest arguments, call the file-system concepts and the host.

Guest descriptors are host descriptors of the task process, so reads and
writes go straight to the host.  mkemu's own descriptors (t.reserved_fds)
are invisible: naming one is EBADF.

Paths are walked by fs/namei.py: `namei.lookup` gives the /dev or /proc
overlay node a path names, or its resolved path in the rootfs, which the
host kernel then opens inside the root (fs/rootfs.py: openat2 with
RESOLVE_IN_ROOT).  Calls that act on a name (unlink, mkdir, rename,
lstat-like) use the *at() call on the last component under an O_PATH
descriptor of the parent (`namei.Parent`), which the host never follows;
calls that follow the last component (chmod, chown, utimens, link -L) act on
an O_PATH descriptor opened inside the root, through /proc/self/fd/N
(`namei.Target`) -- never on a host path the guest chose.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import select
import stat
import struct
from contextlib import nullcontext

from ..ipc import hostsock
from ..fs import devfs, namei
from ..fs.namei import AT_FDCWD, guest_path_of_fd
from ..fs.namei import guest_fd as _fd
from ..fs.nodes import LISTED, TextFile, check_modifiable, device_allowed, synth_stat
from ..fs.ostrans import (G_O_DIRECT, H_O_NOFOLLOW, H_O_PATH_KEEP, O__TMPFILE, O_CLOEXEC,
                          O_CREAT, O_EXCL, O_NOCTTY, O_NONBLOCK, O_PATH, open_flags_to_guest,
                          open_flags_to_host)
from ..fs.rootfs import (RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS,
                         RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV, normalize)
from ..fs.structs import (IOVEC, STATX_BASIC_STATS, Stat, host_statx, iter_dirents64,
                          pack_dirent64, pack_stat, pack_statx)
from ..mm.fault import MemFault
from ..record import replace
from . import fdkinds, netdev, sys_tty
from .guestpids import guest_pid_of_host
from .reserved import RESERVED_FD_BASE
from .sys_proc import _get_limit
from .systable import s32, s64, syscall

AT_SYMLINK_NOFOLLOW = 0x100
AT_EACCESS = 0x200
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_NO_AUTOMOUNT = 0x800
AT_EMPTY_PATH = 0x1000
AT_STATX_SYNC_TYPE = 0x6000
MAX_IO = 16 << 20            # one read/write moves at most this much (short counts are legal)
MAX_PATH = 4096
PAGE_SIZE = 4096
UIO_MAXIOV = 1024
M32 = 0xFFFF_FFFF

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_SYS_GETDENTS64 = 217        # x86_64 numbers of calls Python does not wrap
_SYS_CLOSE_RANGE = 436
_SYS_OPENAT2 = 437
_SYS_UTIMENSAT = 280




def _err(code: int, what: str = "") -> OSError:
    return OSError(code, os.strerror(code) + (f": {what}" if what else ""))


def _check_errno(r: int) -> int:
    if r < 0:
        raise _err(ctypes.get_errno())
    return r


def _path(t, addr: int) -> bytes:
    try:
        return t.mem.read_cstring(addr, MAX_PATH)
    except MemFault as e:
        if e.kind == "too long":
            raise _err(errno.ENAMETOOLONG) from None
        raise


# ---- stat ------------------------------------------------------------------------------------
def _stat(t, dirfd: int, path_addr: int, flags: int, want_statx: bool = False,
          mask: int = 0) -> Stat:
    path = _path(t, path_addr) if path_addr or not flags & AT_EMPTY_PATH else b""
    follow = not flags & AT_SYMLINK_NOFOLLOW
    if not path:
        if not flags & AT_EMPTY_PATH:
            raise _err(errno.ENOENT)
        if s32(dirfd) == AT_FDCWD:
            fd = t.fs.root.open_path(t.fs.cwd)
            try:
                return _fstat(t, fd, flags, want_statx, mask)
            finally:
                os.close(fd)
        return _fstat(t, _fd(t, dirfd), flags, want_statx, mask)
    found = namei.lookup(t, dirfd, path, follow)
    node = found.node
    if node is not None:
        st = node.lstat(t) if node.is_link and not follow else node.stat(t, follow)
        if want_statx:                   # as the host's statx: only the fields asked for
            st = replace(st, mask=st.mask & mask)
        return st
    if found.missing == errno.ENOENT:
        raise _err(errno.ENOENT)                 # the walk's look at the last name said so
    fd = t.fs.root.open_path(found.path, follow=follow)
    try:
        return _fstat(t, fd, flags, want_statx, mask)
    finally:
        os.close(fd)


def _fstat(t, fd: int, flags: int, want_statx: bool, mask: int = 0) -> Stat:
    meta = t.fs.root.meta
    if meta.active:                     # the guest's owners, modes and device nodes
        st = meta.stat_fd(fd, flags)
        return replace(st, mask=st.mask & (mask | STATX_BASIC_STATS)) \
            if want_statx else st
    if want_statx:
        return host_statx(fd, flags, mask)      # stx_mask: what the host says of this request
    return Stat.from_os(os.fstat(fd))


@syscall("newfstatat", "dirfd", "path", "ptr", "flags")
def sys_newfstatat(t, dirfd, path, buf, flags):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE):
        return -errno.EINVAL
    t.mem.write(buf, pack_stat(_stat(t, dirfd, path, flags)))
    return 0


@syscall("fstat", "fd", "ptr")
def sys_fstat(t, fd, buf):
    t.mem.write(buf, pack_stat(_fstat(t, _fd(t, fd), 0, False)))
    return 0


@syscall("statx", "dirfd", "path", "flags", "hex", "ptr")
def sys_statx(t, dirfd, path, flags, mask, buf):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE):
        return -errno.EINVAL
    if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE or mask & 0x8000_0000:
        return -errno.EINVAL                    # both sync kinds at once; STATX__RESERVED
    t.mem.write(buf, pack_statx(_stat(t, dirfd, path, flags, want_statx=True, mask=mask & M32)))
    return 0


# ---- reading and writing -------------------------------------------------------------------
def _wait_ready(t, fd: int, events: int) -> None:
    """Sleep until fd is ready for events, where a host signal may interrupt (EINTR);
    the transfer that follows runs with signals held pending.  A signal landing
    after os.read() or os.write() moved bytes would throw them away (the read
    data, or the count of a write the guest would then repeat); landing in poll()
    moves nothing.  A non-blocking descriptor is not waited for."""
    if not t.in_syscall:
        return
    if t.fd_kinds.get(fd) == fdkinds.NEVER_WAITS:    # a regular file, /dev/null: ready
        t.in_syscall = False
        return
    p = select.poll()
    p.register(fd, events)
    if not p.poll(0) and not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK:
        limit = _socket_timeout(fd, events)
        if not p.poll(limit) and limit is not None:
            raise _err(errno.EAGAIN)        # SO_RCVTIMEO/SO_SNDTIMEO ran out, as recv's would
    t.in_syscall = False


def _socket_timeout(fd: int, events: int) -> int | None:
    """A socket's SO_RCVTIMEO (reading) or SO_SNDTIMEO (writing) in ms; None for no limit
    or not a socket.  Asked only before a blocking wait."""
    try:
        sec, usec = socket_timeval(fd, hostsock.SO_RCVTIMEO if events == _IN else hostsock.SO_SNDTIMEO)
    except OSError:
        return None
    return sec * 1000 + -(-usec // 1000) or None


def socket_timeval(fd: int, opt: int) -> tuple[int, int]:
    """(seconds, microseconds) of a socket's SO_RCVTIMEO or SO_SNDTIMEO ((0, 0): none);
    OSError (ENOTSOCK) for a descriptor that is no socket."""
    out, size = ctypes.create_string_buffer(16), ctypes.c_uint32(16)
    if _libc.getsockopt(fd, hostsock.SOL_SOCKET, opt, out, ctypes.byref(size)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return struct.unpack("<qq", out.raw)


_IN, _OUT = select.POLLIN, select.POLLOUT

# Descriptors a host read does not serve (a signalfd: kern/signalfd.py): fd -> reader(t, fd,
# count) giving the bytes read, or None when fd is no longer that object (the host read goes
# on).  dup, dup3 and F_DUPFD copy the entry; an ordinary read pays one dict lookup.
special_reads: dict = {}


def _dup_special(old: int, new: int) -> int:
    reader = special_reads.get(old)
    if reader is not None:
        special_reads[new] = reader
    else:
        special_reads.pop(new, None)
    return new


@syscall("read", "fd", "obuf", "size")
def sys_read(t, fd, buf, count):
    fd = _fd(t, fd)
    special = special_reads.get(fd)
    if special is not None and (data := special(t, fd, count)) is not None:
        t.mem.write(buf, data)
        return len(data)
    if t.fd_kinds.get(fd) == fdkinds.NEVER_WAITS:   # no terminal, no wait (a regular file)
        t.in_syscall = False
    else:
        sys_tty.before_read(t, fd)
        _wait_ready(t, fd, _IN)
    data = os.read(fd, min(count, MAX_IO))
    t.mem.write(buf, data)
    return len(data)


@syscall("write", "fd", "buf", "size")
def sys_write(t, fd, buf, count):
    fd = _fd(t, fd)
    if t.fd_kinds.get(fd) == fdkinds.NEVER_WAITS:   # no terminal, no wait (/dev/null)
        data = t.mem.read(buf, min(count, MAX_IO))
        t.in_syscall = False
        return os.write(fd, data)
    sys_tty.before_write(t, fd)
    data = t.mem.read(buf, min(count, MAX_IO))
    _wait_ready(t, fd, _OUT)
    return os.write(fd, data)


@syscall("pread64", "fd", "obuf", "size", "int")
def sys_pread64(t, fd, buf, count, off):
    off = s64(off)
    if off < 0:
        return -errno.EINVAL
    data = os.pread(_fd(t, fd), min(count, MAX_IO), off)
    t.mem.write(buf, data)
    return len(data)


@syscall("pwrite64", "fd", "buf", "size", "int")
def sys_pwrite64(t, fd, buf, count, off):
    off = s64(off)
    if off < 0:
        return -errno.EINVAL
    fd = _fd(t, fd)
    return os.pwrite(fd, t.mem.read(buf, min(count, MAX_IO)), off)


def _iovecs(t, iov: int, n: int) -> list[tuple[int, int]]:
    n = s32(n)
    if n < 0 or n > UIO_MAXIOV:
        raise _err(errno.EINVAL)
    if n == 0:
        return []
    raw = t.mem.read(iov, IOVEC.size * n)
    vecs = [IOVEC.unpack_from(raw, IOVEC.size * i) for i in range(n)]
    total = 0
    for _, length in vecs:
        if length >> 63:
            raise _err(errno.EINVAL)
        total += length
    if total >> 63:
        raise _err(errno.EINVAL)
    return vecs


def _gather(t, vecs) -> bytes:
    out = []
    left = MAX_IO
    for base, length in vecs:
        if left <= 0:
            break
        n = min(length, left)
        out.append(t.mem.read(base, n))
        left -= n
    return b"".join(out)


def _scatter(t, vecs, data: bytes) -> None:
    pos = 0
    for base, length in vecs:
        if pos >= len(data):
            break
        chunk = data[pos:pos + length]
        t.mem.write(base, chunk)
        pos += len(chunk)


def _total(vecs) -> int:
    return min(sum(length for _, length in vecs), MAX_IO)


@syscall("readv", "fd", "ptr", "int")
def sys_readv(t, fd, iov, n):
    fd = _fd(t, fd)
    sys_tty.before_read(t, fd)
    vecs = _iovecs(t, iov, n)
    special = special_reads.get(fd)
    if special is not None and (data := special(t, fd, _total(vecs))) is not None:
        _scatter(t, vecs, data)
        return len(data)
    _wait_ready(t, fd, _IN)
    data = os.read(fd, _total(vecs))
    _scatter(t, vecs, data)
    return len(data)


@syscall("writev", "fd", "ptr", "int")
def sys_writev(t, fd, iov, n):
    fd = _fd(t, fd)
    sys_tty.before_write(t, fd)
    vecs = _iovecs(t, iov, n)
    if not vecs:
        return 0
    data = _gather(t, vecs)
    _wait_ready(t, fd, _OUT)
    return os.write(fd, data)


@syscall("preadv", "fd", "ptr", "int", "int")
def sys_preadv(t, fd, iov, n, off):
    fd = _fd(t, fd)
    off = s64(off)
    if off < 0:
        return -errno.EINVAL
    vecs = _iovecs(t, iov, n)
    data = os.pread(fd, _total(vecs), off)
    _scatter(t, vecs, data)
    return len(data)


@syscall("pwritev", "fd", "ptr", "int", "int")
def sys_pwritev(t, fd, iov, n, off):
    fd = _fd(t, fd)
    off = s64(off)
    if off < 0:
        return -errno.EINVAL
    vecs = _iovecs(t, iov, n)
    return os.pwrite(fd, _gather(t, vecs), off)


@syscall("preadv2", "fd", "ptr", "int", "int", "int", "flags")
def sys_preadv2(t, fd, iov, n, off, _off_hi, flags):
    fd = _fd(t, fd)
    flags = s32(flags)                  # rwf_t; the host refuses unknown ones
    off = s64(off)
    vecs = _iovecs(t, iov, n)
    if off < -1:
        return -errno.EINVAL
    if off == -1 and not flags:
        _wait_ready(t, fd, _IN)
        data = os.read(fd, _total(vecs))
    else:
        bufs = [bytearray(_total(vecs))]
        got = os.preadv(fd, bufs, off, flags)
        data = bytes(bufs[0][:got])
    _scatter(t, vecs, data)
    return len(data)


@syscall("pwritev2", "fd", "ptr", "int", "int", "int", "flags")
def sys_pwritev2(t, fd, iov, n, off, _off_hi, flags):
    fd = _fd(t, fd)
    flags = s32(flags)
    off = s64(off)
    vecs = _iovecs(t, iov, n)
    data = _gather(t, vecs)
    if off < -1:
        return -errno.EINVAL
    if off == -1 and not flags:
        _wait_ready(t, fd, _OUT)
        return os.write(fd, data)
    return os.pwritev(fd, [data], off, flags)


@syscall("lseek", "fd", "int", "int")
def sys_lseek(t, fd, off, whence):
    whence = s32(whence)
    if not 0 <= whence <= 4:
        return -errno.EINVAL
    return os.lseek(_fd(t, fd), s64(off), whence)


def _read_off(t, ptr: int) -> int | None:
    if not ptr:
        return None
    off = s64(t.mem.read_u64(ptr))
    if off < 0:
        raise _err(errno.EINVAL)
    return off


@syscall("sendfile", "fd", "fd", "ptr", "size")
def sys_sendfile(t, out_fd, in_fd, off_ptr, count):
    out_fd, in_fd = _fd(t, out_fd), _fd(t, in_fd)
    off = _read_off(t, off_ptr)
    n = os.sendfile(out_fd, in_fd, off, min(count, MAX_IO))
    if off is not None:
        t.mem.write_u64(off_ptr, off + n)
    return n


@syscall("copy_file_range", "fd", "ptr", "fd", "ptr", "size", "flags")
def sys_copy_file_range(t, fd_in, off_in, fd_out, off_out, count, flags):
    if flags:
        return -errno.EINVAL
    fd_in, fd_out = _fd(t, fd_in), _fd(t, fd_out)
    try:
        oi, oo = _read_off(t, off_in), _read_off(t, off_out)
    except OSError:
        return -errno.EOVERFLOW          # a negative offset (Linux's answer here, not EINVAL)
    n = os.copy_file_range(fd_in, fd_out, min(count, MAX_IO), oi, oo)
    if oi is not None:
        t.mem.write_u64(off_in, oi + n)
    if oo is not None:
        t.mem.write_u64(off_out, oo + n)
    return n


@syscall("splice", "fd", "ptr", "fd", "ptr", "size", "flags")
def sys_splice(t, fd_in, off_in, fd_out, off_out, count, flags):
    fd_in, fd_out = _fd(t, fd_in), _fd(t, fd_out)
    oi, oo = _read_off(t, off_in), _read_off(t, off_out)
    n = os.splice(fd_in, fd_out, min(count, MAX_IO), oi, oo, flags & M32)
    if oi is not None:
        t.mem.write_u64(off_in, oi + n)
    if oo is not None:
        t.mem.write_u64(off_out, oo + n)
    return n


SPLICE_F_ALL = 0xF              # MOVE, NONBLOCK, MORE, GIFT: the same on both
_libc.tee.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_uint]
_libc.tee.restype = ctypes.c_ssize_t


@syscall("tee", "fd", "fd", "size", "flags")
def sys_tee(t, fd_in, fd_out, count, flags):
    fd_in, fd_out = _fd(t, fd_in), _fd(t, fd_out)
    return _check_errno(_libc.tee(fd_in, fd_out, min(count, MAX_IO), flags & M32))


@syscall("vmsplice", "fd", "ptr", "size", "flags",
         status="partial: guest pages are copied, never gifted; SPLICE_F_NONBLOCK is not "
                "applied when writing to a blocking pipe")
def sys_vmsplice(t, fd, iov, n, flags):
    fd = _fd(t, fd)
    if flags & ~SPLICE_F_ALL:
        return -errno.EINVAL
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        return -errno.EBADF
    vecs = _iovecs(t, iov, n)
    acc = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
    if acc != os.O_RDONLY:
        # into the pipe: a host vmsplice would lend the pipe pages of a buffer mkemu reuses,
        # so the guest's bytes are written (what vmsplice without SPLICE_F_GIFT promises)
        if not vecs:
            return 0
        data = _gather(t, vecs)
        _wait_ready(t, fd, _OUT)
        return os.write(fd, data)
    if vecs:
        _wait_ready(t, fd, _IN)
    data = os.read(fd, _total(vecs)) if vecs else b""
    _scatter(t, vecs, data)
    return len(data)


# ---- opening and closing --------------------------------------------------------------------
def _open(t, dirfd: int, path: bytes, hflags: int, mode: int, resolve: int = 0) -> int:
    """Open a guest path with host open flags; returns the new guest (= host) descriptor."""
    # O_CREAT|O_EXCL does not follow a symlink as the last name either: it exists (EEXIST)
    follow = not hflags & H_O_NOFOLLOW and hflags & (O_CREAT | O_EXCL) != O_CREAT | O_EXCL
    found = namei.lookup(t, dirfd, path, follow, bool(resolve & RESOLVE_NO_SYMLINKS),
                         bool(resolve & RESOLVE_NO_MAGICLINKS))
    node, ap = found.node, found.path
    if resolve & RESOLVE_NO_XDEV and _mount_key(t, _walk_start(t, dirfd, path)) \
            != _mount_key(t, node.path if node is not None else ap):
        raise _err(errno.EXDEV)
    if node is not None and resolve & (RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) \
            and namei.is_magic_link(node) and not (hflags & O_PATH and hflags & H_O_NOFOLLOW):
        raise _err(errno.ELOOP)                  # a magic link as the last name, opened
    if node is not None:
        if node.is_link and not node.is_object_link:
            raise _err(errno.ELOOP)              # a symlink named with O_NOFOLLOW
        if node.is_object_link and hflags & H_O_NOFOLLOW and not hflags & O_PATH:
            raise _err(errno.ELOOP)
        return node.open(t, hflags, mode)
    root = t.fs.root
    if found.missing == errno.ENOENT and not hflags & O_CREAT and not resolve:
        raise _err(errno.ENOENT)                 # the walk's look at the last name said so
    if not hflags & O_PATH and not hflags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL \
            and not _plain_kind(found.mode):
        # a device node in the rootfs (one unpacked as root can hold /dev/sda) must not be
        # opened at all, as on a nodev mount: look before opening (the walk's look at the
        # last name did, unless it saw no mode)
        try:
            probe = root.open(ap, O_PATH | O_CLOEXEC | (hflags & H_O_NOFOLLOW), 0, resolve)
        except OSError:
            probe = -1               # the real open below reports the error (or creates)
        if probe >= 0:
            try:
                ok = device_allowed(os.fstat(probe))
            finally:
                os.close(probe)
            if not ok:
                raise _err(errno.EACCES, "device node in the rootfs")
    fd = root.open(ap, hflags, mode, resolve)
    if not hflags & O_PATH and not device_allowed(os.fstat(fd)):   # swapped in meanwhile
        os.close(fd)
        raise _err(errno.EACCES, "device node in the rootfs")
    if not hflags & O_PATH and (device := root.meta.recorded_device(fd)) is not None:
        os.close(fd)
        return _open_recorded_device(t, device, hflags, mode)
    if hflags & os.O_TRUNC:
        t.space.file_shrunk()
    return fd


def _plain_kind(mode: int | None) -> bool:
    """A regular file, directory or symlink: no device or FIFO to keep from opening."""
    return mode is not None and stat.S_IFMT(mode) in (stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK)


def _mount_key(t, path: bytes) -> bytes:
    """Which mount an absolute guest path lies in, as the guest sees them: the /proc and
    /dev overlays, a bind mount or the root."""
    for top in (b"/proc", b"/dev"):
        if path == top or path.startswith(top + b"/"):
            return top
    return t.fs.root.mount_of(normalize(path)).guest


def _walk_start(t, dirfd: int, path: bytes) -> bytes:
    """The guest directory a walk of (dirfd, path) starts from."""
    if path.startswith(b"/"):
        return b"/"
    if s32(dirfd) == AT_FDCWD:
        return t.fs.cwd
    return guest_path_of_fd(t, _fd(t, dirfd)) or b"/"


def _open_recorded_device(t, device: tuple[int, int], hflags: int, mode: int) -> int:
    """A device node the metadata store holds: the /dev node of the same number for the
    well-known ones (1,3 null; 1,5 zero; 1,7 full; 1,8 random; 1,9 urandom; 5,0 tty), else
    ENXIO, as Linux says for a device number no driver serves."""
    kind, rdev = device
    name = _WELL_KNOWN_DEVICES.get(rdev) if kind == stat.S_IFCHR else None
    if name is None:
        raise _err(errno.ENXIO)
    return namei.lookup(t, AT_FDCWD, name).node.open(t, hflags, mode)


_WELL_KNOWN_DEVICES = {os.makedev(1, 3): b"/dev/null", os.makedev(1, 5): b"/dev/zero",
                       os.makedev(1, 7): b"/dev/full", os.makedev(1, 8): b"/dev/random",
                       os.makedev(1, 9): b"/dev/urandom", os.makedev(5, 0): b"/dev/tty"}


def open_exec(t, path: str | bytes) -> int:
    """Open a program for execve by guest path, through the overlays (/proc/self/exe re-execs
    the running program, as busybox's applets do): a regular file with an execute bit."""
    if isinstance(path, str):
        path = path.encode(errors="surrogateescape")
    fd = _open(t, AT_FDCWD, path, os.O_RDONLY | O_CLOEXEC, 0)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o111:
            raise _err(errno.EACCES, path.decode(errors="replace"))
    except BaseException:
        os.close(fd)
        raise
    return fd


def _host_open_flags(gflags: int) -> tuple[int, int]:
    hflags = open_flags_to_host(gflags & M32)
    if hflags & O_PATH:
        hflags &= H_O_PATH_KEEP          # the kernel ignores the rest; openat2 would refuse it
    return hflags, hflags & (O_CREAT | O__TMPFILE)


def _no_ctty(hflags: int) -> int:
    """Host opens never take a controlling terminal (the guest's are the broker's:
    sys_tty.opened); O_PATH takes no other flag."""
    return hflags if hflags & O_PATH else hflags | O_NOCTTY


@syscall("openat", "dirfd", "path", "oflags", "mode")
def sys_openat(t, dirfd, path_addr, flags, mode):
    hflags, creates = _host_open_flags(flags)
    fd = _new_fd(t, _open(t, dirfd, _path(t, path_addr), _no_ctty(hflags),
                          mode & 0o7777 if creates else 0))
    sys_tty.opened(t, fd, bool(flags & O_NOCTTY))
    return fd


_OPEN_HOW = struct.Struct("<QQQ")
_RESOLVE_ALL = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH \
    | RESOLVE_IN_ROOT | 0x20          # RESOLVE_CACHED


@syscall("openat2", "dirfd", "path", "ptr", "size",
         status="partial: RESOLVE_NO_XDEV compares the mounts (root, bind mounts, the /proc and "
                "/dev overlays) where a walk starts and ends, not each crossing; a scoped walk "
                "(RESOLVE_BENEATH, RESOLVE_IN_ROOT) from an overlay directory takes plain "
                "relative names only (EXDEV)")
def sys_openat2(t, dirfd, path_addr, how_addr, size):
    if size < _OPEN_HOW.size:
        return -errno.EINVAL
    if size > PAGE_SIZE:
        return -errno.E2BIG
    raw = t.mem.read(how_addr, size)
    if any(raw[_OPEN_HOW.size:]):
        return -errno.E2BIG
    gflags, mode, resolve = _OPEN_HOW.unpack_from(raw)
    hflags = open_flags_to_host(gflags)
    if gflags >> 32 or open_flags_to_guest(hflags) != gflags or resolve & ~_RESOLVE_ALL:
        return -errno.EINVAL
    if mode and not hflags & (O_CREAT | O__TMPFILE) or mode & ~0o7777:
        return -errno.EINVAL
    if hflags & O_PATH and hflags & ~H_O_PATH_KEEP:
        return -errno.EINVAL
    path = _path(t, path_addr)
    if resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT):
        # scoped to dirfd, which is itself inside the root: the host can do it directly
        if s32(dirfd) == AT_FDCWD:
            base = t.fs.root.open_path(t.fs.cwd, directory=True)
        elif t.fs.root.guest_path_of_fd(_fd(t, dirfd)) is None:
            # an overlay's directory (/proc/self is the task's host /proc/self): never
            # walked by the host; a plain relative name only, through the overlay
            if path.startswith(b"/") or b".." in path.split(b"/"):
                return -errno.EXDEV
            try:
                fd = _open(t, dirfd, path, _no_ctty(hflags), mode,
                           (resolve & ~(RESOLVE_BENEATH | RESOLVE_IN_ROOT)) | RESOLVE_NO_MAGICLINKS)
            except OSError as e:
                if e.errno == errno.ELOOP and not resolve & (RESOLVE_NO_MAGICLINKS |
                                                             RESOLVE_NO_SYMLINKS):
                    return -errno.EXDEV         # a scoped walk never jumps through a magic link
                raise
            return _new_fd(t, fd)
        else:
            base = os.dup(_fd(t, dirfd))
        try:
            how = _OPEN_HOW.pack(_no_ctty(hflags), mode, resolve | RESOLVE_NO_MAGICLINKS)
            buf = ctypes.create_string_buffer(how, len(how))
            fd = _check_errno(_libc.syscall(_SYS_OPENAT2, base, path, buf, len(how)))
        finally:
            os.close(base)
        return _new_fd(t, fd)
    fd = _new_fd(t, _open(t, dirfd, path, _no_ctty(hflags), mode, resolve & ~RESOLVE_IN_ROOT))
    sys_tty.opened(t, fd, bool(hflags & O_NOCTTY))
    return fd


@syscall("close", "fd")
def sys_close(t, fd):
    os.close(_fd(t, fd))
    return 0


CLOSE_RANGE_UNSHARE = 2
CLOSE_RANGE_CLOEXEC = 4


@syscall("close_range", "fd", "fd", "flags")
def sys_close_range(t, first, last, flags):
    first, last = first & M32, last & M32
    if flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) or first > last:
        return -errno.EINVAL
    host_flags = flags & CLOSE_RANGE_CLOEXEC
    last = min(last, RESERVED_FD_BASE - 1)   # mkemu's own, other threads' too
    if first > last:
        return 0
    lo = first
    for r in sorted(fd for fd in t.reserved_fds if first <= fd <= last) + [None]:
        hi = last if r is None else r - 1
        if lo <= hi:
            _check_errno(_libc.syscall(_SYS_CLOSE_RANGE, ctypes.c_uint(lo), ctypes.c_uint(hi),
                                       ctypes.c_uint(host_flags)))
        if r is None:
            break
        lo = r + 1
    return 0


RLIMIT_NOFILE = 7


def fd_limit(t) -> int:
    """The guest's RLIMIT_NOFILE: descriptors at or above it are not the guest's (EBADF,
    EMFILE).  mkemu's own descriptors are above it whatever limit the guest sets."""
    soft = _get_limit(t, RLIMIT_NOFILE)[0]
    return min(soft, min(t.reserved_fds, default=soft))


def _new_fd(t, fd: int) -> int:
    """A descriptor the host just gave the guest: EMFILE (and closed) if it is at or above
    the guest's limit, as Linux would have found no free slot below it."""
    if fd >= fd_limit(t):
        os.close(fd)
        raise _err(errno.EMFILE)
    return fd


@syscall("dup", "fd")
def sys_dup(t, fd):
    fd = _fd(t, fd)
    return _dup_special(fd, _new_fd(t, fcntl.fcntl(fd, fcntl.F_DUPFD, 0)))   # os.dup sets FD_CLOEXEC


@syscall("dup3", "fd", "fd", "flags")
def sys_dup3(t, old, new, flags):
    old, new = s32(old), s32(new)
    if flags & ~O_CLOEXEC or old == new:      # in Linux's order: flags, same fd, new, old
        return -errno.EINVAL
    if not 0 <= new < fd_limit(t):
        return -errno.EBADF
    old = _fd(t, old)
    return _dup_special(old, os.dup2(old, new, inheritable=not flags & O_CLOEXEC))


F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX = 8, 9, 15, 16
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_DUPFD_QUERY, F_CREATED_QUERY, F_DUPFD_CLOEXEC = 1027, 1028, 1030
F_GET_RW_HINT, F_SET_RW_HINT, F_GET_FILE_RW_HINT, F_SET_FILE_RW_HINT = 1035, 1036, 1037, 1038
F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP = 0, 1, 2
_INT_CMDS = {10, 11, 1024, 1025, 1026, 1028, 1031, 1032, 1033, 1034}   # sig, lease, notify,
#         created query, pipe size, seals: int arguments, the same numbers on both
_LOCK_CMDS = (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
_FLOCK = struct.Struct("<hh4xqqi4x")      # struct flock: the same 32 bytes on aarch64 and x86_64
_OWNER_EX = struct.Struct("<ii")


def _host_pid(t, who: int, group: bool) -> int:
    """A guest pid (or process group) as the host knows it.  Only this process is known
    (its group is its pid, as getpgid says); any other is ESRCH, as for a pid that does not
    exist."""
    if who == 0:
        return 0
    if who == t.pid or (not group and who == t.tid):
        return os.getpgrp() if group else os.getpid()
    raise _err(errno.ESRCH)


def _guest_pid(t, host: int, group: bool) -> int:
    if host and host == (os.getpgrp() if group else os.getpid()):
        return t.pid
    return host


def _lock_owner(t, host: int) -> int:
    """The guest pid of a conflicting POSIX lock's owner (-1 for an OFD lock stays -1; a
    process outside the machine is 0, as one outside the reader's pid namespace)."""
    return host if host <= 0 else guest_pid_of_host(t, host)


def _fcntl_owner(t, fd: int, cmd: int, arg: int) -> int:
    if cmd == F_GETOWN:
        who = fcntl.fcntl(fd, F_GETOWN)
        return -_guest_pid(t, -who, True) if who < 0 else _guest_pid(t, who, False)
    if cmd == F_SETOWN:
        who = s32(arg)
        if who == -(1 << 31):
            return -errno.EINVAL
        host = -_host_pid(t, -who, True) if who < 0 else _host_pid(t, who, False)
        return fcntl.fcntl(fd, F_SETOWN, host)
    if cmd == F_GETOWN_EX:
        kind, who = _OWNER_EX.unpack(fcntl.fcntl(fd, F_GETOWN_EX, bytes(8)))
        t.mem.write(arg, _OWNER_EX.pack(kind, _guest_pid(t, who, kind == F_OWNER_PGRP)))
        return 0
    kind, who = _OWNER_EX.unpack(t.mem.read(arg, 8))           # F_SETOWN_EX
    if kind not in (F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP):
        return -errno.EINVAL
    fcntl.fcntl(fd, F_SETOWN_EX, _OWNER_EX.pack(kind, _host_pid(t, who, kind == F_OWNER_PGRP)))
    return 0


def _fcntl_lock(t, fd: int, cmd: int, arg: int) -> int:
    out = fcntl.fcntl(fd, cmd, t.mem.read(arg, _FLOCK.size))
    if cmd in (F_GETLK, F_OFD_GETLK):
        # the owner of a conflicting lock is a host pid (-1 for an open file description's)
        ltype, whence, start, length, pid = _FLOCK.unpack(out)
        t.mem.write(arg, _FLOCK.pack(ltype, whence, start, length, _lock_owner(t, pid)))
    return 0


@syscall("fcntl", "fd", "int", "hex",
         status="partial: F_SETOWN knows no other process yet (ESRCH); a lock owner that is "
                "another thread's task process shows as 0; no F_GETOWNER_UIDS")
def sys_fcntl(t, fd, cmd, arg):
    fd = _fd(t, fd)
    cmd = s32(cmd)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        lo = arg & M32
        if lo >= fd_limit(t):
            return -errno.EINVAL
        return _dup_special(fd, _new_fd(t, fcntl.fcntl(fd, cmd, lo)))   # lowest free >= lo: never a reserved fd
    if cmd == F_GETFD:
        return fcntl.fcntl(fd, F_GETFD)
    if cmd == F_SETFD:
        return fcntl.fcntl(fd, F_SETFD, arg & 1)
    if cmd == F_GETFL:
        return open_flags_to_guest(fcntl.fcntl(fd, F_GETFL))
    if cmd == F_SETFL:
        return fcntl.fcntl(fd, F_SETFL, open_flags_to_host(arg & M32))
    if cmd in _LOCK_CMDS:
        return _fcntl_lock(t, fd, cmd, arg)
    if cmd in (F_GETOWN, F_SETOWN, F_GETOWN_EX, F_SETOWN_EX):
        return _fcntl_owner(t, fd, cmd, arg)
    if cmd == F_DUPFD_QUERY:
        return fcntl.fcntl(fd, cmd, _fd(t, arg))
    if cmd in (F_GET_RW_HINT, F_GET_FILE_RW_HINT):
        t.mem.write(arg, fcntl.fcntl(fd, cmd, bytes(8)))
        return 0
    if cmd in (F_SET_RW_HINT, F_SET_FILE_RW_HINT):
        return fcntl.fcntl(fd, cmd, t.mem.read(arg, 8))
    if cmd in _INT_CMDS:
        return fcntl.fcntl(fd, cmd, s32(arg))
    return -errno.EINVAL


# ---- ioctls ----------------------------------------------------------------------------
TIOCOUTQ, FIONREAD, FIONBIO = 0x5411, 0x541B, 0x5421
FIONCLEX, FIOCLEX, FIOASYNC = 0x5450, 0x5451, 0x5452


@syscall("ioctl", "fd", "hex", "hex",
         status="partial: terminals (termios, window size, controlling terminal, job control, "
                "ptys), FIO* requests and the SIOCGIF* interface queries (SIOCS* are EPERM); "
                "others are ENOTTY")
def sys_ioctl(t, fd, req, arg):
    fd = _fd(t, fd)
    req &= M32
    if req in sys_tty.TTY_REQUESTS:
        return sys_tty.ioctl(t, fd, req, arg, _new_fd)
    if req in netdev.REQUESTS:
        return netdev.ioctl(t, fd, req, arg)
    if req == FIONREAD:
        t.mem.write(arg, fcntl.ioctl(fd, req, bytes(4)))
        return 0
    if req == FIONBIO:
        os.set_blocking(fd, not t.mem.read_u32(arg))
        return 0
    if req == FIOASYNC:
        fcntl.ioctl(fd, req, t.mem.read(arg, 4))
        return 0
    if req in (FIOCLEX, FIONCLEX):
        os.set_inheritable(fd, req == FIONCLEX)
        return 0
    return -errno.ENOTTY


@syscall("pipe2", "ptr", "oflags")
def sys_pipe2(t, fds, flags):
    flags &= M32
    if flags & ~(O_CLOEXEC | O_NONBLOCK | G_O_DIRECT | O_EXCL):   # O_EXCL: O_NOTIFICATION_PIPE
        return -errno.EINVAL
    if flags & O_EXCL:
        return -errno.ENOPKG
    r, w = os.pipe2(open_flags_to_host(flags))      # os.pipe2 adds nothing to the flags
    install_pair(t, r, w, fds)
    return 0


def install_pair(t, a: int, b: int, addr: int) -> None:
    """Two new host descriptors (pipe2, socketpair) become the guest's: their numbers
    go to addr; past RLIMIT_NOFILE (EMFILE) or on a fault both are closed."""
    try:
        if max(a, b) >= fd_limit(t):
            raise _err(errno.EMFILE)
        t.mem.write(addr, struct.pack("<ii", a, b))
    except BaseException:
        os.close(a)
        os.close(b)
        raise


MFD_NAME_MAX = 249                     # 255 - len("memfd:")


@syscall("memfd_create", "str", "flags")
def sys_memfd_create(t, name_addr, flags):
    # the MFD_* flags are the same on both; the host checks them
    try:
        name = t.mem.read_cstring(name_addr, MFD_NAME_MAX + 1)
    except MemFault as e:
        if e.kind == "too long":
            return -errno.EINVAL
        raise
    if len(name) > MFD_NAME_MAX:
        return -errno.EINVAL
    return _new_fd(t, os.memfd_create(name, flags & M32))


@syscall("flock", "fd", "int")
def sys_flock(t, fd, op):
    fcntl.flock(_fd(t, fd), s32(op))
    return 0


# ---- directories ---------------------------------------------------------------------------
DT_UNKNOWN, DT_CHR, DT_DIR, DT_REG, DT_LNK = 0, 2, 4, 8, 10
_DEV_RECORDS_ROOM = 512            # the overlay's /dev records and one host record fit in it


def _dev_overlay_records(fd: int) -> bytes:
    """linux_dirent64 records of the /dev overlay's names the rootfs's /dev lacks."""
    names = [(p[5:], DT_CHR) for p in devfs.DEVICES] + [(p[5:], DT_LNK) for p in devfs.LINKS]
    out = []
    for name, dtype in names + [(b"pts", DT_DIR)]:
        try:
            os.stat(name, dir_fd=fd, follow_symlinks=False)
            continue                    # the rootfs has it: listed by the host
        except OSError:
            pass
        out.append(pack_dirent64(synth_stat(b"/dev/" + name, 0).ino, 0, dtype, name))
    return b"".join(out)


def _overlay_listing(t, fd: int) -> str | None:
    """Which overlay directory fd lists, if any: "dev" (the rootfs's /dev, shown with
    the overlay's devices), "listed" (a /proc directory's listing copy, fs/nodes.py's
    NameListDir) or "fds" (/proc/self/fd and fdinfo, without mkemu's own descriptors)."""
    try:
        host = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
    if os.fsencode(host) in LISTED:
        return "listed"
    if t.reserved_fds and host in (f"/proc/{os.getpid()}/fd", f"/proc/{os.getpid()}/fdinfo"):
        return "fds"
    if host.endswith("/dev") and guest_path_of_fd(t, fd) == b"/dev":
        return "dev"
    return None


def _listed_type(t, directory: bytes, name: bytes) -> int:
    """d_type of one name of an overlay directory's listing (made of plain files)."""
    if name in (b".", b".."):
        return DT_DIR
    try:
        node = namei.lookup(t, AT_FDCWD, directory + b"/" + name, False).node
        if node is None:
            return DT_UNKNOWN
        if node.is_link:
            return DT_LNK
        return DT_DIR if stat.S_ISDIR(node.stat(t).mode) else DT_REG
    except OSError:
        return DT_UNKNOWN                  # gone meanwhile (a process that ended)


@syscall("getdents64", "fd", "obuf", "size")
def sys_getdents64(t, fd, buf, count):
    # struct linux_dirent64 is the same everywhere: the host's records pass through, but for
    # the overlays' directories: /dev lists its devices first, /proc's self and
    # thread-self are symlinks, /proc/self/fd hides mkemu's own descriptors
    fd = _fd(t, fd)
    count = min(count & M32, 1 << 20)
    listing = _overlay_listing(t, fd)
    extra = b""
    if listing == "dev" and count >= _DEV_RECORDS_ROOM and os.lseek(fd, 0, os.SEEK_CUR) == 0:
        extra = _dev_overlay_records(fd)
    room = count - len(extra)
    host = ctypes.create_string_buffer(room)
    while True:
        n = _check_errno(_libc.syscall(_SYS_GETDENTS64, fd, host, ctypes.c_uint(room)))
        data = host.raw[:n]
        if listing == "fds" and n:
            hidden = {str(r).encode() for r in t.reserved_fds}
            data = b"".join(data[p:p + rl] for p, rl, _, _, _, name in iter_dirents64(data)
                            if name not in hidden)
            if not data:
                continue           # only hidden entries in this batch: read on
        elif listing == "listed" and n:                  # the names' own kinds, not files'
            where = guest_path_of_fd(t, fd)
            data = b"".join(pack_dirent64(ino, off, _listed_type(t, where, name), name)
                            for p, rl, ino, off, _, name in iter_dirents64(data))
        data = extra + t.fs.root.meta.fix_dirents(fd, data)    # recorded device nodes' d_type
        t.mem.write(buf, data)
        return len(data)


@syscall("getcwd", "obuf", "size")
def sys_getcwd(t, buf, size):
    cwd = t.fs.cwd + b"\0"
    if size < len(cwd):
        return -errno.ERANGE
    t.mem.write(buf, cwd)
    return len(cwd)


@syscall("chdir", "path")
def sys_chdir(t, path_addr):
    found = namei.lookup(t, AT_FDCWD, _path(t, path_addr))
    if found.node is not None:
        return -errno.ENOTDIR if not hasattr(found.node, "host") else -errno.EACCES
    t.fs.chdir(found.path)
    return 0


@syscall("fchdir", "fd")
def sys_fchdir(t, fd):
    t.fs.chdir_fd(_fd(t, fd))
    return 0


@syscall("chroot", "path", status="stub: always EPERM")
def sys_chroot(t, path):
    return -errno.EPERM


@syscall("readlinkat", "dirfd", "path", "obuf", "size")
def sys_readlinkat(t, dirfd, path_addr, buf, size):
    bufsiz = s32(size)
    if bufsiz <= 0:
        return -errno.EINVAL
    path = _path(t, path_addr)
    if not path:
        # an O_PATH|O_NOFOLLOW descriptor of a symlink
        out = ctypes.create_string_buffer(MAX_PATH)
        n = _check_errno(_libc.readlinkat(_fd(t, dirfd), b"", out, MAX_PATH))
        target = out.raw[:n]
    else:
        found = namei.lookup(t, dirfd, path, follow=False)
        if found.node is not None:
            target = found.node.readlink(t)
        else:
            fd, name = t.fs.root.open_parent(found.path)
            try:
                target = os.readlink(name, dir_fd=fd)
            finally:
                os.close(fd)
    data = target[:bufsiz]
    t.mem.write(buf, data)
    return len(data)


# ---- permissions and ownership -------------------------------------------------------------
@syscall("umask", "mode")
def sys_umask(t, mask):
    return t.fs.set_umask(mask)


@syscall("faccessat", "dirfd", "path", "int")
def sys_faccessat(t, dirfd, path, mode):
    return sys_faccessat2(t, dirfd, path, mode, 0)


@syscall("faccessat2", "dirfd", "path", "int", "flags")
def sys_faccessat2(t, dirfd, path_addr, mode, flags):
    mode &= M32
    if mode & ~7 or flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        return -errno.EINVAL
    path = _path(t, path_addr)
    follow = not flags & AT_SYMLINK_NOFOLLOW
    found = None
    if path:
        found = namei.lookup(t, dirfd, path, follow)
        node = found.node
        if isinstance(node, TextFile):
            return -errno.EACCES if mode & (os.W_OK | os.X_OK) else 0
        if node is not None and node.is_link and not node.is_object_link:
            return 0 if follow is False else -errno.ELOOP
    with namei.Target(t, dirfd, path, follow, bool(flags & AT_EMPTY_PATH), found=found) as tg:
        if mode and not os.access(tg.host, mode, effective_ids=bool(flags & AT_EACCESS)):
            return -errno.EACCES
    return 0


def _host_path_fd(host) -> int:
    """An O_PATH descriptor of what a namei.Target's host path (or a descriptor) names."""
    if isinstance(host, int):
        return os.open(f"/proc/self/fd/{host}", O_PATH | O_CLOEXEC)
    return os.open(host, O_PATH | O_CLOEXEC)


def _chmod(t, host, perm: int) -> None:
    meta = t.fs.root.meta
    if not meta.active:
        os.chmod(host, perm)            # no store: the host's alone
        return
    fd = _host_path_fd(host)
    try:
        meta.chmod(fd, perm, t.euid)
    finally:
        os.close(fd)


def _chown(t, host, uid: int, gid: int) -> None:
    """chown of a host path, descriptor or (dir fd, name) pair (not followed).  uid and gid
    are uid_t/gid_t: 0xffffffff (-1) leaves one unchanged, any other value is unsigned."""
    uid = -1 if uid & M32 == M32 else uid & M32
    gid = -1 if gid & M32 == M32 else gid & M32
    meta = t.fs.root.meta
    if not meta.records_owners:
        if isinstance(host, tuple):
            os.chown(host[1], uid, gid, dir_fd=host[0], follow_symlinks=False)
        else:
            os.chown(host, uid, gid)
        if not meta.exists():
            return
    if isinstance(host, tuple):
        fd = os.open(host[1], O_PATH | O_CLOEXEC | H_O_NOFOLLOW, dir_fd=host[0])
    else:
        fd = _host_path_fd(host)
    try:
        if meta.records_owners:
            meta.chown(fd, uid, gid, t.euid, {t.egid, *getattr(t, "groups", ())})
        else:
            meta.chowned_on_host(fd)
    finally:
        os.close(fd)


@syscall("fchmod", "fd", "mode")
def sys_fchmod(t, fd, mode):
    fd = _fd(t, fd)
    check_modifiable(os.fstat(fd))
    _chmod(t, fd, mode & 0o7777)
    return 0


@syscall("fchmodat", "dirfd", "path", "mode")
def sys_fchmodat(t, dirfd, path_addr, mode):
    with namei.Target(t, dirfd, _path(t, path_addr), modify=True) as tg:
        _chmod(t, tg.host, mode & 0o7777)
    return 0


@syscall("fchmodat2", "dirfd", "path", "mode", "flags")
def sys_fchmodat2(t, dirfd, path_addr, mode, flags):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        return -errno.EINVAL
    path = _path(t, path_addr)
    if path and not flags & AT_SYMLINK_NOFOLLOW:
        return sys_fchmodat(t, dirfd, path_addr, mode)
    with namei.Target(t, dirfd, path, not flags & AT_SYMLINK_NOFOLLOW,
                      bool(flags & AT_EMPTY_PATH), modify=True) as tg:
        st = os.fstat(tg.fd) if tg.fd >= 0 else os.stat(tg.host)   # (a magic link: the file)
        if stat.S_ISLNK(st.st_mode):
            return -errno.EOPNOTSUPP        # a symlink's mode cannot change (Linux's filesystems)
        _chmod(t, tg.host, mode & 0o7777)
    return 0


@syscall("fchown", "fd", "int", "int")
def sys_fchown(t, fd, uid, gid):
    fd = _fd(t, fd)
    check_modifiable(os.fstat(fd))
    _chown(t, fd, uid, gid)
    return 0


@syscall("fchownat", "dirfd", "path", "int", "int", "flags")
def sys_fchownat(t, dirfd, path_addr, uid, gid, flags):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        return -errno.EINVAL
    path = _path(t, path_addr)
    if path and flags & AT_SYMLINK_NOFOLLOW and namei.lookup(t, dirfd, path, False).node is None:
        with namei.Parent(t, dirfd, path) as (pfd, name):
            _chown(t, (pfd, name), uid, gid)
        return 0
    with namei.Target(t, dirfd, path, True, bool(flags & AT_EMPTY_PATH), modify=True) as tg:
        _chown(t, tg.host, uid, gid)
    return 0


@syscall("utimensat", "dirfd", "path", "ptr", "flags")
def sys_utimensat(t, dirfd, path_addr, times, flags):
    # struct timespec[2] (with UTIME_NOW / UTIME_OMIT) is the same on both: pass it through
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        return -errno.EINVAL
    ts = t.mem.read(times, 32) if times else None
    if not path_addr:                               # futimens(): the descriptor itself
        fd = _fd(t, dirfd)
        check_modifiable(os.fstat(fd))
        r = _libc.syscall(_SYS_UTIMENSAT, fd, None, ts, 0)
        _check_errno(r)
        return 0
    path = _path(t, path_addr)
    if path and flags & AT_SYMLINK_NOFOLLOW and namei.lookup(t, dirfd, path, False).node is None:
        with namei.Parent(t, dirfd, path) as (pfd, name):
            _check_errno(_libc.syscall(_SYS_UTIMENSAT, pfd, name, ts, AT_SYMLINK_NOFOLLOW))
        return 0
    with namei.Target(t, dirfd, path, True, bool(flags & AT_EMPTY_PATH), modify=True) as tg:
        _check_errno(_libc.syscall(_SYS_UTIMENSAT, AT_FDCWD, os.fsencode(tg.host), ts, 0))
    return 0


# ---- names ---------------------------------------------------------------------------------
@syscall("mkdirat", "dirfd", "path", "mode")
def sys_mkdirat(t, dirfd, path, mode):
    with namei.Parent(t, dirfd, _path(t, path)) as (pfd, name):
        os.mkdir(name, mode & 0o7777, dir_fd=pfd)
        t.fs.root.meta.settle_new(pfd, name, mode & 0o1777 & ~t.fs.umask)
    return 0


@syscall("mknodat", "dirfd", "path", "mode", "hex",
         status="partial: character and block devices live in the metadata store (a plain "
                "host file); opening one is /dev's null, zero, full, random, urandom or tty "
                "by number, else ENXIO")
def sys_mknodat(t, dirfd, path, mode, dev):
    mode &= M32
    kind = stat.S_IFMT(mode)
    if kind not in (0, stat.S_IFREG, stat.S_IFIFO, stat.S_IFSOCK, stat.S_IFCHR, stat.S_IFBLK):
        return -errno.EINVAL
    device = kind in (stat.S_IFCHR, stat.S_IFBLK)
    if device and t.euid != 0:
        return -errno.EPERM          # CAP_MKNOD
    with namei.Parent(t, dirfd, _path(t, path)) as (pfd, name):
        perm = mode & 0o7777 & ~t.fs.umask
        if device:                   # never a host device: a plain file the store makes a node
            t.fs.root.meta.make_device(pfd, name, kind, perm, dev & M32)
            return 0
        os.mknod(name, (mode & 0o7777) | (kind or stat.S_IFREG), 0, dir_fd=pfd)
        t.fs.root.meta.settle_new(pfd, name, perm)
    return 0


@syscall("unlinkat", "dirfd", "path", "flags")
def sys_unlinkat(t, dirfd, path, flags):
    if flags & ~AT_REMOVEDIR:
        return -errno.EINVAL
    p = namei.Parent(t, dirfd, _path(t, path))
    meta = t.fs.root.meta
    with p:
        if flags & AT_REMOVEDIR:
            gone = meta.doomed(p.fd, p.name)
            os.rmdir(p.name, dir_fd=p.fd)
            meta.forget(gone)        # the store's row of a removed file goes with it
            return 0
        if p.trailing_slash:         # "name/" is a directory or nothing: never unlinked
            st = os.stat(p.name, dir_fd=p.fd, follow_symlinks=False)
            return -errno.EISDIR if stat.S_ISDIR(st.st_mode) else -errno.ENOTDIR
        gone = meta.doomed(p.fd, p.name)
        os.unlink(p.name, dir_fd=p.fd)
        meta.forget(gone)
    return 0


@syscall("renameat", "dirfd", "path", "dirfd", "path")
def sys_renameat(t, olddir, oldpath, newdir, newpath):
    return sys_renameat2(t, olddir, oldpath, newdir, newpath, 0)


@syscall("renameat2", "dirfd", "path", "dirfd", "path", "flags")
def sys_renameat2(t, olddir, oldpath, newdir, newpath, flags):
    flags &= M32
    with namei.Parent(t, olddir, _path(t, oldpath)) as (ofd, oname), \
            namei.Parent(t, newdir, _path(t, newpath)) as (nfd, nname):
        # a file renamed over loses its store row (not with RENAME_EXCHANGE: it lives on)
        gone = None if flags & 2 else t.fs.root.meta.replaced(ofd, oname, nfd, nname)
        if flags:
            _check_errno(_libc.renameat2(ofd, oname, nfd, nname, ctypes.c_uint(flags)))
        else:
            os.rename(oname, nname, src_dir_fd=ofd, dst_dir_fd=nfd)
        t.fs.root.meta.forget(gone)
    return 0


@syscall("linkat", "dirfd", "path", "dirfd", "path", "flags")
def sys_linkat(t, olddir, oldpath, newdir, newpath, flags):
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        return -errno.EINVAL
    src = _path(t, oldpath)
    if src and not flags & AT_SYMLINK_FOLLOW:
        if namei.lookup(t, olddir, src, False).node is not None:
            return -errno.EXDEV           # an overlay's name: another file system than the target's
        with namei.Parent(t, olddir, src) as (ofd, oname), \
                namei.Parent(t, newdir, _path(t, newpath)) as (nfd, nname):
            os.link(oname, nname, src_dir_fd=ofd, dst_dir_fd=nfd, follow_symlinks=False)
        return 0
    # follow the source inside the root, then link what was found through its O_PATH fd
    with namei.Target(t, olddir, src, True, bool(flags & AT_EMPTY_PATH)) as tg, \
            namei.Parent(t, newdir, _path(t, newpath)) as (nfd, nname):
        os.link(tg.host, nname, dst_dir_fd=nfd, follow_symlinks=True)
    return 0


@syscall("symlinkat", "str", "dirfd", "path")
def sys_symlinkat(t, target, newdir, linkpath):
    tgt = _path(t, target)
    if not tgt:
        return -errno.ENOENT
    with namei.Parent(t, newdir, _path(t, linkpath)) as (pfd, name):
        os.symlink(tgt, name, dir_fd=pfd)
    return 0


# ---- sizes, syncing, file systems ----------------------------------------------------------
@syscall("truncate", "path", "int")
def sys_truncate(t, path, length):
    length = s64(length)
    if length < 0:
        return -errno.EINVAL
    fd = _open(t, AT_FDCWD, _path(t, path), os.O_WRONLY | O_CLOEXEC | O_NONBLOCK, 0)
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            return -errno.EISDIR
        os.ftruncate(fd, length)
    finally:
        os.close(fd)
    t.space.file_shrunk()
    return 0


@syscall("ftruncate", "fd", "int")
def sys_ftruncate(t, fd, length):
    fd = _fd(t, fd)
    length = s64(length)
    if length < 0:
        return -errno.EINVAL
    os.ftruncate(fd, length)
    t.space.file_shrunk()
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


@syscall("syncfs", "fd")
def sys_syncfs(t, fd):
    _check_errno(_libc.syncfs(_fd(t, fd)))
    return 0


@syscall("fallocate", "fd", "int", "int", "int")
def sys_fallocate(t, fd, mode, off, length):
    fd = _fd(t, fd)
    off, length = s64(off), s64(length)
    if off < 0 or length <= 0:
        return -errno.EINVAL
    _check_errno(_libc.fallocate(fd, ctypes.c_int(s32(mode)), ctypes.c_long(off),
                                 ctypes.c_long(length)))
    t.space.file_shrunk()        # FALLOC_FL_COLLAPSE_RANGE shortens the file
    return 0


@syscall("fadvise64", "fd", "int", "int", "int",
         status="partial: the advice is checked, not given to the host")
def sys_fadvise64(t, fd, off, length, advice):
    fd = _fd(t, fd)
    if not 0 <= s32(advice) <= 5:
        return -errno.EINVAL
    if stat.S_ISFIFO(os.fstat(fd).st_mode):
        return -errno.ESPIPE
    return 0


@syscall("readahead", "fd", "int", "size", status="partial: the descriptor is checked, nothing is read ahead")
def sys_readahead(t, fd, off, count):
    fd = _fd(t, fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        return -errno.EINVAL
    return 0


_STATFS_SIZE = 120          # struct statfs: the same 120 bytes on aarch64 and x86_64


def _fstatfs(fd: int) -> bytes:
    out = ctypes.create_string_buffer(_STATFS_SIZE)
    _check_errno(_libc.fstatfs(fd, out))
    return out.raw


@syscall("fstatfs", "fd", "ptr")
def sys_fstatfs(t, fd, buf):
    fd = _fd(t, fd)
    if _overlay_listing(t, fd) == "listed":     # a /proc directory: procfs, not its copy's fs
        proc = os.open("/proc", O_PATH | O_CLOEXEC)
        try:
            t.mem.write(buf, _fstatfs(proc))
        finally:
            os.close(proc)
        return 0
    t.mem.write(buf, _fstatfs(fd))
    return 0


@syscall("statfs", "path", "ptr")
def sys_statfs(t, path_addr, buf):
    path = _path(t, path_addr)
    node = namei.lookup(t, AT_FDCWD, path).node
    # /proc's own nodes are procfs's (its listing and its files are no host file of procfs)
    host = "/proc" if node is not None and (node.path + b"/").startswith(b"/proc/") \
        and not node.is_object_link else None
    with namei.Target(t, AT_FDCWD, path) if host is None else nullcontext() as tg:
        if tg is not None and tg.fd >= 0:
            data = _fstatfs(tg.fd)
        else:
            fd = os.open(host or tg.host, O_PATH | O_CLOEXEC)
            try:
                data = _fstatfs(fd)
            finally:
                os.close(fd)
    t.mem.write(buf, data)
    return 0
