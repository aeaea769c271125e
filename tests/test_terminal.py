"""Interactive sessions on a real pty (pexpect): job control, ^C, ^Z, resize, exit status.

The test is the user at a terminal: pexpect gives mkemu a pty of its own, types
keys into it and reads the screen.  `mkemu run bash -i` uses that pty as the
guest's controlling terminal; `mkemu boot` makes a second pty of mkemu's own
and relays between the two, as it does for a user's terminal.  What the shells
print (prompt, "Stopped", status 130 after ^C, a background reader stopped by
SIGTTIN) is what bash and dash print on Linux for these keys.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

_REPO = Path(__file__).resolve().parent.parent
WAIT = 120            # a guest shell starts in seconds; a slow CI machine gets room
PS1 = "PROMPT$ "
PROMPT = re.escape(PS1)


def _spawn(args: list[str], rows: int = 30, cols: int = 90):
    child = pexpect.spawn(sys.executable, ["-m", "mkemu", *args], timeout=WAIT,
                          encoding="utf-8", codec_errors="replace", dimensions=(rows, cols))
    return child


def _finish(child) -> int:
    """The machine's exit status once its shell has exited."""
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def _job_control_session(child, prompt: str) -> None:
    """^C ends the foreground job, ^Z stops it, fg resumes it, a resize reaches stty."""
    child.sendline("sleep 100")
    time.sleep(2)
    child.sendintr()
    child.expect(prompt)
    child.sendline("echo status=$?")
    child.expect("status=130")
    child.expect(prompt)
    child.sendline("sleep 100")
    time.sleep(2)
    child.sendcontrol("z")
    child.expect("Stopped")
    child.expect(prompt)
    child.sendline("jobs")
    child.expect(r"Stopped\s+sleep 100")
    child.expect(prompt)
    child.sendline("fg")
    child.expect("sleep 100")
    time.sleep(1)
    child.sendintr()
    child.expect(prompt)
    child.setwinsize(40, 100)
    time.sleep(0.5)
    child.sendline("stty size")
    child.expect("40 100")
    child.expect(prompt)


def test_bash_job_control_on_the_terminal_mkemu_runs_on(full_rootfs):
    child = _spawn(["run", "--rootfs", str(full_rootfs), "-E", f"PS1={PS1}",
                    "/bin/bash", "--norc", "-i"])
    try:
        child.expect(PROMPT)
        child.sendline("tty; ps -o stat= -p $$")
        child.expect("/dev/pts/")
        child.expect(r"S[s+]*")              # a session leader in the foreground
        child.expect(PROMPT)
        _job_control_session(child, PROMPT)
        child.sendline("cat &")               # a background job that reads the terminal
        child.expect(PROMPT)
        time.sleep(2)
        child.sendline("set -o posix; jobs; set +o posix")   # (posix mode names the signal)
        child.expect(r"Stopped\(SIGTTIN\)\s+cat")
        child.expect(PROMPT)
        child.sendline("kill -KILL %1; sleep 1")    # (bash hears of its end by SIGCHLD)
        child.expect(PROMPT)
        child.sendline("exit 3")
        assert _finish(child) == 3
    finally:
        child.close(force=True)


def test_mkemu_boot_gives_a_login_shell_on_its_own_pty(full_rootfs):
    # the full rootfs's root logs in with /bin/sh (dash): "-sh", a login shell
    child = _spawn(["boot", str(full_rootfs), "-E", f"PS1={PS1}"])
    try:
        child.expect(PROMPT)
        child.sendline("echo $0 $HOME; pwd; tty")
        child.expect(r"-sh /root\s+/root\s+/dev/pts/\d+")
        child.expect(PROMPT)
        child.sendline("ps -o tty=,stat= -p $$")        # procps reads tty_nr and tpgid
        child.expect(r"pts/\d+\s+Ss\r\n")
        child.expect(PROMPT)
        _job_control_session(child, PROMPT)
        child.sendline("exit 3")
        assert _finish(child) == 3
    finally:
        child.close(force=True)


def test_boot_without_a_terminal_runs_the_shell_on_plain_pipes(full_rootfs):
    # stdin not a terminal: no pty, the login shell reads its commands from the pipe
    from tests.support.guestrun import run_command
    code, out, err = run_command([sys.executable, "-m", "mkemu", "boot", str(full_rootfs)],
                                 stdin=b"echo $0 $HOME; exit 4\n", timeout=WAIT)
    assert (code, out) == (4, b"-sh /root\n"), err.decode(errors="replace")


def test_a_pty_of_the_programs_own_like_qemu(rootfs, guest_binary):
    # openpty and forkpty through the guest's /dev/ptmx and /dev/pts/N: termios on
    # the slave, a new session whose controlling terminal it is (/dev/tty, tcgetpgrp,
    # tcgetsid), and EIO on the master once the child is gone
    from tests.support.guestrun import run_mkemu, run_qemu
    prog = guest_binary("tty_pty")
    qc, qo, qe = run_qemu([prog], rootfs=rootfs)
    assert qc == 0, qe.decode(errors="replace")
    code, out, err = run_mkemu([prog], rootfs=rootfs)
    assert (code, out) == (qc, qo), err.decode(errors="replace")
    assert b"child: session leader 1, foreground 1, /dev/tty opens, sid==ttysid 1" in out
    assert out.endswith(b"master after the child: EIO\nchild exit 5\n")


def test_mkemu_is_a_job_of_the_hosts_shell_like_a_native_program(full_rootfs):
    # a host bash runs mkemu: in the background its guest's read of the terminal
    # stops the whole job (SIGTTIN), fg resumes it; ^Z in a guest without job control
    # stops mkemu itself, fg continues it, ^C ends it with 130
    mkemu = f"{sys.executable} -m mkemu run --rootfs {full_rootfs}"
    child = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], timeout=WAIT,
                          encoding="utf-8", codec_errors="replace",
                          env={"PS1": "H$ ", "PATH": "/usr/bin:/bin", "HOME": "/root",
                               "PYTHONPATH": str(_REPO)}, cwd=str(_REPO))
    try:
        child.expect(r"H\$ ")
        child.sendline(f"{mkemu} /bin/cat &")
        child.expect(r"H\$ ")
        time.sleep(8)                            # the guest starts and reads
        child.sendline("jobs")
        child.expect(r"Stopped.*/bin/cat")
        child.expect(r"H\$ ")
        child.sendline("fg")
        time.sleep(2)
        child.sendline("typed")
        child.expect("typed\r\ntyped")           # the terminal's echo, then cat's copy
        child.sendcontrol("d")
        child.expect(r"H\$ ")
        child.sendline("echo rc=$?")
        child.expect("rc=0")
        child.sendline(f"{mkemu} /bin/sleep 100")
        time.sleep(5)
        child.sendcontrol("z")
        child.expect(r"Stopped.*sleep 100")
        child.expect(r"H\$ ")
        child.sendline("fg")
        time.sleep(2)
        child.sendintr()
        child.expect(r"H\$ ")
        child.sendline("echo rc=$?")
        child.expect("rc=130")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
