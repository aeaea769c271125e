"""What the passes that finish a trace (a64_neon_sink, a64_fp_twin, a64_fp_pages,
a64_fp_mode) read in BlockBuilder's lines: the markers it writes for exits,
faulting instructions and the loop's back edge, and the helpers a line calls.  One place, so a change to BlockBuilder's text is made here
for every pass."""
from __future__ import annotations

from ..lazyre import lazy_compile

EXIT_STORES = lazy_compile(r"^( *)@WB\d+@$")         # an exit's register stores (BlockBuilder._exit)
FAULT_MARK = lazy_compile(r"^ *_pc = (0x[0-9a-f]+)$")   # mark_faultable
BACK_EDGE = "if not S.pending: continue"          # BlockBuilder._goto to the start
FAULT_DOC = "FAULT\n"     # starts a first-tier trace's fault path (block.fault_doc)
# the names of the helpers and tables (upper case) a line calls or subscripts
CALLED = lazy_compile(r"(?<![\w.])([A-Z][A-Z0-9_]*)\s*[\[(]")


def exit_start(lines: list[str], i: int, indent: str) -> int:
    """The index of the first line of the exit whose register stores are at line i
    (a counted exit's HOT call and the lazy flag stores come before them)."""
    while i > 0 and lines[i - 1].startswith(indent) and lines[i - 1][len(indent):].startswith(
            ("HOT(", "S.fk = ")):
        i -= 1
    return i
