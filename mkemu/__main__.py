import gc

# No collection while the emulator's modules load (about 40 of them, ~5 ms): what
# they make is kept for good.  Frozen, it is never scanned again, here or in the
# machine's processes forked from this one.
gc.disable()
from .cli import entry  # noqa: E402

gc.freeze()
gc.enable()
entry()
