"""Loads off one base sharing one page look-up (cpu/pagereuse.py), against
unicorn: loads of several sizes at growing and shrinking offsets with other
loads, ALU work and a side exit between them, at places where a later load
crosses the page end or runs off the end of the mapping (the fault at that
load, the loads before it done); a loop whose base moves every trip; a store
or a base overwrite between two loads ending the chain."""
import random

import pytest

from mkemu.cpu.engine import TRAP_FAULT, Engine
from mkemu.cpu.state import TRAP_BRK, CpuState
from mkemu.mm.tlb import SoftTLB
from tests.oracle.test_memgroup import DATA, DATA_SIZE, _case, _run_stores, _source, add_imm, ldp, ldr, st, touch
# every case in the full translation (autouse, as in test_memgroup): a trace run once
# is first-tier code, made without this pass (until session 44 these cases ran there,
# so none of them tested it)
from tests.oracle.test_memgroup import _full_translation  # noqa: F401
from tests.support.oracle import Case, check


def ldur(rt, rn, off, size=8):
    """LDUR (unscaled, off in -256..255) of 1, 2, 4 or 8 bytes."""
    sz = {1: 0, 2: 1, 4: 2, 8: 3}[size]
    return 0x38400000 | sz << 30 | (off & 0x1FF) << 12 | rn << 5 | rt


def cbz(rt, skip):
    return 0xB4000000 | (skip // 4) << 5 | rt


def cbnz(rt, back):
    return 0xB5000000 | ((back // 4) & 0x7FFFF) << 5 | rt


def subs_imm(rd, rn, imm):
    return 0xF1000000 | imm << 10 | rn << 5 | rd


B = 9    # the base register
# loads off x9 at offsets from -8 to 0x60 (the first one negative), each
# separated by a load off x12 or a side exit (cbz of x15, which is non-zero) so
# that memgroup joins none of them, and ALU lines
CHAIN = [ldur(1, B, -8), ldr(3, 12, 0), ldr(2, B, 8, 4), add_imm(10, 10, 1), cbz(15, 8),
         ldr(4, B, 0x10, 1), ldr(13, 12, 8), ldr(5, B, 0x12, 2), ldr(14, 12, 16),
         ldp(6, 7, B, 0x18), cbz(15, 8), ldur(8, B, -4, 4), ldr(0, 12, 24), ldr(11, B, 0x60)]
# the last load overwrites the base, then loads off the new base
REBASED = [ldr(1, B, 8), ldr(5, 12, 0), ldr(2, B, 0x20), ldr(6, 12, 8), ldr(B, B, 0x10),
           ldr(7, 12, 16), ldr(3, B, 8), ldr(13, 12, 24), ldr(4, B, 0x18)]
# a store between: the next load off the base must see it (the chain goes on)
STORE_BETWEEN = [ldr(1, B, 8), ldr(5, 12, 0), st(2, B, 0x10), ldr(3, B, 0x10), ldr(6, 12, 8),
                 ldr(4, B, 0x18)]

PLACES = [0x108, 0x1000 - 0x20, 0x1000 - 0x14, 0x2000 - 0x61, 0x2FF8, DATA_SIZE - 0x70,
          DATA_SIZE - 0x20, DATA_SIZE - 0x12]


def _with(code, place, seed, data=None):
    case = _case(code, B, place, seed)
    case.x[12] = DATA + 0x800
    case.x[15] = 1
    if data is not None:
        case.data = data
    return case


@pytest.mark.parametrize("name", ["CHAIN", "REBASED", "STORE_BETWEEN"])
@pytest.mark.parametrize("place", PLACES)
def test_chains_like_unicorn(name, place):
    code = globals()[name]
    data = None
    if name == "REBASED":      # the new base (at base + 0x10) points back into DATA
        d = bytearray(random.Random(place).randbytes(DATA_SIZE))
        if place + 0x18 <= DATA_SIZE:
            d[place + 0x10:place + 0x18] = (DATA + 0x300).to_bytes(8, "little")
        data = bytes(d)
    check(_with(code, place, place, data))
    check(_with(touch(B, -8) + touch(12, 0) + code, place, place, data))    # the fast path


def test_the_chain_shares_one_page_look_up():
    # the mechanism itself: the oracle cases pass without it too
    src = _source(CHAIN)
    assert src.count(f"_pgx{B} = RT[") == 1 and src.count(f"_pgx{B}") >= 6
    assert f"_pgx{B} = None" in src
    src = _source(REBASED)
    assert src.count(f"_pgx{B} = RT[") == 2          # the new base starts a new chain
    src = _source(STORE_BETWEEN)
    # a store between keeps the chain; its slow path drops the page
    assert src.count(f"_pgx{B} = RT[") == 1 and src.index(f"_pgx{B} = RT[") < src.index("str x2")
    assert f"ST(_a2, 8, x2); _pgx{B} = None" in src


@pytest.mark.parametrize("start", [0x100, 0x1000 - 0x30, DATA_SIZE - 0x48])
def test_a_loop_moving_its_base_every_trip(start):
    # loop: x1 += [x9]; x6 = [x12]; x2 += [x9, #8] (bytes); x9 += 16; x3 -= 1; cbnz x3, loop.
    # Each trip's first load looks the page up again: a trip entering a page not
    # yet in the TLB must not use the page of the trip before
    loop = [ldr(4, B, 0), ldr(6, 12, 0), ldr(5, B, 8, 1), 0x8B040021, 0x8B050042,
            add_imm(B, B, 16), subs_imm(3, 3, 1), cbnz(3, -28)]
    rng = random.Random(start)
    x = {n: rng.getrandbits(64) for n in range(31)}
    x[B], x[3], x[31], x[12] = DATA + start, 9, DATA + 0x800, DATA + 0x800
    assert f"_pgx{B}" in _source(loop)
    check(Case(code=loop, x=x, data=rng.randbytes(DATA_SIZE)))
    x[B] = DATA + start + 0x400
    check(Case(code=touch(B, 0) + loop, x=x, data=rng.randbytes(DATA_SIZE)))


def test_a_later_load_faulting_keeps_what_the_earlier_ones_loaded():
    # x9 = SP here (so _run_stores fills it); x12's loads keep memgroup out
    code = [add_imm(B, 31, 0), add_imm(12, 31, 0), ldr(1, B, 0), ldr(4, 12, 0), ldr(2, B, 8),
            ldr(4, 12, 8), ldr(3, B, 0x40), ldr(5, B, 16)]
    sp = DATA + DATA_SIZE - 0x20
    trap, st_, _ = _run_stores(code, sp)
    assert f"_pgx{B}" in _source(code)
    assert trap == TRAP_FAULT and st_.pc == 0x10000 + 24
    assert st_.x[1] == st_.x[2] == st_.x[4] == 0xEEEEEEEEEEEEEEEE
    assert st_.x[3] == 0x1111111111111111 * 4 and st_.x[5] == 0x1111111111111111 * 6


def test_a_store_copying_the_page_drops_the_chains_page():
    """A store's slow path may give the page a new frame (copy-on-write after
    fork): the space drops the TLB's read entry, and a later load of the chain
    must read the new frame, not the page it looked up before the store."""
    code = [ldr(1, B, 0), ldr(5, 12, 0), st(2, B, 8), ldr(3, B, 8), ldr(6, 12, 8), ldr(4, B, 0x10)]
    assert f"_pgx{B} = None" in _source(code)
    frames = {}
    first = memoryview(bytearray(b"\x11" * 4096))
    tlb = None

    def resolve(vpn, access):
        if vpn == 0x10:                           # the code page
            return code_page
        if access == "w" and vpn not in frames:   # the first write copies the page
            frames[vpn] = memoryview(bytearray(first))
            tlb.forget_range(vpn, vpn + 1)
        return frames.get(vpn, first)

    code_page = memoryview(bytearray(4096))
    code_page[:4 * len(code) + 4] = b"".join(w.to_bytes(4, "little") for w in code + [0xD4200000])
    st_ = CpuState()
    st_.pc = 0x10000
    st_.x[B], st_.x[12], st_.x[2] = 0x200000, 0x300000, 0x2222222222222222
    tlb = SoftTLB(resolve)
    tlb.rt[0x200] = tlb.rt[0x300] = first       # read before: the loads' fast paths run
    assert Engine(st_, tlb).run() == TRAP_BRK
    assert st_.x[3] == 0x2222222222222222           # the store, through the new frame
    assert st_.x[1] == st_.x[4] == 0x1111111111111111


@pytest.mark.parametrize("name", ["CHAIN", "GROUPED"])
def test_loads_crossing_the_page_end_take_their_slow_path_without_raising(name):
    # a raise costs in proportion to the try blocks before it in its function (a
    # region's hundreds: busybox gzip -9 ran 1.5x slower with its region for two
    # such loads), so a chain (pagereuse) or a grouped run (memgroup) whose bytes
    # cross the page's end is tested for it, not caught: with the pages in the TLB
    # (touched first), nothing in the trace raises but a TLB miss (KeyError)
    import sys
    from tests.oracle.test_memgroup import EPILOGUE
    from tests.support.oracle import run_mkemu
    code, base, place = (CHAIN, B, 0x1000 - 0x20) if name == "CHAIN" else (EPILOGUE, 31, 0x1000 - 0x28)
    case = _with(touch(base, -8) + touch(base, 0x40) + touch(12, 0) + code, place, 7) \
        if name == "CHAIN" else _case(touch(base, 0) + touch(base, 0x40) + code, base, place, 7)
    raised = []

    def tracer(frame, event, arg):
        if not frame.f_code.co_filename.startswith("<guest"):
            return None

        def in_trace(frame, event, arg):
            if event == "exception":
                raised.append(arg[0])
            return in_trace
        return in_trace
    sys.settrace(tracer)
    try:
        run_mkemu(case)
    finally:
        sys.settrace(None)
    assert [e.__name__ for e in raised if e is not KeyError] == []
    check(case)         # and the loads' values agree with unicorn's, as every case here
