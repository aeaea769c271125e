"""Timing one workload under qemu-aarch64 and under mkemu, and the figure its target is about.

Each run is `qemu-aarch64 [-L ROOTFS] PROGRAM ARGS` or
`python -m mkemu run --stats --rootfs ROOTFS -- PROGRAM ARGS`, timed by wall
clock from the host (start-up included), killed with its whole process tree on
timeout.  mkemu's output must equal qemu's (or the workload's `expect` where
qemu cannot run it).  mkemu's --stats lines (`mkemu: KEY VALUE [unit]` on
stderr) of its best run give the guest instruction and block counts and MIPS.

The issue's speed targets are for a warm code cache, so before its timed runs a
workload runs once untimed under mkemu at its --quick size (the same code, so
the same translated blocks).  A `cold` workload instead gets a new, empty
MKEMU_CACHE directory for every run (its translations are written there, as a
first run writes them, then thrown away).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack

from tests.support.guestrun import GUEST_ENV, kill_tree

from .report import Result
from .workloads import DERIVED, ROOTFS, WORKLOADS, BenchError, build, input_file, scaling

# qemu's guest gets one more: qemu -L resolves an absolute symlink on the host, so the
# guest python's sitecustomize.py (-> /etc/python3.11/sitecustomize.py) is the host's
# file, with another mtime.  Its python then found the rootfs's prebuilt .pyc stale and
# rewrote it, and the next mkemu run (which resolves the link inside the rootfs) found
# it stale again and compiled the source: session 23's py-start-cold run with 30% more
# guest instructions.  qemu's python must not write into the shared rootfs.  (The tests
# compare environments with qemu's, so they do not add it.)
QEMU_GUEST_ENV = {**GUEST_ENV, "PYTHONDONTWRITEBYTECODE": "1"}


def timed(cmd: list[str], timeout: float, env=None, stdin=None, cwd=None) -> tuple[float, bytes, bytes, int]:
    """(wall seconds, stdout, stderr, exit status) of one run, killed on timeout."""
    with ExitStack() as stack:
        fin = stack.enter_context(open(stdin, "rb")) if stdin else subprocess.DEVNULL
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=fin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, env=env, cwd=cwd)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(proc)
            proc.communicate()
            raise BenchError(f"timed out after {timeout:g} s") from None
        except BaseException:
            kill_tree(proc)
            raise
        return time.perf_counter() - t0, out, err, proc.returncode


def parse_stats(stderr: bytes) -> dict[str, str]:
    """mkemu's --stats lines: `mkemu: KEY VALUE [unit]` -> {KEY: VALUE}."""
    out = {}
    for line in stderr.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "mkemu:":
            out[parts[1]] = parts[2]
    return out


def first_error_line(stderr: bytes) -> str:
    lines = [l for l in stderr.decode(errors="replace").splitlines()
             if l.strip() and not l.startswith("mkemu: ")]
    return lines[0][:100] if lines else ""


class Runner:
    """The commands of one workload at one size, under each emulator."""

    def __init__(self, name: str, size: str, timeout: float) -> None:
        self.name, self.size, self.timeout = name, size, timeout
        self.w = w = WORKLOADS[name]
        self.rootfs = ROOTFS[w.rootfs]()
        self.stdin = input_file(name, size, w.stdin) if w.stdin else None
        if w.program:
            host_prog, self.guest_prog = self.rootfs / w.program.lstrip("/"), w.program
        else:
            host_prog = build(w.source or name)
            self.guest_prog = str(host_prog)
        self.qemu_cmd = ["qemu-aarch64", "-L", str(self.rootfs), str(host_prog), *w.argv(size)]
        # (the mkemu that `python -m mkemu` imports: this one's, or bench/ab.py's tree's)
        self.mkemu_cmd = [sys.executable, "-m", "mkemu", "run", "--stats", "--rootfs",
                          str(self.rootfs), "--", self.guest_prog, *w.argv(size)]

    def qemu(self) -> tuple[float, bytes, bytes, int]:
        r = timed(self.qemu_cmd, self.timeout, env=dict(QEMU_GUEST_ENV), stdin=self.stdin)
        if r[3] != 0:
            raise BenchError(f"qemu exit {r[3]}: {first_error_line(r[2])}")
        return r

    def mkemu(self, expected: bytes | None, source: str = "qemu"):
        """One mkemu run; its output must be `expected` (None: any output, an exit status 0)."""
        with ExitStack() as stack:
            env = None
            if self.w.cold:
                env = dict(os.environ, MKEMU_CACHE=stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="mkemu-bench-cold-")))
            r = timed(self.mkemu_cmd, self.timeout, env=env, stdin=self.stdin)
        if r[3] != 0:
            raise BenchError(f"mkemu exit {r[3]}: {first_error_line(r[2])}")
        if expected is not None and r[1] != expected:
            raise BenchError(f"output differs: mkemu {r[1][:30]!r} vs {source} {expected[:30]!r}")
        return r


def _best_med(runs) -> tuple[float | None, float | None]:
    times = [r[0] for r in runs]
    return (min(times), statistics.median(times)) if times else (None, None)


def measure(name: str, size: str, quick_size: str, repeat: int, timeout: float,
            warmup: bool = True) -> Result:
    """Run WORKLOADS[name] `repeat` times under each emulator (more for start-up rows)."""
    w = WORKLOADS[name]
    repeat = max(repeat, w.min_repeat)
    run = Runner(name, size, timeout)
    qemu_runs = [run.qemu() for _ in range(repeat)] if w.qemu else []
    expected, source = (qemu_runs[0][1], "qemu") if w.qemu else (w.expect(size), "expected")
    if warmup and not w.cold:
        Runner(name, quick_size, timeout).mkemu(None)
    mk_runs = [run.mkemu(expected, source) for _ in range(repeat)]
    best = min(mk_runs, key=lambda r: r[0])
    res = Result(name, size, *_best_med(qemu_runs), *_best_med(mk_runs),
                 stats=parse_stats(best[2]), target=w.target)
    if w.baseline:
        zero = Runner(name, "0", timeout)
        res.qemu_base = min(zero.qemu()[0] for _ in range(repeat)) if w.qemu else None
        res.mkemu_base = min(zero.mkemu(None)[0] for _ in range(repeat))
    if w.target is None:
        return res
    if w.units:
        # the cost of one unit of work: the program's own start-up taken off
        scale = 1e3 if w.target.unit.startswith("ms") else 1e6
        res.value = (res.mkemu - res.mkemu_base) / w.units(size) * scale
        if res.qemu_base is not None:
            res.qemu_value = (res.qemu - res.qemu_base) / w.units(size) * scale
    elif w.target.unit == "MIPS":
        try:
            res.value = float(res.stats["mips"])
        except (KeyError, ValueError):
            res.error = "no MIPS in mkemu --stats"
    else:
        res.value = res.mkemu
    return res


def derive(name: str, done: dict[str, Result]) -> Result:
    """A row computed from others (DERIVED); its error names a needed row that did not run."""
    needs, _what, target = DERIVED[name]
    res = Result(name, "-", target=target)
    missing = [n for n in needs if n not in done or done[n].mkemu is None]
    if missing:
        res.error = f"needs {', '.join(missing)}"
        return res
    r1, r2 = (done[n] for n in needs)
    res.value = _scaling(r1.mkemu, r1.mkemu_base, r2.mkemu, r2.mkemu_base)
    if res.value is None:
        res.error = "the work took no time beside the start-up: use bigger sizes"
    if r1.qemu is not None and r2.qemu is not None:
        res.qemu_value = _scaling(r1.qemu, r1.qemu_base, r2.qemu, r2.qemu_base)
    return res


def _scaling(t1: float, base1: float | None, t2: float, base2: float | None) -> float | None:
    """scaling() of the times less the start-ups; None when noise leaves no work time."""
    w1, w2 = t1 - (base1 or 0), t2 - (base2 or 0)
    return scaling(w1, w2) if w1 > 0 and w2 > 0 else None
