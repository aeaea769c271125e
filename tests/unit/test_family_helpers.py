"""The instruction families' helpers reach a globals dict when code needs them
(cpu/familyhelpers.py), and the first tier's helpers come from the code cache
(cpu/tiercode.py): traces from the cache run as the ones just made, in a fresh
engine that has not imported the helpers they name."""
from __future__ import annotations

import builtins
import marshal
import shutil

import pytest

from mkemu.cpu import familyhelpers, tier, tiercode
from mkemu.cpu.codecache import CodeCache
from mkemu.cpu.decode import block_helpers
from tests.support.asmrun import asm, flat_machine, run

needs_as = pytest.mark.skipif(shutil.which("aarch64-linux-gnu-as") is None,
                              reason="needs aarch64-linux-gnu-as")

# FMUL, FSQRT: helpers of the FP family (fpu.py), which is not in ALWAYS
FP = "fmov d1, #1.5\nfmov d2, #2.5\nfmul d0, d1, d2\nfsqrt d0, d0\nfmov x0, d0\nbrk #0"
INT = "mov x0, #5\nadd x0, x0, #37\nbrk #0"


def _twice(code: bytes, tmp_path):
    """Run code in an engine that translates it (and writes the cache), then in a new
    engine served by the cache: their x0, and the second engine."""
    first_cache = CodeCache(tmp_path / "code")
    st, eng, _ = flat_machine(code, first_cache)
    run(st, eng)
    assert eng.blocks_translated and not eng.blocks_from_cache
    first_cache.flush()
    st2, eng2, _ = flat_machine(code, CodeCache(tmp_path / "code"))
    assert familyhelpers.LOADED not in eng2.globals
    run(st2, eng2)
    assert eng2.blocks_from_cache == eng2.blocks_translated > 0
    return st.x[0], st2.x[0], eng2


@needs_as
def test_a_cached_trace_that_names_a_family_helper_gets_them_all(tmp_path):
    first, second, eng = _twice(asm(FP, tmp_path), tmp_path)
    assert first == second == 0x3ffefbdeb14f4eda           # sqrt(3.75)
    assert familyhelpers.LOADED in eng.globals and "FMUL64" in eng.globals


@needs_as
def test_a_cached_trace_that_names_none_leaves_them_out(tmp_path):
    first, second, eng = _twice(asm(INT, tmp_path), tmp_path)
    assert first == second == 42
    assert familyhelpers.LOADED not in eng.globals and "FMUL64" not in eng.globals


def test_the_helpers_always_there_are_the_families_own_and_every_name_looks_like_one():
    helpers = block_helpers()
    assert all(helpers[name] is value for name, value in familyhelpers.ALWAYS.items())
    # ensure() finds a needed helper by its capitalised name that no builtin has
    assert all(name[0].isupper() and name not in vars(builtins) for name in helpers)


def test_ensure_loads_for_a_block_module_naming_a_helper_inside_its_function():
    g = dict(familyhelpers.ALWAYS)
    src = "def blk_1000(x):\n    return SDIV(x, 3, 64) + FMUL64(x, x)\n"
    familyhelpers.ensure(compile(src, "<guest block 0x1000>", "exec"), g)
    assert g[familyhelpers.LOADED] and g["FMUL64"] is block_helpers()["FMUL64"]
    plain = dict(familyhelpers.ALWAYS)
    familyhelpers.ensure(compile("def f(S):\n    return len(S.x) + SDIV(1, 2, 64)\n",
                                 "<guest block 0x2000>", "exec"), plain)
    assert familyhelpers.LOADED not in plain


def test_the_first_tier_helpers_come_from_the_cache_as_compiled_and_a_bad_file_is_remade(tmp_path):
    made = tiercode.first_tier_code(str(tmp_path))
    path = tmp_path / tiercode.NAME
    assert marshal.loads(path.read_bytes()).co_code == made.co_code == tier.helpers_code().co_code
    stamp = path.stat().st_mtime_ns
    assert tiercode.first_tier_code(str(tmp_path)).co_consts == made.co_consts
    assert path.stat().st_mtime_ns == stamp                   # read, not made again
    for bad in (b"", b"\x00junk", marshal.dumps(("not", "code"))):
        path.write_bytes(bad)
        again = tiercode.first_tier_code(str(tmp_path))
        assert again.co_code == made.co_code
        assert marshal.loads(path.read_bytes()).co_code == made.co_code
    assert tiercode.first_tier_code(None).co_code == made.co_code
