"""futex(2) in one guest thread gives qemu-aarch64's answers (tests/guest/futex_basic.c):
EAGAIN, ETIMEDOUT on every kind of timeout, wakes and requeues with nobody waiting,
WAKE_OP's change to the word, EINVAL, EFAULT and ENOSYS.  Waiters woken by another
task are tests/unit/test_futex.py (a real broker and task processes)."""
from __future__ import annotations

from tests.support.guestrun import run_mkemu, run_qemu


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
