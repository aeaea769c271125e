"""Processes: fork, exit statuses, wait4/waitid, zombies, orphans, process groups,
copy-on-write and MAP_SHARED memory across fork -- C fixtures compared with
qemu-aarch64, and the frames a machine hands out coming back."""
from __future__ import annotations

import os
import re

from tests.support.guestbin import host_binary
from tests.support.guestrun import run_command, run_mkemu, run_qemu


def _like_qemu(prog, rootfs, timeout: float = 120) -> str:
    """Run prog under qemu-aarch64 and mkemu: the same exit status and stdout."""
    qc, qo, qe = run_qemu([prog], rootfs=rootfs, timeout=timeout)
    mc, mo, me = run_mkemu([prog], rootfs=rootfs, timeout=timeout)
    assert qc == 0, qe.decode(errors="replace")
    assert (mc, mo.decode()) == (qc, qo.decode()), me.decode(errors="replace")[-3000:]
    return mo.decode()


def test_fork_tree_statuses_cow_wait_and_groups_like_qemu(rootfs, guest_binary):
    out = _like_qemu(guest_binary("proc_fork"), rootfs)
    # not two equally wrong runs: these are Linux's answers
    assert "child: parent is me 1, private 99, heap c" in out
    assert "parent: private 11, heap pp, shared counter 2000" in out
    assert "segfaulting child: killed by 11" in out
    assert "terminated child: killed by 15" in out
    assert "waitid WNOWAIT: 0 signo 17 code 1 status 42 pid ok 1" in out


def test_orphans_are_reparented_and_zombies_wait_like_qemu(rootfs, guest_binary):
    out = _like_qemu(guest_binary("proc_orphan"), rootfs)
    assert "orphan: reparented 1" in out and "zombie reaped: 1 status 9" in out


def test_frames_of_ended_processes_come_back_zero(rootfs, guest_binary):
    # the broker takes back an ended child's frames and hands them out again:
    # they must read as zeros in the next process (they did not while the broker
    # punched holes through a closed descriptor)
    out = _like_qemu(guest_binary("proc_frames"), rootfs)
    assert out.count("is zero") == 3 and "parent's fresh memory: zero" in out


def test_futex_between_parent_and_child_in_shared_memory(rootfs, guest_binary):
    # 4000 hand-overs through one futex word in MAP_SHARED memory, then a
    # process-shared mutex and condition variable: a lost wake-up hangs it
    out = _like_qemu(guest_binary("proc_shared_futex"), rootfs, timeout=240)
    assert out == "turns taken: 4000, child exit 0, condition seen 1\n"


def test_a_grandchild_exec_d_through_sh_runs_under_mkemu(rootfs):
    # every process reports its own --stats; the innermost shell prints its pid
    # and its parent's, and mkemu's report for that pid counts guest instructions:
    # it ran in this machine, not under the host kernel's binfmt_misc handler
    inner = 'echo $$ $PPID; /bin/busybox true'
    middle = f'/bin/busybox sh -c "{inner.replace("$", chr(92) + "$")}"; :'
    code, out, err = run_mkemu(["/bin/busybox", "sh", "-c", f"/bin/busybox sh -c '{middle}'; :"],
                               rootfs=rootfs, extra=["--stats"])
    assert code == 0, err.decode(errors="replace")
    me, parent = out.split()
    assert int(parent) > 1000 and int(me) > int(parent)     # a grandchild of the first process
    counts = dict(re.findall(rb"mkemu\[(\d+)\]: instructions (\d+)", err))
    assert int(counts[me]) > 1000, err.decode(errors="replace")
    assert b"mkemu: frames-held-at-exit 0\n" in err


def test_vfork_and_posix_spawn_like_linux(rootfs, guest_binary):
    # qemu-aarch64 runs vfork as a fork (the child's writes are lost) and hands
    # execve of /proc/self/exe to the host, so the reference is the same C built
    # for this host and run natively
    native = run_command([str(host_binary("proc_vfork"))])
    mc, mo, me = run_mkemu([guest_binary("proc_vfork")], rootfs=rootfs)
    assert native[0] == 0 and b"global: 42" in native[1], native
    assert (mc, mo) == native[:2], me.decode(errors="replace")[-3000:]
    assert b"posix_spawn of a missing program: No such file or directory" in mo


def test_stop_continue_and_what_the_parent_sees_like_linux(rootfs, guest_binary):
    # qemu-aarch64 gets waitid(WSTOPPED), SA_NOCLDSTOP and SA_NOCLDWAIT wrong (it
    # passes them to the host as its own), so the reference is native Linux
    native = run_command([str(host_binary("proc_jobctl"))])
    assert native[0] == 0, native[2].decode(errors="replace")
    code, out, err = run_mkemu([guest_binary("proc_jobctl")], rootfs=rootfs)
    assert (code, out.decode()) == (0, native[1].decode()), err.decode(errors="replace")
    text = out.decode()
    assert "SIGSTOP: stopped by 19\nbytes while stopped: 0\n" in text
    assert "waitid stopped: r 0 code CLD_STOPPED status 20 pid ok 1" in text
    assert "SA_NOCLDSTOP 1: SIGCHLD after stop 0" in text
    assert "SA_NOCLDWAIT: wait -1 errno ECHILD" in text


def test_what_a_child_held_is_released_when_its_wait_returns(rootfs, guest_binary):
    # the broker reports a child's end at its goodbye, before the host has torn its
    # process down: the child must have closed everything by then (a pipe's write end,
    # a flock'd file it had also mmapped, whose mapping kept a duplicate descriptor)
    out = _like_qemu(guest_binary("proc_exit_release"), rootfs)
    assert out == "rounds 20: exit 7 20, pipe at eof 20, flock free 20, record lock free 20\n"


def test_waitpid_keeps_a_child_a_sigchld_handler_races_with(rootfs, guest_binary):
    # SIGCHLD (handler, no SA_RESTART) reaches the parent around its waitpid: once the
    # broker has answered, the child is reaped and waitpid must return it, not EINTR
    code, out, err = run_mkemu([guest_binary("proc_wait_sigchld"), "60"], rootfs=rootfs)
    assert (code, out) == (0, b"rounds 60, lost 0, wrong status 0\n"), err.decode(errors="replace")


# Linux's answers (qemu-user differs on two: it runs an SA_NOCLDSTOP handler for a stop,
# and its /proc listing is the rootfs's directory)
_CHLD_KINDS = """\
default: waited 1, exit 3, pending after 0
default blocked: waited 1, exit 4, pending after 1, sigtimedwait 17 pid ok 1 code 1 status 4
handler: waited 1, exit 5, runs 1, pid ok 1
nocldstop: stopped 1 by 19, runs 0
nocldstop: waited 1, exit 6, runs 1
killed: waited 1, signaled 1 by 15; zombie /proc entry 1 listed 1; reaped entry 0 listed 0
reaped while waiting: waited 1, exit 8, entry 0 listed 0
ignored: waitpid -1 errno ECHILD 1, entry 0
races: 40 rounds, wrong 0, pending after 0
"""


def test_sigchld_by_disposition_while_the_parent_sleeps_in_waitpid(rootfs, guest_binary):
    # The broker sends no SIGCHLD to a one-thread parent whose waitpid said SIGCHLD is
    # SIG_DFL and unblocked (it would be discarded): a blocked one must still be pending
    # after the wait, a handler must still run, SIG_IGN still reaps, SA_NOCLDSTOP still
    # skips stops; and a reaped child's /proc entry is gone by the time waitpid returns.
    code, out, err = run_mkemu([guest_binary("proc_chld_kinds")], rootfs=rootfs)
    assert (code, out.decode()) == (0, _CHLD_KINDS), err.decode(errors="replace")[-3000:]


def test_nice_values_like_linux(rootfs, guest_binary):
    # getpriority and setpriority were stubs (always 0; nothing kept): now a guest
    # thread's nice value is its host process's, inherited by fork and threads,
    # reniced by pid and group, shown in /proc/self/stat, with Linux's errors and
    # its rules for a process that dropped root: as natively
    native = run_command([str(host_binary("nice_values"))])
    assert native[0] == 0 and "no" not in native[1].decode(), native
    code, out, err = run_mkemu([guest_binary("nice_values")], rootfs=rootfs)
    assert (code, out.decode()) == (0, native[1].decode()), err.decode(errors="replace")[-3000:]


def test_no_guest_goes_below_the_machine_s_nice_value(full_rootfs):
    # a guest thread's nice value is its host process's: guest root lowering it would
    # take host CPU from the host's other work, so (as in a container without
    # CAP_SYS_NICE) the machine's own value is the floor; raising still works
    base = os.getpriority(os.PRIO_PROCESS, 0)
    code, out, err = run_mkemu(["/bin/bash", "-c", "nice -n -5 nice; nice -n 2 nice"],
                               rootfs=full_rootfs)
    assert code == 0 and out.split() == [str(base).encode(), str(min(base + 2, 19)).encode()], err
    assert b"cannot set niceness: Permission denied" in err
