"""The oracle groups a second time, from the on-disk code cache (cpu/codecache.py).

A program's second run loads its translated blocks from disk instead of
translating them.  Here oracle groups run in a fresh pytest process that fills
an empty code cache (every case still compared with unicorn), then in another
fresh process with that cache warm: every block must come from the cache (not
one translated from source) and each group must give the same answers: the
same counts of compared / both undefined / fault cases, and the same digest of
the state mkemu ended every case in.  The default run takes a representative
subset (flag producers feeding consumers, undefined encodings, calls and
returns, a loop, faults, exclusives, SIMD loads and stores, NEON sequences, FP
with every FPCR);
`-m slow` takes every group of the default oracle suite.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

REPRESENTATIVE = [
    "tests/oracle/test_integer.py::test_flag_producers_feed_consumers_in_one_block",
    "tests/oracle/test_integer.py::test_calls_and_returns",
    "tests/oracle/test_ldst.py::test_corners",
    "tests/oracle/test_ldst.py::test_exclusive_loop",
    "tests/oracle/test_ldst_simd.py::test_memcpy_shapes",
    "tests/oracle/test_neon.py::test_hot_sequences",
    "tests/oracle/test_neon_fp.py::test_fp_group_all_fpcr_and_flags[fp_dp2]",
]

def _pytest(args: list[str], env: dict[str, str], report: Path, timeout: float) -> dict:
    env = {k: v for k, v in env.items() if not k.startswith("PYTEST_")}   # not an xdist worker
    env["MKEMU_ORACLE_REPORT"] = str(report)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-o", "addopts=", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=timeout)
    if not report.exists():
        raise AssertionError(f"pytest wrote no report (status {proc.returncode}):\n"
                             + proc.stdout.decode(errors="replace")[-4000:])
    result = json.loads(report.read_text())
    result["status"] = proc.returncode
    result["output"] = proc.stdout.decode(errors="replace")[-4000:]
    return result


def rerun_from_code_cache(args: list[str], tmp_path: Path, timeout: float) -> None:
    base = {**os.environ, "MKEMU_ORACLE_CODE_CACHE": str(tmp_path / "code")}
    cold = _pytest(args, base, tmp_path / "cold.json", timeout)
    assert cold["status"] == 0 and not cold["failed"], cold["output"]
    warm = _pytest(args, {**base, "MKEMU_ORACLE_WARM": "1"}, tmp_path / "warm.json", timeout)
    assert not warm["failed"], "failed from the warm code cache:\n" + "\n".join(
        f"{n}:\n{msg}" for n, msg in warm["failed"].items())
    assert cold["groups"], cold["output"]
    for name, want in cold["groups"].items():
        got = warm["groups"].get(name, {})
        assert want.get("blocks", 0) > 0, f"{name}: the cold run translated nothing"
        assert got.get("blocks from cache", 0) == got.get("blocks", 0) == want["blocks"], \
            f"{name}: {got.get('blocks from cache', 0)} of {got.get('blocks', 0)} blocks from the cache"
        assert got["answers"] == want["answers"], f"{name}: other end states from the warm cache"
        counts = {k: v for k, v in want.items() if k not in ("blocks", "blocks from cache")}
        assert {k: got.get(k) for k in counts} == counts, name


def test_representative_groups_from_a_warm_code_cache(tmp_path):
    rerun_from_code_cache(REPRESENTATIVE, tmp_path, timeout=1200)


@pytest.mark.slow
@pytest.mark.timeout(7200)
def test_every_group_from_a_warm_code_cache(tmp_path):
    rerun_from_code_cache(["-n", "2", "-m", "not slow", "tests/oracle",
                           "--ignore", "tests/oracle/test_code_cache.py",      # not oracle groups
                           "--ignore", "tests/oracle/test_oracle_counts.py"], tmp_path, timeout=7000)
