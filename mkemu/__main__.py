"""`python -m mkemu`: the command line (cli.py), started so that it starts fast."""


def run() -> None:
    """Load mkemu and run the command; never returns.  (Fit to be the `mkemu` script's
    entry point too.)"""
    import gc
    # No collection while the emulator's modules load (about 40 of them, ~5 ms): what
    # they make is kept for good.  Frozen, it is never scanned again, here or in the
    # machine's processes forked from this one.
    gc.disable()
    from .cli import entry
    gc.freeze()
    # Translation makes many long-lived objects (code, functions, page tables): a
    # full collection at most every 100 middle ones, not 10, halves the time the
    # task processes spend collecting (python3 start-up: 0.13 -> 0.055 s).
    gc.set_threshold(700, 10, 100)
    gc.enable()
    entry()


if __name__ == "__main__":
    run()
