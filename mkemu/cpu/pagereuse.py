"""Loads off one base register reuse its page: one TLB look-up for the chain.

A load's fast path costs about 1,200 host instructions, some 900 of them the
address (base + offset: a new 64-bit int), `>> 12`, the TLB subscript and
`& 4095`.  C code reads several fields of one struct between other work
(`ldr x1, [x19, #0x18]` ... `ldr x2, [x19, #0x28]`): memgroup joins only
adjacent runs with nothing but plain assignments between them.  Here the first
load of such a chain also keeps the page of its base and the base's offset in
that page (`_pgB = RT[B >> 12]`, `_poB = B & 4095`); each later load at a
constant offset d >= 0 from the unchanged base is `U64(_pgB, _poB + d)[0]` (a
byte load `_pgB[_poB + d]`).  Its address is made only on its slow path.

Why this stays exact:
- an access past the page end raises (struct.error, IndexError) and an offset
  is never negative, so the fast path never reads another page than the one
  holding the address;
- the first load's `except` sets `_pgB = None` (its look-up may have failed:
  the name must not keep an earlier trip's page), so the chain's later loads
  then take their slow paths (a TypeError);
- between the chain's loads there may only be other loads, stores, plain
  assignments (memgroup's test: no call, subscript or attribute), pure flag
  computations and side exits (an `if` whose block returns).  A load's slow
  path only fills missing pages; a store's fast path writes the frame the
  chain reads; a store's slow path may give the page a new frame
  (copy-on-write: the space drops the TLB's entries), so it sets the open
  chains' `_pgB = None`.  Any other line (a helper call: atomics, exclusives,
  SIMD structures), or a line assigning the base, ends the chain;
- a loop trip runs its lines in order from the top, so the first load has
  set the names again before any later load of its trip reads them.

"""
from __future__ import annotations

import re
from itertools import accumulate

from ..lazyre import lazy_compile

_CALL = lazy_compile(r"\w\s*\(")
_PURE_CALL = lazy_compile(r"\bNZCV_(?:SUB|ADD|LOGIC)\(")


def _fast_form(line: str, addr: str, page: str, off: str) -> str | None:
    """The load's `try:` line reading through page/off instead of addr; None
    if it is not one of BlockBuilder.load's or load_pair's forms."""
    if not line.startswith("try: ") or " = " not in line:
        return None
    view = f"RT[{addr} >> 12]"
    by_struct = f"({view}, {addr} & 4095)"     # U8..U128, U2L/U2Q
    by_item = f"{view}[{addr} & 4095]"          # a byte
    if line.count(by_struct) == 1:
        new = line.replace(by_struct, f"({page}, {off})")
    elif line.count(by_item) == 1:
        new = line.replace(by_item, f"{page}[{off}]")
    else:
        return None
    if re.search(rf"\b{addr}\b", new.split(" = ", 1)[1]):
        return None
    return new


def _ends_in_return(block: list[str]) -> bool:
    return bool(block) and block[-1].lstrip().startswith("return ")


def reuse_pages(b, plain: list, members_ok, movable) -> None:
    """Rewrite b.lines in place (same number of lines: a dropped address line
    becomes `pass`, which BlockBuilder.source removes).

    plain: the MemOps memgroup parsed (base/off filled), in program order;
    members_ok(op): may op join a chain (a single access not in a memgroup run);
    movable: memgroup's test of a line that cannot touch memory (its writes, reads)."""
    lines = b.lines
    # a chain needs two accesses of one kind off one base: only such are followed,
    # and only from the first of them on (translation cost)
    seen: set[tuple[str, str]] = set()
    twice: set[tuple[str, str]] = set()
    kinds: dict[int, str] = {}
    for op in plain:
        kind = _kind(op)
        if kind is not None and members_ok(op):
            kinds[id(op)] = kind
            (twice if (op.base, kind) in seen else seen).add((op.base, kind))
    if not twice:
        return
    starts = {op.first: op for op in plain if (op.base, kinds.get(id(op))) in twice}
    last_start = max(starts)
    all_ops: dict[int, list] = {}        # `_pc` line -> the accesses of its instruction
    for op in b.mem_ops:
        all_ops.setdefault(op.first, []).append(op)
    chains: dict[tuple[str, str], list] = {}     # (base, kind) -> the chain's ops so far
    resets: list[tuple[int, list]] = []   # a store's `except` line, the chains open there
    done: list[list] = []

    def end(names) -> None:
        for key in [key for key in chains if key[0] in names]:
            done.append(chains.pop(key))

    def join(p) -> list:
        chain = chains.setdefault((p.base, kinds[id(p)]), [])
        if not chain or _fits(chain[0], p):
            chain.append(p)
        return chain

    def end_all() -> None:
        done.extend(chains.values())
        chains.clear()

    i = min(starts)
    n = len(lines)
    while i < n:
        if i > last_start and not chains:
            break
        ln = lines[i]
        ops = all_ops.get(i)
        if ops is not None:
            if not any(op.load for op in ops):
                # a store's fast path writes the frame the chain reads; its slow
                # path may resolve a new one (copy-on-write): it drops the pages
                last = max(op.end for op in ops) - 1
                if chains and lines[last].startswith("except Exception: "):
                    resets.append((last, list(chains.values())))
                else:
                    end_all()
            elif not all(op.load for op in ops):
                end_all()
            else:
                p = starts.get(i)
                if p is not None:
                    join(p)
                end({name for op in ops for name in op.names})
            i = max(op.end for op in ops)
            continue
        if ln.startswith(("#", "@", "_pc = ")):
            i += 1
            continue
        if ln.startswith("if ") and ln.endswith(":"):
            j = i + 1
            while j < n and lines[j].startswith(" "):
                j += 1
            cond = ln[3:-1]
            if _ends_in_return(lines[i + 1:j]) and not _CALL.search(_PURE_CALL.sub("", cond)):
                i = j
                continue
            end_all()
            i = j
            continue
        if ln.startswith(" "):
            end_all()
            i += 1
            continue
        rw = movable(ln)
        if rw is None and ln.startswith("nzcv = ") and not _CALL.search(_PURE_CALL.sub("", ln[7:])):
            rw = ({"nzcv"}, set())
        if rw is None:
            end_all()
        else:
            end(rw[0])
        i += 1
    end_all()
    done = [chain for chain in done if len(chain) > 1]
    if not done:
        return
    used = _Uses(lines)
    extra = " ".join(b.fault_lines + b.head_lines)
    rewritten = {id(chain) for chain in done if _rewrite(lines, chain, used, extra)}
    for at, open_chains in resets:
        lines[at] += "".join(f"; _pg{chain[0].base} = None" for chain in open_chains
                             if id(chain) in rewritten)


class _Uses:
    """Is a name named by a line outside a range of lines (one search of the
    whole text: translation cost)."""

    def __init__(self, lines: list[str]) -> None:
        self.text = "\n".join(lines)
        self.at = [0, *accumulate(len(ln) + 1 for ln in lines)]    # where each line starts

    def only_in(self, name: str, first: int, end: int) -> bool:
        """Is name named only by lines first..end-1 (a whole word: _a1 is in _a12 too)?"""
        text, lo, hi = self.text, self.at[first], self.at[end]
        pos = text.find(name)
        while pos >= 0:
            after = pos + len(name)
            if (not (pos and _word_char(text[pos - 1]))
                    and not (after < len(text) and _word_char(text[after]))
                    and not lo <= pos < hi):
                return False
            pos = text.find(name, after)
        return True


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def _kind(op) -> str | None:
    """The chains op may join: loads only ("r")."""
    return "r" if op.load else None


def _fits(first, op) -> bool:
    """May op follow first in its chain: never below it (so never in the page before)."""
    return op.off >= first.off


def _rewrite(lines: list[str], chain: list, used: _Uses, extra: str) -> bool:
    first = chain[0]
    base = first.base
    page, here = f"_pg{base}", f"_po{base}"
    # the chain's bytes from the first load's address: a page that does not hold them
    # all is not kept (None), and each later load then takes its slow path by a test,
    # not by raising (a raise costs in proportion to the try blocks before it in its
    # function: a region's hundreds; a struct straddling a page boundary crosses at
    # every run, as busybox gzip -9's state does)
    span = max(op.span()[1] for op in chain) - first.off
    new: dict[int, str] = {}
    for k, op in enumerate(chain):
        access = op.body           # the `try:` line
        d = op.off - first.off     # from the first load's address: never negative
        fast = _fast_form(lines[access], op.addr, page, f"{here} + {d:#x}" if d else here)
        if fast is None or not lines[access + 1].startswith("except Exception: "):
            if k == 0:
                return False       # the chain needs its first load's look-up
            continue
        slow = lines[access + 1]
        if k == 0:
            # the page of the first load's own address, kept if it holds the chain
            fast = (f"try: {here} = {op.addr} & 4095; {page} = RT[{op.addr} >> 12]; "
                    + fast[len("try: "):] + f"; {page} = {page} if {here} <= {4096 - span} else None")
            slow = f"except Exception: {page} = None; " + slow[len("except Exception: "):]
        elif (op.addr != base and op.body - op.first == 2 and used.only_in(op.addr, op.first, op.end)
                and op.addr not in extra):
            # the address is needed only on the slow path
            at = f"{base} + {op.off:#x}" if op.off > 0 else f"{base} - {-op.off:#x}"
            slow = re.sub(rf"\b{op.addr}\b", f"({at})", slow)
            new[op.first + 1] = "pass"
        if k:
            # no page kept (the chain crosses its end, or a store's slow path dropped
            # it): the slow path's expression, by a test
            target, _, expr = fast[len("try: "):].partition(" = ")
            slow_target, _, slow_expr = slow[len("except Exception: "):].partition(" = ")
            if slow_target == target and ";" not in slow_expr and ";" not in expr:
                fast = f"try: {target} = ({expr}) if {page} is not None else ({slow_expr})"
        new[access] = fast
        new[access + 1] = slow
    for idx, text in new.items():
        lines[idx] = text
    return True
