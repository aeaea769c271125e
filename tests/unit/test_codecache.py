"""The on-disk code cache's page files (cpu/codecache.py): what two machines
writing one page at once leave, and what a reader that mapped a page before
another machine replaced it still gets."""
from __future__ import annotations

from types import CodeType, FunctionType

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
    assert reader.lookup(0x1004, PAGE, {0x1000}) is not None     # no branch of it contradicts
    assert reader.lookup(0x1004, PAGE, set()) is not None         # it follows 0x1008: see lookup
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
    (tmp_path / PAGE).write_bytes(b"MKC2\xff\xff\x00\x00garbage")
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


def test_a_page_with_many_traces_serves_each(tmp_path):
    # the table is sorted by pc and searched in place: pcs stored out of order and pcs
    # past 2**32 must each come back as themselves, a pc between two as a miss
    import random
    pcs = [0x7000 + 4 * i for i in range(200)] + [0xFFFF_F000_0000 + 8 * i for i in range(20)]
    random.Random(5).shuffle(pcs)
    writer = CodeCache(tmp_path)
    for pc in pcs:
        writer.store(pc, PAGE, {}, block(pc, pc & 0xFFFF))
    writer.flush()
    reader = CodeCache(tmp_path)
    assert all(returned(reader.lookup(pc, PAGE, set())[0], pc) == pc & 0xFFFF for pc in sorted(pcs))
    assert CodeCache(tmp_path).lookup(0x7002, PAGE, set()) is None


def test_the_variant_that_follows_the_most_branches_is_served_and_marks_them(tmp_path):
    # a warm run starts with the branches the runs before it found hot: the variant
    # that followed a branch is served and the branch marked, so no trace has to count
    # its side exits and be made again; a variant that did not follow a marked branch
    # is never served
    writer = CodeCache(tmp_path)
    writer.store(0x7000, PAGE, {0x7004: False}, block(0x7000, 1))
    writer.store(0x7000, PAGE, {0x7004: True}, block(0x7000, 2))
    writer.store(0x7100, PAGE, {0x7104: False, 0x7108: True}, block(0x7100, 3))
    writer.store(0x7100, PAGE, {0x7104: True, 0x710c: True}, block(0x7100, 4))
    writer.store(0x7200, PAGE, {0x7204: False}, block(0x7200, 5))
    writer.flush()
    for cache in (writer, CodeCache(tmp_path)):        # kept in the process, and from the file
        taken: set[int] = set()
        assert returned(cache.lookup(0x7000, PAGE, taken)[0], 0x7000) == 2
        assert taken == {0x7004}
        assert returned(cache.lookup(0x7100, PAGE, taken)[0], 0x7100) == 4
        assert taken == {0x7004, 0x7104, 0x710c}
        assert returned(cache.lookup(0x7200, PAGE, taken)[0], 0x7200) == 5
        assert cache.lookup(0x7200, PAGE, {0x7204}) is None
        assert returned(cache.lookup(0x7100, PAGE, {0x7108})[0], 0x7100) == 4


def test_reading_a_page_holds_no_descriptor(tmp_path):
    # the file is mapped with libc's mmap and its descriptor closed: a guest sees its
    # host descriptors as its own, so none may stay open (Python's mmap keeps a dup)
    import os
    writer = CodeCache(tmp_path)
    writer.store(0x8000, PAGE, {}, block(0x8000, 8))
    writer.flush()
    before = sorted(os.listdir("/proc/self/fd"))
    reader = CodeCache(tmp_path)
    assert returned(reader.lookup(0x8000, PAGE, set())[0], 0x8000) == 8
    assert sorted(os.listdir("/proc/self/fd")) == before


def test_a_page_file_damaged_past_its_head_is_a_miss_and_is_replaced(tmp_path):
    # a table that points past the end, and records that are not marshal data
    writer = CodeCache(tmp_path)
    writer.store(0x9000, PAGE, {}, block(0x9000, 9))
    writer.store(0x9010, PAGE, {}, block(0x9010, 10))
    writer.flush()
    good = (tmp_path / PAGE).read_bytes()
    for damaged in (good[:len(good) // 2],                          # cut short
                    good[:24] + b"\xee" * (len(good) - 24),        # records overwritten
                    good[:8] + b"\xff" * (len(good) - 8)):         # the table overwritten
        (tmp_path / PAGE).write_bytes(damaged)
        cache = CodeCache(tmp_path)
        for pc, value in ((0x9000, 9), (0x9010, 10)):
            hit = cache.lookup(pc, PAGE, set())
            assert hit is None or returned(hit[0], pc) == value
        cache.store(0x9020, PAGE, {}, block(0x9020, 20))
        cache.flush()
        assert returned(CodeCache(tmp_path).lookup(0x9020, PAGE, set())[0], 0x9020) == 20


def _write_traces(directory, first: int, rounds: int) -> None:
    for r in range(rounds):
        cache = CodeCache(directory)
        pc = first + 4 * r
        cache.store(pc, PAGE, {}, block(pc, pc & 0xFFFF))
        cache.flush()


def test_machines_writing_one_page_at_once_leave_a_whole_file(tmp_path):
    # four processes merge into one page file at once: every reader then sees a valid
    # file (rename of whole files), and what it serves is right; no temporary file stays
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_write_traces, args=(tmp_path, 0xA000 + 0x400 * k, 25))
             for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    reader = CodeCache(tmp_path)
    served = 0
    for k in range(4):
        for r in range(25):
            pc = 0xA000 + 0x400 * k + 4 * r
            hit = reader.lookup(pc, PAGE, set())
            if hit is not None:
                assert returned(hit[0], pc) == pc & 0xFFFF
                served += 1
    # writers that raced lose each other's new traces at worst, never a whole file
    assert served >= 25
    assert not list(tmp_path.glob("*.tmp"))


def _tag_in(monkeypatch, tmp_path, cpu_dir):
    from mkemu.cpu import codecache
    monkeypatch.setenv("MKEMU_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MKEMU_NO_CODE_CACHE", raising=False)
    monkeypatch.setattr(codecache, "_CPU_DIR", cpu_dir)
    return codecache.translator_tag.__wrapped__()


def test_the_translator_tag_is_remembered_and_follows_an_edited_source(tmp_path, monkeypatch):
    import os
    import shutil
    from mkemu.cpu import codecache
    cpu = tmp_path / "cpu"
    shutil.copytree(codecache._CPU_DIR, cpu, ignore=shutil.ignore_patterns("__pycache__"))
    tag = _tag_in(monkeypatch, tmp_path, cpu)
    assert tag == codecache.translator_tag()      # the same hash as the real sources'
    memo = tmp_path / "cache" / "code" / ".translator-tag"
    key, remembered = memo.read_text().split()
    assert remembered == tag
    memo.write_text(f"{key} {'f' * 16}")           # served from the memo, not hashed again
    assert _tag_in(monkeypatch, tmp_path, cpu) == "f" * 16
    src = cpu / "bits.py"                          # an edit: new content, new mtime
    src.write_text(src.read_text() + "\n# edited\n")
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    edited = _tag_in(monkeypatch, tmp_path, cpu)
    assert edited not in (tag, "f" * 16)
    assert memo.read_text().split()[1] == edited
    monkeypatch.setenv("MKEMU_NO_CODE_CACHE", "1")  # a cache turned off is not written
    memo.unlink()
    assert codecache.translator_tag.__wrapped__() == edited
    assert not memo.exists()


def test_a_kit_serves_a_traces_full_code_before_its_first_tier_code(tmp_path):
    # a first-tier trace that ended where another trace starts follows fewer branches
    # than the full code a later run made of it, so both are kept, under different
    # marks: a run found the trace hot, and its kit serves the full code
    def function(src):
        return next(c for c in compile(src, "<t>", "exec").co_consts if type(c) is CodeType)
    first_tier = function("def blk_1000(S, X, V):\n    return TIERUP(0x1000)\n")
    full = function("def blk_1000(S, X, V):\n    return 0x1010\n")
    cache = CodeCache(tmp_path)
    name = (PAGE, 0x1000, ((0x1008, False),))
    source = {(PAGE, 0x1000): [(((0x1008, False),), first_tier, ()),
                               (((0x1008, False), (0x100c, False)), full, ())]}
    cache._make_kit([name], {}, source)
    ready = cache.kit[(PAGE, 1)][0]
    assert ready[0x1000].__code__ is full
    # with the first-tier code alone, that is served
    cache._make_kit([name], {}, {(PAGE, 0x1000): source[(PAGE, 0x1000)][:1]})
    assert cache.kit[(PAGE, 1)][0][0x1000].__code__ is first_tier
