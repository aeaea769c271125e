"""Running a guest program under mkemu, and under qemu-aarch64 (the reference).

    code, out, err = run_mkemu(["/bin/busybox", "echo", "hi"], rootfs=rootfs)
    qcode, qout, qerr = run_qemu([rootfs / "bin/busybox", "echo", "hi"], rootfs=rootfs)

Both start the command in a new session (its own process group) with stdin
fed from `stdin` and stdout/stderr captured.  On timeout everything the
command started is killed (its process group, and any descendant that moved
to another group or session) and the test fails with an AssertionError that
shows the tail of what it printed.

Both give the guest the same environment: mkemu's default
(mkemu.kern.machine.default_guest_env, the one definition) plus `guest_env`,
so that programs that print their environment produce the same output under
both.  A guest killed by signal N is reported
as 128+N by both: mkemu must exit that way itself (its return code is passed
on as it is), qemu-user kills itself with the signal, which is translated
here; so return codes compare directly.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

from mkemu.kern.machine import default_guest_env

# The environment mkemu gives a guest by default; qemu is run with the same,
# so that outputs compare.
GUEST_ENV = default_guest_env()

DEFAULT_TIMEOUT = 120.0
REPO = Path(__file__).resolve().parents[2]


def _no_core_dumps():
    # qemu-user re-raises a guest's fatal signal on itself: no core files in cwd
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    return children


def children(pid: int) -> list[int]:
    """pid's live children (the kernel's list of its main thread)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def descendants(pid: int) -> list[int]:
    """Every live descendant of pid (read from /proc; zombies included)."""
    children, out, todo = _children_map(), [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the command's process group and every descendant of it."""
    for _ in range(3):           # a process may fork while we look
        victims = descendants(proc.pid)
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if not victims:
            break
        time.sleep(0.05)


def _tail(data: bytes | None, n: int = 1500) -> str:
    return (data or b"")[-n:].decode(errors="replace")


def run_command(cmd: list[str], stdin: bytes = b"", timeout: float = DEFAULT_TIMEOUT,
                env: dict[str, str] | None = None, preexec=None,
                signal_as_status: bool = False,
                cwd: Path | str | None = None) -> tuple[int, bytes, bytes]:
    """Run cmd in a new session; returns (returncode, stdout, stderr).

    With signal_as_status a command killed by signal N reports 128+N, as a
    shell would (otherwise Popen's -N).  Processes the command leaves behind
    are not killed here, so that the session check in conftest.py sees them;
    on timeout the whole tree is killed and AssertionError raised.
    """
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, env=env,
                            preexec_fn=preexec, cwd=cwd)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:   # a descendant still holds the pipes
            kill_tree(proc)
            out, err = b"", b"(output lost: pipes still held after kill)"
        raise AssertionError(f"guest timed out after {timeout}s and was killed: {cmd}\n"
                             f"stdout tail: {_tail(out)}\nstderr tail: {_tail(err)}") from None
    except BaseException:           # KeyboardInterrupt, a pytest-timeout, ...
        kill_tree(proc)
        proc.wait()
        raise
    code = proc.returncode
    if signal_as_status and code < 0:
        code = 128 - code
    return code, out, err


def mkemu_command(args, rootfs: Path | str | None = None, extra=(),
                  guest_env: dict[str, str] | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "mkemu", "run"]
    if rootfs is not None:
        cmd += ["--rootfs", str(rootfs)]
    for k, v in (guest_env or {}).items():
        cmd += ["--env", f"{k}={v}"]
    return cmd + [*map(str, extra), "--", *map(str, args)]


def run_mkemu(args, rootfs: Path | str | None = None, stdin: bytes = b"",
              timeout: float = DEFAULT_TIMEOUT, extra=(), env: dict[str, str] | None = None,
              guest_env: dict[str, str] | None = None,
              cwd: Path | str | None = None) -> tuple[int, bytes, bytes]:
    """`python -m mkemu run [--rootfs R] [--env K=V]... [extra] -- args`.

    env adds host environment variables for mkemu itself (MKEMU_CACHE, ...);
    guest_env adds variables to the guest's environment.  cwd is the host
    directory mkemu starts in (the guest starts there too when it lies in the
    rootfs); mkemu is then imported from this checkout through PYTHONPATH.
    """
    if cwd is not None:
        # `-m mkemu` finds this checkout's mkemu through the current directory;
        # elsewhere it would take whichever mkemu is installed
        env = {**(env or {}), "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    return run_command(mkemu_command(args, rootfs, extra, guest_env), stdin, timeout,
                       None if env is None else {**os.environ, **env}, cwd=cwd)


def run_qemu(args, rootfs: Path | str | None = None, stdin: bytes = b"",
             timeout: float = DEFAULT_TIMEOUT, extra=(),
             guest_env: dict[str, str] | None = None,
             cwd: Path | str | None = None) -> tuple[int, bytes, bytes]:
    """`qemu-aarch64 [-L ROOTFS] [extra] args` with mkemu's guest environment.

    PROGRAM (args[0]) is a host path: give rootfs / "bin/busybox" rather than
    "/bin/busybox" (qemu's -L redirects the dynamic loader and file lookups
    that exist under ROOTFS, not the program itself).  cwd is the host
    directory it starts in.
    """
    cmd = ["qemu-aarch64"]
    if rootfs is not None:
        cmd += ["-L", str(rootfs)]
    cmd += [*map(str, extra), *map(str, args)]
    return run_command(cmd, stdin, timeout, {**GUEST_ENV, **(guest_env or {})}, _no_core_dumps,
                       signal_as_status=True, cwd=cwd)
