"""Translated blocks cached on disk, so a second run of a program starts warm.

A block's Python code is fully determined by its start address, the bytes of
the pages its trace read, the likely-taken marks of the branches it could
follow (see Engine.hot_branch) and the translator itself.  The cache maps
(pc, page hash) -> {marks: marshalled code object}, one file per page hash, in
a directory named after a hash of the translator's own source files: a change
to mkemu/cpu makes a fresh cache.  `marks` is a sorted tuple of
(branch pc, marked) for each branch whose mark shaped the trace; a variant is
served only while every one of those branches is marked (or not) the same way.  Files are written whole to a temporary
name and renamed, so concurrent machines never see half a file.  A file's
mtime is its last use (cachectl.py evicts the oldest past a size limit): files
loaded that were last touched over TOUCH_AGE ago are touched again at flush.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import sys
import time
from pathlib import Path

_CPU_DIR = Path(__file__).resolve().parent
TOUCH_AGE = 3600            # seconds: a use refreshes a file's mtime at most this often


def translator_tag() -> str:
    h = hashlib.blake2b(digest_size=8)
    h.update(sys.version.encode())
    for p in sorted(_CPU_DIR.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def default_dir() -> Path | None:
    if os.environ.get("MKEMU_NO_CODE_CACHE"):
        return None
    base = Path(os.environ.get("MKEMU_CACHE") or Path.home() / ".cache" / "mkemu")
    return base / "code" / translator_tag()


def page_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class CodeCache:
    def __init__(self, directory: Path | None) -> None:
        self.dir = directory
        self.pages: dict[str, dict[int, dict[tuple, tuple]]] = {}
        self.dirty: set[str] = set()
        self.used_old: set[str] = set()     # loaded files whose mtime is older than TOUCH_AGE

    def _page(self, ph: str) -> dict[int, dict[tuple, tuple]]:
        entries = self.pages.get(ph)
        if entries is None:
            entries = {}
            if self.dir is not None:
                try:
                    with open(self.dir / ph, "rb") as f:
                        if time.time() - os.fstat(f.fileno()).st_mtime > TOUCH_AGE:
                            self.used_old.add(ph)
                        entries = marshal.load(f)
                except (OSError, EOFError, ValueError, TypeError):
                    entries = {}
            self.pages[ph] = entries
        return entries

    def lookup(self, pc: int, ph: str, likely_taken: set[int]):
        """(code, [(other vpn, its page hash), ...]) or None: the variant of the
        trace at pc whose marks agree with likely_taken.

        A block that follows branches onto other pages is valid only while
        those pages still hold the same bytes: the caller checks them.
        """
        try:
            for marks, (code_bytes, extra) in self._page(ph).get(pc, {}).items():
                if all((branch in likely_taken) == marked for branch, marked in marks):
                    return marshal.loads(code_bytes), extra
        except (EOFError, ValueError, TypeError, AttributeError):
            pass
        return None

    def store(self, pc: int, ph: str, marks: dict[int, bool], code, extra=()) -> None:
        if self.dir is None:
            return
        key = tuple(sorted(marks.items()))
        self._page(ph).setdefault(pc, {})[key] = (marshal.dumps(code), list(extra))
        self.dirty.add(ph)

    def flush(self) -> None:
        """Write the pages that gained blocks (merging with what others wrote) and
        mark the old ones this run used as recently used."""
        if self.dir is None:
            return
        for ph in self.used_old - self.dirty:
            try:
                os.utime(self.dir / ph)
            except OSError:
                pass                        # evicted meanwhile
        self.used_old.clear()
        if not self.dirty:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        for ph in self.dirty:
            path = self.dir / ph
            merged = {}
            try:
                with open(path, "rb") as f:
                    merged = marshal.load(f)
            except (OSError, EOFError, ValueError, TypeError):
                pass
            if not isinstance(merged, dict):
                merged = {}
            for pc, variants in self.pages[ph].items():
                if not isinstance(merged.get(pc), dict):
                    merged[pc] = {}
                merged[pc].update(variants)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            try:
                with open(tmp, "wb") as f:
                    marshal.dump(merged, f)
                os.replace(tmp, path)
            except OSError:
                pass
        self.dirty.clear()
