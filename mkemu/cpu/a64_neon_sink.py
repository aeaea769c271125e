"""Vector results no later line of the trip reads: not computed, or computed
only on the paths that need them (exits and the fault path).

A compiler's UZP1 narrowing tree (a64_neon_permute) leaves inner results in
registers that the loop overwrites on its next trip before reading them: the
store only needs the bytes, which the last UZP1 takes from the tree's sources
(or a64_neon_bytesum from the sums' operands).  Such a result is architectural
state all the same -- an exit stores it, a fault reports it -- so its lines are
not dropped but sunk: copied in front of each exit after them and into the
fault path (for the faulting pcs after them), and removed from the trip.

An emitter offers a pure definition with `offer(b, name, first, end)`: lines
[first, end) of b.lines, at the body's level, compute `name` (a register local
such as v3, or a temporary; the last line assigns it, the others only
temporaries of their own) with no call that could fault or change state.  When
the whole trace is emitted (BlockBuilder.finishers) the offers are checked,
the last first, against the text after them:

* up to the next plain `name = ...` that does not read name (the region), no
  line may mention name or leave the trace other than by an exit placeholder;
  a name the definition reads that the region assigns is copied to a snapshot
  local where the definition was (a local store), and the copies read that;
* if no such line ends the region (only in a loop), the next trip reaches the
  top of the body with name as the definition left it: up to the first plain
  assignment, or the definition's own place, nothing may read name, leave or
  fault, and the definition may not read name itself (an accumulator);
* outside a loop a definition is only dropped (a region with no exit and no
  faulting access): copies at exits would grow the code for no gain.

Definitions sunk later in the text were read only by ones sunk before, so the
copies at each exit are in program order.  A trace is straight-line text (a
side exit returns, a loop restarts at its top), so this scan of the text is
the whole liveness analysis.
"""
from __future__ import annotations

import re

from ..lazyre import lazy_compile
from .tracetext import BACK_EDGE as _BACK_EDGE
from .tracetext import EXIT_STORES as _EXIT
from .tracetext import FAULT_MARK as _FAULTABLE
from .tracetext import exit_start as _exit_start


# what leaves the trace or lets other code see the registers, other than an exit placeholder
# (a `return` is only ever the last line of an exit, after its placeholders)
_ESCAPES = ("continue", "locals()", "V[", "raise", "yield")
_NAME = lazy_compile(r"[A-Za-z_]\w*")
# names a line assigns: `a = `, `a, b = `, `a += `, after a line start, `;` or `:`
_ASSIGNED = lazy_compile(r"(?:^|;|:)\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*"
                       r"(?:[-+*/%&|^@]|<<|>>|\*\*|//)?=(?!=)")


def offer(b, name: str, first: int, end: int) -> None:
    """Lines [first, end) of b.lines compute `name` (a register local such as v3,
    or a temporary) and nothing else (see the module docstring); they may be
    sunk or dropped once the trace is complete."""
    if end <= first or b.depth:
        return
    offers = _registered(b)
    offers.append((name, first, end))


def before_sinking(b, rewrite) -> None:
    """Run rewrite(b) on the complete trace before the offers are looked at (it
    may change lines in place, keeping their number)."""
    _registered(b)
    b.notes.setdefault("sink.rewrites", []).append(rewrite)   # [fn(b)]


def _registered(b) -> list:
    offers = b.notes.get("sink.offers")     # [(name, first, end)]
    if offers is None:
        offers = b.notes["sink.offers"] = []
        b.finishers.append(_finish)
    return offers


def _code(text: str) -> bool:
    return not text.lstrip().startswith("#")     # --dump-blocks' disassembly comments


def _assigned(text: str) -> set[str]:
    return {n for m in _ASSIGNED.finditer(text) for n in _NAME.findall(m.group(1))}


def _kills(text: str, name: str, mention) -> bool:
    """Is text a plain `name = expr` at the body's level whose expr does not read name?"""
    head = f"{name} = "
    return text.startswith(head) and not mention.search(text, len(head))


def _finish(b) -> None:
    for rewrite in b.notes.pop("sink.rewrites", []):
        rewrite(b)
    offers = b.notes.pop("sink.offers", [])
    # later definitions first: an earlier one is read by the later ones it feeds,
    # which are out of the trip once sunk
    sinks = []                 # (first, lines, exit line indexes, faulting pcs)
    for name, first, end in sorted(offers, key=lambda o: -o[1]):
        plan = _plan(b, name, first, end)
        if plan is None:
            continue
        exits, pcs, snap = plan
        body = b.lines[first:end]
        keep = []
        for read in sorted(snap):        # names the region assigns: their value here
            copy = b.tmp("s")
            keep.append(f"{copy} = {read}")
            pattern = re.compile(rf"(?<![\w.]){read}(?!\w)")
            body = [pattern.sub(copy, t) for t in body]
        sinks.append((first, body, exits, pcs))
        for i in range(first, end):      # the trip no longer computes it
            b.lines[i] = "pass"
        if keep:
            b.lines[first] = "; ".join(keep)
    inserts: dict[int, list] = {}
    faults = []
    for first, lines, exits, pcs in sorted(sinks, key=lambda s: s[0]):   # program order
        for i in exits:
            indent = re.match(r" *", b.lines[i]).group(0)
            inserts.setdefault(i, []).extend(indent + t for t in lines)
        if pcs:
            faults.append(f"        if _pc in ({', '.join(pcs)},):")
            faults.extend("            " + t for t in lines)
    b.fault_lines.extend(faults)
    for i in sorted(inserts, reverse=True):
        b.lines[i:i] = inserts[i]


def _plan(b, name: str, first: int, end: int):
    """(the line indexes to insert the definition before, the faulting pcs after
    it, the names it reads that the region assigns) if the definition of `name`
    at lines [first, end) may be sunk, else None."""
    lines = b.lines
    body = lines[first:end]
    if any(t[:1] == " " or t == "pass" for t in body) or not body[-1].startswith(f"{name} = "):
        return None
    mention = re.compile(rf"(?<![\w.]){name}(?!\w)")
    reads = {n for t in body for n in _NAME.findall(t)} - _assigned("\n".join(body[:-1])) - {name}
    exits: list[int] = []
    pcs: list[str] = []
    snap: set[str] = set()
    crossed = []            # the region passes a branch back to the top

    def scan(start: int, stop: int) -> bool | None:
        """Walk lines [start, stop): True at a line ending the region, None if the
        definition cannot be sunk, False at stop."""
        for i in range(start, stop):
            text = lines[i]
            if not _code(text):
                continue
            if mention.search(text):
                return True if _kills(text, name, mention) else None
            m = _EXIT.match(text)
            if m:
                exits.append(_exit_start(lines, i, m.group(1)))
                continue
            m = _FAULTABLE.match(text)
            if m:
                pcs.append(m.group(1))
                continue
            if any(e in text for e in _ESCAPES):
                if text.strip() == _BACK_EDGE:
                    crossed.append(i)    # the next trip: the top of the body is checked below
                    continue
                return None
            if "=" in text:
                snap.update(_assigned(text) & reads)
        return False

    ended = scan(end, len(lines))
    if ended is None:
        return None
    if not b.loop and (not ended or exits or pcs):
        return None     # outside a loop, copies at exits would only grow the code
    if not ended or crossed:
        # the next trip, up to here: nothing may see `name` before a line assigns it
        # or before this definition's own place (where it is sunk again, so it must
        # not read the value the sunk one would have made)
        last = body[-1][len(name) + 3:]
        if any(mention.search(t) for t in body[:-1]) or mention.search(last):
            return None
        for text in lines[:first]:
            if not _code(text):
                continue
            if mention.search(text):
                if not _kills(text, name, mention):
                    return None
                break
            if _EXIT.match(text) or _FAULTABLE.match(text) or any(e in text for e in _ESCAPES):
                return None
    return exits, pcs, snap
