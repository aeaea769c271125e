"""The file calls against Linux: tests/guest/files_*.c.

qemu-aarch64 7.2 lacks fchmodat2, RWF_* flags, RESOLVE_* handling and the
newer seals, so the reference is the same C source built for this host and
run natively (Linux itself answers); files_locks also compares with qemu.
Each program runs in a fresh empty directory of the rootfs's /tmp (mkemu gets
its guest path, the native build its host path) and prints nothing that
depends on where it runs.  Lines starting "known:" are a deviation from Linux
that this branch does not fix (the test of it is an expected failure).
"""
from __future__ import annotations

import shutil
import uuid

import pytest

from tests.support.guestbin import host_binary
from tests.support.guestrun import run_command, run_mkemu, run_qemu


@pytest.fixture
def scratch(rootfs):
    """scratch() -> (guest path, host path) of a fresh directory in the rootfs's /tmp."""
    made = []

    def make():
        name = f"files-{uuid.uuid4().hex[:10]}"
        host = rootfs / "tmp" / name
        host.mkdir()
        made.append(host)
        return f"/tmp/{name}", host
    yield make
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


def _split(out: bytes) -> tuple[list[bytes], list[bytes]]:
    lines = out.splitlines()
    return ([x for x in lines if not x.startswith(b"known:")],
            [x for x in lines if x.startswith(b"known:")])


def _mkemu_and_linux(name, rootfs, guest_binary, scratch):
    guest, _ = scratch()
    _, native_dir = scratch()
    mc, mo, me = run_mkemu([guest_binary(name), guest], rootfs=rootfs)
    hc, ho, he = run_command([str(host_binary(name)), str(native_dir)], signal_as_status=True)
    err = me.decode(errors="replace")[-3000:]
    assert hc == 0, he.decode(errors="replace")
    assert mc == hc, err
    return mo, ho, err


def _like_linux(name, rootfs, guest_binary, scratch) -> str:
    mo, ho, err = _mkemu_and_linux(name, rootfs, guest_binary, scratch)
    assert _split(mo)[0] == _split(ho)[0], err
    return mo.decode()


def test_at_calls_with_empty_paths_access_chmod_statx_rename_tmpfile_like_linux(
        rootfs, guest_binary, scratch):
    out = _like_linux("files_at", rootfs, guest_binary, scratch)
    # what the comparison rests on, spelled out
    assert "fstatat(O_PATH link, \"\", AT_EMPTY_PATH): lnk" in out
    assert "linkat(fd, \"\", \"f2\", AT_EMPTY_PATH) = 0\n  f2: reg mode 644 size 5 nlink 2" in out
    assert "fchmodat2(\"l\", 0600, NOFOLLOW) = -1 EOPNOTSUPP" in out
    assert "fchmodat2(O_PATH fd, \"\", 0444, AT_EMPTY_PATH) = 0\n  f: reg mode 444" in out
    assert "statx mask 0: mask basic 0" in out
    assert "renameat2(c, b, EXCHANGE) = 0\n  c: B\n  b: A" in out
    assert "linkat(/proc/self/fd/N, FOLLOW) = 0\n  tmp2: tmp2" in out
    assert "linkat(/proc/self/fd/N, 0) = -1 EXDEV" in out
    assert "fallocate(PUNCH_HOLE|KEEP_SIZE) = 0\n  hole reads 0 0, after it x\n  size 20000" in out
    assert "statfs(\"/proc\") = 0\n  proc magic 1" in out
    assert "fstatfs(/proc fd) = 0\n  proc magic 1" in out
    assert "/dev: null=c zero=c urandom=c tty=c fd=l stdin=l pts=d" in out
    assert "/proc: self=l thread-self=l cpuinfo=f meminfo=f sys=d" in out


def test_openat2_how_checks_and_resolve_flags_like_linux(rootfs, guest_binary, scratch):
    out = _like_linux("files_openat2", rootfs, guest_binary, scratch)
    assert "size 8192: E2BIG" in out and "size 32, non-zero tail: E2BIG" in out
    assert "BENEATH ../top: EXDEV" in out and "BENEATH rel-out: EXDEV" in out
    assert "made outside sub: 0" in out
    assert "IN_ROOT ../../../inside: \"inside file\"" in out
    assert "NO_MAGICLINKS /proc/self/fd/N: ELOOP" in out
    assert "NO_XDEV /proc/self/status: EXDEV" in out
    assert "/proc/self dirfd: BENEATH cwd: EXDEV" in out


def test_sendfile_copy_file_range_splice_tee_vmsplice_preadv2_like_linux(
        rootfs, guest_binary, scratch):
    out = _like_linux("files_io", rootfs, guest_binary, scratch)
    assert "splice(file &3 -> pipe, 5) = 5\n  off 8, src pos 0" in out
    assert "vmsplice(pipe -> iov) = 7\n  got \"vm\" \"splic\"" in out
    assert "pwritev2(off 0, RWF_APPEND) = 2\n  rw: \"AB23AB6789AB\" pos 6" in out
    assert "preadv2(off -1) = 6\n  \"456\" \"789\" pos 10" in out


def test_record_locks_and_flock_between_processes_like_linux_and_qemu(
        rootfs, guest_binary, scratch):
    out = _like_linux("files_locks", rootfs, guest_binary, scratch)
    _, qemu_dir = scratch()
    qc, qo, qe = run_qemu([guest_binary("files_locks"), str(qemu_dir)], rootfs=rootfs)
    assert (qc, qo.decode()) == (0, out), qe.decode(errors="replace")
    assert "child F_GETLK write [0,100): F_WRLCK start 0 len 4 pid parent" in out
    assert "child F_OFD_GETLK write [8,10): F_WRLCK start 8 len 2 pid -1" in out
    assert "child F_SETLKW write [0,4) = 0" in out and "child status 0" in out


def test_memfd_seals_and_big_noreserve_reservations_like_linux(rootfs, guest_binary, scratch):
    out = _like_linux("files_mem", rootfs, guest_binary, scratch)
    assert "F_GET_SEALS = 8\nwrite = -1 EPERM\npwrite = -1 EPERM" in out
    assert "mmap PROT_WRITE MAP_SHARED: EPERM\nmmap PROT_WRITE MAP_PRIVATE: mapped" in out
    assert "pwrite past the end = -1 EPERM" in out
    assert "disjoint: 1\nboth ends: 1 2 3 4 middle 5" in out
    assert "top of c: 7" in out


def test_read_only_maps_of_sealed_memfds_like_linux(rootfs, guest_binary, scratch):
    mo, ho, err = _mkemu_and_linux("files_mem", rootfs, guest_binary, scratch)
    assert _split(mo)[1] == _split(ho)[1], err


def test_inotify_watches_events_and_names_like_linux_and_qemu(rootfs, guest_binary, scratch):
    out = _like_linux("files_inotify", rootfs, guest_binary, scratch)
    _, qemu_dir = scratch()
    qc, qo, qe = run_qemu([guest_binary("files_inotify"), str(qemu_dir)], rootfs=rootfs)
    assert (qc, qo.decode()) == (0, out), qe.decode(errors="replace")
    assert "wds: dir 1 file 2 link 3\nthe same file again: same wd 1" in out
    assert '  wd dir mask MOVED_TO ISDIR cookie set name "sub2"' in out
    assert '  wd link mask ATTRIB cookie 0 name ""' in out          # IN_DONT_FOLLOW: the link
    assert 'after rm_watch and unlink:\n  wd file mask IGNORED' in out
