"""Regular expressions compiled when first used, not when their module is imported.

Every `mkemu run` imports the whole emulator before its first fork, and ~40
module-level `re.compile` calls (the translator's source rewriting, /proc path
parsing) cost it ~10% of those imports; a run whose traces all come from the
code cache, or that never opens /proc, uses none of them.  A LazyPattern
stands for the compiled pattern: the first use compiles it and keeps the
pattern's methods on the instance, so later calls cost what the pattern's own
would.  Compiled in the process that first needs it (a fork child's compile is
its own)."""
from __future__ import annotations


class LazyPattern:
    def __init__(self, pattern, flags: int = 0) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str):
        # only reached for what the instance does not have yet: compile, then keep
        # the pattern's methods and attributes here so the next lookups find them
        import re
        compiled = re.compile(*self._source)
        for attr in ("match", "fullmatch", "search", "sub", "subn", "split",
                     "findall", "finditer", "pattern", "flags", "groups", "groupindex"):
            setattr(self, attr, getattr(compiled, attr))
        self.compiled = compiled
        return getattr(compiled, name)


def lazy_compile(pattern, flags: int = 0) -> LazyPattern:
    """re.compile(pattern, flags), done at the first use of the result."""
    return LazyPattern(pattern, flags)
