"""The test infrastructure itself: the rootfs, the guest fixtures, the runners.

Most tests here run the guest fixtures under qemu-aarch64, the reference the
other tests compare mkemu with: if one of these fails, the reference (or the
toolchain) is broken, not mkemu.  A group runs every fixture under mkemu too
and compares the two outputs; the last one shows that each leak check fires.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support import leaks
from tests.support.guestbin import all_guest_sources, guest_binary
from tests.support.guestrun import (GUEST_ENV, descendants, run_command, run_mkemu,
                                    run_qemu)
from tests.support.rootfs import busybox_rootfs, glibc_rootfs

ROOT = Path(__file__).resolve().parent.parent


# ---- rootfs -----------------------------------------------------------------

def test_busybox_rootfs_layout(rootfs):
    assert rootfs == busybox_rootfs()                    # cached: same tree every call
    assert (rootfs / "bin" / "busybox").stat().st_size > 500_000
    for d in ("tmp", "root", "dev", "proc", "etc"):
        assert (rootfs / d).is_dir(), d
    assert (rootfs / "tmp").stat().st_mode & 0o1777 == 0o1777
    assert (rootfs / "etc" / "passwd").read_text().startswith("root:x:0:0:")
    assert (rootfs / "etc" / "group").read_text().startswith("root:x:0:")
    assert (rootfs / "etc" / "hostname").read_text() == "mkemu-guest\n"
    assert not list((rootfs / "dev").iterdir()) and not list((rootfs / "proc").iterdir())
    head = (rootfs / "bin" / "busybox").read_bytes()[:20]
    assert head[:4] == b"\x7fELF" and head[18] == 183    # EM_AARCH64


def test_glibc_rootfs_has_the_dynamic_loader():
    root = glibc_rootfs()
    assert (root / "lib" / "ld-linux-aarch64.so.1").exists()
    assert (root / "bin" / "busybox").exists()


def test_rootfs_builds_concurrently_in_a_fresh_cache(tmp_path):
    # four processes ask for the rootfs at once in an empty cache: one builds, all agree
    env = {**os.environ, "MKEMU_CACHE": str(tmp_path)}
    debs = busybox_rootfs().parent.parent / "debs"       # reuse the downloaded .deb
    if debs.is_dir():
        os.symlink(debs, tmp_path / "debs")
    code = "from tests.support.rootfs import busybox_rootfs; print(busybox_rootfs())"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=ROOT) for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    assert len({o for o, _ in outs}) == 1
    built = tmp_path / "rootfs" / "busybox"
    assert (built / "bin" / "busybox").exists()
    assert sorted(p.name for p in (tmp_path / "rootfs").iterdir()
                  if not p.name.startswith(".")) == ["busybox", "busybox.stamp"]


# ---- guest binaries -----------------------------------------------------------

def test_guest_binaries_are_cached_and_aarch64():
    a = guest_binary("hello")
    b = guest_binary("hello")
    assert a == b and a.exists()
    head = a.read_bytes()[:20]
    assert head[:4] == b"\x7fELF" and head[18] == 183
    assert guest_binary("hello", kind="static-pie") != a


def test_every_fixture_compiles():
    for name in all_guest_sources():
        for kind in ("static", "static-pie"):
            assert guest_binary(name, kind=kind).exists()


def test_unknown_fixture_and_kind_are_clear_errors():
    with pytest.raises(FileNotFoundError):
        guest_binary("no-such-fixture")
    with pytest.raises(ValueError):
        guest_binary("hello", kind="shared-object")


# ---- runners --------------------------------------------------------------------

def test_timeout_kills_the_whole_group():
    marker = f"mkemu-infra-{uuid.uuid4().hex[:8]}"
    t0 = time.monotonic()
    with pytest.raises(AssertionError, match="timed out"):
        run_command(["sh", "-c", f"sleep 300 & exec -a {marker} sleep 301"], timeout=1)
    assert time.monotonic() - t0 < 30
    time.sleep(0.2)
    assert not [p for p in descendants(os.getpid())
                if os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split()[2] != "Z"]


def test_qemu_reports_signals_as_shell_statuses(rootfs):
    code, out, _ = run_qemu([guest_binary("nullderef")], rootfs=rootfs)
    assert (code, out) == (128 + signal.SIGSEGV, b"about to fault\n")
    code, _, _ = run_qemu([guest_binary("undef")], rootfs=rootfs)
    assert code == 128 + signal.SIGILL


def test_qemu_guest_environment_is_mkemus_default(rootfs):
    code, out, _ = run_qemu([rootfs / "bin/busybox", "env"], rootfs=rootfs, guest_env={"GUEST_A": "1"})
    assert code == 0
    assert sorted(out.decode().splitlines()) == sorted(
        [f"{k}={v}" for k, v in GUEST_ENV.items()] + ["GUEST_A=1"])


# ---- the fixtures under qemu (the reference) --------------------------------------

def test_hello(rootfs):
    code, out, _ = run_qemu([guest_binary("hello")], rootfs=rootfs)
    assert code == 0
    assert out.startswith(b"hello from aarch64: argc=1 strlen=1000\n")
    assert b"harmonic(1000)=7.485470860550" in out


@pytest.mark.parametrize("n", [0, 1, 77, 255])
def test_exitcode(rootfs, n):
    assert run_qemu([guest_binary("exitcode"), n], rootfs=rootfs)[0] == n


def test_stdin_echo(rootfs):
    data = os.urandom(300_000)
    code, out, err = run_qemu([guest_binary("stdin_echo")], rootfs=rootfs, stdin=data)
    assert (code, out, err) == (0, data, b"stdin_echo: 300000 bytes\n")


@pytest.mark.parametrize("kind", ["static", "static-pie"])
def test_args_env(rootfs, kind):
    code, out, _ = run_qemu([guest_binary("args_env", kind=kind), "one", "two words", ""],
                            rootfs=rootfs, guest_env={"GUEST_X": "a=b"})
    assert code == 0
    lines = out.decode().splitlines()
    assert lines[:5] == ["argc=4", f"argv[0]={guest_binary('args_env', kind=kind)}",
                         "argv[1]=one", "argv[2]=two words", "argv[3]="]
    for want in ("argv[argc]=null", "env GUEST_X=a=b", "AT_PAGESZ=4096", "AT_HWCAP_FP=1",
                 "AT_HWCAP_ASIMD=1", "AT_RANDOM_set=1", "AT_RANDOM_readable=1", "AT_EXECFN_set=1",
                 f"AT_EXECFN_base={guest_binary('args_env', kind=kind).name}", "AT_SECURE=0"):
        assert want in lines, want


def test_args_env_dynamic(glibc_rootfs):
    code, out, err = run_qemu([guest_binary("args_env", kind="dynamic"), "dyn"], rootfs=glibc_rootfs)
    assert code == 0, err
    assert b"argv[1]=dyn\n" in out and b"AT_PAGESZ=4096\n" in out


def test_files(rootfs, tmp_path):
    # qemu works on host paths: the scratch directory is a host one
    code, out, err = run_qemu([guest_binary("files"), tmp_path / "scratch"], rootfs=rootfs)
    assert code == 0, err
    lines = out.decode().splitlines()
    for want in ("mkdirat = 0", "mkdirat again = -1 EEXIST", "getcwd ends with dir name: 1",
                 "pread data: HELLO world", "readv data: [wor][ld", "lseek hole = 122",
                 "size=123 mode=640 nlink=1 reg=1", "truncated size=5", "close again = -1 EBADF",
                 "readlinkat: a.txt", "is link: 1 size=5", "followed is reg: 1 size=5",
                 "statx size=5 mode=640 nlink=1 mask_has_size=1", "statx dir: 1",
                 "nlink after link: 2", "faccessat gone = -1 ENOENT", "chmod mode=600",
                 "atime=1000000000.000000005 mtime=1234567890.123456789",
                 "getdents64: ..:d .:d a.txt:f link:l renamed:f sub:d",
                 "getdents64 sub: ..:d .:d x:f", "unlinkat dir not empty = -1 ENOTEMPTY",
                 "unlinkat file as dir = -1 ENOTDIR", "unlinkat dir as file = -1 EISDIR",
                 "readdir entries=5 dirs=2", "rmdir = 0", "rmdir again = -1 ENOENT"):
        assert want in lines, want
    assert not (tmp_path / "scratch").exists()


MMAP_EXPECTED = """\
page size: 4096
mmap ok: 1 aligned: 1 zero: 1
munmap middle: 0
munmap unaligned: -1 errno EINVAL: 1
munmap length 0: -1 errno EINVAL: 1
munmap hole again: 0
mprotect hole: -1 errno ENOMEM: 1
fixed at hole: 1 fresh zero: 1
fixed over mapping replaces: 1 zero: 1 neighbours kept: 1
noreplace did not replace: 1
noreplace into a hole: 1 zero: 1
mprotect ro: 0
still readable: 1
mprotect unaligned: -1 errno EINVAL: 1
mprotect none then rw: 0 0 data kept: 1
brk grow: 1
brk memory zero: 1
brk shrink: 1
brk regrow zero: 1
mremap grow: 1 data: moved data second page: 1 new zero: 1
mremap shrink in place: 1 data: moved data
mremap grow in place (may fail ENOMEM): 1
64 GiB reservation: 1
mprotect part rw: 0
touch: 42
munmap all: 0
high hint honoured: 1
mmap bad flags: 1 errno EINVAL: 1
munmap rest: 0
"""


def test_mmap(rootfs):
    code, out, err = run_qemu([guest_binary("mmap_test")], rootfs=rootfs)
    assert code == 0, err
    # qemu 7.2 treats MAP_FIXED_NOREPLACE as a hint: its "strict:" line says 0
    lines = [line for line in out.decode().splitlines() if not line.startswith("strict:")]
    assert lines == MMAP_EXPECTED.splitlines()


def test_fp_simd(rootfs):
    code, out, err = run_qemu([guest_binary("fp_simd")], rootfs=rootfs)
    assert code == 0, err
    lines = out.decode().splitlines()
    assert "sqrt=1.7320508075688772 fma=-5.5511151231257827e-17" in lines
    assert "inf=inf nan=nan -0=-0 tiny=1.4822e-323 huge=inf" in lines   # Arm's default NaN is positive
    assert "strcmp=1 strncmp=0 strrchr=ox strstr=brown fox" in lines
    assert any(line.startswith("mem/str checksum=") for line in lines)


def test_escape_runs(rootfs):
    # qemu does not confine the guest (it does escape); this only checks the fixture runs
    code, out, err = run_qemu([guest_binary("escape")], rootfs=rootfs)
    assert code == 0, err
    assert out.startswith(b"hostname: read \"mkemu-guest\"\n")


# ---- every fixture: mkemu against the reference --------------------------------------

def _run_both(rootfs, name, args=(), stdin=b"", mk_args=None, guest_env=None):
    prog = guest_binary(name)
    q = run_qemu([prog, *args], rootfs=rootfs, stdin=stdin, guest_env=guest_env)
    m = run_mkemu([prog, *(args if mk_args is None else mk_args)], rootfs=rootfs, stdin=stdin,
                  guest_env=guest_env)
    return q, m


@pytest.mark.parametrize("name,args", [("hello", ["x"]), ("exitcode", ["42"]), ("fp_simd", [])])
def test_mkemu_matches_qemu(rootfs, name, args):
    (qc, qo, _), (mc, mo, me) = _run_both(rootfs, name, args)
    assert (mc, mo) == (qc, qo), me.decode(errors="replace")[-3000:]


def test_mkemu_matches_qemu_args_env(rootfs):
    env = {"GUEST_ONE": "1", "GUEST_TWO": "x y"}
    (qc, qo, _), (mc, mo, me) = _run_both(rootfs, "args_env", ["a", "b c"], guest_env=env)
    assert (mc, mo) == (qc, qo), me.decode(errors="replace")[-3000:]


def test_mkemu_matches_qemu_stdin_echo(rootfs):
    data = os.urandom(100_000)
    (qc, qo, qe), (mc, mo, me) = _run_both(rootfs, "stdin_echo", stdin=data)
    assert (mc, mo, me) == (qc, qo, qe) == (0, data, b"stdin_echo: 100000 bytes\n")


def test_mkemu_matches_qemu_files(rootfs, tmp_path):
    guest_dir = f"/tmp/files-{uuid.uuid4().hex[:10]}"
    (qc, qo, _), (mc, mo, me) = _run_both(rootfs, "files", [tmp_path / "scratch"], mk_args=[guest_dir])
    assert (mc, mo) == (qc, qo), me.decode(errors="replace")[-3000:]
    assert not (rootfs / guest_dir.lstrip("/")).exists()


def test_mkemu_matches_qemu_mmap(rootfs):
    (qc, qo, _), (mc, mo, me) = _run_both(rootfs, "mmap_test")
    strip = lambda out: [l for l in out.splitlines() if not l.startswith(b"strict:")]  # noqa: E731
    assert (mc, strip(mo)) == (qc, strip(qo)), me.decode(errors="replace")[-3000:]
    assert b"strict: noreplace fails with EEXIST: 1\n" in mo         # as Linux >= 4.17


def test_mkemu_escape_is_confined(rootfs):
    code, out, err = run_mkemu([guest_binary("escape")], rootfs=rootfs)
    assert code == 0, err
    text = out.decode()
    assert "ESCAPED" not in text
    for line in text.splitlines():
        if ": read " in line:
            assert line.split(": read ", 1)[1] in ('"mkemu-guest"', '"root:x:0:0:root:/root:/bin/sh"'), line


@pytest.mark.parametrize("kind", ["static-pie", "dynamic"])
def test_mkemu_matches_qemu_other_link_kinds(glibc_rootfs, kind):
    prog = guest_binary("args_env", kind=kind)
    q = run_qemu([prog, "k"], rootfs=glibc_rootfs)
    m = run_mkemu([prog, "k"], rootfs=glibc_rootfs)
    assert m[:2] == q[:2], m[2].decode(errors="replace")[-3000:]


# ---- the leak check fires (tests/support/leaks.py, run by conftest at session end) ----

ORPHAN = """\
import os, sys, time
if os.fork() == 0:            # the grandchild outlives its parent: re-parented, no descendant
    os.setsid()
    print(os.getpid(), flush=True)
    os.close(1)
    time.sleep(120)
"""


def test_leak_check_reports_processes_left_behind():
    token = f"leak-test-{uuid.uuid4().hex[:8]}"
    env_token = f"MKEMU_TEST_SESSION={token}"
    sysv = leaks.sysv_objects()
    child = subprocess.Popen(["sleep", "120"])
    starter = subprocess.run([sys.executable, "-c", ORPHAN], stdout=subprocess.PIPE, timeout=60,
                             env={**os.environ, "MKEMU_TEST_SESSION": token})
    orphan = int(starter.stdout)
    try:
        report = "\n".join(leaks.left_behind(os.getpid(), env_token, sysv))
        assert f"process {child.pid} (sleep 120)" in report          # a descendant
        assert f"process {orphan} (" in report                       # found by its token
    finally:
        child.kill()
        child.wait()
        os.kill(orphan, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while leaks.leftover_processes(os.getpid(), env_token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not leaks.leftover_processes(os.getpid(), env_token)


LEAKER = """\
import mmap, os, socket, sys
fd = os.memfd_create("mkemu-leak-fd")
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
mapped = os.memfd_create("mkemu-leak-mapped")
os.ftruncate(mapped, 4096)
view = mmap.mmap(mapped, 4096)
os.close(mapped)                           # held by the mapping alone
print("leaked", flush=True)
sys.stdin.readline()
"""


def test_leak_check_reports_memfds_and_sockets_held():
    p = subprocess.Popen([sys.executable, "-c", LEAKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"leaked\n"
        report = leaks.left_behind(os.getpid(), "MKEMU_TEST_SESSION=none", leaks.sysv_objects())
        line = next(line for line in report if line.startswith(f"process {p.pid} ("))
        held = line.split(" holding ", 1)[1].split(", ")
        assert sum(h.startswith("memfd:mkemu-leak-fd inode ") for h in held) == 1, line
        assert sum(h.startswith("memfd:mkemu-leak-mapped inode ") for h in held) == 1, line
        assert sum(h.startswith("socket inode ") for h in held) == 2, line
    finally:
        p.kill()
        p.wait()


SYSV_LEAKER = """\
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
IPC_PRIVATE, IPC_CREAT = 0, 0o1000
ids = (libc.shmget(IPC_PRIVATE, ctypes.c_size_t(4096), IPC_CREAT | 0o600),
       libc.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600), libc.msgget(IPC_PRIVATE, IPC_CREAT | 0o600))
assert min(ids) >= 0, ctypes.get_errno()
print(*ids)
"""


def test_leak_check_reports_sysv_objects_left_behind():
    before = leaks.sysv_objects()
    out = subprocess.run([sys.executable, "-c", SYSV_LEAKER], stdout=subprocess.PIPE, check=True,
                         timeout=60).stdout
    shm, sem, msg = map(int, out.split())
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        report = leaks.left_behind(os.getpid(), "MKEMU_TEST_SESSION=none", before)
        sysv = sorted(line for line in report if line.startswith("SysV IPC object"))
        assert len(sysv) == 3, sysv
        assert any(f"shm key 0x00000000 id {shm} (cpid " in line for line in sysv)
        assert any(f"sem key 0x00000000 id {sem}" in line for line in sysv)
        assert any(f"msg key 0x00000000 id {msg}" in line for line in sysv)
    finally:
        IPC_RMID = 0
        libc.shmctl(shm, IPC_RMID, None)
        libc.semctl(sem, 0, IPC_RMID)
        libc.msgctl(msg, IPC_RMID, None)
    assert not leaks.sysv_objects() - before
