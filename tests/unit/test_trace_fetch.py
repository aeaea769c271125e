"""A trace's instruction fetch (Engine._trace reads the words of each guest page
it crosses from one view of that page) and the first tier's register stores
(an exit stores runs of consecutive registers as one slice assignment), in
both tiers: a trace crossing into a page it cannot fetch ends before it, and
the fetch fault comes at that page's first instruction with the registers of
the instructions before it; a data fault after a page crossing comes at its
instruction; exits give the registers unicorn gives."""
import pytest

from mkemu.cpu import tier
from mkemu.cpu.codecache import CodeCache
from mkemu.cpu.engine import TRAP_FAULT, Engine
from mkemu.cpu.state import TRAP_FETCH, CpuState
from mkemu.mm.tlb import SoftTLB
from tests.support.asmrun import asm
from tests.support.oracle import CODE, DATA, Case, FlatMemory, check

TIERS = {"full": 0, "first": tier.NEVER}


def movz(rd: int, imm: int) -> int:
    return 0xD2800000 | (imm << 5) | rd


def b_to(src: int, dst: int) -> int:
    return 0x14000000 | (((dst - src) >> 2) & 0x3FFFFFF)


LDR_X6_X3 = 0xF9400066       # ldr x6, [x3]
BRK = 0xD4200000


def machine(placed: dict[int, int], pages: int, tier_up: int, cache=None):
    """An engine over `pages` mapped pages from CODE holding the words `placed`
    (address -> word), starting at the lowest address."""
    mem = FlatMemory()
    mem.map(CODE, pages * 0x1000)
    for addr, word in placed.items():
        mem.write(addr, word.to_bytes(4, "little"))
    st = CpuState()
    st.pc = min(placed)
    eng = Engine(st, SoftTLB(mem.resolve), code_cache=cache)
    eng.policy, eng.sample_at = None, -1
    eng.tier_up = tier_up
    return st, eng


def _cache(kind, tmp_path):
    return CodeCache(tmp_path / "code") if kind == "cache" else None


@pytest.mark.parametrize("cache", ["no cache", "cache"])
@pytest.mark.parametrize("tier_name", TIERS)
def test_a_trace_running_into_an_unmapped_page_faults_at_its_first_address(tier_name, cache,
                                                                           tmp_path):
    # the last four words of the only page, then the unmapped next page
    end = CODE + 0x1000
    st, eng = machine({end - 16: movz(1, 1), end - 12: movz(2, 2), end - 8: movz(19, 3),
                       end - 4: movz(20, 4)}, 1, TIERS[tier_name], _cache(cache, tmp_path))
    st.x[21] = 0x2121
    assert eng.run() == TRAP_FETCH
    assert st.pc == end and st.fault_addr == end
    assert st.x[1:4] == [1, 2, 0] and st.x[19:22] == [3, 4, 0x2121]
    assert st.icount == 4
    assert eng.blocks_translated == 1 and eng.page_blocks == {CODE >> 12: {end - 16}}


@pytest.mark.parametrize("cache", ["no cache", "cache"])
@pytest.mark.parametrize("tier_name", TIERS)
def test_a_trace_across_two_pages_then_an_unmapped_one(tier_name, cache, tmp_path):
    # page 0's last two words, page 1's first two (a B to page 1's last two), and
    # the third page unmapped: one trace over both pages, ending before the third
    p1, p2 = CODE + 0x1000, CODE + 0x2000
    words = {p1 - 8: movz(1, 1), p1 - 4: movz(2, 2), p1: movz(3, 3), p1 + 4: b_to(p1 + 4, p2 - 8),
             p2 - 8: movz(4, 4), p2 - 4: movz(5, 5)}
    st, eng = machine(words, 2, TIERS[tier_name], _cache(cache, tmp_path))
    assert eng.run() == TRAP_FETCH
    assert st.pc == p2 and st.fault_addr == p2
    assert st.x[1:6] == [1, 2, 3, 4, 5] and st.icount == 6
    assert eng.blocks_translated == 1
    assert eng.page_blocks == {CODE >> 12: {p1 - 8}, p1 >> 12: {p1 - 8}}


@pytest.mark.parametrize("tier_name", TIERS)
def test_a_data_fault_after_a_page_crossing_comes_at_its_instruction(tier_name):
    # the trace crosses into page 1 and its last instruction (a load off the
    # unmapped x3) faults: S.pc is that load, the registers those before it
    p1, p2 = CODE + 0x1000, CODE + 0x2000
    words = {p1 - 8: movz(19, 1), p1 - 4: movz(20, 2), p1: movz(21, 3),
             p1 + 4: b_to(p1 + 4, p2 - 8), p2 - 8: movz(22, 4), p2 - 4: LDR_X6_X3}
    st, eng = machine(words, 2, TIERS[tier_name])
    st.x[3], st.x[6] = 0x7000_0000, 0x66
    assert eng.run() == TRAP_FAULT
    assert st.pc == p2 - 4 and st.fault_addr == 0x7000_0000 and not st.fault_write
    assert st.x[19:23] == [1, 2, 3, 4] and st.x[6] == 0x66
    assert st.icount == 5


@pytest.mark.parametrize("tier_name", TIERS)
def test_an_unaligned_branch_target_is_a_fetch_fault(tier_name):
    # br x7 to CODE + 2: the trace at an unaligned pc is never made
    br_x7 = 0xD61F00E0
    st, eng = machine({CODE: movz(19, 9), CODE + 4: br_x7}, 1, TIERS[tier_name])
    st.x[7] = CODE + 2
    assert eng.run() == TRAP_FETCH
    assert st.pc == CODE + 2 and st.fault_kind == "align" and st.x[19] == 9


# ---- exits storing runs of registers, against unicorn --------------------------------
ASSIGN_RUNS = """
    add x19, x0, #1
    add x20, x0, #2
    add x21, x0, #3
    add x22, x0, #4
    add x24, x0, #6
    add x25, x0, #7
    add x1, x0, #8
    add x2, x0, #9
    add x4, x0, #10
    fmov d0, x0
    fmov d1, x19
    fmov d2, x20
    fmov d5, x21
    add x28, x0, #11
    add x29, x0, #12
    add x30, x0, #13
    add sp, sp, #16
"""

PROGRAMS = {
    # the trace's end (BRK) stores every run
    "trace end": ASSIGN_RUNS,
    # a counted side exit (SIDE, lazy flags) before the end
    "side exit": ASSIGN_RUNS + "    cmp x0, #5\n    b.eq 1f\n    add x23, x0, #5\n1:\n",
    # a branch back into the trace (not its start): an exit storing the registers
    # on each trip, into a new trace from that address
    "branch back": "    mov x5, #3\n" + "2:\n" + ASSIGN_RUNS.replace("add sp, sp, #16", "") +
                   "    add x0, x0, #1\n    subs x5, x5, #1\n    b.ne 2b\n",
    # a data fault after the runs (UNWIND): the same pc and registers
    "fault": ASSIGN_RUNS + "    ldr x6, [x3]\n    add x23, x0, #5\n",
}


@pytest.mark.parametrize("tier_setting", ["", "off", "cold"])
@pytest.mark.parametrize("program", PROGRAMS)
def test_exits_storing_register_runs_agree_with_unicorn(program, tier_setting, tmp_path,
                                                        monkeypatch):
    monkeypatch.setenv("MKEMU_TIER", tier_setting)
    raw = asm(PROGRAMS[program], tmp_path)
    words = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)]
    x = {n: 0x1000 + 0x11 * n for n in range(31)}
    x[3] = 0x7000_0000 if program == "fault" else DATA
    x[31] = DATA + 0x100
    for x0 in (5, 6):       # the side exit taken, not taken
        x[0] = x0
        check(Case(code=words, x=dict(x), v={n: (n + 1) * 0x0101_0101 for n in range(32)}))


def test_first_tier_loads_and_stores_runs_as_slices():
    # the text the first tier makes: runs of 3+ are one slice assignment each
    from mkemu.cpu.block import _run_assignments
    stores = [("X", n, f"x{n}") for n in (1, 2, 4, 19, 20, 21, 22, 24, 25, 31)]
    stores[-1] = ("X", 31, "sp")
    stores += [("V", n, f"v{n}") for n in (0, 1, 2, 5)]
    assert _run_assignments(stores, True) == [
        "X[1] = x1", "X[2] = x2", "X[4] = x4", "X[19:23] = x19, x20, x21, x22",
        "X[24] = x24", "X[25] = x25", "X[31] = sp", "V[0:3] = v0, v1, v2", "V[5] = v5"]
    assert _run_assignments(stores, False) == [
        "x1 = X[1]", "x2 = X[2]", "x4 = X[4]", "x19, x20, x21, x22 = X[19:23]", "x24 = X[24]",
        "x25 = X[25]", "sp = X[31]", "v0, v1, v2 = V[0:3]", "v5 = V[5]"]


@pytest.mark.parametrize("tier_name", TIERS)
@pytest.mark.parametrize("at", range(6))
def test_a_fault_at_each_instruction_reports_its_pc(tier_name, at):
    # a first-tier trace has no `_pc =` lines: its fault path finds the pc by the
    # line the exception left at (engine._fault_pc); the full one sets _pc
    words = [movz(10 + i, i + 1) if i != at else LDR_X6_X3 for i in range(6)] + [BRK]
    st, eng = machine({CODE + 4 * i: w for i, w in enumerate(words)}, 1, TIERS[tier_name])
    st.x[3], st.x[6] = 0x7000_0000, 0x66
    assert eng.run() == TRAP_FAULT
    assert st.pc == CODE + 4 * at and st.icount == at and st.x[6] == 0x66
    assert st.x[10:16] == [i + 1 if i < at else 0 for i in range(6)]


def test_both_tiers_find_the_pc_by_line():
    words = [movz(10, 1), LDR_X6_X3, movz(11, 2), LDR_X6_X3, BRK]
    st, eng = machine({CODE + 4 * i: w for i, w in enumerate(words)}, 1, tier.NEVER)
    for tier_up in (tier.NEVER, 0):
        text, _, _ = eng._source(CODE, tier_up)
        assert "_pc = 0x" not in text
        if tier_up:     # no except clause: the marks are in its fault path's constant
            assert "FAULTPC(" not in text and "except" not in text
            assert text.count("_fault = 'FAULT\\n") == 1
        else:
            assert text.count("FAULTPC(") == 1
