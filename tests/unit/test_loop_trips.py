"""A trace that branches back to its start counts its trips in the loop statement
itself (`for _n in TRIPS[trip]`, BlockBuilder._loop_header) when every
branch back ends a trip of the same length, and with `_n += trip` otherwise.
Every way out of such a loop must count exactly the instructions done: its
ordinary exit, a signal that arrives while it spins, a fault in a later trip,
and the two-lengths form."""
import signal

import pytest

from mkemu.cpu.engine import TRAP_FAULT
from mkemu.cpu.state import TRAP_BRK, TRAP_SIGNAL
from tests.support.oracle import DATA, DATA_SIZE, Case, run_mkemu, run_unicorn
from tests.unit.test_engine import BRK, CODE, machine, movz

ADD_X0_1 = 0x91000400            # add x0, x0, #1
ADD_X3_1 = 0x91000463            # add x3, x3, #1
B_BACK_1 = 0x17FFFFFF            # b .-4
B_BACK_2 = 0x17FFFFFE            # b .-8


def test_one_trip_length_loop_header_is_the_counter():
    st, eng, _ = machine([movz(0, 1000), 0xF1000400, 0x54FFFFE1, BRK])
    src = []
    eng.dump = src.append
    assert eng.run() == TRAP_BRK
    assert st.x[0] == 0 and st.icount == 1 + 2 * 1000
    assert any("for _n in TRIPS[2]:" in s for s in src)


def test_a_signal_arriving_in_a_spinning_loop_counts_the_trips_done():
    # loop: add x0, x0, #1; add x3, x3, #1; b loop -- only a signal ends it
    st, eng, _ = machine([ADD_X0_1, ADD_X3_1, B_BACK_2, BRK])

    def arrive(signum, frame):
        st.pending = True

    old = signal.signal(signal.SIGALRM, arrive)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        trap = eng.run()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert trap == TRAP_SIGNAL and st.pc == CODE
    assert st.x[0] > 0 and st.x[3] == st.x[0]
    assert st.icount == 3 * st.x[0]               # every trip whole: add, add, b


def test_two_trip_lengths_keep_count():
    # loop: add x1, x1, #1; tbnz x1, #0, loop; add x2, x2, #1; subs x0, x0, #1;
    #       b.ne loop; brk -- back after 2 instructions (x1 odd) or after 5
    code = [0x91000421, 0x3707FFE1, 0x91000442, 0xF1000400, 0x54FFFF81, BRK]
    st, eng, _ = machine(code)
    st.x[0] = 37
    src = []
    eng.dump = src.append
    assert eng.run() == TRAP_BRK
    assert any("while True:" in s for s in src)
    # each x0 round: x1 becomes odd (2 instructions, back), then even (5)
    assert st.x[0] == 0 and st.x[1] == 2 * 37 and st.x[2] == 37
    assert st.icount == 37 * (2 + 5)


@pytest.mark.parametrize("trips", [1, 2, 3, 7])
def test_fault_in_a_later_trip_counts_the_trips_before(trips):
    # loop: ldr x2, [x1], #8; add x0, x0, #1; b loop -- faults past DATA's end
    code = [0xF8408422, ADD_X0_1, B_BACK_2]
    case = Case(code=code, x={1: DATA + DATA_SIZE - 8 * (trips - 1), 0: 0})
    got, want = run_mkemu(case), run_unicorn(case)
    assert want["error"] is not None and got["trap"] == TRAP_FAULT
    assert (got["pc"], got["x"][0], got["x"][1]) == (want["pc"], want["x"][0], want["x"][1])
    assert got["x"][0] == trips - 1


def test_fault_in_a_later_trip_icount():
    st, eng, tlb = machine([0xF8408422, ADD_X0_1, B_BACK_2])
    st.x[1] = CODE + 0x2000 - 8 * 4               # four loads, the fifth leaves the mapping
    assert eng.run() == TRAP_FAULT
    assert st.x[0] == 4 and st.pc == CODE
    assert st.icount == 3 * 4
