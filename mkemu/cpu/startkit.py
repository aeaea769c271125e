"""The start kit: the traces a machine's first program ran last time, code and all, in
one file of the code cache.

A `mkemu run` starts its program in a fresh process, which found each trace by a
look-up in the page files (CodeCache.lookup: open and map the page file, find the
variant, unmarshal it): ~22 us a trace, 8.5 ms of a static hello's 378 and ~0.35 s
of `python3 -c pass`'s 15,800.  The kit file (`kit-<site>`, the site named by the
rootfs and the program's path) holds those traces' code in one marshalled list,
read in one go before the program runs and made functions as a fork hint's kit is
(CodeCache._make_kit), which the engine adopts a page at a time.

Nothing in it is trusted beyond the page files: each trace is keyed by the hash of
the page it starts on, and the engine adopts a page's traces only when the page it
mapped has that hash (a rebuilt program at the same path finds nothing of its old
kit and runs as without one).  A run whose traces differ from its kit's (it had to
read or translate traces beyond it, or left kit pages unrun: together GROW_SHARE of
it, or HINT_MIN for a first kit; a full kit counts only what fits in it) writes the
kit again as what it ran, whole, to a temporary name renamed into place.  So a
program started with changing arguments (busybox's applets, python3's scripts) keeps
the kit of its latest run rather than the union of all.  Only the machine's first
process writes, and only for its first image (a fork child or a later execve has the
fork hints, CodeCache.warm).
"""
from __future__ import annotations

import marshal
import os
import time
from types import CodeType

from .tier import is_first_tier

START_KIT_MAX = 20000       # traces one kit holds (python3 -c pass: ~19,000, 56 MB)
GROW_SHARE = 16             # rewritten when the run added or left 1/16 of the kit's size


class StartKit:
    """A machine's first program's kit as loaded, and what its run added."""

    def __init__(self, path: str, min_new: int) -> None:
        self.path = path
        self.min_new = min_new
        self.base: list[tuple] = []         # (page hash, pc, marks) loaded, in file order
        self.codes: dict[tuple, tuple] = {}     # name -> (code, extra): loaded or made
        self.made: list[tuple] = []         # names the run read or translated itself
        self.stale = False                  # its file was last used over touch_age ago

    def note(self, name: tuple, code, extra) -> None:
        """A trace the run had to read from a page file or translate (the newest code
        of a name is kept: a trace made in full replaces its first-tier code)."""
        self.made.append(name)
        self.codes[name] = (code, extra)

    def rewrite(self, taken: set) -> list | None:
        """The kit's entries to write again if the run changed it enough (else None):
        what it ran of the kit (the traces on the kit pages an engine took, in their
        order), then what it had to read or make beyond it (see the module comment)."""
        known = set(self.base)
        kept = [n for n in self.base if (n[0], n[1] >> 12) in taken]
        made = dict.fromkeys(self.made)
        new = [n for n in made if n not in known]
        # a kit trace made again is one of its first-tier traces the run made in full
        # (tier.WARM_RUNS): kept as it was, every later run would do so again (python3
        # -c pass: 966 of them, each run, never enough alone to rewrite the kit)
        redone = len(made) - len(new)
        # what does not fit in a full kit changes nothing in it (counted, a kit grown
        # to the cap was written again the same, 59 MB for python3, at every run)
        # (a kit read from a file may hold more than the cap: none then fit)
        new = new[:max(0, START_KIT_MAX - len(kept))]
        if len(new) + redone + len(self.base) - len(kept) < max(self.min_new,
                                                              len(self.base) // GROW_SHARE):
            return None
        self.base, self.made = _without_shadowed(kept + new, self.codes)[:START_KIT_MAX], []
        entries = []
        for name in self.base:
            code, extra = self.codes[name]
            entries.append((*name, extra, code))
        return entries


def _without_shadowed(names: list[tuple], codes: dict) -> list[tuple]:
    """names without the first-tier traces whose full code is among them too: a
    first-tier trace that ended where another trace starts follows fewer branches than
    its full code, so the two are kept under different marks, and the kit serves the
    full one (CodeCache._make_kit); the other would only be read at every start
    (python3 -c pass: 1,382 of a kit's 19,892 entries)."""
    first_tier = {name for name in names
                  if type(code := codes[name][0]) is CodeType and is_first_tier(code)}
    full = {name[:2] for name in names if name not in first_tier and type(codes[name][0]) is CodeType}
    return [name for name in names if name not in first_tier or name[:2] not in full]


def load(path: str, min_new: int, touch_age: float) -> tuple[StartKit, list]:
    """The kit at path (empty when missing or damaged) and its entries
    [(page hash, pc, marks, extra, code)]."""
    kit = StartKit(path, min_new)
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            entries = marshal.loads(f.read())
    except (OSError, EOFError, ValueError, TypeError):
        return kit, []
    # in use: the caller touches it, and at the end the page files it ran (end_start)
    kit.stale = time.time() - st.st_mtime > touch_age
    if not isinstance(entries, list):
        return kit, []
    good = []
    for entry in entries:
        if not (isinstance(entry, tuple) and len(entry) == 5 and isinstance(entry[4], CodeType)):
            return kit, []                  # a damaged or foreign file: as none
        ph, pc, marks, extra, code = entry
        name = (ph, pc, marks)
        kit.base.append(name)
        kit.codes[name] = (code, extra)
        good.append(entry)
    return kit, good
