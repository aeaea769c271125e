#!/usr/bin/env python3
"""Run the aarch64 workloads under qemu-aarch64 and under mkemu, side by side.

    python bench/run.py [--quick] [--repeat N] [--only NAME]... [--markdown] [--timeout S]

A workload is a C program (bench/NAME.c, compiled statically with
aarch64-linux-gnu-gcc -O2, cached by source hash in $MKEMU_CACHE/bench,
default ~/.cache/mkemu) or a program of the test rootfs with its arguments
(a shell command line, python3's start-up).  Each runs N times under
`qemu-aarch64 [-L ROOTFS]` and N times under
`python -m mkemu run --stats --rootfs ROOTFS -- PROGRAM ARGS`, in the
rootfs it names (tests/support/rootfs.py: busybox, or full for the process
workloads, which need a shell, coreutils and python3).  The table
gives the best and the median wall time of each, the ratio of the best times
(mkemu / qemu), and from mkemu's --stats lines of its best run (on stderr:
`mkemu: instructions N`, `mkemu: blocks N`, `mkemu: wall S s`, `mkemu: mips M`)
the guest instruction count and guest MIPS.  A workload that mkemu cannot run
(non-zero exit, timeout, output different from qemu's) gets an error row and
the run goes on.  The full sizes take about 0.2-0.4 s each under qemu;
--quick uses sizes that take mkemu a few seconds, with one repetition.

qemu-aarch64 is no reference for a workload that execs an aarch64 program
(forkexec): its execve hands the guest's path to the host kernel, which runs
the host's /bin/true.  Such a workload shows "-" in the qemu columns and its
output is checked against what it must print instead.

The thread workloads (thrmutex, thrcompute1/2, futex-uncontended,
futex-pingpong) print only counts and checksums fixed by their arguments,
never anything that depends on scheduling.  thrcompute1 and thrcompute2 do
the same total work in 1 and in 2 worker threads; when both ran, a line
under the table gives the speed-up of 2 threads over 1 (best times) under
each emulator.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.support.guestrun import GUEST_ENV, kill_tree  # noqa: E402
from tests.support.rootfs import busybox_rootfs, cache_dir, full_rootfs  # noqa: E402

CC = os.environ.get("MKEMU_GUEST_CC", "aarch64-linux-gnu-gcc")

ROOTFS = {"busybox": busybox_rootfs, "full": full_rootfs}


@dataclass(frozen=True)
class Workload:
    what: str                     # what it stresses
    full: str                     # its size for the full run (the "arg" column)
    quick: str                    # its size for --quick
    program: str = ""             # a guest path in the rootfs; "" = bench/NAME.c, built here
    source: str = ""              # the C file's name when it is not NAME (bench/SOURCE.c)
    argv: Callable[[str], list[str]] = lambda size: [size]   # the arguments for a size
    rootfs: str = "busybox"       # a key of ROOTFS
    qemu: bool = True             # False: qemu-aarch64 cannot run it (it execs an aarch64 program)
    expect: Callable[[str], bytes] | None = None   # its output, checked when qemu gives none


def _sum_script(n: str) -> list[str]:
    return ["sh", "-c", f"seq 1 {n} | awk '{{s+=$1}} END {{print s}}'"]


WORKLOADS = {
    "intloop": Workload("integer ALU loop", "80000000", "3000000"),
    "fib": Workload("calls and returns", "36", "25"),
    "matmul": Workload("double FP multiply-add", "240", "60"),
    "memseq": Workload("sequential loads/stores, memcpy", "24", "1"),
    "syscalls": Workload("getpid + write syscalls", "200000", "20000"),
    "forkpipe": Workload("fork + pipe + child write, parent read + waitpid", "50", "10",
                         rootfs="full"),
    "forkmem1": Workload("20 x fork of a process with 1 MiB touched (see forkmem)", "1", "1",
                         source="forkmem"),
    "forkmem": Workload("20 x fork of a process with M MiB touched: fork cost per mapped MiB",
                        "64", "16"),
    "forkexec": Workload("fork + execve /bin/true + waitpid", "50", "10", rootfs="full",
                         qemu=False, expect=lambda n: f"{n} children, {n} exited 0\n".encode()),
    "sh-awk": Workload("busybox sh: seq | awk pipeline (fork, pipes, applets)", "100000", "10000",
                       program="/bin/busybox", argv=_sum_script, rootfs="full"),
    "py-start": Workload("python3 -c pass: dynamic loading, interpreter start-up", "-", "-",
                         program="/usr/bin/python3", argv=lambda size: ["-c", "pass"], rootfs="full"),
    "thrmutex": Workload("4 threads x N pthread_mutex increments of one counter (contended)",
                         "400000", "2000"),
    # the same total work in 1 and in 2 worker threads: the speed-up line under the table
    "thrcompute1": Workload("integer hash rounds in 1 worker thread (see thrcompute2)",
                            "100000000", "2000000", source="thrcompute", argv=lambda size: ["1", size]),
    "thrcompute2": Workload("the same rounds split over 2 threads, nothing shared written",
                            "100000000", "2000000", source="thrcompute", argv=lambda size: ["2", size]),
    "futex-uncontended": Workload("pthread_mutex lock + unlock in one thread: no system call",
                                  "5000000", "100000", source="futexrt",
                                  argv=lambda size: ["uncontended", size]),
    "futex-pingpong": Workload("2 threads pass a turn: FUTEX_WAKE + FUTEX_WAIT each way",
                               "10000", "500", source="futexrt", argv=lambda size: ["pingpong", size]),
}


class BenchError(Exception):
    pass


def build(name: str) -> Path:
    src = HERE / f"{name}.c"
    flags = ["-O2", "-static"]
    digest = hashlib.sha256(src.read_bytes() + " ".join([CC, *flags]).encode()).hexdigest()[:12]
    out = cache_dir() / "bench" / f"{name}-{digest}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
        try:
            r = subprocess.run([CC, *flags, "-o", str(tmp), str(src)], capture_output=True, text=True)
        except FileNotFoundError:
            raise BenchError(f"{CC} not found (apt-get install gcc-aarch64-linux-gnu)") from None
        if r.returncode != 0:
            raise BenchError(f"compile failed: {r.stderr.strip().splitlines()[-1:]}")
        os.rename(tmp, out)
    return out


def timed(cmd: list[str], timeout: float, env=None) -> tuple[float, bytes, bytes, int]:
    """(wall seconds, stdout, stderr, exit status) of one run, killed on timeout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, env=env)
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


def run_workload(name: str, size: str, repeat: int, timeout: float) -> dict:
    w = WORKLOADS[name]
    rootfs = ROOTFS[w.rootfs]()
    if w.program:
        qemu_prog, mk_prog = [str(rootfs / w.program.lstrip("/")), "-L", str(rootfs)], w.program
    else:
        mk_prog = str(build(w.source or name))
        qemu_prog = [mk_prog, "-L", str(rootfs)]
    args = w.argv(size)
    if w.qemu:
        qemu_cmd = ["qemu-aarch64", *qemu_prog[1:], qemu_prog[0], *args]
        qemu_runs = [timed(qemu_cmd, timeout, env=dict(GUEST_ENV)) for _ in range(repeat)]
        q_ref = qemu_runs[0]
        if q_ref[3] != 0:
            raise BenchError(f"qemu exit {q_ref[3]}: {first_error_line(q_ref[2])}")
        expected, source = q_ref[1], "qemu"
    else:
        qemu_runs, expected, source = [], w.expect(size), "expected"
    mk_cmd = [sys.executable, "-m", "mkemu", "run", "--stats", "--rootfs", str(rootfs), "--", mk_prog, *args]
    mk_runs = []
    for _ in range(repeat):
        r = timed(mk_cmd, timeout)
        if r[3] != 0:
            raise BenchError(f"mkemu exit {r[3]}: {first_error_line(r[2])}")
        if r[1] != expected:
            raise BenchError(f"output differs: mkemu {r[1][:30]!r} vs {source} {expected[:30]!r}")
        mk_runs.append(r)
    best = min(mk_runs, key=lambda r: r[0])
    q_times = [r[0] for r in qemu_runs]
    m_times = [r[0] for r in mk_runs]
    return {"qemu": min(q_times) if q_times else None,
            "qemu_med": statistics.median(q_times) if q_times else None,
            "mkemu": min(m_times), "mkemu_med": statistics.median(m_times),
            "stats": parse_stats(best[2])}


COLUMNS = [("workload", max(map(len, WORKLOADS)), "<"), ("arg", 9, ">"), ("qemu s", 7, ">"),
           ("(med)", 7, ">"), ("mkemu s", 8, ">"), ("(med)", 8, ">"), ("ratio", 7, ">"), ("guest insns", 12, ">"),
           ("blocks", 7, ">"), ("MIPS", 7, ">")]


def fmt_row(cells: list[str], markdown: bool) -> str:
    if markdown:
        return "| " + " | ".join(cells) + " |"
    return " ".join(f"{c:{a}{w}}" for c, (_, w, a) in zip(cells, COLUMNS))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    ap.add_argument("--repeat", type=int, help="runs of each program under each emulator (default 3, 1 with --quick)")
    ap.add_argument("--only", action="append", choices=sorted(WORKLOADS), help="run only this workload (repeatable)")
    ap.add_argument("--timeout", type=float, default=1200, help="seconds allowed for one run (default 1200)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = ap.parse_args()
    repeat = args.repeat or (1 if args.quick else 3)
    header = [c[0] for c in COLUMNS]
    print(fmt_row(header, args.markdown))
    if args.markdown:
        print("|" + "|".join("---:" if a == ">" else "---" for _, _, a in COLUMNS) + "|")
    sys.stdout.flush()
    failures = 0
    best = {}                     # name -> (best qemu s or None, best mkemu s), rows that ran
    for name, w in WORKLOADS.items():
        if args.only and name not in args.only:
            continue
        size = w.quick if args.quick else w.full
        try:
            r = run_workload(name, size, repeat, args.timeout)
        except BenchError as e:
            failures += 1
            if args.markdown:
                print(f"| {name} | {size} | ERROR: {e} |" + " |" * (len(COLUMNS) - 3))
            else:
                print(f"{fmt_row([name, size], False)} ERROR: {e}")
            sys.stdout.flush()
            continue
        best[name] = (r["qemu"], r["mkemu"])
        s = r["stats"]
        q = r["qemu"] is not None
        cells = [name, size, f"{r['qemu']:.3f}" if q else "-", f"{r['qemu_med']:.3f}" if q else "-",
                 f"{r['mkemu']:.3f}", f"{r['mkemu_med']:.3f}", f"{r['mkemu'] / r['qemu']:.1f}" if q else "-",
                 s.get("instructions", "?"), s.get("blocks", "?"), s.get("mips", "?")]
        print(fmt_row(cells, args.markdown))
        sys.stdout.flush()
    if "thrcompute1" in best and "thrcompute2" in best:
        (q1, m1), (q2, m2) = best["thrcompute1"], best["thrcompute2"]
        print(f"\nthrcompute speed-up 2 threads vs 1: mkemu {m1 / m2:.2f}x, qemu {q1 / q2:.2f}x")
    print(f"\n{repeat} run(s) each; times are wall seconds including start-up; ratio = best mkemu / "
          f"best qemu; insns, blocks and MIPS from mkemu --stats of its best run"
          + (f"; {failures} workload(s) failed" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
