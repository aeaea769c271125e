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
    gc.enable()
    entry()


if __name__ == "__main__":
    run()
