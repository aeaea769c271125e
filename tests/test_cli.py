"""The front door: `mkemu` as a new user meets it, beside qemu-aarch64.

Options, messages and exit statuses of `mkemu run`, `--version` and `boot`;
signals sent to the mkemu process itself; programs whose interpreter is
missing; qemu-aarch64's habits (-L, -E, -U, -0, -cpu, -strace), the lookup of
a bare program name on the guest PATH and the guest's first working directory.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from tests.support.guestrun import (GUEST_ENV, kill_tree, mkemu_command, run_command, run_mkemu,
                                    run_qemu)

REPO = Path(__file__).resolve().parents[1]


def mkemu(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m mkemu ARGS` of this checkout, from any directory."""
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "mkemu", *args], capture_output=True, cwd=cwd,
                          env=env, stdin=subprocess.DEVNULL, timeout=timeout)


def one_line(err: bytes) -> bool:
    return err.count(b"\n") == 1 and b"Traceback" not in err


# ---- the command itself -------------------------------------------------------------

def test_version_is_the_package_version():
    r = mkemu("--version")
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert (r.returncode, r.stdout.decode()) == (0, f"mkemu {version}\n"), r.stderr


def test_boot_of_a_missing_rootfs_is_one_line(tmp_path):
    r = mkemu("boot", str(tmp_path / "nothing"))
    assert r.returncode == 2
    assert one_line(r.stderr) and b"not a directory" in r.stderr


def test_boot_of_a_rootfs_without_a_shell_is_one_line(tmp_path):
    r = mkemu("boot", str(tmp_path))
    assert r.returncode == 127
    assert one_line(r.stderr) and b"has no shell" in r.stderr


def test_boot_of_a_busybox_only_rootfs_runs_its_shell(rootfs):
    # the busybox test rootfs (as setup.sh makes it) has /bin/busybox and no /bin/sh
    r = subprocess.run([sys.executable, "-m", "mkemu", "boot", str(rootfs)], capture_output=True,
                       input=b'echo "$0 in $PWD"; echo $SHELL; ls /bin; exit 3\n', timeout=120,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 3, r.stderr
    assert r.stdout == b"-sh in /root\n/bin/busybox\nbusybox\n", r.stderr

def test_a_program_missing_from_the_rootfs_but_on_the_host_says_both(rootfs):
    # /bin/sh is the host's dash, and the busybox test rootfs has no /bin/sh: the line
    # must say the rootfs lacks it, not only that the host's file is not AArch64
    r = mkemu("run", "--rootfs", str(rootfs), "--", "/bin/sh", "-c", "true")
    assert r.returncode == 126
    assert one_line(r.stderr) and b"not in rootfs" in r.stderr and b"not an AArch64 ELF" in r.stderr


@pytest.mark.parametrize("bad", [["--bogus", "/bin/true"], ["-cpu"], ["--rootfs"]])
def test_a_bad_option_to_run_prints_runs_usage(bad):
    r = mkemu("run", *bad)
    assert r.returncode == 2
    assert r.stderr.startswith(b"usage: mkemu run ") and b"\nmkemu run: error: " in r.stderr, r.stderr
    assert b"Traceback" not in r.stderr


def test_cpu_max_is_accepted_and_other_models_are_a_clear_error(rootfs):
    code, out, err = run_mkemu(["/bin/busybox", "echo", "hi"], rootfs=rootfs, extra=["-cpu", "max"])
    assert (code, out) == (0, b"hi\n"), err
    r = mkemu("run", "-L", str(rootfs), "-cpu", "cortex-a53", "/bin/busybox", "true")
    assert r.returncode == 2 and one_line(r.stderr) and b"cortex-a53" in r.stderr


# ---- a signal sent to mkemu ------------------------------------------------------------

def _sleeping(pid: int) -> bool:
    """Whether pid, or any descendant, is blocked in (clock_)nanosleep (x86_64 numbers)."""
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            if Path(f"/proc/{p}/syscall").read_text().split()[0] in ("35", "230"):
                return True
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, IndexError):
            pass
    return False


@contextlib.contextmanager
def _sleeping_guest(cmd: list[str], env: dict[str, str] | None, preexec=None):
    """Start cmd (its guest sleeps) in its own session; yield it once the guest
    sleeps.  Whatever still runs at the end is killed."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, env=env,
                            preexec_fn=preexec)
    try:
        deadline = time.monotonic() + 90
        while not _sleeping(proc.pid):
            assert proc.poll() is None, f"exited {proc.returncode} before sleeping"
            assert time.monotonic() < deadline, "the guest never went to sleep"
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            kill_tree(proc)
            proc.wait()


def _shell_status(code: int) -> int:
    """A Popen return code the way a shell shows it (128+N if killed by N)."""
    return 128 - code if code < 0 else code


def _signalled_status(cmd: list[str], sig: int, env: dict[str, str]) -> int:
    """Send sig to the process of cmd once its guest sleeps; its exit status."""
    with _sleeping_guest(cmd, env) as proc:
        os.kill(proc.pid, sig)
        return _shell_status(proc.wait(timeout=60))


def _carrying(marker: str) -> list[int]:
    """Processes whose environment holds marker (every machine process inherits it)."""
    found = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and marker.encode() in Path(f"/proc/{name}/environ").read_bytes():
                found.append(int(name))
        except OSError:
            pass
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_sent_to_mkemu_reaches_the_guest_like_qemu(rootfs, sig):
    marker = uuid.uuid4().hex
    env = {**os.environ, "MKEMU_SIGNAL_TEST": marker}
    code = _signalled_status(mkemu_command(["/bin/busybox", "sleep", "30"], rootfs), sig, env)
    qcode = _signalled_status(["qemu-aarch64", "-L", str(rootfs), str(rootfs / "bin/busybox"),
                               "sleep", "30"], sig, {**GUEST_ENV})
    assert code == qcode == 128 + sig
    assert _carrying(marker) == []          # no broker or task (and so no guest memory) left


def test_a_signal_ignored_when_mkemu_starts_stays_ignored_like_qemu(rootfs):
    # nohup: SIGHUP is ignored and the program inherits that; a hangup (SIGHUP to
    # the whole process group) leaves it running, SIGTERM then ends it
    def nohup():
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    def hup_then_term(cmd, env):
        with _sleeping_guest(cmd, env, preexec=nohup) as proc:
            os.killpg(proc.pid, signal.SIGHUP)
            try:
                proc.wait(timeout=1)        # time for the HUP to act, if it did
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGTERM)
            return _shell_status(proc.wait(timeout=60))

    code = hup_then_term(mkemu_command(["/bin/busybox", "sleep", "30"], rootfs), None)
    qcode = hup_then_term(["qemu-aarch64", "-L", str(rootfs), str(rootfs / "bin/busybox"),
                           "sleep", "30"], {**GUEST_ENV})
    assert code == qcode == 128 + signal.SIGTERM


# ---- programs whose interpreter is missing ---------------------------------------------

def _interpreter(path: Path) -> str:
    with open(path, "rb") as f:
        seg = next(s for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_INTERP")
        return seg.data().rstrip(b"\0").decode()


def test_a_dynamic_program_without_its_interpreter_names_it(rootfs, guest_binary, tmp_path):
    # the busybox rootfs has no glibc: the program's PT_INTERP is missing there
    prog = tmp_path / "hello-dyn"
    prog.write_bytes(guest_binary("hello", kind="dynamic").read_bytes())
    prog.chmod(0o755)
    interp = _interpreter(prog)
    assert not (rootfs / interp.lstrip("/")).exists()
    r = mkemu("run", "-L", str(rootfs), "./hello-dyn", cwd=tmp_path)
    assert r.returncode == 127 and one_line(r.stderr), r.stderr
    assert r.stderr.decode().startswith(f"mkemu: ./hello-dyn: {interp}: ")
    _, _, qerr = run_qemu([prog], rootfs=rootfs)
    assert interp.encode() in qerr          # qemu names it too


def test_a_script_whose_interpreter_is_missing_names_it(rootfs, tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("#!/no/such/shell -e\necho ran\n")
    script.chmod(0o755)
    # in the guest, at /tmp/script.sh (the host folder bound there)
    code, out, err = run_mkemu(["/tmp/script.sh"], rootfs=rootfs, extra=["--bind", f"{tmp_path}:/tmp"])
    assert (code, out) == (127, b"") and one_line(err), err
    assert err.startswith(b"mkemu: /tmp/script.sh: /no/such/shell: ")
    # the native status for a missing interpreter is the shell's "not found"
    native = subprocess.run(["sh", "-c", str(script)], capture_output=True)
    assert native.returncode == 127


# ---- qemu-aarch64's habits ----------------------------------------------------------------

def _env_lines(out: bytes) -> list[str]:
    return sorted(out.decode().splitlines())


def test_default_guest_environment_is_the_one_qemu_is_given(rootfs):
    code, out, err = run_mkemu(["/bin/busybox", "env"], rootfs=rootfs)
    qcode, qout, _ = run_qemu([rootfs / "bin/busybox", "env"], rootfs=rootfs)
    assert (code, _env_lines(out)) == (qcode, _env_lines(qout)), err


def test_E_U_and_0_change_the_guest_like_qemu(rootfs):
    opts = ["-U", "PATH", "-E", "GUEST_A=1", "-E", "GUEST_B=x=y", "-E", "GUEST_C=3", "-U",
            "GUEST_C", "-0", "env"]
    code, out, err = run_mkemu(["/bin/busybox"], rootfs=rootfs, extra=opts)
    qcode, qout, _ = run_qemu([rootfs / "bin/busybox"], rootfs=rootfs, extra=opts)
    assert (code, _env_lines(out)) == (qcode, _env_lines(qout)), err
    assert "GUEST_B=x=y" in _env_lines(out) and not any(l.startswith("PATH=") for l in _env_lines(out))


def test_inherit_env_passes_the_host_environment_like_qemu(rootfs):
    host_env = {**os.environ, "GUEST_FROM_HOST": "yes"}
    cmd = mkemu_command(["/bin/busybox", "env"], rootfs, extra=["--inherit-env"])
    code, out, err = run_command(cmd, env=host_env)
    qcode, qout, _ = run_command(["qemu-aarch64", "-L", str(rootfs), str(rootfs / "bin/busybox"),
                                  "env"], env=host_env)
    assert (code, _env_lines(out)) == (qcode, _env_lines(qout)), err
    assert "GUEST_FROM_HOST=yes" in _env_lines(out)


def test_strace_with_qemus_spelling(rootfs):
    code, out, err = run_mkemu(["/bin/busybox", "true"], rootfs=rootfs, extra=["-strace"])
    assert code == 0 and b"exit_group(0)" in err


def test_a_bare_program_name_is_looked_up_on_the_guest_path(rootfs):
    r = mkemu("run", "-L", str(rootfs), "busybox", "echo", "found")
    assert (r.returncode, r.stdout) == (0, b"found\n"), r.stderr
    r = mkemu("run", "-L", str(rootfs), "-E", "PATH=/usr/bin", "busybox", "true")
    assert r.returncode == 127 and one_line(r.stderr) and b"busybox" in r.stderr


def test_the_guest_starts_in_the_hosts_cwd_when_the_guest_sees_it(rootfs, tmp_path):
    inside = mkemu("run", "-L", str(rootfs), "./busybox", "pwd", cwd=rootfs / "bin")
    assert (inside.returncode, inside.stdout) == (0, b"/bin\n"), inside.stderr
    bound = mkemu("run", "-L", str(rootfs), "--bind", f"{tmp_path}:/tmp", "busybox", "pwd", cwd=tmp_path)
    assert (bound.returncode, bound.stdout) == (0, b"/tmp\n"), bound.stderr
    outside = mkemu("run", "-L", str(rootfs), "busybox", "pwd", cwd=tmp_path)
    assert (outside.returncode, outside.stdout) == (0, b"/\n"), outside.stderr


@pytest.mark.parametrize("argv", [
    ["run", "--rootfs", "/r", "-E", "A=1", "-U", "B", "--stats", "--", "/bin/true", "-x"],
    ["run", "-L", "/r", "-0", "zero", "-strace", "prog"],
    ["boot", "/r", "--bind", "/h:/g"],
    ["rootfs", "info"],
    ["cache", "info"],
])
def test_a_commands_parser_alone_parses_and_helps_as_in_the_whole_tree(argv):
    # `mkemu run ...` builds only run's parser (cli.build_parser(only)): the same parse,
    # the same help and usage as the parser of the whole command tree
    from mkemu.cli import build_parser, parse_args
    whole, whole_cmds = build_parser()
    alone, alone_cmds = build_parser(argv[0])
    assert list(alone_cmds) == [argv[0]]
    assert alone_cmds[argv[0]].format_help() == whole_cmds[argv[0]].format_help()
    assert vars(alone.parse_known_args(argv)[0]) == vars(whole.parse_known_args(argv)[0])
    assert vars(parse_args(argv)) == vars(whole.parse_known_args(argv)[0]) | (
        {"program": argv[argv.index("--") + 1:]} if "--" in argv else {})
