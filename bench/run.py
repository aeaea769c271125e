#!/usr/bin/env python3
"""Run the aarch64 workloads under qemu-aarch64 and under mkemu, side by side.

    python bench/run.py [--quick] [--repeat N] [--only NAME]... [--markdown] [--timeout S]

Each workload (bench/NAME.c) is compiled statically with aarch64-linux-gnu-gcc
-O2 (cached by source hash in $MKEMU_CACHE/bench, default ~/.cache/mkemu),
then run N times under `qemu-aarch64` and N times under
`python -m mkemu run --stats --rootfs ROOTFS -- PROGRAM ARG`.  The table
gives the best and the median wall time of each, the ratio of the best times
(mkemu / qemu), and from mkemu's --stats lines of its best run (on stderr:
`mkemu: instructions N`, `mkemu: blocks N`, `mkemu: wall S s`, `mkemu: mips M`)
the guest instruction count and guest MIPS.  A workload that mkemu cannot run
(non-zero exit, timeout, output different from qemu's) gets an error row and
the run goes on.  The full sizes take about 0.2-0.4 s each under qemu;
--quick uses sizes that take mkemu a few seconds, with one repetition.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.support.guestrun import GUEST_ENV, kill_tree  # noqa: E402
from tests.support.rootfs import busybox_rootfs, cache_dir  # noqa: E402

CC = os.environ.get("MKEMU_GUEST_CC", "aarch64-linux-gnu-gcc")

# name -> (what it stresses, argument(s) for the full run, for --quick)
WORKLOADS = {
    "intloop": ("integer ALU loop", ["80000000"], ["3000000"]),
    "fib": ("calls and returns", ["36"], ["25"]),
    "matmul": ("double FP multiply-add", ["240"], ["60"]),
    "memseq": ("sequential loads/stores, memcpy", ["24"], ["1"]),
    "syscalls": ("getpid + write syscalls", ["200000"], ["20000"]),
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


def run_workload(name: str, args: list[str], rootfs: Path, repeat: int, timeout: float) -> dict:
    prog = str(build(name))
    qemu_runs = [timed(["qemu-aarch64", prog, *args], timeout, env=dict(GUEST_ENV))
                 for _ in range(repeat)]
    q_ref = qemu_runs[0]
    if q_ref[3] != 0:
        raise BenchError(f"qemu exit {q_ref[3]}: {first_error_line(q_ref[2])}")
    mk_cmd = [sys.executable, "-m", "mkemu", "run", "--stats", "--rootfs", str(rootfs), "--", prog, *args]
    mk_runs = []
    for _ in range(repeat):
        r = timed(mk_cmd, timeout)
        if r[3] != 0:
            raise BenchError(f"mkemu exit {r[3]}: {first_error_line(r[2])}")
        if r[1] != q_ref[1]:
            raise BenchError(f"output differs: mkemu {r[1][:30]!r} vs qemu {q_ref[1][:30]!r}")
        mk_runs.append(r)
    best = min(mk_runs, key=lambda r: r[0])
    q_times = [r[0] for r in qemu_runs]
    m_times = [r[0] for r in mk_runs]
    return {"qemu": min(q_times), "qemu_med": statistics.median(q_times),
            "mkemu": min(m_times), "mkemu_med": statistics.median(m_times),
            "stats": parse_stats(best[2])}


COLUMNS = [("workload", 9, "<"), ("arg", 9, ">"), ("qemu s", 7, ">"), ("(med)", 7, ">"),
           ("mkemu s", 8, ">"), ("(med)", 8, ">"), ("ratio", 7, ">"), ("guest insns", 12, ">"),
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
    rootfs = busybox_rootfs()
    header = [c[0] for c in COLUMNS]
    print(fmt_row(header, args.markdown))
    if args.markdown:
        print("|" + "|".join("---:" if a == ">" else "---" for _, _, a in COLUMNS) + "|")
    sys.stdout.flush()
    failures = 0
    for name, (_, full, quick) in WORKLOADS.items():
        if args.only and name not in args.only:
            continue
        wargs = quick if args.quick else full
        try:
            r = run_workload(name, wargs, rootfs, repeat, args.timeout)
        except BenchError as e:
            failures += 1
            if args.markdown:
                print(f"| {name} | {' '.join(wargs)} | ERROR: {e} |" + " |" * (len(COLUMNS) - 3))
            else:
                print(f"{name:<9} {' '.join(wargs):>9} ERROR: {e}")
            sys.stdout.flush()
            continue
        s = r["stats"]
        cells = [name, " ".join(wargs), f"{r['qemu']:.3f}", f"{r['qemu_med']:.3f}",
                 f"{r['mkemu']:.3f}", f"{r['mkemu_med']:.3f}", f"{r['mkemu'] / r['qemu']:.1f}",
                 s.get("instructions", "?"), s.get("blocks", "?"), s.get("mips", "?")]
        print(fmt_row(cells, args.markdown))
        sys.stdout.flush()
    print(f"\n{repeat} run(s) each; times are wall seconds including start-up; ratio = best mkemu / "
          f"best qemu; insns, blocks and MIPS from mkemu --stats of its best run"
          + (f"; {failures} workload(s) failed" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
