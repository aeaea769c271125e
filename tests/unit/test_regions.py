"""Regions (cpu/region.py): hot traces made one function, entered by any of their pcs.

Each program runs twice, with regions off and with the eager policy (a sample of a
few dispatches from the first one, so regions form within a few hundred
instructions); the guest must see exactly the same registers, memory and
instruction count, and the eager run must really have made regions.
"""
import random
import shutil
import signal
import struct

import pytest

from mkemu.cpu.block import RegionPart
from mkemu.cpu.engine import POLICIES, TRAP_FAULT
from mkemu.cpu.region import region_source
from mkemu.cpu.state import TRAP_BRK, TRAP_SIGNAL
from tests.support.asmrun import FIB, STACK, STACK_SIZE, asm, flat_machine, run
from tests.support.oracle import CODE

pytestmark = pytest.mark.skipif(shutil.which("aarch64-linux-gnu-as") is None,
                                reason="needs aarch64-linux-gnu-as")


def machine(code: bytes, eager: bool):
    st, eng, mem = flat_machine(code)
    if eager:
        eng.policy, eng.sample_at = POLICIES["eager"], 1
    return st, eng, mem


def faulting_both(code: bytes):
    """Run code, which must fault, with regions off and eager: the two (state, engine)."""
    seen = []
    for eager in (False, True):
        st, eng, _ = machine(code, eager)
        assert run(st, eng) == TRAP_FAULT
        seen.append((st, eng))
    return seen


def both(code: bytes):
    """Run code with regions off and eager: the two final states, which must agree."""
    seen = []
    for eager in (False, True):
        st, eng, mem = machine(code, eager)
        assert run(st, eng) == TRAP_BRK
        seen.append((list(st.x), st.pc, st.icount, st.nzcv, mem.read(STACK, STACK_SIZE), eng))
    off, on = seen
    assert off[:5] == on[:5]
    assert off[5].regions_made == 0 and on[5].regions_made > 0
    return off[0], on[5]


def test_calls_and_returns_inside_regions(tmp_path):
    x, eng = both(asm(FIB.format(n=16), tmp_path))
    assert x[0] == 987
    # the returns went from case to case inside the region: far fewer dispatches
    assert eng.block_runs < 2000


def test_deep_recursion(tmp_path):
    # a(n) = n + b(n - 1), b(n) = n + a(n - 1): 3000 frames deep, the returns going
    # between the two return sites inside a region
    x, _ = both(asm("""
    mov x0, #3000
    bl a
    brk #0
a:
    cbz x0, 9f
    stp x29, x30, [sp, #-32]!
    str x0, [sp, #16]
    sub x0, x0, #1
    bl b
    ldr x1, [sp, #16]
    add x0, x0, x1
    ldp x29, x30, [sp], #32
9:  ret
b:
    cbz x0, 9f
    stp x29, x30, [sp, #-32]!
    str x0, [sp, #16]
    sub x0, x0, #1
    bl a
    ldr x1, [sp, #16]
    add x0, x0, x1
    ldp x29, x30, [sp], #32
9:  ret
""", tmp_path))
    assert x[0] == 3000 * 3001 // 2


def test_return_address_overwritten_on_the_stack(tmp_path):
    # at x5 == 50, f replaces its saved link with `other`: RET leaves the region's
    # usual return site for a pc it may not hold
    x, _ = both(asm("""
    mov x5, #100
loop:
    bl f
back:
    subs x5, x5, #1
    b.ne loop
    brk #0
f:
    stp x29, x30, [sp, #-16]!
    add x3, x3, #1
    cmp x5, #50
    b.ne 1f
    adr x6, other
    str x6, [sp, #8]
1:  ldp x29, x30, [sp], #16
    ret
other:
    add x7, x7, #1
    b back
""", tmp_path))
    assert (x[3], x[7], x[5]) == (100, 1, 0)


def test_a_longjmp_back_to_an_outer_frame(tmp_path):
    # setjmp/longjmp by hand: `jmpto` restores an sp and a pc saved several calls up
    x, _ = both(asm("""
    mov x5, #60
outer:
    mov x9, sp
    adr x10, resume
    mov x0, #4
    bl down
resume:
    add x7, x7, #1
    subs x5, x5, #1
    b.ne outer
    brk #0
down:
    stp x29, x30, [sp, #-16]!
    subs x0, x0, #1
    b.eq jmpto
    bl down
    ldp x29, x30, [sp], #16
    ret
jmpto:
    mov sp, x9
    br x10
""", tmp_path))
    assert x[7] == 60 and x[31] == STACK + STACK_SIZE


def test_an_indirect_branch_whose_target_changes(tmp_path):
    x, _ = both(asm("""
    mov x5, #200
    adr x9, t0
    adr x10, t1
    adr x11, t2
loop:
    tst x5, #1
    csel x8, x9, x10, eq
    cmp x5, #77
    csel x8, x11, x8, eq
    br x8
t0: add x1, x1, #1
    b next
t1: add x2, x2, #1
    b next
t2: add x3, x3, #1
next:
    subs x5, x5, #1
    b.ne loop
    brk #0
""", tmp_path))
    assert (x[1], x[2], x[3]) == (100, 99, 1)


def test_code_written_inside_a_region_is_run_anew(tmp_path):
    # at x5 == 50 the loop rewrites f's `add x3, x3, #1` as `add x3, x3, #2`; f is
    # on the next page, so the region's cases on the loop's page stay in the block
    # map unless the region is dropped whole, and the running region must leave
    code = asm("""
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
""", tmp_path)
    x, eng = both(code)
    assert x[3] == 51 * 1 + 49 * 2        # calls at x5 = 100..50, then 49..1
    assert not eng.region_of or all(eng.blocks.get(pc) is r.entries[pc]
                                    for pc, r in eng.region_of.items())


def test_a_signal_stops_a_running_region_between_traces(tmp_path):
    # an endless loop of calls; a host signal sets S.pending while a region runs
    code = asm("""
    mov x1, #0
l1: add x1, x1, #1
    bl f
    cbz x9, l1
    brk #0
f:  ret
""", tmp_path)
    st, eng, _ = machine(code, eager=True)

    def stop(signum, frame):
        st.pending = True
    old = signal.signal(signal.SIGALRM, stop)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        assert eng.run() == TRAP_SIGNAL
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert eng.regions_made > 0
    # stopped at a trace boundary with the state exact: each trip is 4 instructions
    assert st.pc in (CODE + 4, CODE + 12, CODE + 20)
    trips = st.x[1]
    done = {CODE + 4: 1 + 4 * trips, CODE + 20: 1 + 4 * trips - 2, CODE + 12: 1 + 4 * trips - 1}
    assert st.icount == done[st.pc]
    st.pending = False
    st.x[9] = 1
    assert run(st, eng) == TRAP_BRK
    assert st.icount == 1 + 4 * st.x[1] and st.x[1] in (trips, trips + 1)


def test_stop_regions_takes_them_out_and_makes_no_more(tmp_path):
    # a process with threads (kern/thread.py) runs on traces alone
    code = asm(FIB.format(n=12), tmp_path)
    st, eng, _ = machine(code, eager=True)
    assert run(st, eng) == TRAP_BRK and st.x[0] == 144 and eng.regions_made > 0
    eng.stop_regions()
    assert not eng.region_of and all(type(fn).__name__ == "function" for fn in eng.blocks.values())
    made = eng.regions_made
    st.pc, st.x[0], st.pending = CODE, 0, False
    assert run(st, eng) == TRAP_BRK and st.x[0] == 144 and eng.regions_made == made


@pytest.mark.parametrize("f", ["ldr x2, [x8]\n    add x3, x3, x2\n    ret",
                               "ldr x2, [x8]\n    add x3, x3, x2\n    ldr x4, [x9, #4]\n"
                               "    add x3, x3, x4\n    ldr x4, [x9, #8]\n    ret"])
def test_a_fault_in_a_case_after_a_loop_case_counts_exactly(tmp_path, f):
    # `1:` is a loop case (its trips counted in _n); f is a case without a loop, entered
    # right after it, that sets no _n of its own: its fault must not count the loop
    # case's trips again (UNWIND is told the case is no loop).  The case finds its
    # faulting instruction by the line the exception left the region at, counted from
    # its own first line (block._pc_by_line): with later loads in f, still its first
    code = asm(f"""
    mov x5, #200
    adr x8, f
    adr x9, f
outer:
    mov x1, #7
1:  subs x1, x1, #1
    b.ne 1b
    bl f
    sub x5, x5, #1
    cmp x5, #20
    b.ne 2f
    mov x8, #0x10
2:  cbnz x5, outer
    brk #0
f:
    {f}
""", tmp_path)
    (off, _), (on, eng) = faulting_both(code)
    assert eng.regions_made > 0 and off.fault_addr == on.fault_addr == 0x10
    assert (off.x, off.pc, off.icount) == (on.x, on.pc, on.icount)
    assert on.x[5] == 20 and on.pc == CODE + 4 * 13


@pytest.mark.parametrize("reads", [True, False])
def test_the_flags_one_case_leaves_are_read_and_seen_at_a_fault_by_the_next(tmp_path, reads):
    # the flags one case of a region leaves are the next case's: g (entered by an
    # indirect call through memory, so a case of its own) branches on the flags of
    # the caller's `cmp` (reads), which change from one call to the next, or leaves
    # them alone, and its load, below the stack once x5 is 19, faults before g sets
    # any: the fault must leave the caller's flags in S
    use = "b.eq 3f\n    add x3, x3, #2" if reads else "add x3, x3, #4"
    code = asm(f"""
    mov x5, #2000
    adr x9, g
    str x9, [sp, #-16]!
    movz x8, #0x7f, lsl #16
    movk x8, #0xfb00
    mov x3, #0
outer:
    ldr x9, [sp]
    and x6, x5, #1
    cmp x6, #1
    blr x9
    sub x5, x5, #1
    cbnz x5, outer
    brk #0
g:
    add x7, x8, x5, lsl #6
    ldr x2, [x7]
    {use}
3:  add x3, x3, #1
    ret
""", tmp_path)
    (off, _), (on, eng) = faulting_both(code)
    assert eng.regions_made > 0
    assert (off.x, off.pc, off.icount, off.nzcv) == (on.x, on.pc, on.icount, on.nzcv)
    # x5 = 19 is odd: 1 - 1 sets Z and C; reading, x3 counted 1 for each odd x5
    # from 1999 down to 21 (990 of them) and 3 for each even one from 2000 to 20 (991)
    assert on.nzcv == 0x60000000 and on.x[5] == 19
    assert on.x[3] == (990 * 1 + 991 * 3 if reads else 1981 * 5)


@pytest.mark.parametrize("min_wide", [2, 8])
def test_a_loop_over_many_short_traces_gets_a_region_by_the_wide_bar(tmp_path, min_wide):
    # a loop calling 20 small functions: ~41 traces a trip, each entered ~6 times in
    # a window of 256, under min_entries; those entered min_wide times take nearly
    # all transitions, so the second bar makes them a region (min_wide 8: none)
    from mkemu.cpu.engine import RegionPolicy
    calls = "\n".join(f"    bl f{i}" for i in range(20))
    funcs = "\n".join(f"f{i}:\n    add x3, x3, #{i + 1}\n    eor x4, x4, x3, lsl #{i % 7}\n    ret"
                      for i in range(20))
    code = asm(f"""
    mov x5, #150
loop:
{calls}
    subs x5, x5, #1
    b.ne loop
    brk #0
{funcs}
""", tmp_path)
    seen = []
    for policy in (None, RegionPolicy(window=256, min_entries=8, cover=0.9, min_wide=min_wide,
                                      cover_wide=0.97, first=1, gap_max=64, keep=0.0)):
        st, eng, mem = flat_machine(code)
        if policy is not None:
            eng.policy, eng.sample_at = policy, 1
        assert run(st, eng) == TRAP_BRK
        seen.append((list(st.x), st.pc, st.icount, st.nzcv, eng.regions_made))
    (off, on) = seen
    assert off[:4] == on[:4] and off[0][3] == 150 * 210
    assert off[4] == 0 and (on[4] > 0) is (min_wide == 2)


def test_a_loop_case_takes_a_float_from_the_case_before(tmp_path):
    # the loop's accumulator d4 is set by the trace before it (scvtf); the loop
    # keeps its float twin in a local from its head (a64_fp_twin's hoist), which
    # must read the region's local v4, not V[4] (the value at the region's entry)
    code = asm("""
    mov x5, #600
    fmov d1, #1.5
    mov x2, sp
    sub x2, x2, #128
    mov x3, #0
0:  str d1, [x2, x3]
    add x3, x3, #8
    cmp x3, #64
    b.ne 0b
outer:
    bl set_d4
    mov x3, #0
1:  ldr d0, [x2, x3]
    fadd d4, d4, d0
    add x3, x3, #8
    cmp x3, #64
    b.ne 1b
    fmov x6, d4
    add x7, x7, x6
    subs x5, x5, #1
    b.ne outer
    brk #0
set_d4:
    scvtf d4, x5
    ret
""", tmp_path)
    x, _ = both(code)
    assert x[7] == sum(int.from_bytes(struct.pack("<d", n + 8 * 1.5), "little") for n in range(1, 601)) & (2**64 - 1)


class _State:
    __slots__ = ("pending", "icount")

    def __init__(self) -> None:
        self.pending = False
        self.icount = 0


def _walk_region(starts: list[int], weight: dict[int, int], path: list[int]):
    """A region of cases that each record their pc and go on to the next pc of
    `path` (ending at a pc that is no case): the source and what it visited."""
    seen: list[int] = []
    going = iter(path[1:])
    parts = [RegionPart(pc, ["SEEN.append(pc)", "_ic += 1", "pc = NEXT(going, 0x10)"],
                        {"x0"}, set(), {pc >> 12}) for pc in starts]
    src = region_source("region_t", parts, weight)
    g = {"SEEN": seen, "NEXT": next, "going": going}
    exec(compile(src, "<t>", "exec"), g)
    st = _State()
    assert g["region_t"](path[0], st, [0] * 32, [0] * 32) == 0x10
    assert st.icount == len(seen)
    return src, seen


def _depth(src: str, pc: int) -> int:
    """The tests a dispatch to pc makes (the `pc <` above its line, and the `pc ==` before it)."""
    lines = src.split("\n")
    i = next(k for k, t in enumerate(lines) if t.strip().endswith(f"pc == {pc:#x}:"))
    tests, ind = 1, len(lines[i]) - len(lines[i].lstrip())
    for t in reversed(lines[:i]):
        s = t.lstrip()
        n = len(t) - len(s)
        if n == ind and s.startswith(("elif pc ==", "if pc ==")):
            tests += 1              # an earlier case of the leaf
        elif n < ind and s.startswith("else:"):
            ind = n + 1             # in the else of the `if pc <` at n: it counts too
        elif n < ind and s.startswith("if pc <"):
            tests += 1
            ind = n
    return tests


def test_the_search_reaches_every_case_and_puts_the_heavy_ones_near_the_top():
    rng = random.Random(11)
    starts = sorted(rng.sample(range(0x400000, 0x480000, 4), 200))
    hot = starts[137]
    weight = {pc: 1 for pc in starts}
    weight[hot] = 4000
    path = [rng.choice(starts) for _ in range(2000)]
    src, seen = _walk_region(starts, weight, path)
    assert seen == path
    # a search by count would make ~7 tests to reach any case; weighted, the one
    # case that has most of the entries is reached in at most 3
    assert _depth(src, hot) <= 3
    # without weights every case still gets its turn
    src, seen = _walk_region(starts, {}, path)
    assert seen == path and _depth(src, hot) >= 6


def test_a_loop_case_counts_its_trips_in_its_loop_statement(tmp_path):
    # `1:` runs 5 trips of 3 instructions at each entry; as a case of a region it
    # counts them in `for _n in TRIPS[3]` as a trace does, and the count is exact
    code = asm("""
    mov x5, #300
outer:
    mov x1, #5
1:  add x2, x2, x1
    subs x1, x1, #1
    b.ne 1b
    bl f
    subs x5, x5, #1
    b.ne outer
    brk #0
f:  add x3, x3, #1
    ret
""", tmp_path)
    x, eng = both(code)
    assert (x[2], x[3]) == (300 * 15, 300)
    st, eng, _ = machine(code, eager=True)
    shown = []
    eng.dump = shown.append
    assert run(st, eng) == TRAP_BRK
    regions = [s for s in shown if s.startswith("def region_")]
    assert regions and any("for _n in TRIPS[3]:" in s for s in regions)



@pytest.mark.parametrize("speeds, kept", [((500, 1000), True), ((500, 500), False), ((1000,), True),
                                          (("grown", 500), False)])
def test_a_region_is_dropped_only_when_two_windows_find_it_slower(tmp_path, monkeypatch, speeds, kept):
    # the keep rule alone: a region on trial against 1000 instructions a CPU
    # second before it, then windows of the given speeds (or one in which the
    # region grows: the grown one goes on with the trial's rate and look)
    from types import SimpleNamespace
    import mkemu.cpu.engine as engine_module
    st, eng, _ = machine(asm(FIB.format(n=12), tmp_path), eager=True)
    assert run(st, eng) == TRAP_BRK and eng.regions_made >= 1
    region = next(iter(eng.region_of.values()))
    eng.policy = engine_module.RegionPolicy(window=4, keep=0.95)
    eng._trial, eng._window = (region, 1000.0, 0), None
    grow = []
    monkeypatch.setattr(eng, "_make_region", lambda window: region.pcs[0] if grow else False)
    for speed in speeds:
        grow[:] = [1] if speed == "grown" else []
        times = iter([0.0, 1.0])
        monkeypatch.setattr(engine_module, "time", SimpleNamespace(process_time=lambda: next(times)))
        st.icount = 0
        for i in range(4):
            if i == 3:
                st.icount = 500 if speed == "grown" else speed
            eng._sample(CODE, 1)
        if speed == "grown":
            assert eng._trial == (region, 1000.0, 1)
    assert (eng.region_of.get(region.pcs[0]) is region) is kept
    assert bool(eng.no_region) is not kept


def test_a_region_reads_the_engine_globals_it_uses_as_locals_and_adds_none(tmp_path, monkeypatch):
    # its memory helpers are parameters bound to the engine's objects (LOAD_FAST in
    # its loop); blocks and regions are made without running their modules in the
    # engine's globals (a key added there, even popped at once, would undo CPython's
    # LOAD_GLOBAL caches in every trace)
    from mkemu.cpu import engine as engine_module
    st, eng, mem = machine(asm(FIB.format(n=16), tmp_path), eager=True)
    ran = []
    monkeypatch.setattr(engine_module, "exec", lambda *a: ran.append(a), raising=False)
    assert run(st, eng) == TRAP_BRK and st.x[0] == 987
    assert ran == [] and eng.blocks_translated > 0
    regions = {id(r): r for r in eng.region_of.values()}
    assert regions
    for region in regions.values():
        fn = next(iter(region.entries.values())).func
        code = fn.__code__
        bound = dict(zip(code.co_varnames[4:code.co_argcount], fn.__defaults__))
        assert bound["RT"] is eng.globals["RT"] and bound["WQ"] is eng.globals["WQ"]
        assert "S" not in bound and not {"RT", "WQ", "U2Q"} & set(code.co_names)


# a loop calling a function whose SVC the engine's on_svc answers (a stand-in kernel:
# x0 = x0 + x8), then adding up the results: a syscall every few dispatches
SVC_LOOP = """
    mov x5, #{trips}
    mov x6, #0
loop:
    mov x0, x5
    bl call
    add x6, x6, x0
    subs x5, x5, #1
    b.ne loop
    brk #0
call:
    mov x8, #7
    svc #0
    ret
"""


@pytest.mark.parametrize("answer", ["go on", "leave now and then", "none"])
def test_a_loop_around_a_syscall_runs_it_from_its_region(tmp_path, answer):
    # the region's case calls on_svc where it stands, the call's registers stored
    # in X and x0 taken back after it, and goes on to the next case; on_svc may make it
    # leave (-TRAP_*, S.pc set), and without on_svc every SVC returns from run.
    # Against regions off, the guest sees the same registers and instruction count
    import sys
    from mkemu.cpu.state import TRAP_SVC, TRAP_SVC_DEFERRED
    trips = 400
    seen = []
    for eager in (False, True):
        st, eng, _ = machine(asm(SVC_LOOP.format(trips=trips), tmp_path), eager)
        calls, in_region = [], []

        def kernel():
            calls.append(st.x[0])
            in_region.append(sys._getframe(1).f_code.co_name.startswith("region_"))
            if answer == "leave now and then" and len(calls) % 50 == 0:
                return -TRAP_SVC_DEFERRED   # not run: the run loop runs it, run returns
            st.x[0] += st.x[8]
            return st.pc
        if answer != "none":
            eng.on_svc = kernel
        while (trap := run(st, eng)) in (TRAP_SVC, TRAP_SVC_DEFERRED):
            if answer == "none":
                kernel()
            else:
                st.x[0] = 7 * len(calls)        # (the run loop's answer this time)
        assert trap == TRAP_BRK
        assert calls == list(range(trips, 0, -1))
        seen.append((list(st.x), st.icount, st.nzcv))
        if eager:
            assert eng.regions_made > 0
            assert any(in_region) is (answer != "none")
            if answer == "go on":
                assert eng.block_runs < trips    # the loop's SVCs did not leave
    assert seen[0] == seen[1]
    if answer != "leave now and then":
        assert seen[1][0][6] == sum(range(1, trips + 1)) + 7 * trips
