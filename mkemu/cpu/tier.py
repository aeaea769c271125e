"""The first tier: when a trace is translated in full, and when more cheaply.

A cold python3 start translates some 19,000 traces; almost half of them run
once and three quarters fewer than 16 times, yet each paid for the passes that
only make a trace run faster (memgroup with pagereuse, the scan for registers
read before they are assigned: a quarter of the translation time).  So a trace
is first made without them (BlockBuilder.source's tier_up: the same emitters,
hence the same semantics, faults, flags and instruction counts) and counts its
runs in the engine's TC; its TIER_UP-th entry calls the engine's TIERUP, which
drops it and marks its pc hot, and the dispatcher's next look-up translates it
in full.  A loop (a trace branching back to its own start, which may run long
inside one call) is always made in full.  Both kinds go to the code cache under
the same key: a full trace replaces a first-tier one there, so a warm run gets
the full code of the traces that were hot and the first-tier code of the rest,
which tiers up the same way if it turns out hot.

MKEMU_TIER: unset, the default TIER_UP; a number, that many runs; `off` or 0,
every trace in full; `cold`, never tier up (tests run programs in the first
tier alone).
"""
from __future__ import annotations

import functools
import os
from types import CodeType

TIER_UP = 256           # runs of a first-tier trace before it is made in full
NEVER = 1 << 62         # MKEMU_TIER=cold: a count no trace reaches
# runs before a first-tier trace from the code cache is made in full: an earlier run
# made it and ran it fewer than TIER_UP times, and a warm run would run it as often
# again, in the first tier, at every start (python3 -c pass, warm: 14,100 first-tier
# traces ran, 201,600 runs, 59% of them in the 917 traces run 64-255 times; py-spy:
# a first-tier run costs ~2.8 times a full one)
WARM_RUNS = 64


def tier_up_runs(setting: str | None = None) -> int:
    """Runs before a first-tier trace is made in full (0: no first tier)."""
    setting = os.environ.get("MKEMU_TIER", "") if setting is None else setting
    if setting == "":
        return TIER_UP
    if setting == "off":
        return 0
    if setting == "cold":
        return NEVER
    return max(int(setting), 0)


class RunCounts(dict):
    """The engine's TC: a first-tier trace's runs so far, by pc.  A pc without a
    count starts at seed, so a trace the code cache served tiers up after WARM_RUNS
    runs; the engine sets a trace it made itself to 0 (Engine.translate)."""
    __slots__ = ("seed",)

    def __init__(self) -> None:
        super().__init__()
        self.seed = 0

    def __missing__(self, pc: int) -> int:
        return self.seed


def warm_seed(tier_up: int) -> int:
    """The count a trace served by the code cache starts its runs at (RunCounts)."""
    if tier_up == NEVER or tier_up <= WARM_RUNS:
        return 0
    return tier_up - WARM_RUNS


def is_first_tier(code) -> bool:
    """Is code (a trace's, compiled or from the code cache) a first-tier trace?"""
    return "TIERUP" in code.co_names or any(
        type(c) is CodeType and "TIERUP" in c.co_names for c in code.co_consts)


@functools.cache
def helpers_code():
    """helpers_source compiled (once a process; run in each engine's globals)."""
    return compile(helpers_source(), "<first-tier helpers>", "exec")


def helpers_source() -> str:
    """The first tier's memory helpers: L1..L16 (load), S1..S16 (store), LP4/LP8
    and SP4/SP8 (pairs), each a function around the lines a full trace has for
    that access (BlockBuilder's, so there is one definition of the access),
    run against the engine's globals (RT, WT, WQ, LD, ST...)."""
    from .block import BlockBuilder
    out = []

    def define(head: str, emit, result: str = "") -> None:
        b = BlockBuilder(0, set())
        emit(b)
        out.append(f"def {head}:")
        out.extend(f"    {t}" for t in b.lines)
        if result:
            out.append(f"    return {result}")

    for n in (1, 2, 4, 8, 16):
        define(f"L{n}(a)", lambda b, n=n: b.load("v", "a", n), "v")
        define(f"S{n}(a, v)", lambda b, n=n: b.store("a", "v", n))
    for n in (4, 8):
        define(f"LP{n}(a)", lambda b, n=n: b.load_pair("v", "w", "a", n), "v, w")
        define(f"SP{n}(a, v, w)", lambda b, n=n: b.store_pair("a", "v", "w", n))
    return "\n".join(out) + "\n"
