"""File syscalls through their raw-register interface, on a host temp rootfs.

A fake task holds the real pieces the handlers use -- guest memory (FlatMemory
behind the real SoftTLB and GuestAccess), an FsContext over a RootFS, a set of
reserved descriptors -- and `call` turns exceptions into -errno exactly as the
dispatcher does.  Expected values come from the host (os.stat of the same
file, the host's own view of the rootfs), never from mkemu.
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
from types import SimpleNamespace
import struct
import termios

import pytest

from mkemu.fs.context import FsContext
from mkemu.fs.rootfs import RootFS
from mkemu.fs.structs import STAT, iter_dirents64
from mkemu.ipc import protocol as P
from mkemu.kern import sys_fs  # noqa: F401  (registers the handlers)
from mkemu.kern import sys_tty
from mkemu.kern.signals import SignalState
from mkemu.kern.systable import SYSCALLS
from mkemu.kern.sysnums import SYSCALL_NUMBERS
from mkemu.mm.access import GuestAccess
from mkemu.mm.fault import MemFault
from mkemu.mm.tlb import SoftTLB
from tests.support.oracle import FlatMemory

M64 = (1 << 64) - 1
AT_FDCWD = -100 & M64
BUF = 0x100000            # scratch guest memory
BUF_SIZE = 1 << 20
UNMAPPED = 0x7000_0000

# guest (aarch64) open flags
O_RDONLY, O_WRONLY, O_RDWR = 0, 1, 2
O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NONBLOCK = 0o100, 0o200, 0o1000, 0o2000, 0o4000
O_DIRECTORY, O_NOFOLLOW, O_LARGEFILE, O_CLOEXEC = 0o40000, 0o100000, 0o400000, 0o2000000
O_PATH, O_TMPFILE = 0o10000000, 0o20000000 | 0o40000
AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH = 0x100, 0x200, 0x400, 0x1000


class FakeTask:
    def __init__(self, root: str) -> None:
        self.flat = FlatMemory()
        self.flat.map(BUF, BUF_SIZE)
        self.mem = GuestAccess(SoftTLB(self.flat.resolve))
        self.space = SimpleNamespace(file_shrunk=lambda: None)   # no file mappings here
        self.fs = FsContext(RootFS(root, fd_base=1000))
        self.reserved_fds = set(self.fs.root.reserved_fds)
        self.exe_path = "/bin/prog"
        self.argv = [b"prog", b"arg"]
        self.pid = self.tid = 4321
        self.ppid = 1
        self.uid = self.euid = self.suid = self.gid = self.egid = self.sgid = 0
        self._next = BUF
        self.in_syscall = False           # a handler called directly, not from dispatch
        self.fd_kinds = {}                # (never filled: dispatch's invalidation is not here)
        self.shares_fds = True

    def proc_maps(self) -> str:
        return "00400000-00401000 r-xp 00000000 00:00 0          /bin/prog\n"

    # guest memory helpers
    def alloc(self, size: int) -> int:
        addr = (self._next + 15) & ~15
        self._next = addr + size
        assert self._next < BUF + BUF_SIZE
        return addr

    def put(self, data: bytes) -> int:
        addr = self.alloc(len(data) + 1)
        self.mem.write(addr, data + b"\0")
        return addr

    def get(self, addr: int, n: int) -> bytes:
        return self.mem.read(addr, n)

    def close(self) -> None:
        self.fs.root.close()


def call(t, name, *args):
    """Run a handler as the dispatcher does: raw registers in, result or -errno out."""
    row = SYSCALLS[SYSCALL_NUMBERS[name]]
    try:
        return row.handler(t, *[a & M64 for a in args])
    except OSError as e:
        return -(e.errno or errno.EIO)
    except MemFault:
        return -errno.EFAULT


@pytest.fixture
def env(tmp_path):
    """(task, host rootfs dir, host dir outside the rootfs)."""
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    for d in ("etc", "sub/deep", "tmp", "dev", "proc", "bin"):
        (root / d).mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_text("host secret\n")
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "secret").write_text("rootfs secret\n")
    (root / "bin" / "prog").write_bytes(b"\x7fELF")
    os.symlink("/etc", root / "abs-etc")
    os.symlink("../../../../../../..", root / "sub" / "up")
    os.symlink(str(outside / "secret"), root / "host-abs")
    os.symlink(str(outside), root / "host-dir")
    os.symlink("/proc/self/root/..", root / "magic-up")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    # rootfs links into /proc and /dev that come back out (the walk follows them)
    os.symlink("/proc/self/root/../../../secret", root / "sub" / "via-proc-root")
    os.symlink("../dev/fd/../../../../secret", root / "sub" / "via-dev-fd")
    os.symlink("/proc/self/cwd", root / "sub" / "via-cwd")
    os.symlink("/proc/self/root/host-abs", root / "sub" / "via-proc-host")
    os.symlink("/proc/1/root/secret", root / "sub" / "via-proc1")
    os.symlink("/dev/../../../secret", root / "sub" / "via-dev-up")
    t = FakeTask(str(root))
    yield t, root, outside
    t.close()


def openat(t, path: bytes, flags=O_RDONLY, mode=0, dirfd=AT_FDCWD):
    return call(t, "openat", dirfd, t.put(path), flags, mode)


def read_all(t, fd: int, n: int = 4096) -> bytes:
    buf = t.alloc(n)
    got = call(t, "read", fd, buf, n)
    assert got >= 0, got
    return t.get(buf, got)


def guest_stat(t, path: bytes, flags=0, dirfd=AT_FDCWD):
    buf = t.alloc(128)
    r = call(t, "newfstatat", dirfd, t.put(path), buf, flags)
    if r < 0:
        return r
    return STAT.unpack(t.get(buf, 128))


def check_stat_matches(g, h: os.stat_result) -> None:
    (dev, ino, mode, nlink, uid, gid, rdev, _, size, blksize, _, blocks,
     at, atn, mt, mtn, ct, ctn, _, _) = g
    assert (dev, ino, mode, nlink, uid, gid, rdev) == \
        (h.st_dev, h.st_ino, h.st_mode, h.st_nlink, h.st_uid, h.st_gid, h.st_rdev)
    assert (size, blksize, blocks) == (h.st_size, h.st_blksize, h.st_blocks)
    assert at * 10**9 + atn == h.st_atime_ns
    assert mt * 10**9 + mtn == h.st_mtime_ns
    assert ct * 10**9 + ctn == h.st_ctime_ns


# ---- open, read, write, close ------------------------------------------------------------
def test_create_write_read_roundtrip(env):
    t, root, _ = env
    fd = openat(t, b"/tmp/f", O_RDWR | O_CREAT | O_TRUNC, 0o640)
    assert fd >= 0
    data = t.put(b"hello world")
    assert call(t, "write", fd, data, 11) == 11
    assert call(t, "lseek", fd, 0, 0) == 0
    assert read_all(t, fd) == b"hello world"
    assert call(t, "lseek", fd, -5, 2) == 6
    assert read_all(t, fd) == b"world"
    assert call(t, "close", fd) == 0
    assert call(t, "close", fd) == -errno.EBADF
    assert (root / "tmp" / "f").read_bytes() == b"hello world"
    assert stat.S_IMODE(os.stat(root / "tmp" / "f").st_mode) == 0o640 & ~0o022


def test_mode_is_ignored_without_o_creat(env):
    t, _, _ = env
    fd = openat(t, b"/etc/passwd", O_RDONLY, 0xDEAD_BEEF_1234)     # garbage in x3
    assert fd >= 0
    assert read_all(t, fd).startswith(b"root:")
    call(t, "close", fd)


def test_open_flags_are_translated(env):
    t, root, _ = env
    assert openat(t, b"/etc/passwd", O_RDONLY | O_DIRECTORY) == -errno.ENOTDIR
    fd = openat(t, b"/etc", O_RDONLY | O_DIRECTORY)
    assert fd >= 0
    call(t, "close", fd)
    os.symlink("passwd", root / "etc" / "lnk")
    assert openat(t, b"/etc/lnk", O_RDONLY | O_NOFOLLOW) == -errno.ELOOP
    fd = openat(t, b"/tmp/a", O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK, 0o600)
    fl = call(t, "fcntl", fd, 3, 0)                                   # F_GETFL
    assert fl & 3 == O_WRONLY and fl & O_APPEND and fl & O_NONBLOCK
    assert fl & O_LARGEFILE                                           # the guest's bit
    assert not fl & 0o100000                                          # not the host's
    assert call(t, "fcntl", fd, 4, 0) == 0                            # F_SETFL: clear all
    assert not call(t, "fcntl", fd, 3, 0) & (O_APPEND | O_NONBLOCK)
    call(t, "close", fd)


def test_cloexec_is_exactly_what_the_guest_asked(env):
    t, _, _ = env
    fd = openat(t, b"/etc/passwd")
    assert call(t, "fcntl", fd, 1, 0) == 0                            # F_GETFD
    fd2 = openat(t, b"/etc/passwd", O_RDONLY | O_CLOEXEC)
    assert call(t, "fcntl", fd2, 1, 0) == 1
    d = call(t, "dup", fd2)
    assert call(t, "fcntl", d, 1, 0) == 0                             # dup clears it
    d2 = call(t, "fcntl", fd, 1030, 0)                                # F_DUPFD_CLOEXEC
    assert call(t, "fcntl", d2, 1, 0) == 1
    null = openat(t, b"/dev/null", O_RDWR)
    assert call(t, "fcntl", null, 1, 0) == 0
    r = call(t, "dup3", fd, 700, O_CLOEXEC)
    assert r == 700 and call(t, "fcntl", 700, 1, 0) == 1
    for x in (fd, fd2, d, d2, null, 700):
        call(t, "close", x)


def test_reserved_descriptors_are_invisible(env):
    t, _, _ = env
    rfd = t.fs.root.root_fd
    assert rfd in t.reserved_fds
    buf = t.alloc(16)
    for name, args in [("close", (rfd,)), ("read", (rfd, buf, 16)), ("write", (rfd, buf, 1)),
                       ("fstat", (rfd, buf)), ("dup", (rfd,)), ("fcntl", (rfd, 1, 0)),
                       ("getdents64", (rfd, buf, 16)), ("fchdir", (rfd,)),
                       ("ioctl", (rfd, 0x5401, buf)), ("lseek", (rfd, 0, 0))]:
        assert call(t, name, *args) == -errno.EBADF, name
    fd = openat(t, b"/etc/passwd")
    assert call(t, "dup3", fd, rfd, 0) == -errno.EBADF
    assert openat(t, b"passwd", dirfd=rfd) == -errno.EBADF
    assert call(t, "newfstatat", rfd, t.put(b""), buf, AT_EMPTY_PATH) == -errno.EBADF
    # close_range skips them
    os.dup2(fd, 990)
    assert call(t, "close_range", 990, rfd + 10, 0) == 0
    with pytest.raises(OSError):
        os.fstat(990)
    os.fstat(rfd)                                     # still open
    call(t, "close", fd)
    assert call(t, "close_range", 5, 4, 0) == -errno.EINVAL


def test_close_range_cloexec(env):
    t, _, _ = env
    fd = openat(t, b"/etc/passwd")
    os.dup2(fd, 980)
    assert call(t, "close_range", 980, 980, 4) == 0                   # CLOSE_RANGE_CLOEXEC
    assert fcntl.fcntl(980, fcntl.F_GETFD) == 1
    os.close(980)
    call(t, "close", fd)


# ---- stat --------------------------------------------------------------------------------
def test_stat_fields_are_exact(env):
    t, root, _ = env
    p = root / "tmp" / "big"
    p.write_bytes(os.urandom(10000))
    os.utime(p, ns=(1_600_000_000_123_456_789, 1_500_000_000_987_654_321))
    check_stat_matches(guest_stat(t, b"/tmp/big"), os.stat(p))
    check_stat_matches(guest_stat(t, b"/sub"), os.stat(root / "sub"))
    check_stat_matches(guest_stat(t, b"/abs-etc", AT_SYMLINK_NOFOLLOW), os.lstat(root / "abs-etc"))
    check_stat_matches(guest_stat(t, b"/abs-etc"), os.stat(root / "etc"))
    fd = openat(t, b"/tmp/big")
    buf = t.alloc(128)
    assert call(t, "fstat", fd, buf) == 0
    check_stat_matches(STAT.unpack(t.get(buf, 128)), os.stat(p))
    assert call(t, "newfstatat", fd, t.put(b""), buf, AT_EMPTY_PATH) == 0
    check_stat_matches(STAT.unpack(t.get(buf, 128)), os.stat(p))
    assert call(t, "newfstatat", fd, t.put(b""), buf, 0) == -errno.ENOENT
    call(t, "close", fd)
    assert guest_stat(t, b"/nonexistent") == -errno.ENOENT
    assert guest_stat(t, b"/etc/passwd/x") == -errno.ENOTDIR
    assert guest_stat(t, b"/loop1") == -errno.ELOOP


def test_statx_fields(env):
    t, root, _ = env
    p = root / "tmp" / "sx"
    p.write_bytes(b"x" * 5000)
    os.utime(p, ns=(1_700_000_000_000_000_001, 1_600_000_000_000_000_002))
    buf = t.alloc(256)
    assert call(t, "statx", AT_FDCWD, t.put(b"/tmp/sx"), 0, 0xFFF, buf) == 0
    raw = t.get(buf, 256)
    mask, blksize, _, nlink, uid, gid, mode = struct.unpack_from("<IIQIIIH", raw)
    ino, size, blocks = struct.unpack_from("<QQQ", raw, 32)
    h = os.stat(p)
    assert mask & 0x7FF == 0x7FF
    assert (blksize, nlink, uid, gid, mode) == (h.st_blksize, h.st_nlink, h.st_uid, h.st_gid,
                                                h.st_mode)
    assert (ino, size, blocks) == (h.st_ino, h.st_size, h.st_blocks)

    def ts(off):
        sec, nsec = struct.unpack_from("<qI", raw, off)
        return sec * 10**9 + nsec

    assert (ts(64), ts(112), ts(96)) == (h.st_atime_ns, h.st_mtime_ns, h.st_ctime_ns)
    dmaj, dmin = struct.unpack_from("<II", raw, 136)
    assert os.makedev(dmaj, dmin) == h.st_dev
    # lstat-like statx of a symlink
    assert call(t, "statx", AT_FDCWD, t.put(b"/abs-etc"), AT_SYMLINK_NOFOLLOW, 0x7FF, buf) == 0
    assert stat.S_ISLNK(struct.unpack_from("<H", t.get(buf, 256), 28)[0])


# ---- directories -------------------------------------------------------------------------
def test_getdents64_names_and_types(env):
    t, root, _ = env
    d = root / "tmp" / "dir"
    d.mkdir()
    (d / "file").write_text("x")
    (d / "subdir").mkdir()
    os.symlink("file", d / "link")
    os.mkfifo(d / "fifo")
    fd = openat(t, b"/tmp/dir", O_RDONLY | O_DIRECTORY)
    seen = {}
    buf = t.alloc(4096)
    while True:
        n = call(t, "getdents64", fd, buf, 200)        # small buffer: several calls
        assert n >= 0
        if n == 0:
            break
        for _, _, ino, _, dtype, name in iter_dirents64(t.get(buf, n)):
            seen[name] = (ino, dtype)
    call(t, "close", fd)
    assert set(seen) == {b".", b"..", b"file", b"subdir", b"link", b"fifo"}
    assert seen[b"file"] == (os.lstat(d / "file").st_ino, 8)
    assert seen[b"subdir"][1] == 4 and seen[b"link"][1] == 10 and seen[b"fifo"][1] == 1


def test_cwd_chdir_fchdir(env):
    t, root, _ = env
    buf = t.alloc(256)
    assert call(t, "chdir", t.put(b"sub/deep")) == 0
    assert call(t, "getcwd", buf, 256) == len(b"/sub/deep") + 1
    assert t.get(buf, 10) == b"/sub/deep\0"
    assert call(t, "getcwd", buf, 5) == -errno.ERANGE
    assert call(t, "chdir", t.put(b"../../../../..")) == 0
    assert t.fs.cwd == b"/"
    assert call(t, "chdir", t.put(b"abs-etc")) == 0          # through a symlink: real path
    assert t.fs.cwd == b"/etc"
    fd = openat(t, b"passwd")                                 # relative to the cwd
    assert read_all(t, fd).startswith(b"root:")
    assert call(t, "fchdir", fd) == -errno.ENOTDIR
    call(t, "close", fd)
    assert call(t, "chdir", t.put(b"passwd")) == -errno.ENOTDIR
    d = openat(t, b"/sub", O_RDONLY | O_DIRECTORY)
    assert call(t, "fchdir", d) == 0 and t.fs.cwd == b"/sub"
    call(t, "close", d)
    assert call(t, "chdir", t.put(b"/host-dir")) == -errno.ENOENT


def test_readlink(env):
    t, root, _ = env
    buf = t.alloc(256)
    n = call(t, "readlinkat", AT_FDCWD, t.put(b"/abs-etc"), buf, 256)
    assert t.get(buf, n) == b"/etc"
    assert call(t, "readlinkat", AT_FDCWD, t.put(b"/abs-etc"), buf, 2) == 2
    assert call(t, "readlinkat", AT_FDCWD, t.put(b"/abs-etc"), buf, 0) == -errno.EINVAL
    assert call(t, "readlinkat", AT_FDCWD, t.put(b"/etc"), buf, 256) == -errno.EINVAL
    n = call(t, "readlinkat", AT_FDCWD, t.put(b"/proc/self/exe"), buf, 256)
    assert t.get(buf, n) == b"/bin/prog"
    fd = openat(t, b"/sub/deep", O_RDONLY | O_DIRECTORY)
    n = call(t, "readlinkat", AT_FDCWD, t.put(b"/proc/self/fd/%d" % fd), buf, 256)
    assert t.get(buf, n) == b"/sub/deep"
    n = call(t, "readlinkat", AT_FDCWD, t.put(b"/dev/fd/%d" % fd), buf, 256)
    assert t.get(buf, n) == b"/sub/deep"            # /dev/fd -> /proc/self/fd, then the fd
    n = call(t, "readlinkat", AT_FDCWD, t.put(b"/dev/stdin"), buf, 256)
    assert t.get(buf, n) == b"/proc/self/fd/0"
    call(t, "close", fd)
    assert call(t, "readlinkat", AT_FDCWD, t.put(b"/proc/self/fd/%d" % fd), buf, 256) == -errno.ENOENT
    rfd = t.fs.root.root_fd
    assert call(t, "readlinkat", AT_FDCWD, t.put(b"/proc/self/fd/%d" % rfd), buf, 256) == -errno.ENOENT
    call(t, "chdir", t.put(b"/sub"))
    n = call(t, "readlinkat", AT_FDCWD, t.put(b"/proc/self/cwd"), buf, 256)
    assert t.get(buf, n) == b"/sub"


# ---- confinement -------------------------------------------------------------------------
ESCAPES = [
    b"/../../../../secret", b"../../../../../secret", b"/sub/up/secret", b"/sub/deep/../../../secret",
    b"/host-abs", b"/host-dir/secret", b"/magic-up/secret", b"/proc/self/root/../secret",
    b"/proc/self/cwd/../../../secret", b"/proc/1/root/secret", b"/proc/self/root/host-abs",
    b"/dev/../../secret", b"/dev/fd/../../../secret",
    b"/sub/via-proc-root", b"/sub/via-dev-fd", b"/sub/via-cwd/../../../secret",
    b"/sub/via-proc-host", b"/sub/via-proc1", b"/sub/via-dev-up",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_no_path_reaches_outside(env, path):
    t, _, _ = env
    fd = openat(t, path)
    if fd >= 0:
        data = read_all(t, fd)
        call(t, "close", fd)
        assert data != b"host secret\n"
        assert data == b"rootfs secret\n"        # `..` clamps at the root: this is /secret
    st = guest_stat(t, path)
    if not isinstance(st, int):
        assert st[1] == os.stat(env[1] / "secret").st_ino


def test_dirfd_relative_dotdot_stays_inside(env):
    t, _, _ = env
    d = openat(t, b"/sub/deep", O_RDONLY | O_DIRECTORY)
    fd = openat(t, b"../../../../../../secret", dirfd=d)
    assert read_all(t, fd) == b"rootfs secret\n"
    call(t, "close", fd)
    fd = openat(t, b"/proc/self/fd/%d/../../secret" % d)
    assert read_all(t, fd) == b"rootfs secret\n"
    call(t, "close", fd)
    call(t, "close", d)


def test_name_operations_through_outside_symlinks_stay_inside(env):
    t, root, outside = env
    host = outside / "secret"
    before = os.stat(host)
    # following ops (chmod, chown, utimens, link -L, truncate) never reach the host file
    assert call(t, "fchmodat", AT_FDCWD, t.put(b"/host-abs"), 0o777) == -errno.ENOENT
    assert call(t, "fchownat", AT_FDCWD, t.put(b"/host-abs"), 1, 1, 0) == -errno.ENOENT
    ts = t.put(struct.pack("<qqqq", 1, 0, 1, 0))
    assert call(t, "utimensat", AT_FDCWD, t.put(b"/host-abs"), ts, 0) == -errno.ENOENT
    assert call(t, "linkat", AT_FDCWD, t.put(b"/host-abs"), AT_FDCWD, t.put(b"/tmp/hl"),
                AT_SYMLINK_FOLLOW) == -errno.ENOENT
    assert call(t, "truncate", t.put(b"/host-abs"), 0) == -errno.ENOENT
    assert call(t, "mkdirat", AT_FDCWD, t.put(b"/host-dir/newdir"), 0o755) == -errno.ENOENT
    assert openat(t, b"/host-dir/created", O_WRONLY | O_CREAT, 0o644) == -errno.ENOENT
    assert call(t, "symlinkat", t.put(b"x"), AT_FDCWD, t.put(b"/host-dir/sl")) == -errno.ENOENT
    after = os.stat(host)
    assert (after.st_mode, after.st_uid, after.st_mtime_ns, after.st_size, after.st_nlink) == \
        (before.st_mode, before.st_uid, before.st_mtime_ns, before.st_size, before.st_nlink)
    assert sorted(os.listdir(outside)) == ["secret"]
    # the non-following forms act on the symlink itself, inside the rootfs
    ts2 = t.put(struct.pack("<qqqq", 1000, 5, 2000, 7))
    assert call(t, "utimensat", AT_FDCWD, t.put(b"/host-abs"), ts2, AT_SYMLINK_NOFOLLOW) == 0
    assert os.lstat(root / "host-abs").st_mtime_ns == 2000 * 10**9 + 7
    assert os.stat(host).st_mtime_ns == before.st_mtime_ns


def test_device_nodes_in_rootfs_are_refused(env):
    t, root, _ = env
    if os.geteuid() != 0:
        pytest.skip("needs root to make a device node")
    os.mknod(root / "dev" / "mem", 0o600 | stat.S_IFCHR, os.makedev(1, 1))
    assert openat(t, b"/dev/mem") == -errno.EACCES
    p = openat(t, b"/dev/mem", O_PATH)                        # O_PATH opens nothing
    assert p >= 0
    assert openat(t, b"/proc/self/fd/%d" % p) == -errno.EACCES
    call(t, "close", p)


# ---- the device and proc overlays --------------------------------------------------------
def test_dev_overlay(env):
    t, _, _ = env
    buf = t.alloc(64)
    null = openat(t, b"/dev/null", O_RDWR)
    assert call(t, "write", null, buf, 64) == 64
    assert call(t, "read", null, buf, 64) == 0
    zero = openat(t, b"/dev/zero")
    t.mem.write(buf, b"\xff" * 64)
    assert call(t, "read", zero, buf, 64) == 64 and t.get(buf, 64) == bytes(64)
    full = openat(t, b"/dev/full", O_WRONLY)
    assert call(t, "write", full, buf, 1) == -errno.ENOSPC
    st = guest_stat(t, b"/dev/null")
    assert stat.S_ISCHR(st[2]) and st[6] == os.makedev(1, 3)
    assert guest_stat(t, b"/dev/../dev/./zero")[6] == os.makedev(1, 5)
    # metadata changes never reach the host's device nodes
    before = os.stat("/dev/null")
    assert call(t, "fchmodat", AT_FDCWD, t.put(b"/dev/null"), 0o600) == -errno.EPERM
    assert call(t, "fchmod", null, 0o600) == -errno.EPERM
    assert call(t, "fchownat", AT_FDCWD, t.put(b"/proc/self/fd/%d" % null), 1, 1, 0) == -errno.EPERM
    assert call(t, "utimensat", null, 0, 0, 0) == -errno.EPERM
    assert call(t, "utimensat", AT_FDCWD, t.put(b"/dev/zero"), 0, 0) == -errno.EPERM
    after = os.stat("/dev/null")
    assert (after.st_mode, after.st_uid, after.st_mtime_ns) == \
        (before.st_mode, before.st_uid, before.st_mtime_ns)
    for fd in (null, zero, full):
        call(t, "close", fd)
    # /dev/stdin and /dev/fd/N reopen the guest's own descriptors
    fd = openat(t, b"/etc/passwd")
    again = openat(t, b"/dev/fd/%d" % fd)
    assert read_all(t, again).startswith(b"root:")
    assert guest_stat(t, b"/dev/stdin", AT_SYMLINK_NOFOLLOW)[2] & 0o170000 == stat.S_IFLNK
    call(t, "close", fd)
    call(t, "close", again)


def test_proc_files(env):
    t, _, _ = env
    fd = openat(t, b"/proc/cpuinfo")
    text = read_all(t, fd, 1 << 16)
    assert text.startswith(b"processor\t: 0\n") and b"CPU architecture: 8" in text
    call(t, "close", fd)
    fd = openat(t, b"/proc/meminfo")
    assert b"MemTotal:" in read_all(t, fd)
    call(t, "close", fd)
    fd = openat(t, b"/proc/self/maps")
    assert read_all(t, fd) == t.proc_maps().encode()
    buf = t.alloc(64)
    n = call(t, "readlinkat", AT_FDCWD, t.put(b"/proc/self/fd/%d" % fd), buf, 64)
    assert t.get(buf, n) == b"/proc/4321/maps"        # as Linux: /proc/self is a link to the pid
    call(t, "close", fd)
    fd = openat(t, b"/proc/4321/cmdline")
    assert read_all(t, fd) == b"prog\0arg\0"
    call(t, "close", fd)
    assert openat(t, b"/proc/cpuinfo", O_WRONLY) == -errno.EACCES
    st = guest_stat(t, b"/proc/self/status")
    assert stat.S_ISREG(st[2]) and st[2] & 0o777 == 0o444
    # /proc/self/exe is followed to the program
    assert guest_stat(t, b"/proc/self/exe")[1] == os.stat(env[1] / "bin" / "prog").st_ino
    fd = openat(t, b"/proc/self/exe")
    assert read_all(t, fd) == b"\x7fELF"
    call(t, "close", fd)
    os.chmod(env[1] / "bin" / "prog", 0o755)
    fd = sys_fs.open_exec(t, "/proc/self/exe")
    assert os.read(fd, 4) == b"\x7fELF" and fcntl.fcntl(fd, fcntl.F_GETFD) == 1
    os.close(fd)
    with pytest.raises(PermissionError):
        sys_fs.open_exec(t, "/etc/passwd")


def test_proc_self_fd_listing_hides_reserved(env):
    t, _, _ = env
    mine = openat(t, b"/etc/passwd")
    d = openat(t, b"/proc/self/fd", O_RDONLY | O_DIRECTORY)
    assert d >= 0
    buf = t.alloc(65536)
    names = set()
    while (n := call(t, "getdents64", d, buf, 65536)) > 0:
        names |= {e[5] for e in iter_dirents64(t.get(buf, n))}
    assert b"%d" % mine in names and b"%d" % d in names
    assert not names & {b"%d" % fd for fd in t.reserved_fds}
    # a path relative to that directory goes through the overlay
    st = guest_stat(t, b"%d" % mine, dirfd=d)
    assert st[1] == os.stat(env[1] / "etc" / "passwd").st_ino
    call(t, "close", d)
    call(t, "close", mine)


# ---- rootfs symlinks, followed before the overlays and mounts are matched ------------------
def read_path(t, path: bytes) -> bytes:
    fd = openat(t, path)
    assert fd >= 0, (path, fd)
    data = read_all(t, fd, 1 << 16)
    call(t, "close", fd)
    return data


def readlink(t, path: bytes) -> bytes | int:
    buf = t.alloc(256)
    n = call(t, "readlinkat", AT_FDCWD, t.put(path), buf, 256)
    return n if n < 0 else t.get(buf, n)


def test_rootfs_symlinks_into_proc_and_dev(env):
    t, root, _ = env
    etc = root / "etc"
    os.symlink("../proc/self/mounts", etc / "mtab")               # Debian's
    os.symlink("/proc/self/cmdline", etc / "cmdline")
    os.symlink("/dev/null", etc / "null")
    os.symlink("c2", etc / "c1")                                  # a relative chain to /proc
    os.symlink("../sub/c3", etc / "c2")
    os.symlink("../proc", root / "sub" / "c3")
    mounts = read_path(t, b"/proc/self/mounts")
    assert b" / " in mounts and read_path(t, b"/etc/mtab") == mounts
    assert read_path(t, b"/etc/cmdline") == read_path(t, b"/etc/c1/self/cmdline") == b"prog\0arg\0"
    d = openat(t, b"/etc", O_RDONLY | O_DIRECTORY)
    fd = openat(t, b"mtab", dirfd=d)                              # relative to a directory fd
    assert read_all(t, fd, 1 << 16) == mounts
    call(t, "close", fd)
    call(t, "close", d)
    # stat follows the link to its target; lstat and readlink see the rootfs's link
    assert guest_stat(t, b"/etc/mtab")[:3] == guest_stat(t, b"/proc/self/mounts")[:3]
    check_stat_matches(guest_stat(t, b"/etc/c1"), os.stat(root / "proc"))
    for name in ("mtab", "cmdline", "null", "c1"):
        check_stat_matches(guest_stat(t, b"/etc/" + name.encode(), AT_SYMLINK_NOFOLLOW),
                           os.lstat(etc / name))
        assert readlink(t, b"/etc/" + name.encode()) == os.fsencode(os.readlink(etc / name))
    assert readlink(t, b"/etc/c1/self") == b"4321"                # /proc/self, reached by the chain
    assert call(t, "faccessat", AT_FDCWD, t.put(b"/etc/mtab"), os.R_OK) == 0
    assert call(t, "faccessat", AT_FDCWD, t.put(b"/etc/mtab"), os.W_OK) == -errno.EACCES
    # /etc/null is the host's /dev/null, whose metadata stays out of the guest's reach
    host_null = os.stat("/dev/null")
    st = guest_stat(t, b"/etc/null")
    assert (st[1], st[2], st[6]) == (host_null.st_ino, host_null.st_mode, host_null.st_rdev)
    null = openat(t, b"/etc/null", O_RDWR)
    buf = t.alloc(64)
    assert call(t, "write", null, buf, 64) == 64 and call(t, "read", null, buf, 64) == 0
    call(t, "close", null)
    assert call(t, "fchmodat", AT_FDCWD, t.put(b"/etc/null"), 0o600) == -errno.EPERM
    assert os.stat("/dev/null").st_mode == host_null.st_mode


def test_symlinks_meet_bind_mounts(env, tmp_path):
    t, root, _ = env
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "data").write_text("shared\n")
    (shared / "secret").write_text("mount secret\n")
    os.symlink("/proc/self/cmdline", shared / "abs")      # absolute: from the mount's top
    os.symlink("../../../secret", shared / "up")          # `..` stops at the mount's top
    (root / "mnt").mkdir()
    t.reserved_fds.add(t.fs.root.bind(b"/mnt", str(shared)))
    os.symlink("/mnt/data", root / "etc" / "to-mount")
    os.symlink("../mnt/up", root / "etc" / "to-up")
    assert read_path(t, b"/etc/to-mount") == b"shared\n"     # a rootfs link into the mount
    assert read_path(t, b"/etc/to-up") == b"mount secret\n"
    assert read_path(t, b"/mnt/up") == b"mount secret\n"
    assert openat(t, b"/mnt/abs") == -errno.ENOENT            # the mount has no /proc
    assert read_path(t, b"/mnt/../secret") == b"rootfs secret\n"
    # `..` after a link to a file is ENOTDIR, as Linux's walk says; after one to the
    # mount's top it leaves the mount
    assert openat(t, b"/etc/to-mount/../../secret") == -errno.ENOTDIR
    os.symlink("/mnt", root / "etc" / "to-top")
    assert read_path(t, b"/etc/to-top/../secret") == b"rootfs secret\n"
    assert read_path(t, b"/etc/to-top/../etc/to-top/data") == b"shared\n"


def test_proc_mounts_lists_bind_mounts_as_getmntent_reads_them(env, tmp_path):
    t, root, _ = env
    (tmp_path / "shared").mkdir()
    (root / "with space").mkdir()
    t.reserved_fds.add(t.fs.root.bind(b"/with space", str(tmp_path / "shared")))
    os.symlink("../proc/self/mounts", root / "etc" / "mtab")
    # proc(5): six blank-separated fields, blanks and backslashes in a field as \ooo
    fields = [line.split(b" ") for line in read_path(t, b"/etc/mtab").splitlines()]
    assert {len(f) for f in fields} == {6}
    points = {re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m[1], 8)]), f[1]): f[2]
              for f in fields}
    assert points.keys() == {b"/", b"/proc", b"/dev", b"/with space"} and points[b"/proc"] == b"proc"


def test_walk_rules(env):
    t, root, _ = env
    os.symlink("/etc", root / "sub" / "to-etc")
    # `..` after a symlink is the parent of its target, as the host's walk gives
    assert guest_stat(t, b"/sub/to-etc/..")[1] == os.stat(root).st_ino
    assert read_path(t, b"/sub/deep/../to-etc/../secret") == b"rootfs secret\n"
    assert read_path(t, b"/abs-etc/passwd").startswith(b"root:")
    # a name asked as a directory must be one
    for path in (b"/etc/passwd/", b"/etc/passwd/.", b"/etc/passwd/..", b"/dev/null/",
                 b"/proc/cpuinfo/x", b"/dev/null/.."):
        assert guest_stat(t, path) == -errno.ENOTDIR, path
    assert readlink(t, b"/abs-etc/") == -errno.EINVAL         # followed: /etc is no link
    # O_CREAT follows a dangling link and creates its target; with O_EXCL it does not
    os.symlink("/tmp/made", root / "tmp" / "dangling")
    assert openat(t, b"/tmp/dangling", O_WRONLY | O_CREAT | O_EXCL, 0o600) == -errno.EEXIST
    fd = openat(t, b"/tmp/dangling", O_WRONLY | O_CREAT, 0o600)
    assert fd >= 0 and (root / "tmp" / "made").is_file()
    call(t, "close", fd)
    # openat2's RESOLVE_NO_SYMLINKS refuses any link on the way, the rootfs's or /proc's
    how = t.put(struct.pack("<QQQ", O_RDONLY, 0, 0x04))
    for path in (b"/abs-etc/passwd", b"/proc/self/cmdline"):
        assert call(t, "openat2", AT_FDCWD, t.put(path), how, 24) == -errno.ELOOP, path
    # as many symlinks in one walk as the host's kernel follows, and not one more
    chain = root / "chain"                    # relative links: the host walks them alike
    chain.mkdir()
    (chain / "end").write_text("end\n")
    for n in range(45):
        os.symlink(f"l{n - 1}" if n else "end", chain / f"l{n}")
    for n in range(38, 45):
        try:
            want = os.stat(chain / f"l{n}").st_ino
        except OSError as e:
            want = -e.errno
        got = guest_stat(t, b"/chain/l%d" % n)
        assert (got if isinstance(got, int) else got[1]) == want, n


def test_links_at_the_top_are_looked_at_again_on_every_walk(env, tmp_path):
    """The walk remembers names at the top that were symlinks (merged /usr's /lib) and
    reads them again first (RootFS.top_links): whatever replaced one since, or is no
    link now, is what the next walk sees; links it follows in place stay inside."""
    t, root, _ = env
    for d in ("usr/lib", "usr/lib2", "lib-dir"):
        (root / d).mkdir(parents=True)
    (root / "usr" / "lib" / "libc").write_text("usr/lib\n")
    (root / "usr" / "lib2" / "libc").write_text("usr/lib2\n")
    (root / "lib-dir" / "libc").write_text("a directory\n")
    os.symlink("usr/lib", root / "lib")
    assert read_path(t, b"/lib/libc") == b"usr/lib\n"
    assert b"lib" in t.fs.root.top_links
    assert read_path(t, b"/lib/../../secret") == b"rootfs secret\n"  # /usr/lib/../..
    assert openat(t, b"/lib/missing") == -errno.ENOENT
    assert guest_stat(t, b"/lib/missing") == -errno.ENOENT
    assert readlink(t, b"/lib") == b"usr/lib"                        # the last name: the link
    # replaced by another link, then by a directory, between two walks
    os.unlink(root / "lib")
    os.symlink("/usr/lib2", root / "lib")
    assert read_path(t, b"/lib/libc") == b"usr/lib2\n"
    os.unlink(root / "lib")
    os.rename(root / "lib-dir", root / "lib")
    assert read_path(t, b"/lib/libc") == b"a directory\n"
    assert guest_stat(t, b"/lib")[1] == os.stat(root / "lib").st_ino
    # and a directory replaced by a link (deeper than the top)
    (root / "sub" / "deep" / "libc").write_text("deep\n")
    assert read_path(t, b"/sub/deep/libc") == b"deep\n"
    os.rename(root / "sub" / "deep", root / "sub" / "deep-was")
    os.symlink("/usr/lib", root / "sub" / "deep")
    assert read_path(t, b"/sub/deep/libc") == b"usr/lib\n"
    # top links that climb: `..` stops at the root, an absolute target is the guest's
    for name, target in ((b"up1", "/.."), (b"up2", "../.."), (b"up3", "../../../sub/up")):
        os.symlink(target, root / name.decode())
        for _ in range(2):                 # the first walk learns the link, the second uses it
            assert read_path(t, b"/%s/secret" % name) == b"rootfs secret\n", name
    # RESOLVE_NO_SYMLINKS refuses a remembered link too
    os.rename(root / "lib", root / "lib-dir")
    os.symlink("usr/lib", root / "lib")
    assert read_path(t, b"/lib/libc") == b"usr/lib\n"
    how = t.put(struct.pack("<QQQ", O_RDONLY, 0, 0x04))
    assert call(t, "openat2", AT_FDCWD, t.put(b"/lib/libc"), how, 24) == -errno.ELOOP
    # a bind mount over a remembered name is the mount
    shared = tmp_path / "over-lib"
    shared.mkdir()
    (shared / "libc").write_text("the mount\n")
    t.reserved_fds.add(t.fs.root.bind(b"/lib", str(shared)))
    assert read_path(t, b"/lib/libc") == b"the mount\n"


def test_a_missing_last_name_is_reported_from_the_walk(env):
    """open and stat of a name the walk found missing say ENOENT without asking again;
    O_CREAT still creates it, and a missing directory on the way is still ENOENT."""
    t, root, _ = env
    assert openat(t, b"/tmp/nothing") == -errno.ENOENT
    assert guest_stat(t, b"/tmp/nothing") == -errno.ENOENT
    assert guest_stat(t, b"/tmp/nothing", AT_SYMLINK_NOFOLLOW) == -errno.ENOENT
    assert openat(t, b"/tmp/nothing/x", O_WRONLY | O_CREAT, 0o600) == -errno.ENOENT
    fd = openat(t, b"/tmp/nothing", O_WRONLY | O_CREAT, 0o600)
    assert fd >= 0 and (root / "tmp" / "nothing").is_file()
    call(t, "close", fd)
    assert openat(t, b"/tmp/nothing") >= 0
    assert openat(t, b"/etc/passwd/x") == -errno.ENOTDIR
    for path, want in ((b"/tmp/none", -errno.ENOENT), (b"/tmp/nothing", 0),
                       (b"/abs-etc/passwd", 0), (b"/abs-etc/none", -errno.ENOENT)):
        assert call(t, "faccessat", AT_FDCWD, t.put(path), os.R_OK) == want, path


# ---- name operations ---------------------------------------------------------------------
def test_create_rename_link_unlink(env):
    t, root, _ = env
    assert call(t, "mkdirat", AT_FDCWD, t.put(b"/tmp/d"), 0o755) == 0
    assert call(t, "mkdirat", AT_FDCWD, t.put(b"/tmp/d"), 0o755) == -errno.EEXIST
    assert (root / "tmp" / "d").is_dir()
    assert call(t, "mknodat", AT_FDCWD, t.put(b"/tmp/d/fifo"), stat.S_IFIFO | 0o600, 0) == 0
    assert stat.S_ISFIFO(os.lstat(root / "tmp/d/fifo").st_mode)
    assert call(t, "mknodat", AT_FDCWD, t.put(b"/tmp/d/reg"), 0o600, 0) == 0
    assert call(t, "mknodat", AT_FDCWD, t.put(b"/tmp/d/chr"), stat.S_IFCHR | 0o600,
                os.makedev(1, 3)) == 0          # recorded in the metadata store
    assert stat.S_ISREG(os.lstat(root / "tmp/d/chr").st_mode)         # never a host device
    assert call(t, "symlinkat", t.put(b"/etc/passwd"), AT_FDCWD, t.put(b"/tmp/d/sl")) == 0
    assert os.readlink(root / "tmp/d/sl") == "/etc/passwd"
    fd = openat(t, b"/tmp/d/sl")
    assert read_all(t, fd).startswith(b"root:")                      # followed inside
    call(t, "close", fd)
    d = openat(t, b"/tmp", O_RDONLY | O_DIRECTORY)
    assert call(t, "renameat", d, t.put(b"d/reg"), AT_FDCWD, t.put(b"/tmp/d/reg2")) == 0
    assert call(t, "renameat2", AT_FDCWD, t.put(b"/tmp/d/reg2"), AT_FDCWD,
                t.put(b"/tmp/d/fifo"), 1) == -errno.EEXIST            # RENAME_NOREPLACE
    assert call(t, "linkat", AT_FDCWD, t.put(b"/tmp/d/reg2"), d, t.put(b"d/hard"), 0) == 0
    assert os.stat(root / "tmp/d/hard").st_nlink == 2
    assert call(t, "linkat", AT_FDCWD, t.put(b"/tmp/d/sl"), AT_FDCWD, t.put(b"/tmp/d/sl2"), 0) == 0
    assert os.path.islink(root / "tmp/d/sl2")                         # the link itself
    assert call(t, "linkat", AT_FDCWD, t.put(b"/tmp/d/sl"), AT_FDCWD, t.put(b"/tmp/d/pw"),
                AT_SYMLINK_FOLLOW) == 0
    assert os.stat(root / "tmp/d/pw").st_ino == os.stat(root / "etc/passwd").st_ino
    assert call(t, "unlinkat", AT_FDCWD, t.put(b"/tmp/d/hard/"), 0) == -errno.ENOTDIR
    assert call(t, "unlinkat", AT_FDCWD, t.put(b"/tmp/d"), 0) == -errno.EISDIR
    assert call(t, "unlinkat", d, t.put(b"d"), AT_REMOVEDIR) == -errno.ENOTEMPTY
    for name in (b"hard", b"reg2", b"fifo", b"sl", b"sl2", b"pw", b"chr"):
        assert call(t, "unlinkat", AT_FDCWD, t.put(b"/tmp/d/" + name), 0) == 0, name
    assert call(t, "unlinkat", d, t.put(b"d/"), AT_REMOVEDIR) == 0
    assert not (root / "tmp" / "d").exists()
    call(t, "close", d)


def test_tmpfile_linked_through_proc_self_fd(env):
    t, root, _ = env
    fd = openat(t, b"/tmp", O_RDWR | O_TMPFILE, 0o600)
    assert fd >= 0
    assert call(t, "write", fd, t.put(b"anon"), 4) == 4
    assert call(t, "linkat", AT_FDCWD, t.put(b"/proc/self/fd/%d" % fd), AT_FDCWD,
                t.put(b"/tmp/named"), AT_SYMLINK_FOLLOW) == 0
    assert (root / "tmp" / "named").read_bytes() == b"anon"
    call(t, "close", fd)


def test_metadata_calls(env):
    t, root, _ = env
    p = root / "tmp" / "m"
    p.write_bytes(b"0123456789")
    assert call(t, "fchmodat", AT_FDCWD, t.put(b"/tmp/m"), 0o604) == 0
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o604
    fd = openat(t, b"/tmp/m", O_RDWR)
    assert call(t, "fchmod", fd, 0o600) == 0
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    ts = t.put(struct.pack("<qqqq", 1_000_000, 123, 2_000_000, 456789))
    assert call(t, "utimensat", AT_FDCWD, t.put(b"/tmp/m"), ts, 0) == 0
    h = os.stat(p)
    assert (h.st_atime_ns, h.st_mtime_ns) == (1_000_000 * 10**9 + 123, 2_000_000 * 10**9 + 456789)
    omit = t.put(struct.pack("<qqqq", 0, (1 << 30) - 2, 3_000_000, 0))   # UTIME_OMIT for atime
    assert call(t, "utimensat", fd, 0, omit, 0) == 0
    assert os.stat(p).st_atime_ns == h.st_atime_ns and os.stat(p).st_mtime_ns == 3_000_000 * 10**9
    assert call(t, "ftruncate", fd, 4) == 0 and os.path.getsize(p) == 4
    assert call(t, "ftruncate", fd, -1) == -errno.EINVAL
    assert call(t, "truncate", t.put(b"/tmp/m"), 7) == 0 and os.path.getsize(p) == 7
    assert call(t, "fallocate", fd, 0, 0, 8192) == 0 and os.path.getsize(p) == 8192
    assert call(t, "fsync", fd) == 0 and call(t, "fdatasync", fd) == 0
    uid, gid = os.getuid(), os.getgid()
    assert call(t, "fchownat", AT_FDCWD, t.put(b"/tmp/m"), uid, gid, 0) == 0
    assert call(t, "fchown", fd, -1, -1) == 0
    assert call(t, "faccessat", AT_FDCWD, t.put(b"/tmp/m"), os.R_OK) == 0
    assert call(t, "faccessat", AT_FDCWD, t.put(b"/tmp/nothere"), 0) == -errno.ENOENT
    assert call(t, "faccessat2", AT_FDCWD, t.put(b"/tmp/m"), 8, 0) == -errno.EINVAL
    assert call(t, "faccessat", AT_FDCWD, t.put(b"/proc/cpuinfo"), os.W_OK) == -errno.EACCES
    call(t, "close", fd)
    old = call(t, "umask", 0o077)
    assert old == 0o022
    fd = openat(t, b"/tmp/u", O_WRONLY | O_CREAT, 0o666)
    assert stat.S_IMODE(os.stat(root / "tmp" / "u").st_mode) == 0o600
    call(t, "umask", old)
    call(t, "close", fd)


def test_statfs(env):
    t, root, _ = env
    buf = t.alloc(120)
    assert call(t, "statfs", t.put(b"/etc"), buf) == 0
    f_type, f_bsize = struct.unpack_from("<qq", t.get(buf, 120))
    h = os.statvfs(root)
    assert f_bsize == h.f_bsize and f_type != 0
    fd = openat(t, b"/etc/passwd")
    assert call(t, "fstatfs", fd, buf) == 0
    call(t, "close", fd)


# ---- I/O forms ---------------------------------------------------------------------------
def test_vectored_and_positioned_io(env):
    t, root, _ = env
    fd = openat(t, b"/tmp/v", O_RDWR | O_CREAT, 0o644)
    a, b = t.put(b"abc"), t.put(b"defgh")
    iov = t.put(struct.pack("<QQQQ", a, 3, b, 5))
    assert call(t, "writev", fd, iov, 2) == 8
    assert call(t, "pwritev", fd, iov, 1, 100) == 3
    assert (root / "tmp/v").read_bytes() == b"abcdefgh" + bytes(92) + b"abc"
    x, y = t.alloc(4), t.alloc(4)
    riov = t.put(struct.pack("<QQQQ", x, 2, y, 4))
    assert call(t, "preadv", fd, riov, 2, 1) == 6
    assert t.get(x, 2) == b"bc" and t.get(y, 4) == b"defg"
    call(t, "lseek", fd, 0, 0)
    assert call(t, "readv", fd, riov, 2) == 6 and t.get(y, 4) == b"cdef"
    buf = t.alloc(16)
    assert call(t, "pread64", fd, buf, 3, 5) == 3 and t.get(buf, 3) == b"fgh"
    assert call(t, "pread64", fd, buf, 3, -1) == -errno.EINVAL
    assert call(t, "pwrite64", fd, t.put(b"Z"), 1, 0) == 1
    assert call(t, "readv", fd, riov, 1025) == -errno.EINVAL
    assert call(t, "read", fd, UNMAPPED, 4) == -errno.EFAULT
    assert call(t, "write", fd, UNMAPPED, 4) == -errno.EFAULT
    assert openat(t, b"x") != -errno.EFAULT
    assert call(t, "openat", AT_FDCWD, UNMAPPED, 0, 0) == -errno.EFAULT
    call(t, "close", fd)


def test_sendfile_and_copy_file_range(env):
    t, root, _ = env
    (root / "tmp" / "src").write_bytes(b"0123456789")
    src = openat(t, b"/tmp/src")
    dst = openat(t, b"/tmp/dst", O_RDWR | O_CREAT, 0o644)
    offp = t.put(struct.pack("<q", 2))
    assert call(t, "sendfile", dst, src, offp, 4) == 4
    assert t.mem.read_u64(offp) == 6
    assert call(t, "copy_file_range", src, 0, dst, 0, 3, 0) == 3      # from src's offset 0
    assert (root / "tmp" / "dst").read_bytes() == b"2345012"
    assert call(t, "copy_file_range", src, 0, dst, 0, 3, 1) == -errno.EINVAL
    call(t, "close", src)
    call(t, "close", dst)


def test_pipes_and_ioctls(env):
    t, _, _ = env
    fds = t.alloc(8)
    assert call(t, "pipe2", fds, O_CLOEXEC | O_NONBLOCK) == 0
    r, w = struct.unpack("<ii", t.get(fds, 8))
    assert call(t, "fcntl", r, 1, 0) == 1
    buf = t.alloc(16)
    assert call(t, "read", r, buf, 16) == -errno.EAGAIN
    assert call(t, "write", w, t.put(b"12345"), 5) == 5
    assert call(t, "ioctl", r, 0x541B, buf) == 0 and t.mem.read_u32(buf) == 5    # FIONREAD
    assert call(t, "ioctl", r, 0x5401, buf) == -errno.ENOTTY                     # TCGETS
    assert call(t, "ioctl", r, 0x12345678, buf) == -errno.ENOTTY
    t.mem.write_u32(buf, 0)
    assert call(t, "ioctl", r, 0x5421, buf) == 0                                 # FIONBIO off
    assert os.get_blocking(r)
    assert call(t, "pipe2", fds, 0o1) == -errno.EINVAL
    for fd in (r, w):
        call(t, "close", fd)
    fd = openat(t, b"/etc/passwd")
    assert call(t, "ioctl", fd, 0x5401, buf) == -errno.ENOTTY
    assert call(t, "ioctl", fd, 0x5413, buf) == -errno.ENOTTY
    call(t, "close", fd)


def test_terminal_ioctls_on_a_pty(env, monkeypatch):
    t, _, _ = env
    # whether a background process may change the terminal is the broker's question
    # (tests/test_terminal.py); here there is no broker, and the answer is yes
    monkeypatch.setattr(sys_tty, "_ask", lambda *a: P.TtyReply(0, ""))
    monkeypatch.setattr(t, "sig", SignalState(), raising=False)
    master, slave = os.openpty()
    try:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("<HHHH", 33, 101, 0, 0))
        buf = t.alloc(64)
        assert call(t, "ioctl", slave, 0x5413, buf) == 0
        assert struct.unpack("<HHHH", t.get(buf, 8)) == (33, 101, 0, 0)
        assert call(t, "ioctl", slave, 0x5401, buf) == 0                          # TCGETS
        iflag, oflag, cflag, lflag = struct.unpack_from("<IIII", t.get(buf, 36))
        host = termios.tcgetattr(slave)
        assert [iflag, oflag, cflag, lflag] == host[:4]
        raw = bytearray(t.get(buf, 36))
        struct.pack_into("<I", raw, 12, lflag & ~termios.ECHO)
        t.mem.write(buf, bytes(raw))
        assert call(t, "ioctl", slave, 0x5402, buf) == 0                          # TCSETS
        assert not termios.tcgetattr(slave)[3] & termios.ECHO
        ws = t.put(struct.pack("<HHHH", 50, 132, 0, 0))
        assert call(t, "ioctl", slave, 0x5414, ws) == 0                           # TIOCSWINSZ
        assert struct.unpack("<HHHH", fcntl.ioctl(master, termios.TIOCGWINSZ, bytes(8)))[:2] == \
            (50, 132)
    finally:
        os.close(master)
        os.close(slave)


def test_guest_openat2(env):
    t, _, _ = env
    how = t.put(struct.pack("<QQQ", O_RDONLY, 0, 0x08))            # RESOLVE_BENEATH
    d = openat(t, b"/sub", O_RDONLY | O_DIRECTORY)
    assert call(t, "openat2", d, t.put(b"../secret"), how, 24) == -errno.EXDEV
    assert call(t, "openat2", d, t.put(b"deep"), how, 24) >= 0
    plain = t.put(struct.pack("<QQQ", O_RDONLY, 0, 0))
    fd = call(t, "openat2", AT_FDCWD, t.put(b"/secret"), plain, 24)
    assert read_all(t, fd) == b"rootfs secret\n"
    bad = t.put(struct.pack("<QQQ", O_RDONLY, 0o644, 0))            # mode without O_CREAT
    assert call(t, "openat2", AT_FDCWD, t.put(b"/secret"), bad, 24) == -errno.EINVAL
    call(t, "close", fd)
    call(t, "close", d)
