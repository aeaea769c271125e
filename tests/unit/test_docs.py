"""Generated documentation stays true to the code."""
from pathlib import Path

from mkemu.kern.systable import coverage_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_syscall_coverage_table_is_current():
    assert (ROOT / "docs" / "SYSCALLS.md").read_text() == coverage_markdown(), \
        "regenerate with: python -m mkemu.kern.systable > docs/SYSCALLS.md"
