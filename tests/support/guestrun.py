"""Running a guest program under mkemu (and under qemu-aarch64, the reference)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def _run(cmd, stdin: bytes, timeout: float, env=None) -> tuple[int, bytes, bytes]:
    """Run in a new session; on timeout kill the whole group and fail loudly."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            env=None if env is None else {**os.environ, **env})
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"guest timed out after {timeout}s: {cmd}") from None
    return proc.returncode, out, err


def run_mkemu(args, rootfs: Path | str | None = None, stdin: bytes = b"", timeout: float = 120,
              extra=(), env=None) -> tuple[int, bytes, bytes]:
    cmd = [sys.executable, "-m", "mkemu", "run"]
    if rootfs is not None:
        cmd += ["--rootfs", str(rootfs)]
    cmd += [*extra, "--", *map(str, args)]
    return _run(cmd, stdin, timeout, env)


def run_qemu(args, rootfs: Path | str | None = None, stdin: bytes = b"", timeout: float = 120,
             ) -> tuple[int, bytes, bytes]:
    cmd = ["qemu-aarch64"]
    if rootfs is not None:
        cmd += ["-L", str(rootfs)]
    return _run(cmd + list(map(str, args)), stdin, timeout)
