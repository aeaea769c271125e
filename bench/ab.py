"""A/B of mkemu source trees: the task CPU time of bench/ workloads, tree beside tree.

    python -m bench.ab main=HEAD~1 new=. --only py-start --only bb-seq --size bb-seq=30000

Each TREE is NAME=REV (a git revision, exported to a temporary directory) or NAME=DIR
(a source tree as it is, uncommitted changes and all).  For each workload every tree
gets its own new, empty MKEMU_CACHE, runs WARM times untimed (the first translates
everything, the next ones let the start kit settle), then ROUNDS times, the trees in
alternating order, each round one run of each.  The figure is mkemu's own `cpu` line
of --stats (the first process's user+system time), the median of the rounds; the
dispatch count (block-runs) is the last round's.

Why a cache of its own: the code cache remembers what earlier runs found (branch
marks, the start kit), and a tree compared against another's well-used cache gives
a ratio that says as much about the caches' history as about the code (session 36: a
change measured -14% on a warm python3 -c pass against main in a cache used for
weeks, and -3% when each tree had a new one).
The machine is shared and noisy: only compare trees measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from .measure import Runner, parse_stats, timed
from .workloads import WORKLOADS, BenchError

ROOT = Path(__file__).resolve().parent.parent


def tree_dir(spec: str, stack: ExitStack) -> Path:
    """The source tree a TREE argument's right side names (see the module comment)."""
    if Path(spec).is_dir():
        return Path(spec).resolve()
    out = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mkemu-ab-")))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", spec], capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"ab: {spec}: neither a directory nor a git revision")
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out


def run_once(runner: Runner, tree: Path, cache: Path, timeout: float) -> tuple[float, int, bytes]:
    """(task CPU seconds, block runs, stdout) of one mkemu run from tree."""
    env = dict(os.environ, PYTHONPATH=str(tree), MKEMU_CACHE=str(cache))
    _, out, err, status = timed(runner.mkemu_cmd, timeout, env=env, stdin=runner.stdin, cwd=tree)
    if status != 0:
        raise BenchError(f"{tree}: exit {status}")
    stats = parse_stats(err)
    return float(stats["cpu"]), int(stats["block-runs"]), out


def compare(name: str, size: str, trees: dict[str, Path], warm: int, rounds: int,
            timeout: float, scratch: Path) -> str:
    """One workload's markdown row: each tree's median, dispatches and ratio to the first."""
    runner = Runner(name, size, timeout)
    caches = {t: scratch / f"{name}-{t}" for t in trees}
    outputs = set()
    for t, d in trees.items():
        for _ in range(warm):
            outputs.add(run_once(runner, d, caches[t], timeout)[2])
    cpu: dict[str, list[float]] = {t: [] for t in trees}
    runs: dict[str, int] = {}
    order = list(trees)
    for i in range(rounds):
        for t in order if i % 2 == 0 else order[::-1]:
            seconds, runs[t], out = run_once(runner, trees[t], caches[t], timeout)
            cpu[t].append(seconds)
            outputs.add(out)
    if len(outputs) != 1:
        raise BenchError(f"{name}: the trees' outputs differ")
    median = {t: statistics.median(cpu[t]) for t in order}
    cells = [f"{median[t]:.2f} ({runs[t]:,}) {median[t] / median[order[0]]:.3f}" for t in order]
    return f"| {name} | {size} | " + " | ".join(cells) + " |"


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n")[0])
    ap.add_argument("trees", nargs="+", metavar="NAME=REV|DIR", help="two or more trees")
    ap.add_argument("--only", action="append", required=True, metavar="WORKLOAD")
    ap.add_argument("--size", action="append", default=[], metavar="WORKLOAD=SIZE",
                    help="a size other than the workload's --quick one")
    ap.add_argument("--warm", type=int, default=3, help="untimed runs per tree first (default 3)")
    ap.add_argument("--rounds", type=int, default=4, help="timed runs per tree (default 4)")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    specs = [t.partition("=") for t in args.trees]
    if any(not name or not sep or not spec for name, sep, spec in specs) or len(specs) < 2:
        ap.error("give two or more trees as NAME=REV or NAME=DIR")
    if len({name for name, _, _ in specs}) < len(specs):
        ap.error("give each tree a name of its own")
    unknown = [w for w in args.only if w not in WORKLOADS]
    if unknown:
        ap.error(f"unknown workload(s): {', '.join(unknown)}")
    sizes = dict(s.partition("=")[::2] for s in args.size)
    with ExitStack() as stack:
        trees = {name: tree_dir(spec, stack) for name, _, spec in specs}
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mkemu-ab-cache-")))
        print("| workload | size | " + " | ".join(f"{t}: cpu s (dispatches) ratio" for t in trees) + " |")
        print("|---|---:|" + "---:|" * len(trees))
        for name in args.only:
            size = sizes.get(name, WORKLOADS[name].quick)
            try:
                print(compare(name, size, trees, args.warm, args.rounds, args.timeout, scratch),
                      flush=True)
            except BenchError as e:
                print(f"| {name} | {size} | error: {e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
