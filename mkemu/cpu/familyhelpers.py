"""The instruction families' run-time helpers (their HELPERS: SDIV, CRC, the FP
and NEON functions and tables), put into a block globals dict when code that
names one is about to run against it, or when the translator starts.

A run whose traces all come from the code cache may call none of them (a static
hello: 378 traces, none does), and then never imports the decoder and its
families (~7 ms of every start-up).  Generated code names a helper by a
capitalised global (engine.py's list of names), so code naming a capitalised
name that the dict lacks (and that no builtin has) is code that needs them."""
from __future__ import annotations

import builtins
import time
from types import CodeType

from . import dp_helpers, lanes, ldst_helpers
from .trips import TRIPS

# helpers nearly every program's traces name (loops, CNTVCT reads, load pairs, runs of
# loads or stores, exclusives, libc's NEON string functions, RBIT, division), from
# modules that import little: in every globals dict from the start
ALWAYS = {"TRIPS": TRIPS, "MONO_NS": time.monotonic_ns, **ldst_helpers.HELPERS,
          **lanes.HELPERS, **dp_helpers.HELPERS}
LOADED = "__family_helpers__"     # in a globals dict once its helpers are in it
_BUILTINS = frozenset(vars(builtins))


def ensure(code: CodeType, g: dict) -> None:
    """Before a function of `code` runs against g: the helpers, if code needs them."""
    if LOADED in g:
        return
    for name in code.co_names:
        if name[0].isupper() and name not in g and name not in _BUILTINS:
            load(g)
            return
    for const in code.co_consts:          # a block's module: the function inside
        if isinstance(const, CodeType):
            ensure(const, g)


def load(g: dict) -> None:
    """Put every family's helpers into g (names g has already keep their value)."""
    if LOADED in g:
        return
    from .decode import block_helpers
    for name, value in block_helpers().items():
        g.setdefault(name, value)
    g[LOADED] = True
