"""Rootfs confinement on the host side (RootFS, FsContext), and the guest structure layouts.

No guest path reaches outside the rootfs; the layouts and flag values the
file syscalls pack are checked against what aarch64 C code compiled with
Debian's cross compiler sees (run under qemu-aarch64), when those are there.
"""
import errno
import fcntl
import os
import shutil
import stat
import subprocess

import pytest

from mkemu.fs.context import FsContext
from mkemu.fs.ostrans import open_flags_to_guest, open_flags_to_host
from mkemu.fs.rootfs import O_PATH, RootFS, normalize, split_last
from mkemu.fs.structs import (Stat, pack_dirent64, pack_stat, pack_statx, iter_dirents64,
                              unpack_statx)


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "inside").write_text("inside\n")
    (tmp_path / "outside").write_text("outside\n")
    os.symlink("/etc", r / "abs-etc")                        # absolute: means the rootfs /etc
    os.symlink("../../../../outside", r / "etc" / "rel-up")   # climbs past the root
    os.symlink(str(tmp_path / "outside"), r / "host-abs")     # a host absolute path
    fs = RootFS(str(r))
    yield fs, tmp_path
    fs.close()


def read(fs, path: bytes) -> bytes:
    fd = fs.openat2(path, os.O_RDONLY)
    try:
        return os.read(fd, 100)
    finally:
        os.close(fd)


def test_dotdot_at_the_root_stays_there(root):
    fs, _ = root
    assert read(fs, b"/../../../../etc/inside") == b"inside\n"


def test_absolute_symlink_resolves_inside(root):
    fs, _ = root
    assert read(fs, b"/abs-etc/inside") == b"inside\n"


def test_relative_symlink_cannot_climb_out(root):
    fs, _ = root
    with pytest.raises(OSError):
        read(fs, b"/etc/rel-up")


def test_symlink_to_host_path_is_taken_inside(root):
    fs, tmp = root
    with pytest.raises(FileNotFoundError):
        read(fs, b"/host-abs")


def test_magic_links_are_refused(root):
    fs, _ = root
    with pytest.raises(OSError):
        read(fs, b"/proc/self/root/etc/passwd")


def test_guest_path_of_fd(root):
    fs, _ = root
    fd = fs.openat2(b"/etc/../etc/inside", O_PATH)
    try:
        assert fs.guest_path_of_fd(fd) == b"/etc/inside"
    finally:
        os.close(fd)
    outside = os.open("/", O_PATH)
    try:
        assert fs.guest_path_of_fd(outside) is None
    finally:
        os.close(outside)


def test_root_descriptor_is_high_and_reported(root):
    fs, _ = root
    assert fs.root_fd >= 1024 and fs.reserved_fds == [fs.root_fd]
    assert fcntl.fcntl(fs.root_fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC


def test_open_adds_no_cloexec(root):
    fs, _ = root
    fd = fs.open(b"/etc/inside", os.O_RDONLY)
    try:
        assert fcntl.fcntl(fd, fcntl.F_GETFD) == 0
    finally:
        os.close(fd)


def test_open_parent(root):
    fs, _ = root
    for path, name in [(b"/etc/inside", b"inside"), (b"/etc/", b"etc"), (b"/", b"."),
                       (b"/etc/..", b".")]:
        fd, got = fs.open_parent(path)
        os.close(fd)
        assert got == name, path
    assert split_last(b"/a/b//") == (b"/a", b"b")
    assert normalize(b"//a/./b/../c/") == b"/a/c"


def test_bind_mount(root, tmp_path):
    fs, _ = root
    host = tmp_path / "shared"
    host.mkdir()
    (host / "data").write_text("shared\n")
    os.symlink("/../../..", host / "up")
    fd = fs.bind(b"/mnt/shared", str(host))
    assert fd in fs.reserved_fds and fd >= 1024
    assert read(fs, b"/mnt/shared/data") == b"shared\n"
    assert read(fs, b"/mnt/shared/up/data") == b"shared\n"          # stops at the mount's top
    assert read(fs, b"/mnt/shared/../../etc/inside") == b"inside\n"  # `..` leaves the mount
    assert read(fs, b"/etc/inside") == b"inside\n"
    f = fs.open(b"/mnt/shared/data", os.O_RDONLY)
    try:
        assert fs.guest_path_of_fd(f) == b"/mnt/shared/data"
    finally:
        os.close(f)


def test_inspect_follows_no_symlink(root):
    fs, tmp = root
    mode, target = fs.inspect(b"/abs-etc")                      # the last name: reported
    assert stat.S_ISLNK(mode) and target == b"/etc"
    assert fs.inspect(b"/etc/inside") == (os.stat(tmp / "root" / "etc" / "inside").st_mode, None)
    for path, code in [(b"/abs-etc/inside", errno.ELOOP),        # one on the way: refused
                       (b"/etc/none", errno.ENOENT), (b"/etc/inside/x", errno.ENOTDIR)]:
        with pytest.raises(OSError) as e:
            fs.inspect(path)
        assert e.value.errno == code, path


def test_mount_of(root, tmp_path):
    fs, _ = root
    (tmp_path / "shared").mkdir()
    fs.bind(b"/mnt/shared", str(tmp_path / "shared"))
    assert [fs.mount_of(p).guest for p in (b"/mnt/shared", b"/mnt/shared/x", b"/mnt/sharedx",
                                           b"/mnt", b"/")] == \
        [b"/mnt/shared", b"/mnt/shared", b"/", b"/", b"/"]


def test_context(root):
    fs, _ = root
    ctx = FsContext(fs)
    assert ctx.absolute(b"x") == b"/x"
    ctx.chdir(b"/abs-etc")
    assert ctx.cwd == b"/etc"
    assert ctx.absolute(b"inside") == b"/etc/inside"
    assert ctx.absolute(b"x", b"/a/") == b"/a/x"
    child = ctx.copy()
    child.cwd = b"/"
    assert ctx.cwd == b"/etc" and child.root is ctx.root
    with pytest.raises(NotADirectoryError):
        ctx.chdir(b"/etc/inside")


# ---- guest structure layouts and flag values, against aarch64 C -------------------------------
LAYOUT_C = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <asm/termbits.h>
#include <asm/ioctls.h>
#include <linux/stat.h>
#define F(s, m) printf(#s "." #m " %zu\n", offsetof(struct s, m))
#define Z(s) printf("sizeof." #s " %zu\n", sizeof(struct s))
#define C(n) printf("const." #n " %ld\n", (long)(n))
int main(void) {
  Z(stat); F(stat, st_dev); F(stat, st_ino); F(stat, st_mode); F(stat, st_nlink); F(stat, st_uid);
  F(stat, st_gid); F(stat, st_rdev); F(stat, st_size); F(stat, st_blksize); F(stat, st_blocks);
  F(stat, st_atim); F(stat, st_mtim); F(stat, st_ctim);
  Z(statx); F(statx, stx_blksize); F(statx, stx_nlink); F(statx, stx_mode); F(statx, stx_ino);
  F(statx, stx_size); F(statx, stx_blocks); F(statx, stx_atime); F(statx, stx_btime);
  F(statx, stx_ctime); F(statx, stx_mtime); F(statx, stx_rdev_major); F(statx, stx_dev_major);
  Z(termios);
  C(O_DIRECTORY); C(O_NOFOLLOW); C(O_DIRECT); C(O_CLOEXEC); C(O_PATH); C(O_TMPFILE);
  C(O_NONBLOCK); C(O_APPEND); C(O_SYNC); C(O_DSYNC); C(O_NOATIME); C(O_NOCTTY); C(O_ASYNC);
  return 0;
}
"""


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    gcc, qemu = shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64")
    if not gcc or not qemu:
        pytest.skip("aarch64 cross compiler or qemu-aarch64 not installed")
    d = tmp_path_factory.mktemp("layout")
    (d / "layout.c").write_text(LAYOUT_C)
    subprocess.run([gcc, "-static", "-O0", "-o", str(d / "layout"), str(d / "layout.c")], check=True)
    out = subprocess.run([qemu, str(d / "layout")], check=True, capture_output=True, text=True)
    return {k: int(v) for k, v in (line.split() for line in out.stdout.splitlines())}


MARKS = Stat(dev=0x1111, ino=0x2222, mode=0o100644, nlink=0x33, uid=0x44, gid=0x55, rdev=0x6666,
             size=0x7777, blksize=0x888, blocks=0x999, atime_ns=10 * 10**9 + 1,
             mtime_ns=20 * 10**9 + 2, ctime_ns=30 * 10**9 + 3, btime_ns=40 * 10**9 + 4,
             mask=0xFFF)


def _at(raw: bytes, off: int, size: int) -> int:
    return int.from_bytes(raw[off:off + size], "little")


def test_struct_stat_layout(layout):
    raw = pack_stat(MARKS)
    assert len(raw) == layout["sizeof.stat"] == 128
    for field, size, want in [("st_dev", 8, 0x1111), ("st_ino", 8, 0x2222), ("st_mode", 4, 0o100644),
                              ("st_nlink", 4, 0x33), ("st_uid", 4, 0x44), ("st_gid", 4, 0x55),
                              ("st_rdev", 8, 0x6666), ("st_size", 8, 0x7777),
                              ("st_blksize", 4, 0x888), ("st_blocks", 8, 0x999)]:
        assert _at(raw, layout[f"stat.{field}"], size) == want, field
    for field, sec in [("st_atim", 10), ("st_mtim", 20), ("st_ctim", 30)]:
        off = layout[f"stat.{field}"]
        assert (_at(raw, off, 8), _at(raw, off + 8, 8)) == (sec, sec // 10), field


def test_struct_statx_layout(layout):
    raw = pack_statx(MARKS)
    assert len(raw) == layout["sizeof.statx"] == 256
    for field, size, want in [("stx_blksize", 4, 0x888), ("stx_nlink", 4, 0x33),
                              ("stx_mode", 2, 0o100644), ("stx_ino", 8, 0x2222),
                              ("stx_size", 8, 0x7777), ("stx_blocks", 8, 0x999),
                              ("stx_rdev_major", 4, os.major(0x6666)),
                              ("stx_dev_major", 4, os.major(0x1111))]:
        assert _at(raw, layout[f"statx.{field}"], size) == want, field
    for field, sec in [("stx_atime", 10), ("stx_btime", 40), ("stx_ctime", 30), ("stx_mtime", 20)]:
        off = layout[f"statx.{field}"]
        assert (_at(raw, off, 8), _at(raw, off + 8, 4)) == (sec, sec // 10), field
    assert unpack_statx(raw) == MARKS
    assert layout["sizeof.termios"] == 36


def test_open_flags_translate(layout):
    names = ["O_DIRECTORY", "O_NOFOLLOW", "O_DIRECT", "O_CLOEXEC", "O_PATH", "O_TMPFILE",
             "O_NONBLOCK", "O_APPEND", "O_SYNC", "O_DSYNC", "O_NOATIME", "O_NOCTTY", "O_ASYNC"]
    for name in names:
        guest, host = layout[f"const.{name}"], getattr(os, name)
        assert open_flags_to_host(guest) == host, name
        assert open_flags_to_guest(host) == guest, name
    assert open_flags_to_host(0o400000) == 0o100000          # O_LARGEFILE (kernel values)
    assert open_flags_to_guest(0o100000 | os.O_RDWR) == 0o400000 | os.O_RDWR
    everything = sum(layout[f"const.{n}"] for n in names) | 0o400000 | 3
    assert open_flags_to_guest(open_flags_to_host(everything)) == everything


def test_dirent64_roundtrip():
    buf = pack_dirent64(7, 1, 8, b"a") + pack_dirent64(9, 2, 4, b"longer-name")
    assert len(buf) % 8 == 0
    assert [(ino, off, typ, name) for _, _, ino, off, typ, name in iter_dirents64(buf)] == \
        [(7, 1, 8, b"a"), (9, 2, 4, b"longer-name")]
