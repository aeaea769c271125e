"""Processes: fork, exit statuses, wait4/waitid, zombies, orphans, process groups,
copy-on-write and MAP_SHARED memory across fork -- C fixtures compared with
qemu-aarch64, and the frames a machine hands out coming back."""
from __future__ import annotations

import pytest

from tests.support.guestrun import run_mkemu, run_qemu


@pytest.mark.parametrize("name", ["proc_fork", "proc_orphan"])
def test_process_fixture_matches_qemu(rootfs, guest_binary, name):
    prog = guest_binary(name)
    qc, qo, qe = run_qemu([prog], rootfs=rootfs)
    mc, mo, me = run_mkemu([prog], rootfs=rootfs)
    assert qc == 0, qe.decode(errors="replace")
    assert (mc, mo.decode()) == (qc, qo.decode()), me.decode(errors="replace")[-3000:]
    assert mo.count(b"\n") >= 3


def test_fork_fixture_exercises_what_it_says(rootfs, guest_binary):
    mc, mo, me = run_mkemu([guest_binary("proc_fork")], rootfs=rootfs)
    out = mo.decode()
    # not two equally wrong runs: these are Linux's answers
    assert "child: parent is me 1, private 99, heap c" in out
    assert "parent: private 11, heap pp, shared counter 2000" in out
    assert "segfaulting child: killed by 11" in out
    assert "terminated child: killed by 15" in out
    assert "waitid WNOWAIT: 0 signo 17 code 1 status 42 pid ok 1" in out


def test_frames_of_ended_processes_come_back_zero(rootfs, guest_binary):
    # the broker takes back an ended child's frames and hands them out again:
    # they must read as zeros in the next process (they did not while the broker
    # punched holes through a closed descriptor)
    prog = guest_binary("proc_frames")
    qc, qo, qe = run_qemu([prog], rootfs=rootfs)
    mc, mo, me = run_mkemu([prog], rootfs=rootfs)
    assert qc == 0 and b"is zero" in qo, qe.decode(errors="replace")
    assert (mc, mo.decode()) == (qc, qo.decode()), me.decode(errors="replace")[-3000:]
