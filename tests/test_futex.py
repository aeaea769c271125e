"""futex(2) in one guest thread gives qemu-aarch64's answers (tests/guest/futex_basic.c):
EAGAIN, ETIMEDOUT on every kind of timeout, wakes and requeues with nobody waiting,
WAKE_OP's change to the word, EINVAL, EFAULT and ENOSYS.  Waiters woken by another
task are tests/unit/test_futex.py (a real broker and task processes)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest

from tests.support.guestrun import GUEST_ENV, kill_tree, mkemu_command, run_mkemu, run_qemu


def test_futex_answers_match_qemu(rootfs, guest_binary):
    prog = guest_binary("futex_basic")
    qc, qo, qe = run_qemu([prog], rootfs=rootfs)
    mc, mo, me = run_mkemu([prog], rootfs=rootfs)
    assert qc == 0, qe.decode(errors="replace")
    assert (mc, mo.decode()) == (qc, qo.decode()), me.decode(errors="replace")[-3000:]
    # the fixture exercises what it says (not two equally wrong runs)
    assert b"WAIT relative 20ms: -1 ETIMEDOUT" in mo
    assert b"WAIT_BITSET absolute realtime: -1 ETIMEDOUT" in mo
    assert b"WAIT value differs: -1 EAGAIN" in mo
    assert b"WAKE_OP 0: word 0x3 -> 0x9: 0" in mo


def _terminated_while_waiting(cmd: list[str], env, before=()) -> tuple[int, bytes]:
    """Start cmd (the fixture's "wait" mode), send it the signals `before` (a short
    pause after each) and SIGTERM once the guest says it waits."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    try:
        first = proc.stdout.readline()
        for sig in before:
            os.kill(proc.pid, sig)
            time.sleep(0.3)                  # its time to act, if it wrongly did
        os.kill(proc.pid, signal.SIGTERM)
        rest = proc.stdout.read()
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            kill_tree(proc)
            proc.wait()
        proc.stdout.close()
    return (128 - code if code < 0 else code), first + rest


@pytest.mark.parametrize("before", [(), (signal.SIGWINCH,)], ids=["term", "winch-then-term"])
def test_a_signal_ends_a_guest_waiting_on_a_futex_like_qemu(rootfs, guest_binary, before):
    # SIGWINCH is ignored by default: the waiter sleeps on (no EINTR), as on Linux
    prog = guest_binary("futex_basic")
    marker = uuid.uuid4().hex
    code, out = _terminated_while_waiting(
        mkemu_command([prog, "wait"], rootfs), {**os.environ, "MKEMU_FUTEX_TEST": marker},
        before)
    qcode, qout = _terminated_while_waiting(
        ["qemu-aarch64", "-L", str(rootfs), str(prog), "wait"], {**GUEST_ENV}, before)
    assert (code, out) == (qcode, qout) == (128 + signal.SIGTERM, b"waiting\n")
    left = [p for p in os.listdir("/proc") if p.isdigit() and _holds(p, marker)]
    assert left == []                    # no broker or task (and so no guest memory) left


def _holds(pid: str, marker: str) -> bool:
    try:
        return marker.encode() in open(f"/proc/{pid}/environ", "rb").read()
    except OSError:
        return False
