#!/usr/bin/env python3
"""Run the aarch64 workloads under qemu-aarch64 and under mkemu, side by side.

    python3 bench/run.py [--quick] [--repeat N] [--only NAME]... [--markdown] [--timeout S]
                         [--no-warmup] [--write-doc SECTION-TITLE [--doc FILE]]

Each workload (bench/workloads.py: C programs of bench/, busybox applets,
python3 in the guest, start-up) runs N times under qemu-aarch64 and N times
under mkemu (bench/measure.py), after one untimed mkemu run that warms the
code cache (not for py-start-cold, which starts every run with an empty one).
The table gives the best and median wall times under each, their ratio, the
guest instruction count and MIPS from mkemu's --stats, and for the rows issue
#11 sets a target the figure it is about (MIPS, wall seconds, ms a fork+exec
round, us a system call, the two-thread scaling) beside the target.  A
workload that mkemu cannot run (non-zero exit, timeout, output different from
qemu's) gets an error row and the run goes on.  The full sizes take seconds to
a minute each under mkemu; --quick uses sizes that take it a few seconds, with
one repetition (start-up rows still run 5 times).

qemu-aarch64 is no reference for a workload that execs an aarch64 program
(forkexec): its execve hands the guest's path to the host kernel, which runs
the host's /bin/true.  Such a workload shows "-" in the qemu columns and its
output is checked against what it must print instead.

The thread workloads (thrmutex, thrcompute1/2, futex-uncontended,
futex-pingpong) print only counts and checksums fixed by their arguments,
never anything that depends on scheduling.  thrcompute1 and thrcompute2 do the
same total work in 1 and in 2 worker threads; the thr-scaling row compares them
(`--only thr-scaling` runs both).

--write-doc TITLE appends a section TITLE to docs/BENCHMARKS.md: the machine
(CPU, cores, Python, qemu, mkemu commit), the table and a log-scale chart of
the wall seconds, docs/bench-DATE.png (needs matplotlib, the `bench` extra;
without it the section says the chart was skipped).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.measure import derive, measure  # noqa: E402
from bench.workloads import DERIVED, WORKLOADS, BenchError  # noqa: E402


def selected(only: list[str] | None) -> tuple[list[str], list[str]]:
    """The workloads to run and the derived rows to show, in table order."""
    if not only:
        return list(WORKLOADS), list(DERIVED)
    wanted = set(only)
    for name in only:
        wanted.update(DERIVED.get(name, ((),))[0])
    return [n for n in WORKLOADS if n in wanted], [n for n in DERIVED if n in wanted]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    ap.add_argument("--repeat", type=int,
                    help="runs of each program under each emulator (default 3, 1 with --quick)")
    ap.add_argument("--only", action="append", choices=sorted([*WORKLOADS, *DERIVED]),
                    help="run only this workload (repeatable)")
    ap.add_argument("--timeout", type=float, default=1200, help="seconds allowed for one run (default 1200)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--no-warmup", action="store_true",
                    help="no untimed mkemu run before the timed ones (the code cache may be cold)")
    ap.add_argument("--write-doc", metavar="SECTION-TITLE",
                    help="append a section with the table and a chart to docs/BENCHMARKS.md")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "BENCHMARKS.md",
                    help="the file --write-doc appends to (the chart goes beside it)")
    args = ap.parse_args()
    repeat = args.repeat or (1 if args.quick else 3)
    names, derived = selected(args.only)

    print("\n".join(report.header(args.markdown)), flush=True)
    results: dict[str, report.Result] = {}
    for name in names:
        w = WORKLOADS[name]
        size = w.quick if args.quick else w.full
        try:
            r = measure(name, size, w.quick, repeat, args.timeout, warmup=not args.no_warmup)
        except BenchError as e:
            r = report.Result(name, size, error=str(e))
        results[name] = r
        print(report.format_row(report.cells(r), args.markdown), flush=True)
    for name in derived:
        r = results[name] = derive(name, results)
        print(report.format_row(report.cells(r), args.markdown), flush=True)

    failures = sum(1 for r in results.values() if r.error)
    more = [f"{n} {WORKLOADS[n].min_repeat}" for n in names if WORKLOADS[n].min_repeat > repeat]
    runs = (f"{repeat} run(s) each" + (f" ({', '.join(more)})" if more else "")
            + (", --quick sizes" if args.quick else ""))
    print(f"\n{runs}; {report.FOOTNOTE}" + (f"; {failures} workload(s) failed" if failures else ""))
    if args.write_doc:
        said = report.write_doc(args.doc, args.write_doc, list(results.values()), note=runs)
        print(f"appended section {args.write_doc!r} to {args.doc}; {said}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
