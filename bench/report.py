"""How bench results are shown: the table (plain or Markdown), a section of
docs/BENCHMARKS.md, and a chart of mkemu's and qemu's wall seconds (matplotlib,
optional: `pip install .[bench]`; without it the section says the chart was
skipped).

The functions here take a list of Result and time nothing.
"""
from __future__ import annotations

import datetime
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .workloads import Target


@dataclass
class Result:
    """One row: best and median wall seconds under each emulator (None: not run there),
    mkemu's --stats of its best run, and the figure its target is about (`value`, for
    mkemu; `qemu_value`, the same figure under qemu, where there is one)."""
    name: str
    arg: str
    qemu: float | None = None
    qemu_med: float | None = None
    mkemu: float | None = None
    mkemu_med: float | None = None
    qemu_base: float | None = None          # best wall seconds at size 0: the start-up
    mkemu_base: float | None = None
    stats: dict[str, str] = field(default_factory=dict)
    target: Target | None = None
    value: float | None = None
    qemu_value: float | None = None
    error: str = ""


# (header, plain-text width, alignment)
COLUMNS = [("workload", 17, "<"), ("arg", 9, ">"), ("qemu s", 7, ">"), ("(med)", 7, ">"),
           ("mkemu s", 8, ">"), ("(med)", 8, ">"), ("ratio", 6, ">"), ("guest insns", 11, ">"),
           ("blocks", 6, ">"), ("MIPS", 6, ">"), ("measured", 24, ">"), ("target", 12, ">"),
           ("met", 3, ">")]

FOOTNOTE = ("times are wall seconds including start-up; ratio = best mkemu / best qemu; insns, "
            "blocks and MIPS from mkemu --stats of its best run (the first process only); "
            "measured = the figure the target of issue #11 is about, with qemu's in parentheses: "
            "per-unit costs have the program's start-up (a run at size 0) taken off, "
            "thr-scaling = 2 x thrcompute2 / thrcompute1, start-up taken off both")

CHART_ALT = "mkemu and qemu-aarch64 wall seconds per workload, log scale"


def _secs(t: float | None) -> str:
    return "-" if t is None else f"{t:.3f}"


def cells(r: Result) -> list[str]:
    """The row's cells, in COLUMNS order."""
    if r.error:
        return [r.name, r.arg, f"ERROR: {r.error}"]
    ratio = f"{r.mkemu / r.qemu:.1f}" if r.mkemu is not None and r.qemu else "-"
    measured = target = met = ""
    if r.target is not None and r.value is not None:
        measured = r.target.format(r.value)
        if r.qemu_value is not None:
            measured += f" (qemu {r.target.format(r.qemu_value).split()[0]})"
        target = r.target.text()
        met = "yes" if r.target.met(r.value) else "no"
    s = r.stats
    return [r.name, r.arg, _secs(r.qemu), _secs(r.qemu_med), _secs(r.mkemu), _secs(r.mkemu_med),
            ratio, s.get("instructions", "-"), s.get("blocks", "-"), s.get("mips", "-"),
            measured, target, met]


def format_row(row: list[str], markdown: bool) -> str:
    if markdown:
        return "| " + " | ".join(row + [""] * (len(COLUMNS) - len(row))) + " |"
    if row[-1:] and row[-1].startswith("ERROR"):
        return " ".join(f"{c:{a}{w}}" for c, (_, w, a) in zip(row[:-1], COLUMNS)) + " " + row[-1]
    return " ".join(f"{c:{a}{w}}" for c, (_, w, a) in zip(row, COLUMNS))


def header(markdown: bool) -> list[str]:
    lines = [format_row([c[0] for c in COLUMNS], markdown)]
    if markdown:
        lines.append("|" + "|".join("---:" if a == ">" else "---" for _, _, a in COLUMNS) + "|")
    return lines


def table(results: list[Result], markdown: bool = True) -> str:
    return "\n".join(header(markdown) + [format_row(cells(r), markdown) for r in results])


def machine_line() -> str:
    """The CPU model and cores, the host python and qemu-aarch64 versions, the mkemu commit."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    qemu = "no qemu-aarch64"
    if shutil.which("qemu-aarch64"):
        out = subprocess.run(["qemu-aarch64", "--version"], capture_output=True, text=True).stdout
        qemu = out.splitlines()[0].replace(" version", "") if out else "qemu-aarch64 ?"
    here = Path(__file__).resolve().parent
    commit = subprocess.run(["git", "-C", str(here), "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() or "?"
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {qemu}, "
            f"mkemu {commit}")


def write_chart(results: list[Result], path: Path, title: str = "") -> None:
    """A log-scale bar chart of the best wall seconds, mkemu beside qemu, per workload.
    Raises ImportError without matplotlib."""
    import matplotlib
    matplotlib.use("Agg")                   # no display: write a file
    import matplotlib.pyplot as plt

    rows = [r for r in results if not r.error and r.mkemu is not None]
    if not rows:
        raise ValueError("no timed rows to chart")
    x = range(len(rows))
    width = 0.4
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(rows) + 2), 4.5))
    ax.bar([i - width / 2 for i in x], [r.mkemu for r in rows], width, label="mkemu", color="tab:blue")
    q = [(i, r.qemu) for i, r in zip(x, rows) if r.qemu is not None]
    ax.bar([i + width / 2 for i, _ in q], [t for _, t in q], width, label="qemu-aarch64",
           color="tab:orange")
    ax.set_yscale("log")
    low = min([r.mkemu for r in rows] + [t for _, t in q])
    for i, r in zip(x, rows):
        if r.qemu is None:                  # say why the orange bar is missing
            ax.text(i + width / 2, low, "no qemu", rotation=90, ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("wall seconds (best run, log scale)")
    ax.set_xticks(list(x))
    ax.set_xticklabels([r.name for r in rows], rotation=45, ha="right")
    ax.set_title(title or CHART_ALT)
    ax.legend()
    ax.grid(axis="y", which="major", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def chart_path(docs: Path, day: datetime.date) -> Path:
    """docs/bench-DATE.png, or bench-DATE-N.png when a chart of that day is there already."""
    path, n = docs / f"bench-{day.isoformat()}.png", 2
    while path.exists():
        path, n = docs / f"bench-{day.isoformat()}-{n}.png", n + 1
    return path


def write_doc(doc: Path, title: str, results: list[Result], note: str = "",
              machine: str | None = None, day: datetime.date | None = None) -> str:
    """Append a section TITLE to DOC (the machine line, the table, the chart beside DOC).
    Returns what was written, for the user: the chart's path or why it was skipped."""
    day = day or datetime.datetime.now(datetime.timezone.utc).date()
    png = chart_path(doc.parent, day)
    try:
        write_chart(results, png, title)
        chart = f"![{CHART_ALT}]({png.name})"
        said = f"wrote {png}"
    except ImportError:
        chart = "(Chart skipped: matplotlib is not installed; `pip install .[bench]` adds it.)"
        said = "chart skipped: no matplotlib"
    except ValueError as e:
        chart, said = f"(No chart: {e}.)", f"chart skipped: {e}"
    parts = [f"## {title}", f"{machine or machine_line()}, {day.isoformat()}.",
             table(results, markdown=True), (note + "; " if note else "") + FOOTNOTE, chart]
    old = doc.read_text() if doc.exists() else ""
    # one blank line between the old text and the new section
    lead = "\n" * max(0, 2 - (len(old) - len(old.rstrip("\n")))) if old else "# Benchmarks\n\n"
    with open(doc, "a") as f:
        f.write(lead + "\n\n".join(parts) + "\n")
    return said
