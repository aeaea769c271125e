"""Signals a guest catches or ignores never kill it.

Compared with qemu-aarch64: a signal with a handler installed, set to SIG_IGN,
or whose default action is to ignore it leaves the guest running; an
unhandled fatal one still kills it; a shell's trap runs.  Handler frames
themselves are tests/test_signal_frames.py.
"""
from tests.support.guestrun import run_mkemu, run_qemu

TRAP_WINCH = 'trap "echo w" WINCH; kill -WINCH $$; echo after'


def test_caught_and_ignored_signals_do_not_kill_like_qemu(rootfs, guest_binary):
    prog = guest_binary("signal_survival")
    code, out, err = run_mkemu([str(prog)], rootfs=rootfs)
    qcode, qout, _ = run_qemu([str(prog)], rootfs=rootfs)
    assert (code, out) == (qcode, qout), err
    assert code == 128 + 12 and out.count(b"survived") == 12


def test_shell_trap_on_winch_does_not_kill_the_shell(rootfs):
    # busybox sh catches WINCH for its trap; the guest exits as under qemu
    code, out, err = run_mkemu(["/bin/busybox", "sh", "-c", TRAP_WINCH], rootfs=rootfs)
    qcode, qout, _ = run_qemu([rootfs / "bin/busybox", "sh", "-c", TRAP_WINCH], rootfs=rootfs)
    assert code == qcode == 0, err
    assert out.endswith(b"after\n") and qout.endswith(b"after\n")


def test_shell_trap_on_winch_runs_like_qemu(rootfs):
    code, out, _ = run_mkemu(["/bin/busybox", "sh", "-c", TRAP_WINCH], rootfs=rootfs)
    qcode, qout, _ = run_qemu([rootfs / "bin/busybox", "sh", "-c", TRAP_WINCH], rootfs=rootfs)
    assert (code, out) == (qcode, qout)
    assert out == b"w\nafter\n"
