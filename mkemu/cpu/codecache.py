"""Translated blocks cached on disk, so a second run of a program starts warm.

A block's Python code is fully determined by its start address, the bytes of
the pages its trace read, the likely-taken marks of the branches it could
follow (see Engine.hot_branch) and the translator itself.  The cache maps
(pc, page hash) -> {marks: marshalled code object}, one file per page hash, in
a directory named after a hash of the translator's own source files: a change
to mkemu/cpu makes a fresh cache.  `marks` is a sorted tuple of
(branch pc, marked) for each branch whose mark shaped the trace; a variant is
served only while every one of those branches is marked (or not) the same way.
A page file is a small marshalled index {pc: {marks: (offset, length, other
pages)}} followed by the code: a run reads a file once and unmarshals only
the traces it enters (every trace of a file used to be unmarshalled for its
first one).  Files are written whole to a temporary
name and renamed, so concurrent machines never see half a file.  A file's
mtime is its last use (cachectl.py evicts the oldest past a size limit): files
loaded that were last touched over TOUCH_AGE ago are touched again at flush.

Unmarshalled code is kept in the process (`CodeCache.codes`, by page hash, pc
and marks), across execve and into fork children, which inherit it for free:
an exec of a library page this process or its parent already ran code from
(ld.so, libc) makes no code object again.  A process whose children exec
(fork + execve: a shell, make) learns what they need from a hint file
(`hint-<fork site>`): a fork child lists the traces it had to read or
translate, and at exit adds them to the names its parent was warmed with (or,
without a hint yet, writes them when they are HINT_MIN or more); before its
next fork from that site the
parent loads them, so the next children find them made (warm()).  A hint only
names (page hash, pc, marks): a changed program has other page hashes, and its
hint loads nothing that it runs.  The parent also makes them functions (the
kit): per page, one variant of each trace, the one agreeing with every branch
the hint marks taken, made against the forking engine's globals, which the
engine after the child's execve keeps (Engine(after=)).  That engine installs
a page's kit the first time it hashes the page, marks included, instead of one
lookup per block and a relearning of the branches (Engine._adopt).
"""
from __future__ import annotations

import functools
import marshal
import os
import struct
import sys
import time
from pathlib import Path
from types import CodeType, FunctionType

try:
    from _blake2 import blake2b     # hashlib's blake2b; importing hashlib loads OpenSSL (~2.5 ms)
except ImportError:
    from hashlib import blake2b

_CPU_DIR = Path(__file__).resolve().parent
TOUCH_AGE = 3600            # seconds: a use refreshes a file's mtime at most this often
KEEP_MAX = 8192             # unmarshalled traces a process keeps beyond its engine's life
HINT_MIN = 64               # a child of a site with no hint yet that read fewer leaves none
HINT_MAX = 8192             # traces one hint names


@functools.cache    # once a process: it names the code loaded at its start (forks inherit it)
def translator_tag() -> str:
    h = blake2b(digest_size=8)
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


def function_code(code):
    """The code of the one function a block's module defines, when that module does
    nothing else (no defaults, no closure): the engine makes the function from it
    directly (FunctionType), without running the module.  Otherwise the module."""
    consts = code.co_consts
    if len(consts) == 2 and consts[1] is None and len(code.co_names) == 1 \
            and isinstance(consts[0], CodeType) and not consts[0].co_freevars:
        return consts[0]
    return code


def page_hash(data: bytes) -> str:
    return blake2b(data, digest_size=16).hexdigest()


_MAGIC = b"MKC1"
_HEAD = struct.Struct("<4sI")       # magic, length of the marshalled index after it


def _read_page(f) -> tuple[dict, bytes | None, int]:
    """A page file's index {pc: {marks: (offset, length, extra)}}, the code
    after it and where in that the offsets count from; ({}, None, 0) for
    anything else."""
    head = f.read(_HEAD.size)
    if len(head) != _HEAD.size:
        return {}, None, 0
    magic, n = _HEAD.unpack(head)
    if magic != _MAGIC:
        return {}, None, 0
    index = marshal.loads(f.read(n))
    code = f.read()
    if not isinstance(index, dict) or not code:
        return {}, None, 0
    # read, not mmap: Python's mmap keeps a dup of the descriptor, which would take
    # the lowest free number, one the guest owns (it saw it in /proc/self/fd, and
    # exec's close-on-exec test failed)
    return index, code, 0


def _write_page(f, entries: dict[int, dict[tuple, tuple[bytes, list]]]) -> None:
    index: dict[int, dict[tuple, tuple[int, int, list]]] = {}
    blob = bytearray()
    for pc, variants in entries.items():
        for marks, (code_bytes, extra) in variants.items():
            index.setdefault(pc, {})[marks] = (len(blob), len(code_bytes), extra)
            blob += code_bytes
    head = marshal.dumps(index)
    f.write(_HEAD.pack(_MAGIC, len(head)))
    f.write(head)
    f.write(blob)


class _Page:
    """One page file as read (its index, its code, viewed not copied) plus the
    variants this run translated for it."""
    __slots__ = ("index", "blob", "base", "new")

    def __init__(self, index: dict, blob, base: int) -> None:
        # a view, so a trace's bytes go to marshal.loads without a copy
        self.index, self.blob, self.base = index, memoryview(blob) if blob is not None else None, base
        self.new: dict[int, dict[tuple, tuple[bytes, list]]] = {}

    def variants(self, pc: int):
        """(marks, code bytes, extra) of every variant of the trace at pc."""
        for marks, (off, n, extra) in self.index.get(pc, {}).items():
            if self.blob is not None:
                yield marks, self.blob[self.base + off:self.base + off + n], extra
        for marks, (code_bytes, extra) in self.new.get(pc, {}).items():
            yield marks, code_bytes, extra

    def entries(self) -> dict[int, dict[tuple, tuple[bytes, list]]]:
        """Every variant as {pc: {marks: (code bytes, extra)}}."""
        out: dict[int, dict[tuple, tuple[bytes, list]]] = {}
        for pc in self.index:
            for marks, code_bytes, extra in self.variants(pc):
                out.setdefault(pc, {})[marks] = (code_bytes, extra)
        return out


def _load_page(path: Path) -> _Page:
    """The page file at path (an empty page when missing or damaged)."""
    try:
        with open(path, "rb") as f:
            return _Page(*_read_page(f))
    except (OSError, EOFError, ValueError, TypeError):
        return _Page({}, None, 0)


class CodeCache:
    def __init__(self, directory: Path | None) -> None:
        self.dir = directory
        self.pages: dict[str, _Page] = {}
        self.dirty: set[str] = set()
        self.used_old: set[str] = set()     # loaded files whose mtime is older than TOUCH_AGE
        # (page hash, pc) -> [(marks, code, extra)]: made once per process tree
        self.codes: dict[tuple[str, int], list[tuple[tuple, object, list]]] = {}
        self.kept = 0
        self.hint_site: str | None = None   # a fork child: the site whose hint it writes
        self.made: list[tuple[str, int, tuple]] = []    # ... and the traces it had to make
        self.hinted: dict[str, list] = {}   # hint site -> the names its hint gave (warm)
        self.hint_base: list = []           # a fork child: its site's names the parent made
        self.warmed: dict[str, tuple[int, int]] = {}     # hint site -> (mtime_ns, size) loaded
        # a hint's traces as functions of kit_globals (the forking engine's, which the
        # engine after an execve keeps), per page: (page hash, vpn) -> ({pc: function},
        # [(pc, function, extra)] that follow onto other pages, the branches marked)
        self.kit: dict[tuple[str, int], tuple[dict, list, frozenset]] = {}
        self.kit_globals: dict | None = None

    def _page(self, ph: str) -> _Page:
        page = self.pages.get(ph)
        if page is None:
            page = _Page({}, None, 0)
            if self.dir is not None:
                path = self.dir / ph
                page = _load_page(path)
                try:
                    if page.blob is not None and time.time() - path.stat().st_mtime > TOUCH_AGE:
                        self.used_old.add(ph)
                except OSError:
                    pass
            self.pages[ph] = page
        return page

    def lookup(self, pc: int, ph: str, likely_taken: set[int]):
        """(code, [(other vpn, its page hash), ...]) or None: the variant of the
        trace at pc whose marks agree with likely_taken.  code is the block's
        function's (function_code) or, if its module does more, the module's.

        A block that follows branches onto other pages is valid only while
        those pages still hold the same bytes: the caller checks them.
        """
        for marks, code, extra in self.codes.get((ph, pc), ()):
            if all((branch in likely_taken) == marked for branch, marked in marks):
                return code, extra
        try:
            for marks, code_bytes, extra in self._page(ph).variants(pc):
                if all((branch in likely_taken) == marked for branch, marked in marks):
                    code = function_code(marshal.loads(code_bytes))
                    self._keep(ph, pc, marks, code, extra)
                    return code, extra
        except (EOFError, ValueError, TypeError, AttributeError, IndexError):
            pass
        return None

    def _keep(self, ph: str, pc: int, marks: tuple, code, extra) -> None:
        """A trace this process had to read or translate: remember it, and in a fork
        child list it for the fork site's hint."""
        self._remember(ph, pc, marks, code, extra)
        if self.hint_site is not None and len(self.made) < HINT_MAX:
            self.made.append((ph, pc, marks))

    def _remember(self, ph: str, pc: int, marks: tuple, code, extra) -> None:
        """Keep a trace's code (function_code's) for later engines of this process and
        its children."""
        if self.kept < KEEP_MAX:
            self.codes.setdefault((ph, pc), []).append((marks, code, extra))
            self.kept += 1

    # ---- fork hints -------------------------------------------------------------
    @staticmethod
    def fork_site(program: str, pc: int) -> str:
        """The name of a fork call site (the program and the svc's pc) for its hint."""
        return blake2b(f"{program}\0{pc:x}".encode(errors="surrogateescape"),
                       digest_size=8).hexdigest()

    def forked_child(self, site: str) -> None:
        """In a fork child: from now on, list the traces made here for site's hint."""
        self.hint_site = site
        self.made = []
        self.hint_base = self.hinted.get(site, [])
        self.used_old = set()               # the parent's to touch and write: not every child's
        self.dirty = set()

    def warm(self, site: str, fn_globals: dict | None = None) -> None:
        """Before a fork from site: make the code its last children had to make, so the
        next ones inherit it (once per version of the hint); with fn_globals, make
        their functions too (the kit an engine takes a page at a time, Engine._adopt)."""
        if self.dir is None or self.kept >= KEEP_MAX:
            return
        path = self.dir / f"hint-{site}"
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                stamp = (st.st_mtime_ns, st.st_size)
                if self.warmed.get(site) == stamp:
                    return
                self.warmed[site] = stamp
                names = marshal.loads(f.read())
        except (OSError, EOFError, ValueError, TypeError):
            return
        if not isinstance(names, list):
            return
        self.hinted[site] = names
        reread: set[str] = set()
        try:
            for ph, pc, marks in names:
                if self.kept >= KEEP_MAX:
                    break
                if any(m == marks for m, _, _ in self.codes.get((ph, pc), ())):
                    continue
                if not self._warm_one(ph, pc, marks) and ph not in reread and \
                        ph not in self.dirty:
                    # this process read the page before its children wrote the trace
                    # there (the code after a fork, which only children run): again
                    reread.add(ph)
                    self.pages.pop(ph, None)
                    self._warm_one(ph, pc, marks)
        except (EOFError, ValueError, TypeError, AttributeError, IndexError):
            return
        if fn_globals is not None:
            self._make_kit(names, fn_globals)

    def _make_kit(self, names: list, fn_globals: dict) -> None:
        """The kit of a hint's traces: per page, the variant of each trace whose marks
        agree with every branch the hint's traces mark taken (what the last child had
        learnt), as a function of fn_globals."""
        hot = {branch for _, _, marks in names for branch, marked in marks if marked}
        kit: dict[tuple[str, int], tuple[dict, list, set]] = {}
        for ph, pc in {(ph, pc) for ph, pc, _ in names}:
            for marks, code, extra in self.codes.get((ph, pc), ()):
                if code.co_name == "<module>" or \
                        not all((branch in hot) == marked for branch, marked in marks):
                    continue
                ready, checked, marked = kit.setdefault((ph, pc >> 12), ({}, [], set()))
                fn = FunctionType(code, fn_globals)
                if extra:
                    checked.append((pc, fn, extra))
                else:
                    ready[pc] = fn
                marked.update(branch for branch, m in marks if m)
                break
        self.kit = {key: (ready, checked, frozenset(marked))
                    for key, (ready, checked, marked) in kit.items()}
        self.kit_globals = fn_globals

    def _warm_one(self, ph: str, pc: int, marks: tuple) -> bool:
        """Make the hinted trace (ph, pc, marks) if its page file has it."""
        for m, code_bytes, extra in self._page(ph).variants(pc):
            if m == marks:
                self._remember(ph, pc, marks, function_code(marshal.loads(code_bytes)), extra)
                return True
        return False

    def _write_hint(self) -> None:
        # the names the parent made from, and what this child still had to make (a few
        # traces a child makes each time would otherwise never be made by the parent)
        if self.hint_site is None or not self.made or \
                len(self.made) < HINT_MIN and not self.hint_base:
            return
        known = set(self.hint_base)
        new = [n for n in self.made if n not in known]
        if not new or len(self.hint_base) >= HINT_MAX:
            return                          # nothing to add: the parent re-reads nothing
        names = self.hint_base + new
        path = self.dir / f"hint-{self.hint_site}"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(marshal.dumps(names[:HINT_MAX]))
            os.replace(tmp, path)
        except (OSError, ValueError):
            pass
        self.made = []

    def store(self, pc: int, ph: str, marks: dict[int, bool], code, extra=()) -> None:
        if self.dir is None:
            return
        key = tuple(sorted(marks.items()))
        self._page(ph).new.setdefault(pc, {})[key] = (marshal.dumps(code), list(extra))
        self.dirty.add(ph)
        self._keep(ph, pc, key, function_code(code), list(extra))

    def flush(self) -> None:
        """Write the pages that gained blocks (merging with what others wrote
        meanwhile) and mark the old ones this run used as recently used."""
        if self.dir is None:
            return
        for ph in self.used_old - self.dirty:
            try:
                os.utime(self.dir / ph)
            except OSError:
                pass                        # evicted meanwhile
        self.used_old.clear()
        if self.dirty:
            self._write_pages()
        self._write_hint()              # after the pages: it names their traces

    def _write_pages(self) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        for ph in self.dirty:
            path = self.dir / ph
            mine = self.pages[ph]
            merged = _load_page(path).entries()
            for pc, variants in mine.new.items():
                merged.setdefault(pc, {}).update(variants)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            try:
                with open(tmp, "wb") as f:
                    _write_page(f, merged)
                os.replace(tmp, path)
            except OSError:
                pass
            mine.new = {}
            self.pages.pop(ph, None)        # read again (with what others added) if used
        self.dirty.clear()
