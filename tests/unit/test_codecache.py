"""The on-disk code cache's page files (cpu/codecache.py): what two machines
writing one page at once leave, and what a reader that mapped a page before
another machine replaced it still gets."""
from __future__ import annotations

from types import FunctionType

from mkemu.cpu.codecache import CodeCache

PAGE = "ab" * 16


def block(pc: int, value: int):
    return compile(f"def blk_{pc:x}(S, X, V):\n    return {value}\n", "<test>", "exec")


def returned(code, pc: int) -> int:
    if code.co_name != "<module>":               # the function's code (codecache.function_code)
        return FunctionType(code, {})(None, None, None)
    g: dict = {}
    exec(code, g)
    return g[f"blk_{pc:x}"](None, None, None)


def test_two_writers_of_one_page_keep_both_traces(tmp_path):
    first, second = CodeCache(tmp_path), CodeCache(tmp_path)
    first.lookup(0x1000, PAGE, set())            # both have read the (missing) page
    second.lookup(0x1000, PAGE, set())
    first.store(0x1000, PAGE, {}, block(0x1000, 11))
    second.store(0x1004, PAGE, {0x1008: True}, block(0x1004, 22), [(7, "cd" * 16)])
    first.flush()
    second.flush()
    reader = CodeCache(tmp_path)
    code, extra = reader.lookup(0x1000, PAGE, set())
    assert returned(code, 0x1000) == 11 and extra == []
    assert reader.lookup(0x1004, PAGE, set()) is None           # its branch is not marked
    code, extra = reader.lookup(0x1004, PAGE, {0x1008})
    assert returned(code, 0x1004) == 22 and extra == [(7, "cd" * 16)]
    assert not list(tmp_path.glob("*.tmp"))


def test_a_page_mapped_before_another_machine_rewrote_it_still_serves(tmp_path):
    writer = CodeCache(tmp_path)
    writer.store(0x2000, PAGE, {}, block(0x2000, 1))
    writer.store(0x2010, PAGE, {}, block(0x2010, 2))
    writer.flush()
    reader = CodeCache(tmp_path)
    assert returned(reader.lookup(0x2000, PAGE, set())[0], 0x2000) == 1   # maps the file
    other = CodeCache(tmp_path)
    other.store(0x2020, PAGE, {}, block(0x2020, 3))
    other.flush()                                 # renames a new file over it
    assert returned(reader.lookup(0x2010, PAGE, set())[0], 0x2010) == 2
    assert reader.lookup(0x2020, PAGE, set()) is None          # not in what it mapped
    fresh = CodeCache(tmp_path)
    assert [returned(fresh.lookup(pc, PAGE, set())[0], pc) for pc in (0x2000, 0x2010, 0x2020)] \
        == [1, 2, 3]


def test_a_damaged_page_file_is_a_miss(tmp_path):
    (tmp_path / PAGE).write_bytes(b"MKC1\xff\xff\x00\x00garbage")
    cache = CodeCache(tmp_path)
    assert cache.lookup(0x3000, PAGE, set()) is None
    cache.store(0x3000, PAGE, {}, block(0x3000, 5))
    cache.flush()
    assert returned(CodeCache(tmp_path).lookup(0x3000, PAGE, set())[0], 0x3000) == 5


def test_a_fork_childs_hint_has_the_parent_make_that_code(tmp_path):
    from mkemu.cpu.codecache import HINT_MIN
    pcs = [0x4000 + 4 * i for i in range(HINT_MIN)]
    writer = CodeCache(tmp_path)
    for pc in pcs:
        writer.store(pc, PAGE, {}, block(pc, pc))
    writer.flush()
    site = CodeCache.fork_site("/bin/sh", 0x1234)
    idle = CodeCache(tmp_path)
    idle.forked_child(site)
    idle.lookup(pcs[0], PAGE, set())
    idle.flush()
    assert not (tmp_path / f"hint-{site}").exists()      # too few traces to be worth one
    child = CodeCache(tmp_path)
    child.forked_child(site)
    for pc in pcs:
        assert child.lookup(pc, PAGE, set()) is not None
    child.flush()
    parent = CodeCache(tmp_path)
    parent.warm(site)
    (tmp_path / PAGE).unlink()                   # what warm made is served without the file
    assert [returned(parent.lookup(pc, PAGE, set())[0], pc) for pc in pcs] == pcs
    assert parent.lookup(pcs[0], "cd" * 16, set()) is None    # other bytes: never this code


def test_a_warmed_parents_child_adds_the_few_traces_it_still_made_to_the_hint(tmp_path):
    # under HINT_MIN traces, but the child of a parent warmed from the hint adds them to
    # its names: otherwise every later child would make them again
    from mkemu.cpu.codecache import HINT_MIN
    pcs = [0x4000 + 4 * i for i in range(HINT_MIN)]
    writer = CodeCache(tmp_path)
    for pc in pcs + [0x4800]:
        writer.store(pc, PAGE, {}, block(pc, pc))
    writer.flush()
    site = CodeCache.fork_site("/bin/sh", 0x1234)
    first = CodeCache(tmp_path)
    first.forked_child(site)
    for pc in pcs:
        first.lookup(pc, PAGE, set())
    first.flush()
    parent = CodeCache(tmp_path)
    parent.warm(site)
    parent.forked_child(site)                    # (the state its fork child starts with)
    assert parent.lookup(0x4800, PAGE, set()) is not None
    parent.flush()
    again = CodeCache(tmp_path)
    again.warm(site)
    assert all((PAGE, pc) in again.codes for pc in pcs + [0x4800])     # made by warm
    stamp = (tmp_path / f"hint-{site}").stat().st_mtime_ns
    again.forked_child(site)                     # a child that made nothing new
    again.flush()
    assert (tmp_path / f"hint-{site}").stat().st_mtime_ns == stamp


def test_a_block_module_that_does_more_than_def_is_served_whole(tmp_path):
    # a default argument is evaluated by the module: the function alone would lose it
    code = compile("def blk_5000(S, X, V, _k=K):\n    return _k\n", "<test>", "exec")
    writer = CodeCache(tmp_path)
    writer.store(0x5000, PAGE, {}, code)
    writer.flush()
    for cache in (writer, CodeCache(tmp_path)):         # kept in the process, and from the file
        served, _ = cache.lookup(0x5000, PAGE, set())
        assert served.co_name == "<module>"
        g = {"K": 41}
        exec(served, g)
        assert g["blk_5000"](None, None, None) == 41
