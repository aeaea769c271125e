"""Readiness and event descriptors: epoll, eventfd, timerfd, signalfd (tests/guest/ev_*.c).

Each fixture runs under mkemu and under qemu-aarch64 and the outputs must be
equal.  Where qemu-aarch64 7.2 differs from Linux (it has no epoll_pwait2, it
checks buffers Linux does not touch, its signalfd reports the host's view)
the fixture prints the line starting "linux:", holding nothing that differs
between aarch64 and x86_64; those lines are compared with the same C source
built for this host and run natively, i.e. with what Linux itself answers.
Timings are printed as comparisons with generous bounds, so outputs are
deterministic; the asserts then check that each feature was exercised.
"""
from __future__ import annotations

import struct

import pytest

from mkemu.kern import signalfd
from tests.support.guestbin import host_binary
from tests.support.guestrun import run_command, run_mkemu, run_qemu


def _split(out: bytes) -> tuple[str, str]:
    lines = out.decode().splitlines(keepends=True)
    return ("".join(x for x in lines if not x.startswith("linux:")),
            "".join(x for x in lines if x.startswith("linux:")))


def _like_linux(name, rootfs, guest_binary, host_differs=()) -> str:
    """mkemu's output of fixture NAME, checked against qemu's and Linux's; lines
    holding one of host_differs (the struct sizes of x86_64) are not compared with
    the native run."""
    prog = guest_binary(name)
    mc, mo, me = run_mkemu([prog], rootfs=rootfs, timeout=120)
    qc, qo, _ = run_qemu([prog], rootfs=rootfs, timeout=120)
    hc, ho, _ = run_command([str(host_binary(name))], timeout=120, signal_as_status=True)
    err = me.decode(errors="replace")[-3000:]
    assert mc == qc == hc == 0, err
    assert _split(mo)[0] == _split(qo)[0], err
    assert _split(mo)[1] == _split(ho)[1], err
    mine = mo.decode()
    native = ho.decode()
    for text in host_differs:
        mine = "".join(x for x in mine.splitlines(True) if text not in x)
        native = "".join(x for x in native.splitlines(True) if text not in x)
    assert mine == native, err
    return mo.decode()


def test_epoll_level_edge_oneshot_and_the_data_word(rootfs, guest_binary):
    out = _like_linux("ev_epoll", rootfs, guest_binary, host_differs=("sizeof",))
    assert "sizeof(struct epoll_event) 16\n" in out            # the aarch64 layout
    assert "level, again: 1 [events 0x1 data 0xfedcba9876543210]" in out
    assert "edge, 3 bytes: 1, pointer round-trips 1" in out and "edge, again: 0\n" in out
    assert "edge, one more byte: 1, pointer round-trips 1" in out
    assert "oneshot, first: 1 [events 0x1 data 0x8000000000000001]" in out
    assert "oneshot, disabled: 0\n" in out and "oneshot, rearmed: 1 [events 0x1 data 0x7]" in out
    assert "writer closed: 1 [events 0x10 data 0x2222]" in out
    assert "regular file: EPERM" in out and "loop: ELOOP" in out
    assert "mod exclusive: EINVAL" in out
    assert "eventfd 3: 1 [events 0x5 data 0xe0e0e0e0e0]" in out
    assert "timer: 1 events 0x1 data 0x7f7f7f7f7f7f, after >= 25 ms 1, < 1500 ms 1" in out
    assert "linux: pwait2 40 ms: 0, waited >= 35 1, < 1500 1" in out
    assert "fork: 1 data 0xc0ffee0000000001 child status 0" in out
    assert "six ready, two slots: 6 events" in out


def test_eventfd_and_timerfd(rootfs, guest_binary):
    out = _like_linux("ev_counters", rootfs, guest_binary)
    assert "counter: read 8 value 12" in out
    assert "semaphore read 2: 8 ok value 1\nsemaphore read 3: -1 EAGAIN" in out
    assert "read of 4 bytes: EINVAL" in out and "write of UINT64_MAX: EINVAL" in out
    assert "blocking read: 8 value 42, slept >= 40 ms 1" in out
    assert "blocking read of 4 bytes: EINVAL" in out
    assert "interval: read 8, expirations >= 5 1, no more than the time allows 1" in out
    for clock in ("REALTIME", "MONOTONIC", "BOOTTIME"):
        assert f"{clock} absolute: ok, read 8 value 1, waited >= 20 ms 1, < 1000 ms 1" in out
        assert f"{clock} in the past: readable 1" in out
    assert "cancel-on-set, absolute: ok" in out


def test_epoll_pwait_and_signals(rootfs, guest_binary):
    out = _like_linux("ev_sigwait", rootfs, guest_binary)
    # never restarted, SA_RESTART or not (Linux returns EINTR from epoll_wait)
    assert "no SA_RESTART: epoll_wait -1 EINTR, handler ran 1" in out
    assert "SA_RESTART: epoll_wait -1 EINTR, handler ran 2" in out
    assert "kill from a child: -1 EINTR, handler ran 3" in out
    assert "ignored signal: 0, slept the whole timeout 1" in out
    assert ("pwait, sent during the wait: -1 EINTR, handler ran 1, USR1 blocked inside it 1, "
            "blocked again after 1") in out
    assert "pwait, pending before the call: -1 EINTR, handler ran 2, blocked after 1" in out
    assert "pwait, ready and pending: 1 data 1, handler ran 2, still pending 1" in out
    assert "pwait, kept blocked: 0, handler ran 3, pending 1" in out
    assert "linux: pwait2, sent during the wait: -1 EINTR, blocked after 1" in out


def test_signalfd_reads_the_guests_signals(rootfs, guest_binary):
    # ssi_pid of a signal from another process and SIGCHLD's code and status are not
    # printed: mkemu does not know the sender of a signal that arrives as a host signal
    # (SI_USER, pid 0), Linux does
    out = _like_linux("ev_signalfd", rootfs, guest_binary)
    assert "empty: -1 EAGAIN, poll 0\npending USR1: poll 0x1\nread of 100 bytes: EINVAL" in out
    assert "kill: signo 10 code 0 errno 0 pid-is-me 1 uid-ok 1 int 0 ptr 0\n" in out
    assert "sigqueue: signo 12 code -1 errno 0 pid-is-me 1 uid-ok 1 int 4242 ptr 0x1092" in out
    assert "four pending, read 512 (4 records)" in out
    assert "record 0: signo 10 code -6" in out                    # raise() is tgkill
    for i in (1, 2, 3):
        assert f"record {i}: signo 34 code -1 errno 0 pid-is-me 1 uid-ok 1 int {i} " \
               f"ptr {hex(0x100000001 * i)}" in out
    assert "room for one: 128, signo 10\nthe other: 128, signo 12" in out
    assert "epoll, USR2 pending: 1 events 0x1 data 0x5167fd0000000005" in out
    assert "epoll, after the read: 0" in out
    assert "epoll, woken by a child's kill: 1 data 0x5167fd0000000005\nread 128 signo 12 code 0" in out
    assert "child's end: 128 signo 17" in out
    assert "blocking read: 128 signo 10 code 0" in out
    assert "no SA_RESTART: -1 EINTR, alarms 1" in out and "SA_RESTART: 128 signo 10, alarms 2" in out
    assert "USR1 pending, not in the mask: poll 0\nUSR2 pending: poll 0x1" in out
    assert "dup read 128 signo 10" in out and "dup2 read 128 signo 12" in out
    assert "fork: child saw only its own 1\nparent: poll 0x1\nparent read 256, first signo 12" in out
    assert "not a signalfd: EINVAL\nbad fd: EBADF" in out


def test_eventfd_timerfd_signalfd_in_one_epoll_loop(rootfs, guest_binary):
    out = _like_linux("ev_loop", rootfs, guest_binary)
    assert out == ("loop: eventfd total 15, SIGUSR1 seen 1..3 1, SIGCHLD 1, timer ticks >= 3 1, "
                   "stray 0, child status 7\n")


def test_pidfd_open_and_send_signal(rootfs, guest_binary):
    out = _like_linux("ev_pidfd", rootfs, guest_binary)
    assert "own pidfd: ok, cloexec 1, polls 0\n" in out and "read: EINVAL" in out
    assert "child running: polls 0\npoll: 1 revents has POLLIN 1, waited >= 50 ms 1" in out
    assert "waitid P_PIDFD: 0 pid ok 1 code 1 status 5\n" in out
    assert "send to the reaped child: ESRCH" in out
    assert "epoll, running: 0\nepoll, ended: 1 data 0x91dfd00000000001 in 1" in out
    assert "kernel's code to another process: EPERM" in out
    assert "SIGTERM: ok\nchild killed by 15" in out and "not a pidfd: EBADF" in out
    assert "to itself: ok, signal 10 code 0 pid ok 1" in out
    assert "to itself with siginfo: ok, signal 10 code -1 value 77" in out
    assert "zombie: ok, polls POLLIN 1, signal 0: ok\nreaped: signal 0: ESRCH, status 9" in out


# struct signalfd_siginfo: the offsets of include/uapi/linux/signalfd.h
_SSI = {"signo": (0, "I"), "errno": (4, "i"), "code": (8, "i"), "pid": (12, "I"),
        "uid": (16, "I"), "fd": (20, "i"), "tid": (24, "I"), "band": (28, "I"),
        "overrun": (32, "I"), "status": (40, "i"), "int": (44, "i"), "ptr": (48, "Q"),
        "utime": (56, "Q"), "stime": (64, "Q"), "addr": (72, "Q"), "addr_lsb": (80, "H"),
        "syscall": (84, "i"), "call_addr": (88, "Q"), "arch": (96, "I")}


def _siginfo(signo, code, union: bytes) -> bytes:
    return struct.pack("<iii4x", signo, 0, code) + union.ljust(112, b"\0")


def _fields(rec: bytes) -> dict:
    return {k: struct.unpack_from("<" + f, rec, off)[0] for k, (off, f) in _SSI.items()}


@pytest.mark.parametrize("signo, code, union, expect", [
    # kill: si_pid, si_uid
    (10, 0, struct.pack("<iI", 1234, 56), {"pid": 1234, "uid": 56}),
    # sigqueue (SIL_RT): pid, uid and the value as ssi_int and ssi_ptr
    (34, -1, struct.pack("<iIQ", 7, 8, 0x1_0000_0005), {"pid": 7, "uid": 8, "int": 5,
                                                         "ptr": 0x1_0000_0005}),
    # a POSIX timer (SI_TIMER): tid, overrun, value
    (14, -2, struct.pack("<iIQ", 3, 4, 99), {"tid": 3, "overrun": 4, "int": 99, "ptr": 99}),
    # SIGCHLD with CLD_EXITED: pid, uid, status, utime, stime
    (17, 1, struct.pack("<iIi4xqq", 1001, 0, 7, 11, 12),
     {"pid": 1001, "status": 7, "utime": 11, "stime": 12}),
    # SIGSEGV SEGV_MAPERR: the address only
    (11, 1, struct.pack("<Q", 0xDEAD000), {"addr": 0xDEAD000}),
    # SIGBUS BUS_MCEERR_AR: the address and its lsb
    (7, 4, struct.pack("<Qh", 0x5000, 12), {"addr": 0x5000, "addr_lsb": 12}),
    # SIGIO POLL_IN: band and fd
    (29, 1, struct.pack("<qi", 0x41, 5), {"band": 0x41, "fd": 5}),
    # SIGSYS SYS_SECCOMP: call address, syscall number, arch
    (31, 1, struct.pack("<QiI", 0x400123, 220, 0xC00000B7),
     {"call_addr": 0x400123, "syscall": 220, "arch": 0xC00000B7}),
    # SI_KERNEL (an itimer's SIGALRM): the kill layout
    (14, 0x80, b"", {}),
])
def test_signalfd_records_follow_the_siginfo_layouts(signo, code, union, expect):
    rec = signalfd.record(_siginfo(signo, code, union))
    assert len(rec) == 128
    got = _fields(rec)
    want = {k: 0 for k in _SSI} | {"signo": signo, "code": code} | expect
    assert got == want
    assert rec[100:] == bytes(28)
