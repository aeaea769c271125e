"""Progress of a long build: a bar per phase on a terminal, plain lines elsewhere.

    progress = Reporter()                 # rich bars if stderr is a terminal
    with progress.phase("unpack", total=len(debs)) as p:
        for deb in debs:
            ...
            p.advance(detail=deb.name)

Off a terminal (a log, CI) each phase prints a line when it starts, a line at
every tenth of the way and one when it ends, so a log stays short and still
shows that something moves.  `Reporter(enabled=False)` prints nothing.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

PREFIX = "mkemu rootfs"


class Phase:
    """One phase's progress: advance it; the reporter draws it."""

    def __init__(self, reporter: "Reporter", name: str, total: int | None, unit: str) -> None:
        self.reporter, self.name, self.total, self.unit = reporter, name, total, unit
        self.done = 0
        self.started = time.monotonic()
        self._task = None
        self._last_tenth = -1

    # ---- what the builder calls
    def advance(self, n: int = 1, detail: str = "") -> None:
        self.update(self.done + n, detail=detail)

    def update(self, done: int | None = None, total: int | None = None, detail: str = "") -> None:
        if total is not None:
            self.total = total
        if done is not None:
            self.done = done
        self.reporter._draw(self, detail)

    def note(self, message: str) -> None:
        """A line above the bars (or a plain line): something the user should see."""
        self.reporter.note(message)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def __enter__(self) -> "Phase":
        self.reporter._begin(self)
        return self

    def __exit__(self, *exc) -> None:
        self.reporter._end(self, ok=exc[0] is None)


class Reporter:
    def __init__(self, stream: TextIO | None = None, enabled: bool = True,
                 fancy: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        if fancy is None:
            fancy = enabled and _isatty(self.stream)
        self.fancy = fancy and _have_rich()
        self._bars = None

    def phase(self, name: str, total: int | None = None, unit: str = "") -> Phase:
        return Phase(self, name, total, unit)

    def note(self, message: str) -> None:
        if not self.enabled:
            return
        if self._bars is not None:
            self._bars.console.print(message, markup=False, highlight=False)
        else:
            self._line(message)

    # ---- drawing
    def _line(self, text: str) -> None:
        self.stream.write(f"{PREFIX}: {text}\n")
        self.stream.flush()

    def _begin(self, ph: Phase) -> None:
        if not self.enabled:
            return
        if self.fancy:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn)
            self._bars = Progress(TextColumn("[bold]{task.description:<9}"), BarColumn(),
                                  MofNCompleteColumn(), TextColumn(" {task.fields[unit]}"),
                                  TimeElapsedColumn(), TextColumn("{task.fields[detail]}"),
                                  console=Console(file=self.stream), transient=False)
            self._bars.start()
            ph._task = self._bars.add_task(ph.name, total=ph.total, unit=ph.unit, detail="")
        else:
            what = f" ({ph.total} {ph.unit})" if ph.total and ph.unit != "%" else ""
            self._line(f"{ph.name}: started{what}")

    def _draw(self, ph: Phase, detail: str) -> None:
        if not self.enabled:
            return
        if self._bars is not None and ph._task is not None:
            self._bars.update(ph._task, completed=ph.done, total=ph.total,
                              detail=_short(detail))
            return
        if ph.total:
            tenth = min(10, ph.done * 10 // max(1, ph.total))
            if tenth > ph._last_tenth and ph.done < ph.total:
                ph._last_tenth = tenth
                count = (f"{ph.done * 100 // ph.total}%" if ph.unit == "%"
                         else f"{ph.done}/{ph.total} {ph.unit}")
                self._line(f"{ph.name}: {count}" + (f" ({_short(detail)})" if detail else ""))

    def _end(self, ph: Phase, ok: bool) -> None:
        if not self.enabled:
            return
        if self._bars is not None:
            if ok and ph.total:
                self._bars.update(ph._task, completed=ph.total, detail="")
            self._bars.stop()
            self._bars = None
        state = "done" if ok else "stopped"
        self._line(f"{ph.name}: {state} in {ph.seconds:.1f} s")


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _have_rich() -> bool:
    try:
        import rich.progress  # noqa: F401
    except ImportError:
        return False
    return True
