"""No encoding makes the translator or its code raise a Python exception.

For every top-level A64 class (op0), random encodings run in the engine twice:
translated fresh (and stored in a private code cache), then in a fresh
interpreter from that cache, where only what mkemu builds at import exists.
Each must complete, fault or trap (SIGILL, SVC, BRK); see
tests/support/encoding_sweep.py.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.encoding_sweep import CLASSES, sweep

ROOT = Path(__file__).resolve().parent.parent.parent


def fresh_then_cached(cls: str, seed: str, count: int, cache_dir: Path) -> None:
    failures, stats = sweep(cls, seed, count, cache_dir)
    assert not failures, f"{len(failures)} fresh translations raised:\n" + "\n".join(failures[:20])
    r = subprocess.run([sys.executable, "-m", "tests.support.encoding_sweep", cls, seed, str(count),
                        str(cache_dir)], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    cached = json.loads(r.stdout)
    assert not cached["failures"], (f"{len(cached['failures'])} blocks from the code cache raised:\n"
                                    + "\n".join(cached["failures"][:20]))
    assert cached["from_cache"] == cached["blocks"] == stats["blocks"]


@pytest.mark.parametrize("cls", sorted(CLASSES))
def test_no_python_exception_fresh_or_from_cache(cls, tmp_path):
    fresh_then_cached(cls, "default", 3000, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("cls", sorted(CLASSES))
def test_no_python_exception_sweep(cls, tmp_path):
    fresh_then_cached(cls, "slow", 60000, tmp_path)
