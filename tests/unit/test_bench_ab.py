"""bench/ab.py: two trees, each with a code cache of its own, timed side by side."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def ab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.ab", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None, reason="needs aarch64-linux-gnu-gcc")
def test_the_same_tree_twice_gives_a_row_with_both_figures():
    r = ab("one=.", "two=.", "--only", "hello", "--warm", "1", "--rounds", "1")
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("| hello |"))
    cells = re.findall(r"([\d.]+) \(([\d,]+)\) ([\d.]+)", row)
    assert len(cells) == 2
    (cpu1, runs1, ratio1), (cpu2, runs2, ratio2) = cells
    # the same code runs the same guest: the same dispatches; the first tree is the unit
    assert runs1 == runs2 and int(runs1.replace(",", "")) > 0
    assert ratio1 == "1.000" and float(cpu1) > 0 and float(cpu2) > 0


def test_a_tree_that_is_no_directory_nor_revision_is_one_line():
    r = ab("one=.", "two=no-such-revision-here", "--only", "hello")
    assert r.returncode != 0
    assert r.stderr.strip() == "ab: no-such-revision-here: neither a directory nor a git revision"
