#!/usr/bin/env python3
"""Run the aarch64 workloads under mkemu and qemu-aarch64 side by side.

    python bench/run.py [--quick] [--repeat N] [--only NAME]

Each workload is compiled statically with aarch64-linux-gnu-gcc -O2 (cached),
run under qemu-aarch64 and under `python -m mkemu run --stats`, best of N wall
times each; the table gives both, their ratio (mkemu / qemu) and mkemu's guest
MIPS.  Outputs of the two are compared: a mismatch is printed as an error row.
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.support.rootfs import busybox_rootfs, cache_dir  # noqa: E402

# name -> (argument for the full run, argument for --quick)
WORKLOADS = {
    "intloop": ("1000000", "200000"),
    "fib": ("24", "20"),
    "matmul": ("40", "20"),
    "memseq": ("2", "1"),
    "syscalls": ("20000", "3000"),
}


def build(name: str) -> Path:
    src = HERE / f"{name}.c"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:12]
    out = cache_dir() / "bench" / f"{name}-{digest}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-static", "-o", str(out), str(src)], check=True)
    return out


def timed(cmd: list[str]) -> tuple[float, bytes, bytes, int]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, timeout=1800)
    return time.perf_counter() - t0, r.stdout, r.stderr, r.returncode


def stats(stderr: bytes) -> dict[str, str]:
    out = {}
    for line in stderr.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "mkemu:":
            out[parts[1]] = parts[2]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller inputs, one repetition")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", action="append")
    args = ap.parse_args()
    repeat = 1 if args.quick else args.repeat
    rootfs = busybox_rootfs()
    print(f"{'workload':<10} {'arg':>8} {'qemu s':>8} {'mkemu s':>9} {'ratio':>8} {'guest insns':>12} {'MIPS':>7}")
    for name, (full, quick) in WORKLOADS.items():
        if args.only and name not in args.only:
            continue
        arg = quick if args.quick else full
        prog = str(build(name))
        q = min((timed(["qemu-aarch64", prog, arg]) for _ in range(repeat)), key=lambda r: r[0])
        m = min((timed([sys.executable, "-m", "mkemu", "run", "--stats", "--rootfs", str(rootfs),
                        "--", prog, arg]) for _ in range(repeat)), key=lambda r: r[0])
        if m[3] != 0 or m[1] != q[1]:
            print(f"{name:<10} {arg:>8} ERROR: mkemu exit {m[3]}, output {m[1][:40]!r} vs qemu {q[1][:40]!r}")
            continue
        s = stats(m[2])
        print(f"{name:<10} {arg:>8} {q[0]:>8.3f} {m[0]:>9.3f} {m[0] / q[0]:>8.1f} "
              f"{s.get('instructions', '?'):>12} {s.get('mips', '?'):>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
