"""What bench/run.py runs: the workloads, their sizes and inputs, and issue #11's targets.

A workload is a C program (bench/NAME.c, compiled statically with
aarch64-linux-gnu-gcc -O2, cached by source hash in $MKEMU_CACHE/bench,
default ~/.cache/mkemu) or a program of a test rootfs (tests/support/rootfs.py:
"busybox" is Debian's static arm64 busybox alone, "full" a small Debian 12 with
a shell, coreutils and python3) with its arguments.  Some read a generated
input on stdin (the same bytes for qemu and mkemu, written once to
$MKEMU_CACHE/bench/input).

Each may carry the issue's target for it (Target): guest MIPS from mkemu's
--stats, or wall seconds, or a cost per unit of work (per fork+exec round, per
system call) with the same program's start-up taken off (`baseline`: the best
run at size 0 is subtracted), or, for the derived row thr-scaling, the time two
threads take for twice the work of one (from thrcompute1 and thrcompute2, each
with its start-up taken off the same way: at --quick sizes start-up would
otherwise be most of it).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tests.support.rootfs import busybox_rootfs, cache_dir, full_rootfs

HERE = Path(__file__).resolve().parent
CC = os.environ.get("MKEMU_GUEST_CC", "aarch64-linux-gnu-gcc")
ROOTFS = {"busybox": busybox_rootfs, "full": full_rootfs}


class BenchError(Exception):
    """A workload could not be built or run, or gave the wrong output: its row says so."""


@dataclass(frozen=True)
class Target:
    """One of issue #11's targets: at least `bound` MIPS, or at most `bound` of the other units."""
    unit: str                     # "MIPS", "s" (wall), "ms/round", "us/call" or "x" (thr-scaling)
    bound: float

    def text(self) -> str:
        return f"{'≥' if self.unit == 'MIPS' else '≤'} {self.bound:g} {self.unit}".replace(" x", "x")

    def met(self, value: float) -> bool:
        return value >= self.bound if self.unit == "MIPS" else value <= self.bound

    def format(self, value: float) -> str:
        if self.unit == "MIPS":
            return f"{value:.1f} MIPS"
        if self.unit == "x":
            return f"{value:.2f}x"
        if self.unit == "s":
            return f"{value:.3f} s"
        return f"{value:.3g} {self.unit}"


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
    stdin: Callable[[str], bytes] | None = None    # its input for a size (None: /dev/null)
    target: Target | None = None  # issue #11's target for it
    units: Callable[[str], int] | None = None      # per-unit targets: units of work in a size
    baseline: bool = False        # also time it at size 0: its start-up, taken off its work's time
    min_repeat: int = 1           # at least this many runs even with --quick (start-up rows)
    cold: bool = False            # each mkemu run starts with an empty code cache


# ---- inputs: fixed text from a fixed generator, so both emulators read the same bytes

_SYLLABLES = ["ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "vu", "xe", "zo", "be", "da", "fi", "gu", "ho"]
WORDS = [a + b + c for a in _SYLLABLES[:4] for b in _SYLLABLES for c in _SYLLABLES[4:8]]   # 256 words


def text_lines(lines: int) -> bytes:
    """LINES lines of `INDEX NUMBER WORD WORD` drawn from a linear congruential generator."""
    x, out = 2026, []
    for i in range(lines):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(f"{i} {x % 100003} {WORDS[(x >> 8) & 255]} {WORDS[(x >> 16) & 255]}\n")
    return "".join(out).encode()


def input_file(name: str, size: str, make: Callable[[str], bytes]) -> Path:
    """The workload's input for SIZE, written once (renamed into place whole)."""
    data = make(size)
    out = cache_dir() / "bench" / "input" / f"{name}-{size}-{hashlib.sha256(data).hexdigest()[:12]}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.rename(tmp, out)
    return out


def build(name: str) -> Path:
    """bench/NAME.c compiled statically for aarch64 (cached by source and flags)."""
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


def _sum_script(n: str) -> list[str]:
    return ["sh", "-c", f"seq 1 {n} | awk '{{s+=$1}} END {{print s}}'"]


# awk's everyday work: split fields, add, count into an associative array
_AWK = "{ s += $2; n[$3]++ } END { for (w in n) k++; print NR, s, k, n[\"kamika\"] }"
_PY_FIB = "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nprint(fib({n}))"

MIPS, WALL = "MIPS", "s"

WORKLOADS = {
    "intloop": Workload("integer ALU loop", "80000000", "3000000", target=Target(MIPS, 30)),
    "fib": Workload("calls and returns", "36", "25", target=Target(MIPS, 20)),
    "matmul": Workload("double FP multiply-add", "240", "60", target=Target(MIPS, 10)),
    "memseq": Workload("sequential loads/stores, memcpy", "24", "1", target=Target(MIPS, 15)),
    "syscalls": Workload("getpid + write syscalls", "200000", "20000",
                         target=Target("us/call", 5), units=lambda n: 2 * int(n), baseline=True),
    "forkpipe": Workload("fork + pipe + child write, parent read + waitpid", "50", "10",
                         rootfs="full"),
    "forkmem1": Workload("20 x fork of a process with 1 MiB touched (see forkmem)", "1", "1",
                         source="forkmem"),
    "forkmem": Workload("20 x fork of a process with M MiB touched: fork cost per mapped MiB",
                        "64", "16"),
    "forkexec": Workload("fork + execve /bin/true + waitpid", "50", "10", rootfs="full",
                         qemu=False, expect=lambda n: f"{n} children, {n} exited 0\n".encode(),
                         target=Target("ms/round", 30), units=int, baseline=True),
    "sh-awk": Workload("busybox sh: seq | awk pipeline (fork, pipes, applets)", "100000", "10000",
                       program="/bin/busybox", argv=_sum_script, rootfs="full"),
    "bb-seq": Workload("busybox seq 1 N: number formatting, small writes", "200000", "5000",
                       program="/bin/busybox", argv=lambda n: ["seq", "1", n], target=Target(MIPS, 20)),
    "bb-awk": Workload("busybox awk over N generated lines: fields, sums, an array", "40000", "2000",
                       program="/bin/busybox", argv=lambda n: ["awk", _AWK],
                       stdin=lambda n: text_lines(int(n)), target=Target(MIPS, 20)),
    "bb-sort": Workload("busybox sort of N generated lines", "40000", "2000",
                        program="/bin/busybox", argv=lambda n: ["sort"],
                        stdin=lambda n: text_lines(int(n)), target=Target(MIPS, 20)),
    "bb-gzip": Workload("busybox gzip -9 of N generated lines", "40000", "2000",
                        program="/bin/busybox", argv=lambda n: ["gzip", "-9", "-c"],
                        stdin=lambda n: text_lines(int(n)), target=Target(MIPS, 20)),
    "py-sum": Workload("python3 -c 'print(sum(range(N)))' in the guest, start-up included",
                       "1000000", "100000", program="/usr/bin/python3", rootfs="full",
                       argv=lambda n: ["-c", f"print(sum(range({n})))"], target=Target(MIPS, 15)),
    "py-fib": Workload("python3: recursive fib(N) in the guest, start-up included", "25", "15",
                       program="/usr/bin/python3", rootfs="full",
                       argv=lambda n: ["-c", _PY_FIB.format(n=n)], target=Target(MIPS, 15)),
    "hello": Workload("static C hello: start-up and exit (best of at least 5)", "-", "-",
                      argv=lambda size: [], target=Target(WALL, 0.12), min_repeat=5),
    "py-start": Workload("python3 -c pass: dynamic loading, interpreter start-up (code cache warm)",
                         "-", "-", program="/usr/bin/python3", argv=lambda size: ["-c", "pass"],
                         rootfs="full", target=Target(WALL, 1.5)),
    "py-start-cold": Workload("python3 -c pass with an empty code cache (every block translated)",
                              "-", "-", program="/usr/bin/python3", argv=lambda size: ["-c", "pass"],
                              rootfs="full", target=Target(WALL, 6), cold=True),
    "thrmutex": Workload("4 threads x N pthread_mutex increments of one counter (contended)",
                         "400000", "2000"),
    # the same total work in 1 and in 2 worker threads: the thr-scaling row
    "thrcompute1": Workload("integer hash rounds in 1 worker thread (see thrcompute2)",
                            "100000000", "2000000", source="thrcompute", argv=lambda size: ["1", size],
                            baseline=True),
    "thrcompute2": Workload("the same rounds split over 2 threads, nothing shared written",
                            "100000000", "2000000", source="thrcompute", argv=lambda size: ["2", size],
                            baseline=True),
    "futex-uncontended": Workload("pthread_mutex lock + unlock in one thread: no system call",
                                  "5000000", "100000", source="futexrt",
                                  argv=lambda size: ["uncontended", size]),
    "futex-pingpong": Workload("2 threads pass a turn: FUTEX_WAKE + FUTEX_WAIT each way",
                               "10000", "500", source="futexrt", argv=lambda size: ["pingpong", size]),
}

# Rows computed from other rows: name -> (the rows it needs, what it shows, its target).
# thr-scaling: the time 2 threads take for twice the work of 1, 2 * w(thrcompute2) /
# w(thrcompute1) (the same total work, half of it per thread), w = the wall time less
# the start-up (the run at size 0, threads made and joined); the issue asks <= 1.2.
SCALING = ("thrcompute1", "thrcompute2")
DERIVED = {
    "thr-scaling": (SCALING, "2 threads doing twice the work of 1: 2 x thrcompute2 / thrcompute1, "
                    "start-up taken off",
                    Target("x", 1.2)),
}


def scaling(t1: float, t2: float) -> float:
    return 2 * t2 / t1
