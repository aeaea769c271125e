"""The first tier (cpu/tier.py): traces made without the passes that only speed
them up, their memory accesses calls of helpers made of a full trace's lines,
counting their runs until they are made in full.

Each program runs with every trace in full and with every trace in the first
tier (tier-up never reached; a loop is still made in full): the guest must see
exactly the same registers, flags, memory, trap, fault pc and instruction
count, and the first-tier run must really have run first-tier traces.  Then
real guest programs (faults caught by handlers, a handler editing the context,
code written by another thread) run under `mkemu run` both ways.
"""
import re
import shutil
import signal

import pytest

from mkemu.cpu.codecache import CodeCache
from mkemu.cpu.engine import TRAP_FAULT
from mkemu.cpu.state import TRAP_BRK, TRAP_SIGNAL, TRAP_SVC
from mkemu.cpu.tier import NEVER, WARM_RUNS, is_first_tier, tier_up_runs
from tests.support.asmrun import FIB, STACK, STACK_SIZE, asm, flat_machine, run
from tests.support.guestrun import run_mkemu
from tests.support.oracle import CODE

UNMAPPED = 0x40_0000

needs_as = pytest.mark.skipif(shutil.which("aarch64-linux-gnu-as") is None,
                              reason="needs aarch64-linux-gnu-as")


def machine(code: bytes, tier: int, cache=None):
    """A machine running code from CODE with a stack; tier: the runs before a
    first-tier trace tiers up (0: every trace in full)."""
    st, eng, mem = flat_machine(code, cache)     # no regions: traces alone
    eng.tier_up = tier
    eng.globals["TN"] = tier or 1
    return st, eng, mem


def first_tier_pcs(eng) -> set[int]:
    return {pc for pc, fn in eng.blocks.items() if is_first_tier(fn.__code__)}


def both(code: bytes, trap: int = TRAP_BRK):
    """Run code in full and in the first tier alone: the state the guest sees must
    agree.  Returns the registers and the first-tier engine."""
    seen = []
    for tier in (0, NEVER):
        st, eng, mem = machine(code, tier)
        assert run(st, eng) == trap
        seen.append((list(st.x), st.pc, st.icount, st.nzcv, mem.read(STACK, STACK_SIZE),
                     st.fault_addr if trap == TRAP_FAULT else None, eng))
    full, first = seen
    assert full[:6] == first[:6]
    assert not full[6].tier_counts and not first_tier_pcs(full[6])
    assert first[6].tier_counts and first_tier_pcs(first[6])
    return full[0], first[6]


def test_tier_setting():
    assert tier_up_runs("") > 1 and tier_up_runs("off") == 0 and tier_up_runs("0") == 0
    assert tier_up_runs("cold") == NEVER and tier_up_runs("7") == 7


# every size of load and store, pairs of W and X, Q registers, unaligned words
ACCESSES = """
    sub sp, sp, #256
    movz x1, #0x1234, lsl #16
    movk x1, #0x5678
    orr x2, x1, x1, lsl #32
    strb w1, [sp, #1]
    strh w1, [sp, #2]
    str w1, [sp, #4]
    str x2, [sp, #8]
    str x2, [sp, #19]
    str w2, [sp, #29]
    stp w1, w2, [sp, #40]
    stp x1, x2, [sp, #48]
    add x23, sp, #65
    stp w2, w1, [x23]
    stp x2, x1, [x23, #8]
    ldr q0, [sp, #8]
    str q0, [sp, #96]
    str q0, [sp, #113]
    ldrb w3, [sp, #1]
    ldrh w4, [sp, #2]
    ldr w5, [sp, #4]
    ldr x6, [sp, #8]
    ldr x7, [sp, #19]
    ldrsw x8, [sp, #29]
    ldp w9, w10, [sp, #40]
    ldp x11, x12, [sp, #48]
    ldp w13, w14, [x23]
    ldp x15, x16, [x23, #8]
    ldr q1, [sp, #113]
    ldrsb x17, [sp, #7]
    ldrsh x18, [sp, #6]
    mov x19, v1.d[1]
    ldr x20, [sp, #100]
    ldp x21, x22, [sp, #104]
    add sp, sp, #256
    brk #0
"""


@needs_as
def test_calls_loads_stores_and_pairs(tmp_path):
    x, _ = both(asm(FIB.format(n=14), tmp_path))
    assert x[0] == 377
    x, _ = both(asm(ACCESSES, tmp_path))
    assert x[3] == 0x78 and x[5] == 0x12345678


@needs_as
@pytest.mark.parametrize("access", [
    "ldr x3, [x9]",              # a load
    "str x5, [x9, #8]",          # a store
    "stp x5, x6, [x9]",          # a pair store
    "ldp x3, x4, [x10]",         # a pair crossing the stack's end: neither loaded
    "ldr x3, [x9, x1]",          # register offset
])
def test_fault_in_the_middle_of_a_trace(tmp_path, access):
    # registers assigned before and after it, stores before it, the flags of a
    # compare before it: the fault reports its pc and the state there
    code = asm(f"""
    mov x1, #8
    mov x5, #5
    mov x6, #6
    str x5, [sp, #-16]!
    movz x9, #{UNMAPPED >> 16}, lsl #16
    mov x10, sp
    add x10, x10, #8
    cmp x5, x6
    add x3, x5, #1
    {access}
    mov x4, #44
    mov x7, #77
    brk #0
""", tmp_path)
    seen = []
    for tier in (0, NEVER):
        st, eng, mem = machine(code, tier)
        st.x[4], st.x[7] = 0x4444, 0x7777
        assert run(st, eng) == TRAP_FAULT
        seen.append((list(st.x), st.pc, st.icount, st.nzcv, st.fault_addr,
                     mem.read(STACK, STACK_SIZE)))
        assert st.pc == CODE + 4 * 9 and st.icount == 9
        assert st.x[4] == 0x4444 and st.x[7] == 0x7777 and st.x[3] == 6
        assert bool(tier) == bool(first_tier_pcs(eng))
    assert seen[0] == seen[1]


@needs_as
def test_svc_ends_the_trace_after_it(tmp_path):
    code = asm("""
    mov x8, #93
    mov x0, #3
    str x0, [sp, #-16]!
    ldr x1, [sp]
    cmp x1, #3
    svc #0
    mov x0, #4
    brk #0
""", tmp_path)
    seen = []
    for tier in (0, NEVER):
        st, eng, _ = machine(code, tier)
        assert eng.run() == TRAP_SVC
        seen.append((list(st.x), st.pc, st.icount, st.nzcv))
        assert st.pc == CODE + 24 and st.icount == 6 and st.x[1] == 3
        assert bool(tier) == bool(first_tier_pcs(eng))
    assert seen[0] == seen[1]


@needs_as
def test_a_signal_stops_first_tier_code_between_traces(tmp_path):
    # an endless loop of calls (no trace branches to its own start: all first
    # tier); a host signal sets S.pending, the dispatcher stops at a trace's end
    code = asm("""
    mov x1, #0
l1: add x1, x1, #1
    str x1, [sp, #-16]!
    bl f
    ldr x2, [sp], #16
    cbz x9, l1
    brk #0
f:  ret
""", tmp_path)
    st, eng, _ = machine(code, NEVER)

    def stop(signum, frame):
        st.pending = True
    old = signal.signal(signal.SIGALRM, stop)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        assert eng.run() == TRAP_SIGNAL
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert first_tier_pcs(eng) and not eng.hot
    # stopped at a trace boundary with the state exact: each trip is 6 instructions
    trips = st.x[1]
    done = {CODE + 4: 1 + 6 * trips, CODE + 28: 1 + 6 * trips - 3, CODE + 16: 1 + 6 * trips - 2}
    assert st.pc in done and st.icount == done[st.pc]
    st.pending = False
    st.x[9] = 1
    assert run(st, eng) == TRAP_BRK
    assert st.icount == 1 + 6 * st.x[1] and st.x[1] in (trips, trips + 1) and st.x[2] == st.x[1]


CODE_WRITER = """
    mov x5, #100
    adr x8, f
    ldr w7, new
loop:
    bl f
    cmp x5, #50
    b.ne 1f
    str w7, [x8]
1:  subs x5, x5, #1
    b.ne loop
    brk #0
    .balign 4096
f:  add x3, x3, #1
    ret
new:
    add x3, x3, #2
"""


@needs_as
def test_code_written_by_the_guest_is_run_anew(tmp_path):
    x, _ = both(asm(CODE_WRITER, tmp_path))
    assert x[3] == 51 * 1 + 49 * 2


@needs_as
def test_a_loop_is_made_in_full(tmp_path):
    # mov x0, #1000; loop: subs x0, x0, #1; b.ne loop: the loop's trace runs 1000
    # trips in one call, so it is never a first-tier trace
    code = asm("""
    mov x0, #1000
    str x0, [sp, #-16]!
loop:
    ldr x1, [sp]
    subs x0, x0, #1
    b.ne loop
    brk #0
""", tmp_path)
    st, eng, _ = machine(code, NEVER)
    assert run(st, eng) == TRAP_BRK and st.icount == 2 + 3 * 1000
    assert CODE + 8 in eng.blocks and CODE + 8 not in first_tier_pcs(eng)


@needs_as
def test_a_trace_run_often_is_made_in_full(tmp_path):
    code = asm(FIB.format(n=12), tmp_path)
    full, eng, _ = machine(code, 0)
    assert run(full, eng) == TRAP_BRK
    st, eng, mem = machine(code, 3)
    assert run(st, eng) == TRAP_BRK
    assert (st.x, st.icount, st.nzcv) == (full.x, full.icount, full.nzcv) and st.x[0] == 144
    # fib's traces ran hundreds of times: each made in full after its 3rd entry;
    # the entry's trace ran once and stayed in the first tier
    assert eng.tiered_up == len(eng.hot) > 0
    assert all(not is_first_tier(eng.blocks[pc].__code__) for pc in eng.hot if pc in eng.blocks)
    assert CODE in first_tier_pcs(eng)
    assert all(n <= 3 for n in eng.tier_counts.values())


@needs_as
def test_the_code_cache_keeps_the_full_code_of_hot_traces(tmp_path):
    code = asm(FIB.format(n=12), tmp_path)
    cache = CodeCache(tmp_path / "cache")
    st, eng, _ = machine(code, 3, cache)
    assert run(st, eng) == TRAP_BRK and st.x[0] == 144
    hot = {pc for pc in eng.hot if pc in eng.blocks}
    # a later engine of the same process (an execve) gets the full code too
    st, eng, _ = machine(code, 3, cache)
    assert run(st, eng) == TRAP_BRK and st.x[0] == 144
    assert eng.blocks_from_cache == eng.blocks_translated > 0 and not eng.hot
    assert hot & eng.blocks.keys() and not hot & first_tier_pcs(eng)
    assert cache.flush() is None
    # a new process: everything from the cache, the hot traces in full at once
    st, eng, _ = machine(code, 3, CodeCache(tmp_path / "cache"))
    assert run(st, eng) == TRAP_BRK and st.x[0] == 144
    assert eng.blocks_from_cache == eng.blocks_translated > 0 and not eng.hot
    again = hot & eng.blocks.keys()
    assert again and all(not is_first_tier(eng.blocks[pc].__code__) for pc in again)
    assert CODE in first_tier_pcs(eng)


@needs_as
def test_a_first_tier_trace_the_code_cache_serves_is_made_in_full_after_warm_runs(tmp_path):
    # fib(12)'s traces run a few hundred times: fewer than 1000, so the run that makes
    # them keeps them in the first tier; a later process gets that code from the cache
    # and makes each in full after its WARM_RUNS-th run (not `cold`, which never does)
    code = asm(FIB.format(n=12), tmp_path)
    st, eng, _ = machine(code, 1000, CodeCache(tmp_path / "cache"))
    assert run(st, eng) == TRAP_BRK and st.x[0] == 144
    assert eng.tiered_up == 0 and eng.blocks_from_cache == 0
    assert max(eng.tier_counts.values()) > 2 * WARM_RUNS
    made, first = eng.tier_counts, (list(st.x), st.icount, st.nzcv)
    eng.code_cache.flush()
    st, eng, _ = machine(code, 1000, CodeCache(tmp_path / "cache"))
    assert run(st, eng) == TRAP_BRK and (st.x, st.icount, st.nzcv) == first
    assert eng.blocks_from_cache > 0 and eng.hot == {pc for pc, n in made.items() if n >= WARM_RUNS}
    assert eng.tiered_up == len(eng.hot)
    assert all(not is_first_tier(eng.blocks[pc].__code__) for pc in eng.hot if pc in eng.blocks)
    st, eng, _ = machine(code, NEVER, CodeCache(tmp_path / "cold"))
    assert run(st, eng) == TRAP_BRK and eng.code_cache.flush() is None
    st, eng, _ = machine(code, NEVER, CodeCache(tmp_path / "cold"))
    assert run(st, eng) == TRAP_BRK and eng.blocks_from_cache > 0 and eng.tiered_up == 0


# ---- real programs under `mkemu run` -------------------------------------------------
def _instructions(err: bytes) -> list[str]:
    return re.findall(r"instructions \d+", err.decode())


@pytest.mark.parametrize("name, counts", [("sig_faults", True), ("sig_context", True),
                                          ("thr_jit", False)])
def test_guest_programs_in_the_first_tier_alone(rootfs, guest_binary, tmp_path, name, counts):
    # faults caught by SA_SIGINFO handlers (exact pc and fault address), a handler
    # editing the interrupted registers and flags, code rewritten between runs by
    # another thread: the same output (and, single-threaded, the same instruction
    # counts) with every trace in the first tier as with every trace in full
    prog = guest_binary(name)
    seen = []
    for tier in ("off", "cold"):
        code, out, err = run_mkemu([str(prog)], rootfs=rootfs, extra=["--stats"],
                                   env={"MKEMU_TIER": tier, "MKEMU_CACHE": str(tmp_path / tier)})
        seen.append((code, out, _instructions(err) if counts else None))
    assert seen[0] == seen[1]
    assert seen[0][1]


def test_a_first_tier_fault_path_runs_from_the_frame_the_fault_left():
    # A first-tier trace has no except clause: its fault path is a string constant
    # (block.fault_doc) that engine.unwind_first_tier runs from the trace's frame.
    # Lines 1-5 below: def, the constant, the registers as cells (regcells.py),
    # x1's assignment (insn 0x1000), the access that faults (insn 0x1004: the mark
    # at line 5).  Its lines before the store (as a sunk NEON result's) make v0 and
    # x2 (in the frame's locals, not the cell: the store puts it there); those
    # after it, NZCV.
    from mkemu.cpu import regcells
    from mkemu.cpu.block import fault_doc
    from mkemu.cpu.engine import _base_globals, unwind_first_tier
    from mkemu.cpu.state import CpuState
    from mkemu.mm.fault import MemFault
    doc = fault_doc("0 1000 5 1004", "1000 0 2", "x1 x2 v0", ["        v0 = x1 * 3; x2 = 23"],
                    ["        if _pc == 0x1004: S.fk = None; S.nzcv_raw = 0x60000000"])
    src = (f"def blk(S, X, V):\n    _fault = {doc}\n    nonlocal x1, x2\n    x1 = x1 + 5\n"
           f"    BOOM(x1)\n")
    g = _base_globals()

    def boom(addr):
        raise MemFault(addr)
    g["BOOM"] = boom
    blk = regcells.make_function(regcells.compile_function(src, "<t>"), g)
    st = CpuState()
    st.x[1], st.x[2], st.v[0], st.icount = 10, 22, 99, 100
    regcells.load(st.x)             # as Engine.run does before and after
    try:
        blk(st, st.x, st.v)
    except MemFault as e:
        # as in the dispatcher: the traceback's first frame is the caller's, the
        # second the trace's
        unwind_first_tier(st, st.x, st.v, e, g)
    regcells.store(st.x)
    assert (st.x[1], st.x[2], st.v[0]) == (15, 23, 45)
    assert st.pc == 0x1004 and st.icount == 101 and st.nzcv == 0x60000000
