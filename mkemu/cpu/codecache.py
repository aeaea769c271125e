"""Translated blocks cached on disk, so a second run of a program starts warm.

A block's Python code is fully determined by its start address, the bytes of
the pages its trace read, the likely-taken marks of the branches it could
follow (see Engine.hot_branch) and the translator itself.  The cache maps
(pc, page hash) -> {marks: marshalled code object}, one file per page hash, in
a directory named after a hash of the translator's own source files: a change
to mkemu/cpu makes a fresh cache.  `marks` is a sorted tuple of
(branch pc, marked) for each branch whose mark shaped the trace; a variant is
served while no branch it did not follow is marked, and the branches it
followed are then marked (see lookup).  A page file is mapped (shared with
every process reading it) and holds a table of its variants sorted by pc,
searched in place: a run unmarshals only the records of the traces it enters
(see _Page).  Files are written whole to a temporary name and renamed, so
concurrent machines never see half a file.  A file's
mtime is its last use (cachectl.py evicts the oldest past a size limit): files
loaded that were last touched over TOUCH_AGE ago are touched again at flush, a start
kit and a hint when read, and with a start kit the page files of what it ran.

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
import gc
import marshal
import os
import struct
import sys
import time
from array import array
from bisect import bisect_left
from types import CodeType

from ..mm.hostmap import HostMapping
from . import familyhelpers, startkit
from .regcells import make_function
from .tier import is_first_tier

try:
    from _blake2 import blake2b     # hashlib's blake2b; importing hashlib loads OpenSSL (~2.5 ms)
except ImportError:
    from hashlib import blake2b

_CPU_DIR = os.path.dirname(os.path.realpath(__file__))
# seconds: a use refreshes a file's mtime at most this often.  As short as cachectl's
# GC_INTERVAL: with an hour, a cache at its limit lost files in the order they were made
# (python3's kit and pages among the first, made again at its next run, 18 s for 9 s)
TOUCH_AGE = 60
KEEP_MAX = 8192             # unmarshalled traces a process keeps beyond its engine's life
HINT_MIN = 64               # a child of a site with no hint yet that read fewer leaves none
HINT_MAX = 8192             # traces one hint names


def stale(mtime: float) -> bool:
    """A cache file last touched at mtime is due to be touched again when used."""
    return time.time() - mtime > TOUCH_AGE


def touch(path: str) -> None:
    """Mark a cache file as just used (cachectl evicts the least recently used)."""
    try:
        os.utime(path)
    except OSError:
        pass                    # evicted meanwhile, or a cache this user may read, not write


# Paths are strings (any path-like is taken): pathlib's import (with urllib.parse and
# ipaddress) was ~13 M host instructions of every `mkemu run`'s start-up.

def _cache_base() -> str:
    # as cachectl.cache_base (the CPU imports nothing above mm)
    return os.environ.get("MKEMU_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                         "mkemu")


def _tmp_name(path: str) -> str:
    """Where a file is written before it is renamed to path (its suffix replaced)."""
    return f"{os.path.splitext(path)[0]}.{os.getpid()}.tmp"


def _write_marshalled(path: str, value) -> None:
    """path holds marshal.dumps(value) from now on: written whole to a temporary name
    and renamed, so readers find the old file or the new one; a write that fails
    leaves path as it was (and drops its temporary file)."""
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(marshal.dumps(value))
        os.replace(tmp, path)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass


@functools.cache    # once a process: it names the code loaded at its start (forks inherit it)
def translator_tag() -> str:
    """A hash of the translator's source files (and the Python version).  Reading and
    hashing them is ~2 ms of every start-up, so the tag is remembered in one file of
    the cache (code/.translator-tag: a key, the tag), the key a hash of the files'
    names, sizes and mtimes (as CPython trusts a .pyc by its source's mtime and
    size); an edited file gets a new mtime, and a mismatch hashes the sources again."""
    sources = sorted((e.name, e.path) for e in os.scandir(_CPU_DIR) if e.name.endswith(".py"))
    key = blake2b(digest_size=8)
    key.update(sys.version.encode())
    for name, path in sources:
        st = os.stat(path)
        key.update(f"{name} {st.st_size} {st.st_mtime_ns}\n".encode())
    key = key.hexdigest()
    # nothing is read or written in a cache the user turned off
    memo = None if os.environ.get("MKEMU_NO_CODE_CACHE") else \
        os.path.join(_cache_base(), "code", ".translator-tag")
    try:
        if memo:
            with open(memo) as f:
                remembered = f.read().split()
        else:
            remembered = ()
        if len(remembered) == 2 and remembered[0] == key:
            return remembered[1]
    except (OSError, UnicodeDecodeError):
        pass
    h = blake2b(digest_size=8)
    h.update(sys.version.encode())
    for name, path in sources:
        h.update(name.encode())
        with open(path, "rb") as f:
            h.update(f.read())
    tag = h.hexdigest()
    if memo:
        try:                            # whole or not at all: a temporary name, renamed
            os.makedirs(os.path.dirname(memo), exist_ok=True)
            tmp = f"{memo}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                f.write(f"{key} {tag}")
            os.replace(tmp, memo)
        except OSError:
            pass
    return tag


def default_dir() -> str | None:
    if os.environ.get("MKEMU_NO_CODE_CACHE"):
        return None
    return os.path.join(_cache_base(), "code", translator_tag())


def function_code(code):
    """The code of the one function a block's module defines, when that module does
    nothing else (no defaults, no closure): the engine makes the function from it
    directly (FunctionType), without running the module.  Otherwise the module."""
    if code.co_name != "<module>":
        return code         # (regcells.compile_function's)
    consts = code.co_consts
    if len(consts) == 2 and consts[1] is None and len(code.co_names) == 1 \
            and isinstance(consts[0], CodeType) and not consts[0].co_freevars:
        return consts[0]
    return code


def page_hash(data: bytes) -> str:
    return blake2b(data, digest_size=16).hexdigest()


_MAGIC = b"MKC2"
_HEAD = struct.Struct("<4sI")       # magic, number of variants in the table after it
_META = struct.Struct("<I")         # a record's length of marshalled (marks, extra)

# A page file: the head, then a table of its variants sorted by pc as three
# columns (pc u64, record offset u32, record length u32, offsets from the
# file's start), then the records: each the length of its marshalled
# (marks, extra), those, and the marshalled code.  Opening one is a mapping
# and a look at the head: a lookup bisects the pc column in place, and only
# the records of the pc it asks for are read (an unmarshalled index of the
# whole page cost 0.4 ms a page: 0.17 s of `python3 -c pass`'s 434 pages).


class _Page:
    """One page file as mapped (its columns and records, viewed not copied) plus
    the variants this run translated for it."""
    __slots__ = ("view", "pcs", "offs", "lens", "mtime", "new")

    def __init__(self, view=None, count: int = 0, mtime: float = 0.0) -> None:
        self.view = view
        self.mtime = mtime
        self.new: dict[int, dict[tuple, tuple[bytes, list]]] = {}
        self.pcs = self.offs = self.lens = ()
        if view is not None:
            at = _HEAD.size
            self.pcs = view[at:at + 8 * count].cast("Q")
            at += 8 * count
            self.offs = view[at:at + 4 * count].cast("I")
            self.lens = view[at + 4 * count:at + 8 * count].cast("I")

    def variants(self, pc: int):
        """(marks, code bytes, extra) of every variant of the trace at pc."""
        pcs, view = self.pcs, self.view
        i = bisect_left(pcs, pc)
        while i < len(pcs) and pcs[i] == pc:
            off, n = self.offs[i], self.lens[i]
            meta = off + _META.size + _META.unpack_from(view, off)[0]
            marks, extra = marshal.loads(view[off + _META.size:meta])
            yield marks, view[meta:off + n], extra
            i += 1
        for marks, (code_bytes, extra) in self.new.get(pc, {}).items():
            yield marks, code_bytes, extra

    def entries(self) -> dict[int, dict[tuple, tuple[bytes, list]]]:
        """Every variant as {pc: {marks: (code bytes, extra)}}."""
        out: dict[int, dict[tuple, tuple[bytes, list]]] = {}
        for pc in sorted(set(self.pcs) | set(self.new)):
            for marks, code_bytes, extra in self.variants(pc):
                out.setdefault(pc, {})[marks] = (code_bytes, extra)
        return out


def _write_page(f, entries: dict[int, dict[tuple, tuple[bytes, list]]]) -> None:
    rows = [(pc, _record(marks, extra, code_bytes))
            for pc in sorted(entries) for marks, (code_bytes, extra) in entries[pc].items()]
    count = len(rows)
    at = _HEAD.size + 16 * count
    pcs, offs, lens = array("Q"), array("I"), array("I")
    for pc, record in rows:
        pcs.append(pc)
        offs.append(at)
        lens.append(len(record))
        at += len(record)
    f.write(_HEAD.pack(_MAGIC, count))
    for column in (pcs, offs, lens):
        f.write(column.tobytes())
    for _, record in rows:
        f.write(record)


def _record(marks: tuple, extra: list, code_bytes) -> bytes:
    meta = marshal.dumps((marks, extra))
    return _META.pack(len(meta)) + meta + bytes(code_bytes)


def _map_page(fd: int) -> _Page:
    """The page file open at fd, mapped; an empty page for anything else.

    Mapped, not read: a run enters only some of a page's variants (a library
    page's file holds what every program ran there), and the mapping shares the
    host's page cache with every other process reading it, where a read copied
    the whole file into fresh memory (142 MB for `python3 -c pass`).  libc's
    mmap (HostMapping), which keeps no descriptor: the caller closes fd at once,
    so no number the guest owns is held.  Never unmapped: pages stay until the
    process ends, and files are replaced by rename, never rewritten in place."""
    st = os.fstat(fd)
    if st.st_size <= _HEAD.size:
        return _Page()
    view = HostMapping(fd, 0, st.st_size, writable=False).view
    magic, count = _HEAD.unpack_from(view, 0)
    if magic != _MAGIC or _HEAD.size + 16 * count > st.st_size:
        return _Page()
    return _Page(view, count, st.st_mtime)


# what reading a damaged or foreign page file can raise: it is then a miss
_DAMAGED = (EOFError, ValueError, TypeError, AttributeError, IndexError, struct.error)


def _load_page(path: str) -> _Page:
    """The page file at path (an empty page when missing or damaged)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return _Page()
    try:
        return _map_page(fd)
    except (OSError, ValueError, TypeError):
        return _Page()
    finally:
        os.close(fd)


class _KitPages(dict):
    """CodeCache.kit: (page hash, vpn) -> that page's kit; remembers in taken which
    pages an engine asked for (the first pages it ran: a start kit keeps those)."""

    def __init__(self, taken: set) -> None:
        super().__init__()
        self.taken = taken

    def get(self, key, default=None):
        self.taken.add(key)
        return super().get(key, default)


def _first_tier(code) -> bool:
    """Is code (a code object, or a page file's marshalled code: a view of the
    mapping, where `in` would compare a byte string with each byte) first-tier code?"""
    return is_first_tier(code) if type(code) is CodeType else b"TIERUP" in bytes(code)


def _pick(variants, likely_taken: set[int], full: bool = False):
    """The (marks, code, extra) of variants that follows the most branches and no
    branch marked in likely_taken contradicts; None if every one is contradicted.
    full: of the variants that are no first-tier code."""
    best, most = None, -1
    for variant in variants:
        if full and _first_tier(variant[1]):
            continue
        follows = 0
        for branch, marked in variant[0]:
            if marked:
                follows += 1
            elif branch in likely_taken:
                break
        else:
            if follows > most:
                best, most = variant, follows
    return best


class CodeCache:
    def __init__(self, directory) -> None:
        self.dir = None if directory is None else os.fspath(directory)
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
        self.start: startkit.StartKit | None = None  # the machine's first program's (startkit.py)
        self.kit_taken: set[tuple[str, int]] = set()    # kit pages an engine asked for

    def _page(self, ph: str) -> _Page:
        page = self.pages.get(ph)
        if page is None:
            page = _Page()
            if self.dir is not None:
                page = _load_page(os.path.join(self.dir, ph))
                if page.view is not None and stale(page.mtime):
                    self.used_old.add(ph)
            self.pages[ph] = page
        return page

    def lookup(self, pc: int, ph: str, likely_taken: set[int], full: bool = False):
        """(code, [(other vpn, its page hash), ...]) or None: a variant of the
        trace at pc that no branch of likely_taken contradicts (one that did not
        follow a marked branch).  code is the block's function's (function_code)
        or, if its module does more, the module's.

        Of those, the one that follows the most branches, which are then marked
        in likely_taken: the run that made it found them hot, and this one would
        find them hot again, after HOT_EXITS counted side exits each and a trace
        dropped and looked up again (76,000 side exits and 2,400 lookups of
        `python3 -c pass`).  Only the shape of traces depends on marks.

        A block that follows branches onto other pages is valid only while
        those pages still hold the same bytes: the caller checks them.  full:
        only code made in full (a hot pc's: the first-tier code a start kit keeps
        in codes would hide the full code its page file has, made again each run).
        """
        best = _pick(self.codes.get((ph, pc), ()), likely_taken, full)
        if best is None:
            try:
                best = _pick(self._page(ph).variants(pc), likely_taken, full)
                if best is not None:
                    marks, code_bytes, extra = best
                    best = marks, function_code(marshal.loads(code_bytes)), extra
                    self._keep(ph, pc, marks, best[1], extra)
            except _DAMAGED:
                return None
        if best is None:
            return None
        marks, code, extra = best
        for branch, marked in marks:
            if marked:
                likely_taken.add(branch)
        return code, extra

    def _keep(self, ph: str, pc: int, marks: tuple, code, extra) -> None:
        """A trace this process had to read or translate: remember it, and in a fork
        child list it for the fork site's hint."""
        self._remember(ph, pc, marks, code, extra)
        if self.hint_site is not None and len(self.made) < HINT_MAX:
            self.made.append((ph, pc, marks))
        if self.start is not None:
            self.start.note((ph, pc, marks), code, extra)

    def _remember(self, ph: str, pc: int, marks: tuple, code, extra) -> None:
        """Keep a trace's code (function_code's) for later engines of this process and
        its children."""
        if self.kept < KEEP_MAX:
            kept = self.codes.get((ph, pc))
            if kept is None:
                self.codes[(ph, pc)] = [(marks, code, extra)]
            else:
                # a trace made in full replaces its first-tier code (cpu/tier.py)
                kept[:] = [k for k in kept if k[0] != marks]
                kept.append((marks, code, extra))
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
        self.start = None                   # the first process writes its kit, not its children

    # ---- the start kit (startkit.py) ------------------------------------------------
    def start_kit(self, rootfs: str, program: str, fn_globals: dict) -> None:
        """At a machine's start, its program loaded: make the traces its last run
        used as the kit the engine adopts (a page at a time), and list from now on
        what this run adds to them."""
        if self.dir is None:
            return
        # No collection while the kit loads (python3's: 19,000 traces, 56 MB; the
        # collector made unmarshalling it 4x slower), and what it made is frozen: it
        # lives as long as the process, and scanning it again in every full
        # collection would cost more than loading it saved.
        collecting = gc.isenabled()
        gc.disable()
        try:
            site = self.fork_site(f"start\0{rootfs}\0{program}", 0)    # (a name like a hint's)
            kit, entries = startkit.load(os.path.join(self.dir, f"kit-{site}"), HINT_MIN, TOUCH_AGE)
            if kit.stale:
                touch(kit.path)
            if entries:
                source: dict[tuple[str, int], list] = {}
                for ph, pc, marks, extra, code in entries:
                    key = (ph, pc)
                    variants = source.get(key)
                    if variants is None:
                        source[key] = [(marks, code, extra)]
                    else:
                        variants.append((marks, code, extra))
                    self._remember(ph, pc, marks, code, extra)
                self._make_kit(kit.base, fn_globals, source, keys=source)
                gc.freeze()
        finally:
            if collecting:
                gc.enable()
        self.start = kit

    def end_start(self) -> None:
        """The first image is over (an execve, the exit): write its kit if it changed."""
        if self.start is not None:
            if self.start.stale:
                # the page files of the kit pages it ran are in use too, though not read:
                # left at their old mtimes, they went before newer programs' at a
                # collection, and the next run past the kit translated them again
                self._touch({ph for ph, _ in self.kit_taken})
            entries = self.start.rewrite(self.kit_taken)
            if entries is not None:
                _write_marshalled(self.start.path, entries)
            self.start = None

    def warm(self, site: str, fn_globals: dict | None = None) -> None:
        """Before a fork from site: make the code its last children had to make, so the
        next ones inherit it (once per version of the hint); with fn_globals, make
        their functions too (the kit an engine takes a page at a time, Engine._adopt)."""
        if self.dir is None or self.kept >= KEEP_MAX:
            return
        path = os.path.join(self.dir, f"hint-{site}")
        try:
            st = os.stat(path)          # one system call on every fork but the hint's first
            stamp = (st.st_mtime_ns, st.st_size)
            if self.warmed.get(site) == stamp:
                return
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())   # the file read, should it be replaced meanwhile
                if stale(st.st_mtime):
                    touch(path)
                    st = os.fstat(f.fileno())   # the touched stamp: this process's own
                self.warmed[site] = (st.st_mtime_ns, st.st_size)
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
        except _DAMAGED:
            return
        if fn_globals is not None:
            self._make_kit(names, fn_globals)

    def _make_kit(self, names: list, fn_globals: dict, source: dict | None = None,
                  keys=None) -> None:
        """The kit of a hint's traces: per page, the variant of each trace whose marks
        agree with every branch the hint's traces mark taken (what the last child had
        learnt), as a function of fn_globals.  Their code from source ((page hash, pc)
        -> [(marks, code, extra)]), by default the code kept (self.codes); keys: the
        (page hash, pc) of names, when the caller has them at hand.  (Written as plain
        loops: python3's start kit is 19,000 traces, and the generator and set-default
        form of this took ~0.1 s of its start.)"""
        source = self.codes if source is None else source
        hot = {branch for _, _, marks in names for branch, marked in marks if marked}
        if keys is None:
            keys = {(ph, pc) for ph, pc, _ in names}
        kit: dict[tuple[str, int], tuple[dict, list, set]] = {}
        for key in keys:
            variants = source.get(key, ())
            if len(variants) > 1:
                # full code first: a run found the trace hot (a first-tier trace that
                # ended where another starts, Engine._trace, follows fewer branches
                # than its full code, so the two are kept under different marks; the
                # first-tier one served, every warm python3 start made 1,070 of them
                # in full again)
                variants = sorted(variants, key=lambda v: is_first_tier(v[1]))
            for marks, code, extra in variants:
                if code.co_name == "<module>":
                    continue
                for branch, marked in marks:
                    if (branch in hot) != marked:
                        break
                else:
                    pc = key[1]
                    page_key = (key[0], pc >> 12)
                    page = kit.get(page_key)
                    if page is None:
                        page = kit[page_key] = ({}, [], set())
                    familyhelpers.ensure(code, fn_globals)
                    fn = make_function(code, fn_globals)
                    if extra:
                        page[1].append((pc, fn, extra))
                    else:
                        page[0][pc] = fn
                    for branch, marked in marks:
                        if marked:
                            page[2].add(branch)
                    break
        self.kit = _KitPages(self.kit_taken)
        self.kit.update({key: (ready, checked, frozenset(marked))
                         for key, (ready, checked, marked) in kit.items()})
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
        _write_marshalled(os.path.join(self.dir, f"hint-{self.hint_site}"), names[:HINT_MAX])
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
        self._touch(self.used_old - self.dirty)
        self.used_old.clear()
        if self.dirty:
            self._write_pages()
        self._write_hint()              # after the pages: it names their traces
        self.end_start()

    def _touch(self, names) -> None:
        """touch() the files of this cache named."""
        for name in names:
            touch(os.path.join(self.dir, name))

    def _write_pages(self) -> None:
        try:
            os.makedirs(self.dir, exist_ok=True)
        except OSError:
            return
        for ph in self.dirty:
            path = os.path.join(self.dir, ph)
            mine = self.pages[ph]
            try:
                merged = _load_page(path).entries()
            except _DAMAGED:
                merged = {}                 # a damaged file is replaced by this run's traces
            for pc, variants in mine.new.items():
                merged.setdefault(pc, {}).update(variants)
            tmp = _tmp_name(path)
            try:
                with open(tmp, "wb") as f:
                    _write_page(f, merged)
                os.replace(tmp, path)
            except OSError:
                pass
            mine.new = {}
            self.pages.pop(ph, None)        # read again (with what others added) if used
        self.dirty.clear()
