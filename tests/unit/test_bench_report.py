"""bench/report.py turns a list of results into a table, a docs section and a chart.

Nothing is timed and no emulator runs: the results are made up here.
"""
from __future__ import annotations

import datetime
import sys

import pytest

from bench import report
from bench.report import Result
from bench.workloads import Target

DAY = datetime.date(2026, 12, 2)
MACHINE = "Test CPU, 2 cores, Python 3.11.7, qemu-aarch64 7.2.22, mkemu abc1234"


def _results() -> list[Result]:
    return [
        Result("bb-seq", "200000", qemu=0.25, qemu_med=0.26, mkemu=25.0, mkemu_med=26.0,
               stats={"instructions": "460000000", "blocks": "753", "mips": "18.40"},
               target=Target("MIPS", 20), value=18.4),
        Result("hello", "-", qemu=0.05, qemu_med=0.06, mkemu=0.11, mkemu_med=0.13,
               stats={"instructions": "7651", "blocks": "378", "mips": "0.07"},
               target=Target("s", 0.12), value=0.11),
        Result("forkexec", "50", mkemu=2.0, mkemu_med=2.1, target=Target("ms/round", 30),
               value=36.5),
        Result("syscalls", "200000", qemu=0.2, qemu_med=0.2, mkemu=1.9, mkemu_med=2.0,
               target=Target("us/call", 5), value=4.25, qemu_value=0.31),
        Result("bb-gzip", "40000", error="output differs"),
        Result("thr-scaling", "-", target=Target("x", 1.2), value=1.12, qemu_value=0.94),
    ]


def _row(text: str, name: str) -> list[str]:
    line = next(l for l in text.splitlines() if l.startswith(f"| {name} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_markdown_table_shows_each_target_beside_its_figure():
    text = report.table(_results(), markdown=True)
    lines = text.splitlines()
    assert lines[0].split("|")[1:-1][0].strip() == "workload"
    assert len(lines) == 2 + len(_results())
    cols = [c[0] for c in report.COLUMNS]
    seq = dict(zip(cols, _row(text, "bb-seq")))
    assert (seq["qemu s"], seq["mkemu s"], seq["ratio"]) == ("0.250", "25.000", "100.0")
    assert (seq["measured"], seq["target"], seq["met"]) == ("18.4 MIPS", "≥ 20 MIPS", "no")
    hello = dict(zip(cols, _row(text, "hello")))
    assert (hello["measured"], hello["target"], hello["met"]) == ("0.110 s", "≤ 0.12 s", "yes")
    fork = dict(zip(cols, _row(text, "forkexec")))
    assert (fork["qemu s"], fork["ratio"], fork["measured"], fork["met"]) == ("-", "-", "36.5 ms/round", "no")
    sysc = dict(zip(cols, _row(text, "syscalls")))
    assert (sysc["measured"], sysc["target"], sysc["met"]) == ("4.25 us/call (qemu 0.31)", "≤ 5 us/call", "yes")
    scal = dict(zip(cols, _row(text, "thr-scaling")))
    assert (scal["measured"], scal["target"], scal["met"]) == ("1.12x (qemu 0.94x)", "≤ 1.2x", "yes")
    # an error row keeps the table's column count
    assert _row(text, "bb-gzip")[2] == "ERROR: output differs"
    assert len(_row(text, "bb-gzip")) == len(cols)


def test_write_doc_appends_a_section_and_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="the chart needs matplotlib (pip install .[bench])")
    doc = tmp_path / "BENCHMARKS.md"
    old = "# Benchmarks\n\n## An old section\n\nkept as it is\n"
    doc.write_text(old)
    said = report.write_doc(doc, "After the fast path", _results(), note="3 run(s) each",
                            machine=MACHINE, day=DAY)
    png = tmp_path / "bench-2026-12-02.png"
    assert said == f"wrote {png}"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = doc.read_text()
    assert text.startswith(old + "\n## After the fast path\n\n" + MACHINE + ", 2026-12-02.\n")
    assert report.table(_results(), markdown=True) in text
    assert f"]({png.name})" in text
    # a second section of the same day gets its own chart, the first stays
    report.write_doc(doc, "Again", _results()[:2], machine=MACHINE, day=DAY)
    assert (tmp_path / "bench-2026-12-02-2.png").exists() and png.exists()
    assert doc.read_text().startswith(text + "\n## Again\n")


def test_write_doc_without_matplotlib_still_writes_the_table(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)      # `import matplotlib` fails
    doc = tmp_path / "BENCHMARKS.md"
    said = report.write_doc(doc, "No chart", _results(), machine=MACHINE, day=DAY)
    assert said == "chart skipped: no matplotlib"
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\n## No chart\n")
    assert report.table(_results(), markdown=True) in text
    assert "Chart skipped: matplotlib is not installed" in text
    assert not list(tmp_path.glob("*.png"))


def test_plain_table_aligns_its_columns():
    text = report.table(_results()[:2], markdown=False)
    header, seq, hello = text.splitlines()
    assert len(header) == len(seq) == len(hello)
    assert header.index("target") < seq.index("≥ 20 MIPS") + len("≥ 20 MIPS") <= header.index("met")
