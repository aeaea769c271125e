"""Descriptor calls inside one process: pipe2, dup/dup3/dup2, fcntl, record locks,
SIGPIPE/EPIPE, /proc/self/fd and /proc/self/fdinfo (tests/guest/fd_*.c).

Each fixture runs under mkemu and under qemu-aarch64 and the outputs must be
equal.  Where qemu-aarch64 7.2 differs from Linux (it drops flag bits it
cannot translate and the kernel's O_LARGEFILE from F_GETFL, its own
descriptors show, it knows nothing of /proc/self/fdinfo's aarch64 flags),
the fixture prints the answer on a line starting "linux:" that holds nothing
differing between aarch64 and x86_64; those lines are compared with the same
C source built for this host with plain gcc and run natively, i.e. with what
Linux itself answers.
"""
from __future__ import annotations

import pytest

from tests.support.guestbin import host_binary
from tests.support.guestrun import run_command, run_mkemu, run_qemu

SIGPIPE_STATUS = 128 + 13


def _split(out: bytes) -> tuple[bytes, bytes]:
    lines = out.splitlines(keepends=True)
    return (b"".join(x for x in lines if not x.startswith(b"linux:")),
            b"".join(x for x in lines if x.startswith(b"linux:")))


def _three(name, rootfs, guest_binary, *args):
    """(mkemu, qemu, host) results of fixture NAME: (code, stdout, stderr) each."""
    prog = guest_binary(name)
    m = run_mkemu([prog, *args], rootfs=rootfs)
    q = run_qemu([prog, *args], rootfs=rootfs)
    h = run_command([str(host_binary(name)), *map(str, args)], signal_as_status=True)
    return m, q, h


def _assert_like_linux(name, rootfs, guest_binary, *args):
    (mc, mo, me), (qc, qo, _), (hc, ho, _) = _three(name, rootfs, guest_binary, *args)
    err = me.decode(errors="replace")[-3000:]
    assert mc == qc == hc, err
    assert _split(mo)[0] == _split(qo)[0], err
    assert _split(mo)[1] == _split(ho)[1], err
    return mo


def test_pipe2_flags_packets_and_pipe_sizes(rootfs, guest_binary):
    out = _assert_like_linux("fd_pipes", rootfs, guest_binary)
    assert b"read packet 2 (3-byte buffer) = 3\ngot def\n" in out
    assert b"linux: pipe2 bit 31 = -1 EINVAL\n" in out


def test_dup_dup3_dup2_and_fcntl(rootfs, guest_binary):
    out = _assert_like_linux("fd_dup", rootfs, guest_binary)
    # what only the host comparison guards: no emulator descriptor is reachable, and
    # the owner pid is translated
    assert b"linux: open at start: 0 1 2\n" in out and b"linux: open at the end: 0 1 2\n" in out
    assert b"linux: F_GETOWN is getpid: 1\n" in out


def test_a_reused_descriptor_number_blocks_and_is_interrupted_like_its_new_file(rootfs, guest_binary):
    # mkemu remembers which descriptors never block (kern/fdkinds.py): the number of a
    # regular file or /dev/null that dup2, pipe, dup3 or F_DUPFD gives to a pipe must
    # sleep again, and SIGALRM must interrupt that sleep
    out = _assert_like_linux("fd_reuse_wait", rootfs, guest_binary)
    assert out.count(b"= -1 Interrupted system call") == 5, out
    assert b"pipe took the closed number: 1\n" in out and b"F_DUPFD took the closed number: 1\n" in out


def test_record_locks_and_flock(rootfs, guest_binary):
    out = _assert_like_linux("fd_locks", rootfs, guest_binary)
    assert b"pid me canary intact" in out          # the owner of a POSIX lock is the guest


@pytest.mark.parametrize("call", ["write", "writev", "pwritev2", "sendfile", "splice",
                                  "vmsplice", "tee"])
def test_write_to_a_pipe_without_reader_kills_with_sigpipe(rootfs, guest_binary, call):
    (mc, mo, me), (qc, qo, _), (hc, ho, _) = _three("fd_sigpipe", rootfs, guest_binary, call)
    assert (mc, mo) == (qc, qo) == (hc, ho), me.decode(errors="replace")[-3000:]
    assert mc == SIGPIPE_STATUS and mo == f"calling {call}\n".encode()


@pytest.mark.parametrize("mode", ["ignore", "block"])
def test_sigpipe_ignored_or_blocked_gives_epipe(rootfs, guest_binary, mode):
    (mc, mo, me), (qc, qo, _), (hc, ho, _) = _three("fd_sigpipe", rootfs, guest_binary, mode)
    assert (mc, mo) == (qc, qo) == (hc, ho), me.decode(errors="replace")[-3000:]
    assert b"tee = -1 EPIPE\n" in mo
    if mode == "block":      # pending while blocked; unblocking delivers it: killed
        assert mc == SIGPIPE_STATUS and mo.endswith(b"SIGPIPE pending: 1\nunblocking SIGPIPE\n")
    else:
        assert mc == 0 and mo.endswith(b"SIGPIPE pending: 0\n")


def test_proc_self_fd_and_fdinfo_list_and_describe_guest_descriptors(rootfs, guest_binary):
    # compared with the host only: qemu-aarch64 shows the host's fdinfo (x86_64 flag bits,
    # no mnt_id from its statx) and lists its own descriptors
    prog = guest_binary("fd_proc")
    mc, mo, me = run_mkemu([prog], rootfs=rootfs)
    hc, ho, _ = run_command([str(host_binary("fd_proc"))], signal_as_status=True)
    assert (mc, mo) == (hc, ho), me.decode(errors="replace")[-3000:]
    assert b"fdinfo 3: pos 7 (lseek agrees), flags agree, mnt_id agrees, ino agrees, " \
           b"lock owner me\n" in mo
    assert b"DIFFER" not in mo
