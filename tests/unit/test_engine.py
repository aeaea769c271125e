"""The engine's contract: exact trap pcs, write-back on faults, code invalidation."""
import marshal
import re

import pytest

from mkemu.cpu.codecache import CodeCache
from mkemu.cpu.decode import block_helpers
from mkemu.cpu.engine import TRAP_FAULT, Engine
from mkemu.cpu.state import TRAP_BRK, TRAP_FETCH, TRAP_SVC, TRAP_SVC_DEFERRED, TRAP_UNDEF, CpuState
from mkemu.mm.tlb import SoftTLB
from tests.support.oracle import (CODE, DATA, DATA_SIZE, Case, FlatMemory, run_mkemu,
                                  run_unicorn)

BRK = 0xD4200000


def movz(rd: int, imm: int) -> int:
    return 0xD2800000 | (imm << 5) | rd


def machine(words, code_cache=None):
    mem = FlatMemory()
    mem.map(CODE, 0x2000)
    mem.write(CODE, b"".join(w.to_bytes(4, "little") for w in words))
    st = CpuState()
    st.pc = CODE
    tlb = SoftTLB(mem.resolve)
    return st, Engine(st, tlb, code_cache=code_cache), tlb


def test_undefined_instruction_traps_at_its_pc_after_earlier_effects():
    st, eng, _ = machine([movz(0, 5), movz(1, 6), 0x00000000, movz(2, 7)])
    assert eng.run() == TRAP_UNDEF
    assert st.pc == CODE + 8 and st.x[0] == 5 and st.x[1] == 6 and st.x[2] == 0
    assert st.undef_insn == 0 and st.icount == 2


def test_data_fault_reports_exact_pc_and_registers():
    dc_zva_x3 = 0xD50B7423
    st, eng, _ = machine([movz(0, 9), movz(3, 0x40), dc_zva_x3, movz(0, 1), BRK])
    assert eng.run() == TRAP_FAULT
    assert st.pc == CODE + 8 and st.x[0] == 9 and st.fault_addr == 0x40 and st.fault_write


def test_registers_assigned_before_and_after_a_fault():
    # x5 is assigned before the fault (the block never loads it), x6 after it
    dc_zva_x3 = 0xD50B7423
    st, eng, _ = machine([movz(5, 9), movz(3, 0x40), dc_zva_x3, movz(6, 1), BRK])
    st.x[5], st.x[6] = 0x55, 0x66
    assert eng.run() == TRAP_FAULT
    assert st.x[5] == 9 and st.x[6] == 0x66 and st.x[3] == 0x40


def test_side_exit_keeps_registers_assigned_later_in_the_trace():
    # cbz x0, +12 (taken: x0 is 0) leaves the trace before movz x7 and movz x8
    cbz_x0_12 = 0xB4000000 | (3 << 5)
    st, eng, _ = machine([movz(8, 2), cbz_x0_12, movz(7, 3), movz(8, 4), BRK])
    st.x[7] = 0x77
    assert eng.run() == TRAP_BRK
    assert st.pc == CODE + 16 and st.x[7] == 0x77 and st.x[8] == 2


SUB_SP_16 = 0xD10043FF           # sub sp, sp, #0x10
FMOV_D1_X2 = 0x9E670041          # fmov d1, x2


@pytest.mark.parametrize("exit_by", ["side exit", "fault"])
def test_a_trace_leaving_early_writes_back_sp_x30_and_v_registers(exit_by):
    # the side exit (cbz x0 taken: a counted exit, engine.side_exit) and the fault
    # path (dc zva on unmapped memory, engine._unwind) store the registers the trace
    # assigned by their local names: sp is X[31], x30 X[30], v1 V[1]
    if exit_by == "side exit":
        cbz_x0_12 = 0xB4000000 | (3 << 5)
        words = [SUB_SP_16, movz(30, 5), FMOV_D1_X2, cbz_x0_12, movz(7, 3), movz(8, 4), BRK]
        trap, pc = TRAP_BRK, CODE + 24
    else:
        words = [SUB_SP_16, movz(30, 5), FMOV_D1_X2, movz(3, 0x40), 0xD50B7423, BRK]
        trap, pc = TRAP_FAULT, CODE + 16
    st, eng, _ = machine(words)
    st.x[31], st.x[2], st.x[7] = 0x1000, 0x1234, 0x77
    assert eng.run() == trap and st.pc == pc
    assert (st.x[31], st.x[30], st.v[1], st.x[7]) == (0xFF0, 5, 0x1234, 0x77)


def test_trace_closing_at_its_own_start_counts_each_trip_once():
    # the trace at X follows `b Y` back to Y and falls through into X again:
    # movz x0, #3; b X; Y: subs x0, x0, #1; b.eq end; X: add x1, x1, #1; b Y; end: brk
    st, eng, _ = machine([movz(0, 3), 0x14000003, 0xF1000400, 0x54000060, 0x91000421,
                          0x17FFFFFD, BRK])
    assert eng.run() == TRAP_BRK
    assert st.x[0] == 0 and st.x[1] == 3
    assert st.icount == 2 + 3 * 4


def test_hot_side_exit_is_retranslated_to_follow_the_taken_branch(monkeypatch):
    # H: bl F; subs x0, x0, #1; b.eq end; cmp x0, #1000; b.ne J (always taken);
    # add x2, x2, #1; J: add x1, x1, #1; b H; end: brk; F: add x3, x3, #1; ret
    # (full traces: a first-tier one ends at J, where the side exit's trace starts)
    monkeypatch.setenv("MKEMU_TIER", "off")
    code = [movz(0, 200), movz(1, 0), 0x94000009, 0xF1000400, 0x540000C0, 0xF10FA01F,
            0x54000041, 0x91000442, 0x91000421, 0x17FFFFF9, BRK, 0x91000463, 0xD65F03C0]
    st, eng, _ = machine(code)
    assert eng.run() == TRAP_BRK
    assert (st.x[0], st.x[1], st.x[2], st.x[3]) == (0, 199, 0, 200)
    assert st.icount == 2 + 199 * 9 + 5
    assert CODE + 24 in eng.likely_taken
    # three block runs per trip before the retranslation, two after it
    assert eng.block_runs < 2 * 200 + 32 + 10


@pytest.mark.parametrize("tier, runs", [("", 2), ("off", 1)])
def test_a_first_tier_trace_ends_where_another_trace_starts(monkeypatch, tier, runs):
    # 0: movz x0, #5; 4: cbz x1, J; 8: add x2, x2, #1; J: add x3, x3, #1; brk.  The
    # trace at J is made first; the one at 0, made next, goes on to J by a dispatch
    # in the first tier (not emitting J's instructions again), and through it in full
    monkeypatch.setenv("MKEMU_TIER", tier)
    st, eng, _ = machine([movz(0, 5), 0xB4000041, 0x91000442, 0x91000463, BRK])
    st.pc = CODE + 12
    assert eng.run() == TRAP_BRK and st.x[3] == 1 and st.icount == 1
    st.pc, st.x[1] = CODE, 1
    before = eng.block_runs
    assert eng.run() == TRAP_BRK
    assert (st.x[0], st.x[2], st.x[3], st.icount) == (5, 1, 2, 5)
    assert eng.block_runs - before == runs


# H: bl F; R: subs x0, x0, #1; b.eq END; cmp x0, #1000; b.ne J (always taken: hot);
# add x2, x2, #1; J: add x1, x1, #1; b H; END: cbnz x4, FIN; movz x4, #1;
# movz x0, #3; b R; FIN: brk; F: add x3, x3, #1; ret.  The trace at END is first
# translated after the branch at CODE + 24 is marked, and follows R into it.
TWO_PASSES = [movz(0, 200), movz(1, 0), 0x9400000D, 0xF1000400, 0x540000C0, 0xF10FA01F,
              0x54000041, 0x91000442, 0x91000421, 0x17FFFFF9, 0xB5000084, movz(4, 1),
              movz(0, 3), 0x17FFFFF6, BRK, 0x91000463, 0xD65F03C0]
END = CODE + 40


def run_two_passes(cache, entry):
    st, eng, _ = machine(TWO_PASSES, cache)
    st.pc = entry
    assert eng.run() == TRAP_BRK and st.pc == CODE + 56
    seen = (st.x[:5], st.icount, eng.block_runs, eng.exit_counts, eng.likely_taken)
    return seen, eng


def test_code_cache_serves_traces_with_the_branch_marks_that_shaped_them(tmp_path, monkeypatch):
    # full traces: a first-tier trace also ends where another trace started before
    # it was made, so its shape (and the block runs compared below) depends on
    # the order the traces were made in as well
    monkeypatch.setenv("MKEMU_TIER", "off")
    first, eng = run_two_passes(CodeCache(tmp_path), CODE)
    assert CODE + 24 in eng.likely_taken
    eng.code_cache.flush()
    # a fresh engine has no marks: entered at END the guest sees exactly what an
    # engine with no cache gives it; the cached traces shaped by the mark are
    # served, and mark the branch (CodeCache.lookup), so it counts no side exits
    from_cache, eng = run_two_passes(CodeCache(tmp_path), END)
    uncached = run_two_passes(None, END)[0]
    assert from_cache[:2] == uncached[:2]
    assert CODE + 24 in from_cache[4] and CODE + 24 not in uncached[4]
    assert from_cache[2] < uncached[2]
    assert eng.blocks_from_cache > 0
    # the traces shaped by the mark are cached too: a second whole run
    # translates nothing, and has the mark from its start
    again, eng = run_two_passes(CodeCache(tmp_path), CODE)
    assert again[:2] == first[:2] and again[4] == first[4] and again[2] < first[2]
    assert eng.blocks_from_cache == eng.blocks_translated > 0


def test_an_engine_after_an_execve_takes_a_fork_hints_traces_a_page_at_a_time(tmp_path):
    # a child learnt TWO_PASSES (its traces, the branch at CODE + 24 marked) and listed
    # them in its fork site's hint; the parent makes them as functions of its engine's
    # globals (the kit), and the engine its next child's execve makes (after=) installs
    # a page's functions, with their marks, the first time it looks at that page
    first, learnt = run_two_passes(CodeCache(tmp_path), CODE)
    learnt.code_cache.flush()
    names = [(ph, pc, marks) for (ph, pc), variants in learnt.code_cache.codes.items()
             for marks, _, _ in variants]
    (tmp_path / "hint-site").write_bytes(marshal.dumps(names))
    parent_cache = CodeCache(tmp_path)
    _, parent, _ = machine([BRK], parent_cache)
    parent_cache.warm("site", parent.globals)
    assert parent_cache.kit
    looked_up = []
    lookup = parent_cache.lookup
    parent_cache.lookup = lambda *a, **k: looked_up.append(a) or lookup(*a, **k)
    st, _, tlb = machine(TWO_PASSES, parent_cache)
    eng = Engine(st, tlb, code_cache=parent_cache, after=parent)
    assert eng.run() == TRAP_BRK and st.pc == CODE + 56
    assert (st.x[:5], st.icount) == first[:2]
    # (nothing looked up but the kit's first-tier traces run WARM_RUNS times, made in full)
    assert {a[0] for a in looked_up} == eng.hot and eng.tiered_up == len(eng.hot)
    assert eng.blocks_from_cache + eng.tiered_up == eng.blocks_translated > eng.tiered_up
    assert CODE + 24 in eng.likely_taken
    assert eng.block_runs < first[2]              # nothing to learn: the marked traces ran
    # other bytes at those addresses: the kit is not theirs
    other = list(TWO_PASSES)
    other[0] = movz(0, 100)
    st, _, tlb = machine(other, parent_cache)
    eng = Engine(st, tlb, code_cache=parent_cache, after=parent)
    plain, plain_eng, _ = machine(other)
    assert eng.run() == plain_eng.run() == TRAP_BRK
    assert (st.x[:5], st.icount) == (plain.x[:5], plain.icount) and looked_up


def test_fetch_fault():
    b_far = 0x14000000 | (0x100000 >> 2)        # b +1 MiB (unmapped)
    st, eng, _ = machine([b_far])
    assert eng.run() == TRAP_FETCH
    assert st.pc == CODE + 0x100000


def test_writing_translated_code_invalidates_it():
    st, eng, tlb = machine([movz(0, 1), BRK])
    assert eng.run() == TRAP_BRK and st.x[0] == 1
    tlb.store(CODE, 4, movz(0, 2))              # the guest patches its own code
    st.pc = CODE
    assert eng.run() == TRAP_BRK and st.x[0] == 2


def test_self_loop_counts_every_instruction():
    # mov x0, #1000; loop: subs x0, x0, #1; b.ne loop; brk
    st, eng, _ = machine([movz(0, 1000), 0xF1000400, 0x54FFFFE1, BRK])
    assert eng.run() == TRAP_BRK
    assert st.x[0] == 0 and st.icount == 1 + 2 * 1000
    assert st.nzcv == 0x6000_0000                # Z and C from the last subs


def test_pending_signal_stops_a_hot_loop():
    spin = 0x14000000                            # b . (forever)
    st, eng, _ = machine([spin])
    st.pending = True
    from mkemu.cpu.state import TRAP_SIGNAL
    assert eng.run() == TRAP_SIGNAL and st.pc == CODE


# ---- NZCV at a trap: what the architecture has at the trapping instruction ----------------
CMP_X4_X5 = 0xEB05009F          # cmp x4, x5 (subs xzr, x4, x5)
LDR_X0_X1 = 0xF9400020          # ldr x0, [x1]
UNMAPPED = 0x40_0000


def nzcv_of_sub(a: int, b: int) -> int:
    """The flags of a 64-bit a - b from their definitions (N, Z, C = no borrow, V)."""
    r = (a - b) % 2**64
    sa, sb, sr = (v >= 2**63 for v in (a, b, r))
    n, z, c, v = sr, r == 0, a >= b, sa != sb and sr != sa
    return n << 31 | z << 30 | c << 29 | v << 28


def test_data_fault_keeps_the_flags_of_the_compare_before_it():
    st, eng, _ = machine([CMP_X4_X5, LDR_X0_X1, BRK])
    st.x[4], st.x[5], st.x[1] = 3, 5, UNMAPPED
    st.nzcv = 0x6000_0000                         # Z and C: not what cmp 3, 5 gives
    assert eng.run() == TRAP_FAULT and st.pc == CODE + 4
    assert st.nzcv == nzcv_of_sub(3, 5) == 0x8000_0000


def test_data_fault_keeps_flags_materialized_in_the_block():
    msr_nzcv_x7 = 0xD51B4207
    st, eng, _ = machine([CMP_X4_X5, msr_nzcv_x7, LDR_X0_X1, BRK])
    st.x[4], st.x[5], st.x[7], st.x[1] = 3, 5, 0x5000_0000_1234, UNMAPPED
    assert eng.run() == TRAP_FAULT and st.pc == CODE + 8
    assert st.nzcv == 0                           # bits 31:28 of x7


@pytest.mark.parametrize("trap_insn, trap, pc_after", [
    (0xD4000001, TRAP_SVC, 8),                    # svc #0: S.pc is the next instruction
    (0x00000000, TRAP_UNDEF, 4),                  # udf #0
    (BRK, TRAP_BRK, 4),
    (0x14000000 | (0x100000 >> 2), TRAP_FETCH, 0x100004),   # b +1 MiB (unmapped)
])
def test_other_traps_keep_the_flags_of_the_compare_before_them(trap_insn, trap, pc_after):
    st, eng, _ = machine([CMP_X4_X5, trap_insn])
    st.x[4], st.x[5] = 7, 7
    st.nzcv = 0x9000_0000
    assert eng.run() == trap and st.pc == CODE + pc_after
    assert st.nzcv == nzcv_of_sub(7, 7) == 0x6000_0000


# loop: ldr x0, [x1], #8; tbnz x1, #4, loop; tst x1, #8; b.ne loop;
#       subs x2, x2, #1; b.ne loop; brk -- three branches back, leaving the flags
# as they were, of the TST, or of the SUBS; the LDR faults on some later trip
LOOP_BACK_THREE_WAYS = [0xF8408420, 0x3727FFE1, 0xF27D003F, 0x54FFFFA1, 0xF1000442,
                        0x54FFFF61]
# loop: ldr x0, [x1], #8; subs x2, x2, #1; b.ne loop; brk
LOOP_BACK_ONE_WAY = [0xF8408420, 0xF1000442, 0x54FFFFC1]


@pytest.mark.parametrize("code", [LOOP_BACK_ONE_WAY, LOOP_BACK_THREE_WAYS])
@pytest.mark.parametrize("trips", range(1, 9))
def test_data_fault_in_a_later_trip_of_a_loop_has_the_flags_it_went_round_with(code, trips):
    case = Case(code=code, x={1: DATA + DATA_SIZE - 8 * (trips - 1), 2: 100},
                nzcv=0x9000_0000)
    got, want = run_mkemu(case), run_unicorn(case)
    assert want["error"] is not None and got["trap"] == TRAP_FAULT
    assert (got["pc"], got["x"][1], got["x"][2]) == (want["pc"], want["x"][1], want["x"][2])
    assert got["nzcv"] == want["nzcv"]


def test_dump_starts_with_a_legend_of_every_short_name_the_code_uses():
    dumped = []
    st, eng, _ = machine([movz(0, 5), BRK])
    eng.dump = dumped.append
    assert eng.run() == TRAP_BRK and st.x[0] == 5
    legend, block = dumped
    assert legend.startswith("# ") and block.startswith("def blk_")
    helpers = set(block_helpers()) - {"U2L", "U2Q", "P2L", "P2Q"}   # those the builder emits
    unnamed = [name for name in eng.globals
               if name not in helpers and not name.startswith("__")
               and not re.search(rf"(?<![\w.]){name}(?!\w)", legend)]
    assert unnamed == []


# ---- SVC: the kernel's on_svc, run from the dispatch loop --------------------------------
SVC = 0xD4000001
MOV_X1_X0 = 0xAA0003E1          # mov x1, x0


@pytest.mark.parametrize("answer", ["go on", "leave", "run loop"])
def test_an_svc_runs_on_svc_without_leaving_run_unless_it_asks(answer):
    # mov x8, #64; svc; mov x1, x0; svc; brk: on_svc answers the first SVC with x0
    # and the pc after it; it may instead make run return (-TRAP_*), S.pc set
    st, eng, _ = machine([movz(8, 64), SVC, MOV_X1_X0, SVC, BRK])
    seen = []

    def kernel():
        seen.append((st.pc, st.x[8]))
        st.x[0] = 40 + len(seen)
        return {"go on": st.pc, "leave": -6, "run loop": -TRAP_SVC_DEFERRED}[answer]
    eng.on_svc = kernel
    trap = eng.run()
    if answer == "go on":
        assert trap == TRAP_BRK and st.x[1] == 41 and st.x[0] == 42
        assert seen == [(CODE + 8, 64), (CODE + 16, 64)]
        assert st.icount == 5 - 1                 # (BRK counts when it is handled)
    else:
        assert trap == {"leave": 6, "run loop": TRAP_SVC_DEFERRED}[answer]
        assert st.pc == CODE + 8 and seen == [(CODE + 8, 64)] and st.x[1] == 0


def test_without_on_svc_an_svc_returns_to_the_caller():
    st, eng, _ = machine([movz(8, 64), SVC, BRK])
    assert eng.run() == TRAP_SVC and st.pc == CODE + 8


def test_trap_codes_are_distinct():
    # the task's run loop tells the traps apart by code alone (TRAP_FAULT and a
    # new SVC trap once shared 7: a fault ran as a system call)
    from mkemu.cpu import state
    codes = {name: code for name, code in vars(state).items() if name.startswith("TRAP_")}
    assert len(codes) >= 8 and len(set(codes.values())) == len(codes)


# ---- the X registers as cells (regcells.py) ---------------------------------------------
ADD_X4_X3_X3 = 0x8B030064       # add x4, x3, x3
ADD_X5_X0_X9 = 0x8B090005       # add x5, x0, x9


def test_traces_name_the_registers_as_cells_and_run_publishes_them():
    # movz x3, #5; movz x9, #7; add x4, x3, x3; movz x8, #64; svc; add x5, x0, x9; brk.
    # No trace loads or stores an X register (but for the SVC's, which stores the
    # call's registers in X for the kernel); the kernel sees x0-x8 and sp there, and
    # its answer in x0 reaches the guest; when run returns, X holds every register
    sources = []
    st = CpuState()
    st.pc = CODE
    st.x[31] = 0x7000
    mem = FlatMemory()
    mem.map(CODE, 0x2000)
    words = [movz(3, 5), movz(9, 7), ADD_X4_X3_X3, movz(8, 64), SVC, ADD_X5_X0_X9, BRK]
    mem.write(CODE, b"".join(w.to_bytes(4, "little") for w in words))
    eng = Engine(st, SoftTLB(mem.resolve), dump=sources.append)
    seen = []

    def kernel():
        seen.append((st.x[8], st.x[3], st.x[31]))
        st.x[0] = 100
        return st.pc
    eng.on_svc = kernel
    assert eng.run() == TRAP_BRK
    assert seen == [(64, 5, 0x7000)]
    assert (st.x[3], st.x[4], st.x[5], st.x[9]) == (5, 10, 107, 7)
    traces = [s for s in sources if s.startswith("def blk_")]
    assert len(traces) == 2
    assert not any(re.search(r"^ *(x\d+|sp) = X\[", s, re.M) for s in traces)
    stores = re.findall(r"^ *X\[(\d+)\] = (\w+)$", traces[0], re.M)
    assert stores == [(str(n), f"x{n}") for n in range(9)] + [("31", "sp")]
    assert not re.search(r"X\[\d+\] =", traces[1])
    assert {"x3", "x4", "x9"} <= set(eng.blocks[CODE].__code__.co_freevars)


def test_two_machines_in_one_process_keep_their_own_registers():
    # the cells are the process's: each run loads them from its state and
    # publishes them back, so engines taking turns do not see each other's
    a, eng_a, _ = machine([movz(3, 11), SVC, ADD_X4_X3_X3, BRK])
    b, eng_b, _ = machine([movz(3, 22), movz(6, 1), ADD_X4_X3_X3, BRK])
    assert eng_a.run() == TRAP_SVC
    assert eng_b.run() == TRAP_BRK
    assert eng_a.run() == TRAP_BRK
    assert (a.x[3], a.x[4], a.x[6]) == (11, 22, 0)
    assert (b.x[3], b.x[4], b.x[6]) == (22, 44, 1)
