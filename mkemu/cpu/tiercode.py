"""The first tier's memory helpers (tier.helpers_source: L1..L16, S1..S16, LP4/LP8,
SP4/SP8) compiled once per translator version and kept in its code cache
directory (file `first-tier-helpers`), so that a warm run's traces find them
without the trace builder: making them imports block.py (with memgroup and re)
and compiles their text, ~3 ms of every start-up where no trace may be made."""
from __future__ import annotations

import marshal
import os
from types import CodeType

from . import tier
from .codecache import _write_marshalled, stale, touch

NAME = "first-tier-helpers"


def first_tier_code(cache_dir: str | None) -> CodeType:
    """tier.helpers_code(), read from cache_dir (None: no cache) when it is there."""
    if cache_dir is None:
        return tier.helpers_code()
    path = os.path.join(cache_dir, NAME)
    try:
        with open(path, "rb") as f:
            code = marshal.loads(f.read())
            used = os.fstat(f.fileno()).st_mtime
        if isinstance(code, CodeType) and code.co_filename == "<first-tier helpers>":
            if stale(used):
                touch(path)                 # every run uses it: never the least recent
            return code
    except (OSError, EOFError, ValueError, TypeError):
        pass
    code = tier.helpers_code()
    try:
        os.makedirs(cache_dir, exist_ok=True)
    except OSError:
        return code
    _write_marshalled(path, code)
    return code
