"""Stores off one base sharing one page look-up (cpu/pagereuse.py's store
chains), against unicorn: 8-, 4- and 1-byte stores and STP of X and W registers
at growing offsets, with loads off another base, ALU work and a side exit
between them, where a later store crosses the page end or runs off the end of
the mapping (the fault at that store, the stores before it done), and where the
first store is unaligned (the chain's later stores then take their slow paths);
a store chain and a load chain through two bases naming one address; a loop
whose base moves into a page not yet in the TLB every trip; a store into a page
holding translated code; a page given a new frame between two stores of a chain."""
import random

import pytest

from mkemu.cpu.engine import Engine
from mkemu.cpu.state import TRAP_BRK, CpuState
from mkemu.mm.tlb import SoftTLB
from tests.oracle.test_memgroup import DATA, DATA_SIZE, _case, _source, add_imm, ldr, st, stp, touch
from tests.oracle.test_pagereuse import cbnz, cbz, subs_imm
from tests.support.oracle import CODE, Case, check

def stur(rt, rn, off, size=8):
    """STUR (unscaled, off in -256..255) of 1, 2, 4 or 8 bytes."""
    sz = {1: 0, 2: 1, 4: 2, 8: 3}[size]
    return 0x38000000 | sz << 30 | (off & 0x1FF) << 12 | rn << 5 | rt


B = 9    # the base register
# stores off x9 of each kind; x12's loads keep memgroup from joining them (it
# joins stores off SP only anyway), a side exit (cbz x15, x15 non-zero) and ALU
# lines between.  Two stores cannot join the 8-byte chain: the third lies below
# its first store, the last a part of a word from it
CHAIN = [st(1, B, 8), ldr(5, 12, 0), st(16, B, 0), st(2, B, 0x10, 4), add_imm(10, 10, 1),
         st(3, B, 0x18), cbz(15, 8), stp(6, 7, B, 0x20), st(4, B, 3, 1), ldr(13, 12, 8),
         st(13, B, 0x2A, 1), st(14, B, 0x34, 4), stp(6, 7, B, 0x48, w=True), st(0, B, 0x60),
         st(11, B, 0x61, 1), stur(17, B, 0x6C)]
# x10 names x9's address: a load chain off x10 must see each store of x9's chain
ALIAS = [add_imm(10, B, 0), ldr(1, 10, 0), st(2, B, 8), ldr(5, 12, 0), ldr(3, 10, 8),
         st(4, B, 0x10), ldr(6, 12, 8), st(7, B, 0x18), ldr(8, 10, 0x10), ldr(11, 10, 0x18)]

PLACES = [0x108, 0x2000 - 0x8, 0x1000 - 0x68, 0x1000 - 0x30, 0x1000 - 0x18, 0x2000 - 0x61, 0x2FF8,
          DATA_SIZE - 0x70, DATA_SIZE - 0x40, DATA_SIZE - 0x20, DATA_SIZE - 0x12,
          0x105, 0x1000 - 0x2B, 0x204]       # the last three: unaligned first stores


def _with(code, place, seed):
    case = _case(code, B, place, seed)
    case.x[12] = DATA + 0x800
    case.x[15] = 1
    return case


@pytest.mark.parametrize("name", ["CHAIN", "ALIAS"])
@pytest.mark.parametrize("place", PLACES)
def test_store_chains_like_unicorn(name, place):
    code = globals()[name]
    check(_with(code, place, place))
    # the fast paths (x9's chains start at x9 and x9 + 8)
    check(_with(touch(B, 0) + touch(B, 8) + touch(12, 0) + code, place, place))


def test_the_stores_share_one_page_look_up():
    # the mechanism itself: the oracle cases pass without it too
    src = _source(CHAIN)
    for kind in ("q", "l", "b"):
        assert src.count(f"_w{kind}x{B} = W") == 1, kind
    assert f"_wqx{B}[_iqx{B} + 2] = x3" in src and f"_wqx{B}[_iqx{B} + 4] = x7" in src
    assert f"_wlx{B}[_ilx{B} + 9] = (x14 & 0xffffffff)" in src
    assert f"_wlx{B}[_ilx{B} + 14] = (x6 & 0xffffffff); _wlx{B}[_ilx{B} + 15] = (x7 & 0xffffffff)" in src
    assert f"_wbx{B}[_ibx{B} + 0x27] = (x13 & 0xff)" in src
    src = _source(ALIAS)
    assert src.count(f"_wqx{B} = WQ[") == 1 and src.count("_pgx10 = RT[") == 1
    assert f"ST((x{B} + 0x10), 8, x4); _pgx10 = None" in src


@pytest.mark.parametrize("stride", [0x408, 0x404])
@pytest.mark.parametrize("start", [0x100, 0x400 - 0x10, 0x1000 - 0x8, 0x1000 - 0x30])
def test_a_store_loop_moving_its_base_into_new_pages(start, stride):
    # loop: [x9] = x1; x6 = [x12]; [x9, #8] = x2; [x9, #0x10] = w4 (byte); x9 += stride;
    # x1 += 1; x3 -= 1; cbnz x3, loop.  Each trip's first store looks its page up
    # again: a trip whose page is not yet in the TLB must not write through the
    # page of the trip before, nor a trip whose first store is unaligned (stride
    # 0x404: every other trip) through the page and index of the trip before
    loop = [st(1, B, 0), ldr(6, 12, 0), st(2, B, 8), st(4, B, 0x10, 1), add_imm(B, B, stride),
            add_imm(1, 1, 1), subs_imm(3, 3, 1), cbnz(3, -28)]
    rng = random.Random(start)
    x = {n: rng.getrandbits(64) for n in range(31)}
    x[B], x[3], x[31], x[12] = DATA + start, 7, DATA + 0x800, DATA + 0x800
    assert f"_wqx{B}" in _source(loop)
    check(Case(code=loop, x=x, data=rng.randbytes(DATA_SIZE)))
    x[3] = 9       # runs off the end of DATA: the fault at the first store of that trip
    check(Case(code=touch(B, 0) + loop, x=x, data=rng.randbytes(DATA_SIZE)))


def _engine(code, resolve_extra=None):
    pages = {}

    def resolve(vpn, access):
        if resolve_extra is not None:
            got = resolve_extra(vpn, access)
            if got is not None:
                return got
        if vpn not in pages:
            pages[vpn] = memoryview(bytearray(4096))
        return pages[vpn]

    pages[CODE >> 12] = memoryview(bytearray(4096))
    pages[CODE >> 12][:4 * len(code) + 4] = b"".join(w.to_bytes(4, "little") for w in code + [0xD4200000])
    st_ = CpuState()
    st_.pc = CODE
    return st_, pages, resolve


def test_a_store_chain_into_the_code_page():
    """The page holding the running code is kept out of the TLB's write tables:
    a chain's first store into it takes its slow path (which drops the page's
    code), and so does every later store of the chain, never the page of the
    trip before.  Loop: x9 = x20; x20 = x21; [x9] = x1; x5 = [x12]; [x9, #8] = x2;
    x3 -= 1; cbnz x3, loop; br x22.  Trip 1 stores into a data page, trip 2 into
    the code page an instruction that the BR then runs, newly translated."""
    movz_x0 = 0xD2800000 | 0x1234 << 5          # movz x0, #0x1234
    brk = 0xD4200000
    # a trace goes on through a B, not through a BR
    code = [add_imm(B, 20, 0), add_imm(20, 21, 0), st(1, B, 0), ldr(5, 12, 0), st(2, B, 8),
            subs_imm(3, 3, 1), cbnz(3, -24), 0xD61F0000 | 22 << 5]
    st_, pages, resolve = _engine(code)
    dropped = []
    tlb = SoftTLB(resolve)
    eng = Engine(st_, tlb)
    tlb.code_invalidate = lambda vpn, inner=tlb.code_invalidate: (dropped.append(vpn), inner(vpn))
    data = memoryview(bytearray(4096))
    pages[0x200] = data
    tlb.wt[0x200], tlb.wq[0x200], tlb.wl[0x200] = data, data.cast("Q"), data.cast("I")
    st_.x[20], st_.x[21], st_.x[22] = 0x200800, CODE + 0x800, CODE + 0x800
    st_.x[3], st_.x[12] = 2, 0x300000
    st_.x[1] = movz_x0 | brk << 32
    st_.x[2] = 0x1122334455667788
    assert f"_wqx{B}" in _source(code)
    assert eng.run() == TRAP_BRK
    assert st_.x[0] == 0x1234 and st_.pc == CODE + 0x804
    assert dropped and dropped[0] == CODE >> 12
    page = pages[CODE >> 12]
    assert bytes(page[0x800:0x810]) == st_.x[1].to_bytes(8, "little") + st_.x[2].to_bytes(8, "little")
    assert bytes(data[0x800:0x810]) == bytes(page[0x800:0x810])   # trip 1
    assert bytes(data[0x810:0x820]) == bytes(16)


def test_a_new_frame_between_two_stores_of_a_chain():
    """Another store's slow path may give the chain's page a new frame (here:
    the write of x12's page copies x9's page and drops it from the TLB, as a
    sibling thread's unmapping or a copy-on-write does): the chain's later
    stores must write the new frame, not the view looked up before."""
    code = [st(1, B, 0), st(2, 12, 0), st(3, B, 8), ldr(5, 13, 0), st(4, B, 0x10, 4)]
    assert f"ST(x12, 8, x2); _wqx{B} = None" in _source(code)
    old = memoryview(bytearray(4096))
    new = {}
    tlb = None

    def extra(vpn, access):
        if vpn == 0x200:
            return new.get("frame", old)
        if vpn == 0x300 and access == "w" and "frame" not in new:
            new["frame"] = memoryview(bytearray(old))     # copies what x1's store wrote
            tlb.forget_range(0x200, 0x201)
        return None

    st_, pages, resolve = _engine(code, extra)
    tlb = SoftTLB(resolve)
    tlb.wt[0x200] = old                   # written before: x9's first store is a fast one
    tlb.wq[0x200] = old.cast("Q")
    tlb.wl[0x200] = old.cast("I")
    st_.x[B], st_.x[12], st_.x[13] = 0x200000, 0x300000, 0x200100
    st_.x[1], st_.x[2], st_.x[3], st_.x[4] = 0x11, 0x22, 0x33, 0x44
    assert Engine(st_, tlb).run() == TRAP_BRK
    frame = new["frame"]
    assert int.from_bytes(frame[0:8], "little") == 0x11
    assert int.from_bytes(frame[8:16], "little") == 0x33
    assert int.from_bytes(frame[16:20], "little") == 0x44
