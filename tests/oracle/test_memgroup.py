"""Runs of loads or stores off one base as one struct call (cpu/memgroup.py),
against unicorn: at every position of the run in the page, across a page end,
running off the end of the mapping (a fault at the exact instruction, with the
accesses before it done and none after), with a base a load overwrites."""
import random

import pytest

from mkemu.cpu.engine import Engine
from mkemu.cpu.state import CpuState
from mkemu.mm.tlb import SoftTLB
from tests.support.oracle import CODE, DATA, DATA_SIZE, Case, FlatMemory, check

SP = 31


def ldp(rt, rt2, rn, off, w=False, mode=2, load=True):
    """LDP/STP, signed offset (mode 2), post-index (1) or pre-index (3)."""
    size = 4 if w else 8
    base = 0x28000000 if w else 0xA8000000
    return (base | mode << 23 | load << 22 | ((off // size) & 0x7F) << 15
            | rt2 << 10 | rn << 5 | rt)


def stp(rt, rt2, rn, off, w=False, mode=2):
    return ldp(rt, rt2, rn, off, w, mode, load=False)


def ldr(rt, rn, off, size=8, load=True):
    """LDR/STR (unsigned immediate) of 1, 2, 4 or 8 bytes."""
    sz = {1: 0, 2: 1, 4: 2, 8: 3}[size]
    return 0x39000000 | sz << 30 | load << 22 | (off // size) << 10 | rn << 5 | rt


def st(rt, rn, off, size=8):
    return ldr(rt, rn, off, size, load=False)


def add_imm(rd, rn, imm):
    return 0x91000000 | imm << 10 | rn << 5 | rd


LOADS = [ldp(1, 2, SP, 16), ldr(3, SP, 36, 4), ldr(4, SP, 40), ldp(5, 6, SP, 48, w=True),
         ldr(7, SP, 60, 2), ldr(8, SP, 62, 1)]
STORES = [stp(1, 2, SP, 16), st(3, SP, 32, 4), st(4, SP, 40), stp(5, 6, SP, 48, w=True),
          st(7, SP, 58, 2), st(8, SP, 63, 1)]      # gaps at 36 and 56: three stretches
EPILOGUE = [ldp(19, 20, SP, 16), ldp(21, 22, SP, 32), ldp(29, 30, SP, 48, mode=1)]
PROLOGUE = [stp(29, 30, SP, -64, mode=3), add_imm(29, SP, 0), stp(19, 20, SP, 16),
            add_imm(19, 0, 0), stp(21, 22, SP, 32), st(23, SP, 48)]
# the moved `mov x29, sp` writes what the next store stores: that store ends the run
PROLOGUE_READS_MOVED = [stp(29, 30, SP, -32, mode=3), add_imm(29, SP, 0), stp(29, 19, SP, 16)]
# x0 is the base until the second load overwrites it: the run must stop there
BASE_OVERWRITTEN = [ldp(1, 2, 0, 0), ldr(0, 0, 16), ldr(3, 0, 8), ldr(4, 0, 24)]
INTERLEAVED = [ldp(1, 2, SP, 16), add_imm(9, 9, 1), ldr(3, SP, 32), add_imm(1, 1, 2),
               ldr(4, SP, 40), add_imm(5, 4, 3)]

# where the base points: inside a page, so the run crosses into the next page,
# and so the run runs off the end of DATA (the fault is at the access that leaves it)
PLACES = [0x100, 0xFF0, 0xFC8, 0x2FE0, DATA_SIZE - 0x40, DATA_SIZE - 0x30, DATA_SIZE - 0x18,
          DATA_SIZE - 0x10]


def _case(code, base_reg, place, seed):
    rng = random.Random(seed)
    x = {n: rng.getrandbits(64) for n in range(31)}
    x[base_reg] = DATA + place
    if base_reg != SP:
        x[SP] = DATA + 0x800
    return Case(code=code, x=x, data=rng.randbytes(DATA_SIZE))


@pytest.mark.parametrize("name", ["LOADS", "STORES", "EPILOGUE", "PROLOGUE", "INTERLEAVED",
                                  "PROLOGUE_READS_MOVED"])
@pytest.mark.parametrize("place", PLACES)
def test_run_off_sp_like_unicorn(name, place):
    code = globals()[name]
    start = place + 0x40 if name.startswith("PROLOGUE") else place    # it pre-decrements SP
    check(_case(code, SP, start, place))


@pytest.mark.parametrize("place", [0x100, 0x105, 0xFF0, 0xFEB, DATA_SIZE - 0x20, DATA_SIZE - 0x11])
def test_loads_off_another_base_like_unicorn(place):
    code = [ldp(1, 2, 9, 0), ldr(3, 9, 16), ldr(4, 9, 20, 4), ldr(5, 9, 26, 2)]
    check(_case(code, 9, place, place))


@pytest.mark.parametrize("place", [0x100, 0x1000 - 0x18, DATA_SIZE - 0x18])
def test_a_load_overwriting_the_base_ends_the_run(place):
    rng = random.Random(place)
    data = bytearray(rng.randbytes(DATA_SIZE))
    # x0's new value (at base + 16) points back into DATA
    data[place + 16:place + 24] = (DATA + 0x200).to_bytes(8, "little")
    check(Case(code=BASE_OVERWRITTEN, x={0: DATA + place, 31: DATA + 0x800}, data=bytes(data)))


def _source(code):
    mem = FlatMemory()
    mem.map(CODE, 0x1000)
    mem.write(CODE, b"".join(w.to_bytes(4, "little") for w in code + [0xD4200000]))
    mem.map(DATA, DATA_SIZE)
    st_ = CpuState()
    st_.pc, st_.x[31] = CODE, DATA + 0x100
    out = []
    Engine(st_, SoftTLB(mem.resolve), dump=out.append).run()
    return "".join(out)


def test_runs_become_one_struct_call():
    # the mechanism itself: if the pass stops applying, the oracle cases above
    # still pass, so look at the code
    src = _source(LOADS + STORES + EPILOGUE)
    assert src.count("GU['") == 2 and src.count("GP['") == 4
    assert "GU['<QQ4xIQII4xHB'](" in src
    # a prologue: the pre-index store and the stores off the new SP, with the
    # movs between them after
    src = _source(PROLOGUE)
    assert src.count("GP['") == 1 and "GP['<QQQQQQQ']" in src
    assert _source(INTERLEAVED).count("GU['") == 1
