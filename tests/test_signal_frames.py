"""Guest signal handlers: the arm64 rt_sigframe, rt_sigreturn, faults caught by
handlers, SA_RESTART, sigsuspend/sigwaitinfo, itimers, SIGCHLD, handler flags.

Each fixture (tests/guest/sig_*.c) prints what the handlers saw and what the
interrupted code found afterwards; mkemu's output and exit status must equal
qemu-aarch64's.  Where qemu-user is known to differ from Linux the test says
so and checks mkemu against Linux's value instead of hiding the line.  The
extra asserts check that the fixture exercised what it claims, so two
equally wrong runs cannot pass.
"""
from __future__ import annotations

import pytest

from tests.support.guestrun import run_mkemu, run_qemu


def _both(prog, rootfs, qemu_extra=()):
    code, out, err = run_mkemu([prog], rootfs=rootfs, timeout=120)
    qcode, qout, qerr = run_qemu([prog], rootfs=rootfs, timeout=120, extra=qemu_extra)
    return (code, out.decode()), (qcode, qout.decode()), err.decode(errors="replace")[-3000:]


def test_fault_handlers_see_si_addr_and_the_faulting_pc(rootfs, guest_binary):
    mine, qemu, err = _both(guest_binary("sig_faults"), rootfs)
    # qemu-user reports an undefined instruction as ILL_ILLOPN (2); Linux's
    # do_el0_undef sends ILL_ILLOPC (1), which mkemu gives
    qemu = (qemu[0], qemu[1].replace("signo 4 (arg 4) code 2", "signo 4 (arg 4) code 1"))
    assert mine == qemu, err
    out = mine[1]
    assert mine[0] == 0
    assert out.count("addr-ok 1 pc-ok 1 fault_address-ok 1 blocked-self 1 sp-aligned 1") == 6
    assert "handler: signo 11 (arg 11) code 1 " in out          # SEGV_MAPERR
    assert "handler: signo 11 (arg 11) code 2 " in out          # SEGV_ACCERR
    assert "handler: signo 7 (arg 7) code 2 " in out            # BUS_ADRERR
    assert "handler: signo 4 (arg 4) code 1 " in out            # ILL_ILLOPC
    assert "handler: signo 5 (arg 5) code 1 " in out            # TRAP_BRKPT
    assert out.count("still blocked 0") == 6 and out.endswith("done\n")


def test_a_handler_edits_the_interrupted_context(rootfs, guest_binary):
    mine, qemu, err = _both(guest_binary("sig_context"), rootfs)
    assert mine == qemu, err
    out = mine[1]
    assert "skipped load: x9 0x5eed4000, x10 42, Z after the handler 0" in out
    assert "frame record holds the interrupted fp and lr: 1 1" in out
    assert "uc_mcontext at ucontext + 176" in out
    assert "FPSIMD record first: 1, size 528; null record ends the list: 1" in out
    assert ": 0\n" not in out.split("tgkill: 0\n", 1)[1].split("raw")[0]   # every frame check
    assert "no SA_RESTORER: handler ran with 12 and returned" in out


def test_stack_overflow_caught_on_the_alternate_stack(rootfs, guest_binary):
    mine, qemu, err = _both(guest_binary("sig_altstack"), rootfs)
    assert mine == qemu, err
    out = mine[1]
    assert ("overflow caught: in handler flags 1 (SS_ONSTACK 1), change refused EPERM, "
            "locals on the alternate stack 1, nested handler there too 1") in out
    assert "handler without SA_ONSTACK on the alternate stack: 0" in out
    assert "after: flags 0" in out and "disabled: flags 2 size 0" in out


def test_sa_restart_and_eintr(rootfs, guest_binary):
    mine, qemu, err = _both(guest_binary("sig_restart"), rootfs)
    assert mine == qemu, err
    restart, plain = mine[1].split("-- no SA_RESTART\n")
    assert "read: 1 , handler ran 1" in restart
    assert "wait4 is the child: 1 , handler ran 1" in restart
    assert "futex wait: -1 Resource temporarily unavailable" in restart
    assert "read: -1 Interrupted system call, handler ran 1" in plain
    assert "wait4 is the child: -1 Interrupted system call" in plain
    assert "futex wait: -1 Interrupted system call" in plain
    for part in (restart, plain):     # never restarted, SA_RESTART or not
        for call in ("nanosleep", "ppoll", "pselect"):
            assert f"{call}: -1 Interrupted system call, handler ran 1" in part
        assert "rem between 4 and 5 s: 1" in part


def test_sigsuspend_sigwaitinfo_and_siginfo(rootfs, guest_binary):
    mine, qemu, err = _both(guest_binary("sig_wait"), rootfs)
    assert mine == qemu, err
    out = mine[1]
    assert ("sigsuspend: -1 Interrupted system call, alarm handler ran 1, inside it "
            "USR1*10+ALRM blocked = 11") in out
    assert out.count("after sigsuspend: USR1 blocked 1, ALRM blocked 1") == 2
    assert "USR1 handler ran 1 (blocked inside 1, si_code 0, pid/uid ok 1)" in out
    assert "sigwaitinfo: 10, si_code -1 (SI_QUEUE -1), value 4242, pid ok 1" in out
    assert "sigtimedwait with none pending: -1 Resource temporarily unavailable" in out
    assert "USR1 sent twice, taken 1; RT sent three times, taken 3" in out
    assert "rt value 11\n  rt value 22\n  rt value 33" in out
    assert "raise: handler ran 2, si_code -6 (SI_TKILL -6), pid/uid ok 1" in out


def test_itimer_real_and_alarm(rootfs, guest_binary):
    mine, qemu, err = _both(guest_binary("sig_timer"), rootfs)
    assert mine == qemu, err
    out = mine[1]
    assert mine[0] == 128 + 14                  # the last, unhandled SIGALRM
    assert "ticks 5, si_code 128 (SI_KERNEL 128)" in out
    assert "alarm(0): 10" in out and "now: 0 0 0 0" in out


def test_sigchld_handler_reaps_children(rootfs, guest_binary):
    mine, qemu, err = _both(guest_binary("sig_chld"), rootfs)
    assert mine == qemu, err
    out = mine[1]
    for i, status in enumerate((3, 5, 7)):
        assert f"child {i}: exited 1 with {status}" in out
    assert "killed child: signaled 1 by 15" in out
    assert out.endswith("done, handler runs unchanged: 1\n")


def test_fpsimd_state_survives_a_handler(rootfs, guest_binary):
    # qemu's `-cpu max` has SVE, whose frame record (restored after the FPSIMD one)
    # would undo the handler's edit of v31 in the FPSIMD record; Linux on a CPU
    # without SVE, like mkemu's, restores the FPSIMD record
    mine, qemu, err = _both(guest_binary("sig_fpsimd"), rootfs, qemu_extra=("-cpu", "max,sve=off"))
    assert mine == qemu, err
    out = mine[1]
    assert "v0-v30 preserved: 62 of 62 halves" in out
    assert "v31 as the handler edited it: 1" in out
    assert "fpcr 0x800000 (was 0x800000), fpsr 0x8 (was 0x8)" in out
    assert "handler saw v5 1, fpcr 0x800000, fpsr 0x8" in out


def test_handler_flags_and_nesting(rootfs, guest_binary):
    mine, qemu, err = _both(guest_binary("sig_flags"), rootfs)
    assert mine == qemu, err
    out = mine[1]
    assert mine[0] == 128 + 12
    assert "SA_RESETHAND: ran b, now SIG_DFL 1, flags still have it 1" in out
    assert "deferred: 3 runs, deepest 1, ends 111" in out
    assert "SA_NODEFER: 3 runs, deepest 3, ends 321" in out
    assert "nested: abA" in out
    assert "sa_mask holds SIGINT until the handler returns: hHi" in out
    assert "two pending (USR1 marks b, USR2 marks i): ib" in out
    assert "not reached" not in out


LOOP = "i=0; while [ $i -lt 300 ]; do i=$((i+1)); done"
SHELL_CASES = {
    "trap-usr1": ("trap 'echo usr1' USR1; kill -USR1 $$; echo after", "usr1\nafter\n"),
    # the `wait` builtin sleeps in sigsuspend until its SIGCHLD handler runs
    "wait-all": (f"({LOOP}; exit 4) & wait; echo done $?", "done 0\n"),
    "wait-pid": (f"({LOOP}; exit 4) & wait $!; echo status $?", "status 4\n"),
    # a trapped signal ends `wait` with 128+N after the trap ran
    "trap-during-wait": (f'trap "echo term" TERM; ({LOOP}; kill -TERM $$; {LOOP}; {LOOP}) & wait; '
                         'echo after wait $?', "term\nafter wait 143\n"),
}


@pytest.mark.parametrize("case", sorted(SHELL_CASES))
def test_busybox_sh_traps_and_wait(rootfs, case):
    script, expected = SHELL_CASES[case]
    code, out, err = run_mkemu(["/bin/busybox", "sh", "-c", script], rootfs=rootfs, timeout=120)
    qcode, qout, _ = run_qemu([rootfs / "bin/busybox", "sh", "-c", script], rootfs=rootfs,
                              timeout=120)
    assert (code, out) == (qcode, qout), err.decode(errors="replace")[-3000:]
    assert (code, out.decode()) == (0, expected)


def test_pselect_and_ppoll_wait_with_their_signal_mask(rootfs, guest_binary):
    # SIGCHLD blocked except inside the wait (GNU make -j): with the mask ignored
    # the wait never ends
    mine, qemu, err = _both(guest_binary("sig_pselect"), rootfs)
    assert mine == qemu, err
    out = mine[1]
    assert "pselect: -1 Interrupted system call, handler ran 1, SIGCHLD blocked again 1" in out
    assert "ppoll: -1 Interrupted system call, handler ran 2, SIGCHLD blocked again 1" in out
    assert "pending before ppoll: -1 Interrupted system call, handler ran 3" in out


def test_siginfo_of_signals_from_other_processes_like_qemu(rootfs, guest_binary):
    # the broker mails the siginfo before it sends the host signal: kill's sender,
    # sigqueue's value (three real-time ones queued, in order), SIGCHLD's code,
    # pid and status for a child's stop, continue and exit
    mine, qemu, err = _both(guest_binary("sig_from_others"), rootfs)
    assert mine == qemu, err
    assert mine[1] == ("USR1 code 0 pid child uid 0 value 0 status 0\n"
                       "USR2 code -1 pid child uid 0 value 77 status 0\n"
                       "RTMIN+1 code -1 pid child uid 0 value 1 status 0\n"
                       "RTMIN+1 code -1 pid child uid 0 value 2 status 0\n"
                       "RTMIN+1 code -1 pid child uid 0 value 3 status 0\n"
                       "CHLD code 5 pid child uid 0 value 0 status 19\n"
                       "CHLD code 6 pid child uid 0 value 0 status 18\n"
                       "CHLD code 1 pid child uid 0 value 0 status 5\n")


def test_posix_timers_like_qemu(rootfs, guest_binary):
    # timer_create with SIGEV_SIGNAL (SI_TIMER and sigev_value reach the handler),
    # a periodic real-time one, SIGEV_NONE, the default sigevent, timer_delete
    mine, qemu, err = _both(guest_binary("sig_posix_timer"), rootfs)
    assert mine == qemu, err
    assert "one-shot: 1 signal, SI_TIMER 1, value 4242" in mine[1]
    assert "default sigevent: SIGALRM 1" in mine[1]
