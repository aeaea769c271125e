"""Runs of loads or stores off one base as one struct call (cpu/memgroup.py),
against unicorn: at every position of the run in the page, across a page end,
running off the end of the mapping (a fault at the exact instruction, with the
accesses before it done and none after), with a base a load overwrites."""
import random
import shutil

import pytest

from mkemu.cpu.engine import TRAP_FAULT, Engine
from mkemu.cpu.state import TRAP_BRK, CpuState
from mkemu.mm.tlb import SoftTLB
from tests.support.oracle import CODE, DATA, DATA_SIZE, Case, FlatMemory, check

SP = 31


@pytest.fixture(autouse=True)
def _full_translation(monkeypatch):
    # a trace run once is first-tier code (cpu/tier.py), made without memgroup's
    # pass: every case here runs the full translation, or none of it tests a run
    monkeypatch.setenv("MKEMU_TIER", "off")


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


def sub_imm(rd, rn, imm):
    return 0xD1000000 | imm << 10 | rn << 5 | rd


def touch(base_reg, off):
    """Read and write back one byte at base + off through x26: the page enters the
    TLB's read and write tables, so the run after takes its fast path (a fresh
    TLB would send it to the slow path).  Same effect in unicorn."""
    at = add_imm(26, base_reg, off) if off >= 0 else sub_imm(26, base_reg, -off)
    return [at, ldr(27, 26, 0, 1), st(27, 26, 0, 1)]


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
    lowest = -0x40 if name.startswith("PROLOGUE") else 0x10
    check(_case(touch(SP, lowest) + code, SP, start, place))


@pytest.mark.parametrize("place", [0x100, 0x105, 0xFF0, 0xFEB, DATA_SIZE - 0x20, DATA_SIZE - 0x11])
def test_loads_off_another_base_like_unicorn(place):
    code = [ldp(1, 2, 9, 0), ldr(3, 9, 16), ldr(4, 9, 20, 4), ldr(5, 9, 26, 2)]
    check(_case(code, 9, place, place))
    check(_case(touch(9, 0) + code, 9, place, place))


@pytest.mark.parametrize("place", [0x100, 0x1000 - 0x18, DATA_SIZE - 0x18])
def test_a_load_overwriting_the_base_ends_the_run(place):
    rng = random.Random(place)
    data = bytearray(rng.randbytes(DATA_SIZE))
    # x0's new value (at base + 16) points back into DATA
    data[place + 16:place + 24] = (DATA + 0x200).to_bytes(8, "little")
    for code in (BASE_OVERWRITTEN, touch(0, 0) + BASE_OVERWRITTEN):
        check(Case(code=code, x={0: DATA + place, 31: DATA + 0x800}, data=bytes(data)))


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
    assert src.count("GU['") == 2 and src.count("GI['") == 4
    assert "GU['<QQ4xIQII4xHB'](" in src
    # a prologue: the pre-index store and the stores off the new SP, with the
    # movs between them after
    src = _source(PROLOGUE)
    assert src.count("GI['") == 1 and "GI['<QQQQQQQ']" in src
    assert _source(INTERLEAVED).count("GU['") == 1


def _run_stores(code, sp, fill=0xEE):
    mem = FlatMemory()
    mem.map(CODE, 0x1000)
    mem.write(CODE, b"".join(w.to_bytes(4, "little") for w in code + [0xD4200000]))
    mem.map(DATA, DATA_SIZE)
    mem.write(DATA, bytes([fill]) * DATA_SIZE)
    st_ = CpuState()
    st_.pc = CODE
    for n in range(31):
        st_.x[n] = 0x1111111111111111 * (n % 15 + 1)
    # a first run in the same page, so the page is in the TLB (else the fast
    # path's look-up misses and only the slow path runs)
    regs = list(st_.x)
    st_.x[31] = sp - 0x80
    eng = Engine(st_, SoftTLB(mem.resolve))
    assert eng.run() == TRAP_BRK
    mem.write(DATA, bytes([fill]) * DATA_SIZE)
    st_.x[:] = regs
    st_.x[31], st_.pc = sp, CODE
    trap = eng.run()
    return trap, st_, mem


def test_a_store_run_faulting_midway_writes_only_the_stores_before_it():
    # program order: a pair, then a store running off the end of DATA (it
    # faults), then a store below both: stored first by address, last by order
    code = [stp(1, 2, SP, 16), st(3, SP, 40), st(5, SP, 0)]
    sp = DATA + DATA_SIZE - 44
    trap, st_, mem = _run_stores(code, sp)
    assert trap == TRAP_FAULT and st_.pc == CODE + 4
    assert "GI['" in _source(code)          # the run is grouped
    assert mem.read(sp + 16, 16) == st_.x[1].to_bytes(8, "little") + st_.x[2].to_bytes(8, "little")
    assert mem.read(sp, 8) == b"\xee" * 8     # after the faulting store: not done


def test_a_load_run_faulting_midway_keeps_the_registers_after_it():
    code = [ldp(1, 2, SP, 16), ldr(3, SP, 40), ldr(5, SP, 0)]
    sp = DATA + DATA_SIZE - 44
    trap, st_, _ = _run_stores(code, sp)
    assert trap == TRAP_FAULT and st_.pc == CODE + 4
    assert st_.x[1] == st_.x[2] == 0xEEEEEEEEEEEEEEEE
    assert st_.x[3] == 0x1111111111111111 * 4 and st_.x[5] == 0x1111111111111111 * 6


# a recursion whose frames are stored as runs (a pre-index pair, pairs of X and W
# registers, a halfword, a gap) and read back as bytes and words: 40 frames of 96
# bytes from each starting SP, so frames cross page ends at many offsets of a run
RECURSION = """
    mov x0, #40
    bl f
    b 2f
f:
    stp x29, x30, [sp, #-96]!
    mov x29, sp
    stp x19, x20, [sp, #16]
    add x19, x0, x0, lsl #32
    eor x20, x19, x21
    stp w19, w20, [sp, #32]
    str x21, [sp, #40]
    str w0, [sp, #48]
    strh w20, [sp, #52]
    str x19, [sp, #56]
    stp x20, x0, [sp, #64]
    cbz x0, 1f
    sub x0, x0, #1
    bl f
1:  ldrb w1, [sp, #33]
    add x0, x0, x1
    ldrh w1, [sp, #53]
    add x0, x0, x1
    ldr x1, [sp, #60]
    eor x0, x1, x0, ror #7
    ldp x19, x20, [sp, #16]
    ldp x29, x30, [sp], #96
    ret
2:
"""


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-as") is None, reason="needs aarch64-linux-gnu-as")
@pytest.mark.parametrize("top", [0x1F00, 0x1F10, 0x2F40, 0x3000, DATA_SIZE - 0x30])
def test_a_recursion_storing_frames_across_pages_like_unicorn(top, tmp_path):
    from tests.support.asmrun import asm
    raw = asm(RECURSION, tmp_path)
    code = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)]
    rng = random.Random(top)
    x = {n: rng.getrandbits(64) for n in range(31)}
    x[SP] = DATA + top
    check(Case(code=code, x=x, data=rng.randbytes(DATA_SIZE)))
