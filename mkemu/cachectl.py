"""Keeping the code cache bounded: `mkemu cache info|clear|gc` and the collection
that runs while a machine runs.

The cache (cpu/codecache.py) is a directory per translator version under
MKEMU_CACHE/code, one file per page of guest code.  A file's mtime is its last
use, to a minute: a task touches the files it used that were last touched over
TOUCH_AGE ago (see CodeCache.flush), so the oldest mtimes are the least recently used,
whatever translator version they belong to (an old version's files are never
read again and age out first).  Past the limit (MKEMU_CODE_CACHE_MAX, default
400 MiB) the oldest files go until the cache is at 80% of it.  Collection runs
at most every GC_INTERVAL seconds per cache, under an flock so two machines
running at once do not both walk it; readers never see half a file because
writers rename whole files into place and an unlinked file stays readable to
whoever has it open.
"""
from __future__ import annotations

import fcntl
import os
import time

from .hostdirs import remove_tree

DEFAULT_LIMIT = 400 << 20
GC_INTERVAL = 60                  # seconds between collections (a walk of 100,000 files: ~1 s)
LOW_WATER = 0.8                   # a collection leaves the cache at this share of the limit
STALE_TMP = 3600                  # a writer's temporary file older than this was abandoned
_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


# Paths are strings here (and any path-like is taken): pathlib's import (with urllib.parse
# and ipaddress) was ~13 M host instructions of every `mkemu run`'s start-up.

def cache_base() -> str:
    return os.environ.get("MKEMU_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "mkemu")


def code_root() -> str:
    return os.path.join(cache_base(), "code")


def parse_size(text: str) -> int:
    """'400M', '2G', '123456' -> bytes (ValueError for anything else)."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in _SUFFIXES and t[-1:] else ""
    number = t[:-1] if unit else t
    value = float(number)
    if value < 0:
        raise ValueError(text)
    return int(value * _SUFFIXES[unit])


def size_limit() -> int:
    text = os.environ.get("MKEMU_CODE_CACHE_MAX")
    if not text:
        return DEFAULT_LIMIT
    try:
        return parse_size(text)
    except ValueError:
        return DEFAULT_LIMIT


class CacheFile:
    """One file of the cache.  Its path is kept as a string: a collection walks every
    file, and making a Path of each cost it more than the walk (~10 us a file)."""
    __slots__ = ("name", "version", "size", "mtime")

    def __init__(self, name: str, version: str, size: int, mtime: float) -> None:
        self.name, self.version, self.size, self.mtime = name, version, size, mtime

    @property
    def path(self) -> "Path":
        from pathlib import Path
        return Path(self.name)

    @property
    def is_tmp(self) -> bool:
        return self.name.endswith(".tmp")


def cache_files(root) -> list[CacheFile]:
    """Every file of every translator version (missing root: none)."""
    found = []
    try:
        versions = list(os.scandir(root))
    except OSError:
        return found
    for version in versions:
        if not version.is_dir(follow_symlinks=False):
            continue
        try:
            entries = list(os.scandir(version.path))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue                  # removed meanwhile by another collector
            found.append(CacheFile(entry.path, version.name, st.st_blocks * 512, st.st_mtime))
    return found


def _remove(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except OSError:
        return False


def collect(root, limit: int, now: float | None = None) -> tuple[int, int]:
    """Evict least recently used files until the cache holds at most LOW_WATER*limit
    (nothing when it is within the limit); drop abandoned temporary files and empty
    version directories.  Returns (files removed, bytes freed)."""
    now = time.time() if now is None else now
    files = cache_files(root)
    removed = freed = 0
    live = []
    for f in files:
        if f.is_tmp and now - f.mtime > STALE_TMP:
            if _remove(f.name):
                removed, freed = removed + 1, freed + f.size
        else:
            live.append(f)
    total = sum(f.size for f in live)
    if total > limit:
        target = int(limit * LOW_WATER)
        for f in sorted(live, key=lambda f: f.mtime):
            if total <= target:
                break
            if f.is_tmp:
                continue                  # a writer is about to rename it
            if _remove(f.name):
                removed, freed = removed + 1, freed + f.size
            total -= f.size
    for version in _dirs(root):
        try:
            os.rmdir(version)             # only succeeds when empty
        except OSError:
            pass
    return removed, freed


def _dirs(root) -> list[str]:
    try:
        return [e.path for e in os.scandir(root) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def collection_due(root=None) -> bool:
    """The last collection of the cache at root is GC_INTERVAL old (or there was none)."""
    root = code_root() if root is None else root
    try:
        return time.time() - os.stat(os.path.join(root, ".last-collection")).st_mtime >= GC_INTERVAL
    except FileNotFoundError:
        return True
    except OSError:
        return False


def collect_if_due(root=None, limit: int | None = None) -> None:
    """Collect when the last collection is GC_INTERVAL old, unless another process is
    collecting right now.  Never raises."""
    root = code_root() if root is None else root
    if not collection_due(root):
        return
    stamp = os.path.join(root, ".last-collection")
    try:
        os.makedirs(root, exist_ok=True)
        fd = os.open(stamp, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return                        # someone else is collecting
        os.utime(fd)
        collect(root, size_limit() if limit is None else limit)
    except OSError:
        pass
    finally:
        os.close(fd)


def start_collection_if_due() -> "threading.Thread | None":
    """collect_if_due in a thread of this process, when due (else None): a machine's
    supervisor, idle while the machine runs, collects meanwhile and joins the thread at
    the end (done after the machine, a collection of a few thousand files added ~15 ms
    to the run)."""
    if not collection_due():
        return None
    import threading        # (only then: its import is a cost of every start)
    thread = threading.Thread(target=collect_if_due, name="mkemu-cache-gc", daemon=True)
    thread.start()
    return thread


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def info_lines(root, current: str | None) -> list[str]:
    files = [f for f in cache_files(root) if not f.is_tmp]
    total = sum(f.size for f in files)
    per_version: dict[str, list[CacheFile]] = {}
    for f in files:
        per_version.setdefault(f.version, []).append(f)
    lines = [f"code cache: {root}",
             f"size: {_human(total)} in {len(files)} files "
             f"(limit {_human(size_limit())}, MKEMU_CODE_CACHE_MAX)",
             f"translator versions: {len(per_version)}"]
    for name, group in sorted(per_version.items(), key=lambda kv: -max(f.mtime for f in kv[1])):
        newest = time.strftime("%Y-%m-%d %H:%M", time.localtime(max(f.mtime for f in group)))
        mark = " (this mkemu)" if name == current else ""
        lines.append(f"  {name}: {_human(sum(f.size for f in group))} in {len(group)} files, "
                     f"last used {newest}{mark}")
    return lines


def clear(root) -> int:
    """Remove the whole code cache; returns the bytes it held."""
    total = sum(f.size for f in cache_files(root))
    remove_tree(os.fspath(root))
    return total


def add_cache_command(subparsers):
    cache = subparsers.add_parser("cache", help="the translated-code cache",
                                  description="Show, collect or remove the cache of translated "
                                              "guest code (MKEMU_CACHE/code).")
    sub = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    sub.add_parser("info", help="where it is, its size and translator versions").set_defaults(
        func=cmd_cache_info)
    sub.add_parser("clear", help="remove all of it").set_defaults(func=cmd_cache_clear)
    sub.add_parser("gc", help="evict least recently used pages past the size limit now"
                   ).set_defaults(func=cmd_cache_gc)
    return cache


def cmd_cache_info(args) -> int:
    from .cpu.codecache import translator_tag
    print("\n".join(info_lines(code_root(), translator_tag())))
    return 0


def cmd_cache_clear(args) -> int:
    freed = clear(code_root())
    print(f"removed {code_root()} ({_human(freed)})")
    return 0


def cmd_cache_gc(args) -> int:
    removed, freed = collect(code_root(), size_limit())
    print(f"evicted {removed} files ({_human(freed)}); limit {_human(size_limit())}")
    return 0
