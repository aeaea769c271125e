"""Inner results of a UZP1 narrowing tree that a loop trip never reads are sunk
into the trace's exits and fault path (a64_neon_sink): the loop of gcc's
memseq fill (64-bit counters, adds, a .4s/.8h/.16b UZP1 tree, a byte store)
left by its fall-through, by a counted side exit inside the loop, by a fault
of its store, and with the tree's results read after the loop; every V
register must be what unicorn has there.  And the trip itself must no longer
compute them (the mechanism, not only its correctness)."""
import random
import re

import pytest

from mkemu.cpu.engine import Engine
from mkemu.cpu.state import CpuState
from mkemu.mm.tlb import SoftTLB
from tests.support.oracle import CODE, DATA, DATA_SIZE, BRK0, Case, FlatMemory, check, run_mkemu, \
    run_unicorn

# gcc -O2's loop for `a[i] = (unsigned char)(i * 31 + p)` (bench/memseq.c)
FILL = [
    0x4ea41c80,  # mov v0.16b, v4.16b
    0x4ef98484,  # add v4.2d, v4.2d, v25.2d
    0x4ef78403,  # add v3.2d, v0.2d, v23.2d
    0x4ef68407,  # add v7.2d, v0.2d, v22.2d
    0x4ef58401,  # add v1.2d, v0.2d, v21.2d
    0x4ef38406,  # add v6.2d, v0.2d, v19.2d
    0x4ef28402,  # add v2.2d, v0.2d, v18.2d
    0x4ef18405,  # add v5.2d, v0.2d, v17.2d
    0x4ef88410,  # add v16.2d, v0.2d, v24.2d
    0x4e871863,  # uzp1 v3.4s, v3.4s, v7.4s
    0x4e861821,  # uzp1 v1.4s, v1.4s, v6.4s
    0x4e851842,  # uzp1 v2.4s, v2.4s, v5.4s
    0x4e901800,  # uzp1 v0.4s, v0.4s, v16.4s
    0x4e421821,  # uzp1 v1.8h, v1.8h, v2.8h
    0x4e431800,  # uzp1 v0.8h, v0.8h, v3.8h
    0x4e011800,  # uzp1 v0.16b, v0.16b, v1.16b
    0x4f0d5401,  # shl v1.16b, v0.16b, #5
    0x6e208420,  # sub v0.16b, v1.16b, v0.16b
    0x4e348400,  # add v0.16b, v0.16b, v20.16b
    0x3c810420,  # str q0, [x1], #16
]
LOOP_END = [
    0xeb1a003f,  # cmp x1, x26
    0x54fffd61,  # b.ne (back to the mov)
]
SIDE_EXIT = [
    0xf10004e7,  # subs x7, x7, #1
    0x54000060,  # b.eq +12 (over cmp/b.ne: the end of the code)
    0xeb1a003f,  # cmp x1, x26
    0x54fffd21,  # b.ne (back to the mov)
]
READ_AT_TOP = [0x6e231d29]   # eor v9.16b, v9.16b, v3.16b: the next trip reads the .4s result
LOOP_END_AFTER_TOP = [
    0xeb1a003f,  # cmp x1, x26
    0x54fffd41,  # b.ne (back to the eor)
]
READ_AFTER = [
    0x4ee28469,  # add v9.2d, v3.2d, v2.2d
    0x6e231c4a,  # eor v10.16b, v2.16b, v3.16b
]


def _registers(rng: random.Random, top_bits: bool) -> dict:
    """The loop's vector registers: counters and small steps, or random lanes
    (top bits set: the adds take their SWAR form)."""
    lane = (lambda: rng.getrandbits(64)) if top_bits else (lambda: rng.getrandbits(20))
    v = {n: lane() | (lane() << 64) for n in range(32)}
    v[25] = 2 | (2 << 64)
    return v


def _case(code: list[int], trips: int, rng: random.Random, top_bits: bool, x7: int = 0) -> Case:
    return Case(code=code, x={1: DATA, 26: DATA + 16 * trips, 7: x7}, v=_registers(rng, top_bits))


@pytest.mark.parametrize("top_bits", [False, True])
def test_loop_left_by_its_fall_through(top_bits):
    rng = random.Random(f"sink-fall-{top_bits}")
    for trips in (1, 2, 5, 40):
        check(_case(FILL + LOOP_END, trips, rng, top_bits))


@pytest.mark.parametrize("top_bits", [False, True])
def test_loop_left_by_a_side_exit(top_bits):
    rng = random.Random(f"sink-side-{top_bits}")
    for trips in (1, 3, 7):
        check(_case(FILL + SIDE_EXIT, 50, rng, top_bits, x7=trips))


def test_results_read_after_the_loop():
    rng = random.Random("sink-read")
    for trips in (1, 4):
        check(_case(FILL + LOOP_END + READ_AFTER, trips, rng, False))


def test_results_read_by_the_next_trip():
    rng = random.Random("sink-next")
    for trips in (1, 2, 6):
        check(_case(READ_AT_TOP + FILL + LOOP_END_AFTER_TOP, trips, rng, False))


def test_a_step_the_loop_changes():
    """add v17.2d, v17.2d, v25.2d at the top: v17's bytes cannot be gathered before the loop."""
    rng = random.Random("sink-step")
    for trips in (1, 2, 6):
        check(_case([0x4EF98631] + FILL + LOOP_END_AFTER_TOP, trips, rng, False))


def test_sums_of_different_counters():
    """add v5.2d, v4.2d, v17.2d (the next counter, not v0): no common operand."""
    rng = random.Random("sink-two")
    code = [0x4EF18485 if w == 0x4EF18405 else w for w in FILL] + LOOP_END
    for trips in (1, 2, 6):
        check(_case(code, trips, rng, False))


def test_the_counter_changes_between_the_sums_and_the_tree():
    """add v0.2d, v0.2d, v25.2d after the sums: the leaf v0 is not the sums' v0."""
    rng = random.Random("sink-moved")
    code = FILL[:9] + [0x4EF98400] + FILL[9:] + LOOP_END_AFTER_TOP
    for trips in (1, 2, 6):
        check(_case(code, trips, rng, False))


@pytest.mark.parametrize("trips", [1, 3])
def test_fault_in_the_loop_reports_every_register(trips):
    """The store faults on the trip after `trips` (the end of DATA): the fault path
    computes the sunk results, so V1-V3 are the tree's, as unicorn has them."""
    rng = random.Random(f"sink-fault-{trips}")
    case = _case(FILL + LOOP_END, 1000, rng, False)
    case.x[1] = DATA + DATA_SIZE - 16 * trips
    got, want = run_mkemu(case), run_unicorn(case)
    assert want["error"] is not None and got["pc"] == want["pc"] == CODE + 4 * 19
    assert got["x"] == want["x"]
    assert [hex(v) for v in got["v"]] == [hex(v) for v in want["v"]]


def _trace_source(code: list[int]) -> str:
    mem = FlatMemory()
    words = b"".join(w.to_bytes(4, "little") for w in code + [BRK0])
    mem.map(CODE, len(words))
    mem.write(CODE, words)
    mem.map(DATA, DATA_SIZE)
    st = CpuState()
    st.x[1], st.x[26] = DATA, DATA + 64
    st.pc = CODE
    out: list[str] = []
    Engine(st, SoftTLB(mem.resolve), dump=out.append).run()
    return next(s for s in out if s.startswith(f"def blk_{CODE:x}("))


def test_the_trip_does_not_compute_what_it_never_reads():
    """memseq's fill loop: the bytes come from the counter and the steps gathered
    before the loop (a64_neon_bytesum); the sums, the concatenations and the inner
    UZP1 results are computed only by the exits and the fault path."""
    src = _trace_source(FILL + LOOP_END)
    head, rest = re.split(r"while True:|for _n in TRIPS\[\d+\]:", src)   # the loop statement
    trip = rest[:rest.index("if not S.pending: continue")]
    code = [ln.strip() for ln in trip.splitlines() if not ln.strip().startswith("#")]
    assert any("<< 896)" in ln and "[::8]" in ln for ln in head.splitlines())   # the steps' bytes
    assert any(ln.startswith("_g") and "v0 = (((_g" in ln for ln in code), code
    computed = [ln for ln in code if ln.startswith(("_c", "v1 = _t", "v2 = _t", "v3 = _t"))]
    computed += [ln for ln in code if re.match(r"v(3|7|6|2|5|16) = ", ln)]
    assert not computed, computed
    # ... but the exits and the fault path compute them
    after = rest[rest.index("if not S.pending: continue"):]
    exit_code = after[:after.index("return 0x")]
    for line in ("v3 = _t", "v2 = _t", "v7 = ((_s", "v16 = ((_s", "_c"):
        assert line in exit_code, line
    handler = src[src.index("except BaseException:"):]
    assert "v3 = _t" in handler and "v2 = _t" in handler and "v16 = ((_s" in handler


def test_outside_a_loop_a_dead_sum_is_dropped_only_without_an_exit_or_fault_between():
    first, second, load = 0x4EE38441, 0x4EE58481, 0x3DC00026   # add v1 = v2+v3; add v1 = v4+v5; ldr q6, [x1]
    dropped = _trace_source([first, second])
    assert "v1 = ((v2 + v3)" not in dropped and "v1 = ((v4 + v5)" in dropped
    kept = _trace_source([first, load, second])
    assert "v1 = ((v2 + v3)" in kept and "v1 = ((v4 + v5)" in kept
    rng = random.Random("sink-straight")
    for code in ([first, second], [first, load, second]):
        for _ in range(5):
            check(Case(code=code, x={1: DATA}, v=_registers(rng, True)))
    check(Case(code=[first, load, second], x={1: DATA + DATA_SIZE}, v=_registers(rng, False)))
