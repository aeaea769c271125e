"""StartKit.rewrite (mkemu/cpu/startkit.py): when a run writes its kit again."""
from mkemu.cpu import startkit
from mkemu.cpu.startkit import StartKit


TAKEN = {("ph", 1), ("ph", 9)}      # the pages of _kit's and _run_makes' traces


def _kit(monkeypatch, size: int, cap: int) -> StartKit:
    monkeypatch.setattr(startkit, "START_KIT_MAX", cap)
    kit = StartKit("/nonexistent/kit", min_new=4)
    for pc in range(size):
        name = ("ph", 0x1000 + 4 * pc, ())
        kit.base.append(name)
        kit.codes[name] = (f"code {pc}", [])
    return kit


def _run_makes(kit: StartKit, n: int) -> None:
    for pc in range(n):
        kit.note(("ph", 0x9000 + 4 * pc, ()), f"new {pc}", [])


def test_a_run_that_adds_enough_writes_the_kit_again_with_what_it_added(monkeypatch):
    kit = _kit(monkeypatch, 90, cap=100)
    _run_makes(kit, 30)
    entries = kit.rewrite(TAKEN)
    # the 90 it ran, then the first 10 it added (the cap)
    assert [e[3] for e in entries] == [[]] * 100
    assert [e[4] for e in entries] == [f"code {i}" for i in range(90)] + [f"new {i}" for i in range(10)]
    assert kit.rewrite(TAKEN) is None         # nothing new since


def _rerun(monkeypatch, size: int, remade: int) -> list | None:
    """A run over a kit of size traces (the cap: 100) that made 30 beyond it and the
    first `remade` of it in full: the code of the kit it writes, or None."""
    kit = _kit(monkeypatch, size, cap=100)
    _run_makes(kit, 30)
    for name in kit.base[:remade]:
        kit.note(name, "made in full", [])
    entries = kit.rewrite(TAKEN)
    return None if entries is None else [e[4] for e in entries]


def test_a_full_kit_is_not_written_again_for_what_does_not_fit_in_it(monkeypatch):
    # (python3 -c pass with a kit grown to the cap over earlier runs: each run wrote
    # the same 59 MB again)
    assert _rerun(monkeypatch, 100, remade=0) is None
    # nor for two of its first-tier traces made in full: too few alone, as in a kit
    # with room
    assert _rerun(monkeypatch, 100, remade=2) is None


def test_a_full_kit_is_written_again_for_what_changes_in_it(monkeypatch):
    # ten of its traces made in full (more than a sixteenth of it)
    remade = ["made in full"] * 10 + [f"code {i}" for i in range(10, 100)]
    assert _rerun(monkeypatch, 100, remade=10) == remade
    # pages the run left make room for what it added
    kit = _kit(monkeypatch, 90, cap=100)
    for pc in range(10):
        kit.base.append(("other", 0x5000 + 4 * pc, ()))
        kit.codes[kit.base[-1]] = ("elsewhere", [])
    _run_makes(kit, 30)
    entries = kit.rewrite(TAKEN)
    assert [e[4] for e in entries] == [f"code {i}" for i in range(90)] + [f"new {i}" for i in range(10)]


def test_a_kit_read_larger_than_the_cap_is_written_within_it(monkeypatch):
    # (a file written when the cap was larger): nothing new fits, and what is
    # written again is cut to the cap
    remade = ["made in full"] * 10 + [f"code {i}" for i in range(10, 100)]
    assert _rerun(monkeypatch, 120, remade=10) == remade


def test_a_kit_written_again_leaves_out_first_tier_code_its_full_code_shadows(monkeypatch):
    # a first-tier trace that ended where another starts and the full code a later run
    # made of it are two names (other marks); the kit serves the full one, so the
    # first-tier one is not written again (each start would read it for nothing)
    def function(src):
        from types import CodeType
        return next(c for c in compile(src, "<t>", "exec").co_consts if type(c) is CodeType)
    kit = _kit(monkeypatch, 10, cap=100)
    short, long = ("ph", 0x1000, ((0x1008, False),)), ("ph", 0x1000, ((0x1008, False), (0x1010, False)))
    alone = ("ph", 0x1004, ())
    kit.base[:2] = [short, alone]
    kit.codes[short] = (function("def blk_1000(S, X, V):\n    return TIERUP(0x1000)\n"), [])
    kit.codes[alone] = (function("def blk_1004(S, X, V):\n    return TIERUP(0x1004)\n"), [])
    _run_makes(kit, 30)
    kit.note(long, function("def blk_1000(S, X, V):\n    return 0x1010\n"), [])
    entries = kit.rewrite(TAKEN)
    names = [e[:3] for e in entries]
    assert long in names and short not in names
    assert alone in names                       # first-tier code with no full code stays
    assert len(names) == 10 - 1 + 30 + 1
