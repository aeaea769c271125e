"""MKEMU_LINEPROF: where translated code spends its time, line by line (a developer aid).

The task of a machine's first process started with MKEMU_LINEPROF=FILE (`%p` in it:
the pid) translates every block in full with its disassembly, as `--dump-blocks` does
(no code cache, no first tier), and runs the guest under `sys.settrace`, counting the
bytecodes that each line of translated code (files named `<guest ...>`) runs. When it
ends it writes FILE: the bytecodes of each line (the proxy for cost: the tracer makes the
guest ~100x slower, so the time itself says nothing), summed by the kind of work the
line does (loads, stores, the region's case search, flags, ...), then the costliest
lines with their text and the guest instruction above them. Fork children are not
profiled (a child's own run would need its own file and exit path).

    MKEMU_LINEPROF=/tmp/lp.txt mkemu run --rootfs R -- /bin/busybox seq 1 2000
"""
from __future__ import annotations

import sys
from collections import Counter

from ..lazyre import lazy_compile

_DEF = lazy_compile(r"^def (\w+)\(", 8)            # re.M
_REGISTER_MOVE = lazy_compile(r"^(X|V)\[\d+\] = |^\w+ = (X|V)\[\d+\]$|^S\.")

# (kind, test on the stripped line): the first that matches names the line's work
_KINDS = (
    ("case search", lambda s: s.startswith(("if pc ", "elif pc ", "while pc "))),
    ("load", lambda s: "RT[" in s or " LD(" in s or "(_pgR" in s),
    ("store", lambda s: "WT[" in s or " ST(" in s or "pack_into" in s or "WQ[" in s
     or "WL[" in s or "WD[" in s or s.startswith(("_p = ", "_o = ", "_g = "))),
    ("flags", lambda s: "S.fk" in s or "nzcv" in s or s.startswith(("_fa", "_fb", "_fr"))),
    ("fault marks (_pc)", lambda s: s.startswith("_pc = ")),
    ("instruction count (_ic)", lambda s: s.startswith(("_ic ", "_n ", "S.icount "))),
    ("side-exit counters (HOT)", lambda s: s.startswith("HOT(")),
    ("registers in/out (X[], V[], S.)", lambda s: _REGISTER_MOVE.match(s) is not None),
    ("control (try/while/break/raise)", lambda s: s.startswith(("try:", "while True", "break", "raise", "except", "else:", "return", "continue", "pc = "))),
    ("address arithmetic", lambda s: s.startswith(("_a", "_g"))),
    ("branches", lambda s: s.startswith(("if ", "elif "))),
)


def kind_of(line: str) -> str:
    s = line.strip()
    for kind, test in _KINDS:
        if test(s):
            return kind
    return "arithmetic and moves"


class LineProfile:
    def __init__(self) -> None:
        self.latest: dict[str, str] = {}           # function name -> its newest source
        self.source_of: dict[object, str] = {}     # code object -> the source it was made of
        self.hits: Counter = Counter()             # (code, line number) -> line events
        self.bytecodes: Counter = Counter()        # (code, line number) -> bytecodes run

    def keep_source(self, src: str) -> None:
        """The engine's dump hook: every source it compiles, kept by its function's name."""
        m = _DEF.search(src)
        if m:
            self.latest[m.group(1)] = src

    def _calls(self, frame, event, arg):
        code = frame.f_code
        if not code.co_filename.startswith("<guest"):
            return None
        if code not in self.source_of:      # compiled just after its source was dumped
            self.source_of[code] = self.latest.get(code.co_name, "")
        frame.f_trace_opcodes = True
        return self._events

    def _events(self, frame, event, arg):
        if event == "opcode":
            self.bytecodes[(frame.f_code, frame.f_lineno)] += 1
        elif event == "line":
            self.hits[(frame.f_code, frame.f_lineno)] += 1
        return self._events

    def runcall(self, fn, *args):
        sys.settrace(self._calls)
        try:
            return fn(*args)
        finally:
            sys.settrace(None)

    def report(self, top: int = 60) -> str:
        rows = []           # (bytecodes, line events, kind, text, guest insn, function)
        lines_of = {code: src.splitlines() for code, src in self.source_of.items()}
        for (code, lineno), cost in self.bytecodes.items():
            lines = lines_of.get(code, ())
            if lineno is None or not 0 < lineno <= len(lines):
                continue
            text = lines[lineno - 1]
            insn = next((t.strip() for t in reversed(lines[:lineno - 1])
                         if t.strip().startswith("# 0x")), "")
            rows.append((cost, self.hits[(code, lineno)], kind_of(text), text.strip(), insn,
                         code.co_name))
        total = sum(r[0] for r in rows) or 1
        by_kind: Counter = Counter()
        for r in rows:
            by_kind[r[2]] += r[0]
        out = [f"# bytecodes run: {total:,} in {len(self.source_of)} functions",
               "", "## by kind"]
        out += [f"{100 * v / total:5.1f}%  {k}" for k, v in by_kind.most_common()]
        out += ["", f"## the {top} costliest lines (share of bytecodes, line events, function, line, guest instruction)"]
        for cost, n, kind, text, insn, fn in sorted(rows, reverse=True)[:top]:
            out.append(f"{100 * cost / total:5.2f}% {n:>9,}  {fn:<16} {text[:90]:<90}  {insn}")
        return "\n".join(out) + "\n"

    def write(self, path: str) -> None:
        with open(path, "w") as f:
            f.write(self.report())
