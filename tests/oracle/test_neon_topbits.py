"""Lane sums of 32/64-bit lanes test "no top bit set" once per register value
(a64_neon_topbits): the test is reused until the register is assigned again,
and moved in front of a loop that never assigns it.  Random loops of ADD/MOV on
a few registers, whose lanes have top bits set or not, against unicorn; and the
generated code has the tests where they belong."""
import random
import re

import pytest

from mkemu.cpu.engine import Engine
from mkemu.cpu.state import CpuState
from mkemu.mm.tlb import SoftTLB
from tests.support.oracle import BRK0, CODE, Case, FlatMemory, check

REGS = (0, 1, 2, 3, 4, 5)


def _add(rd: int, rn: int, rm: int, lanes64: bool) -> int:
    return (0x4EE08400 if lanes64 else 0x4EA08400) | (rm << 16) | (rn << 5) | rd


def _mov(rd: int, rn: int) -> int:        # orr vd.16b, vn.16b, vn.16b
    return 0x4EA01C00 | (rn << 16) | (rn << 5) | rd


def _loop(body: list[int]) -> list[int]:
    """body, then subs x7, x7, #1 and b.ne back to its start."""
    back = -(len(body) + 1)
    return body + [0xF10004E7, 0x54000001 | ((back & 0x7FFFF) << 5)]


def _lane_value(rng: random.Random) -> int:
    v = 0
    for i in range(4):
        lane = rng.getrandbits(32)
        if rng.random() < 0.7:
            lane &= 0x0FFFFFFF       # top bit clear in most lanes
        v |= lane << (32 * i)
    return v


@pytest.mark.parametrize("seed", range(12))
def test_random_add_loops_like_unicorn(seed):
    rng = random.Random(f"topbits-{seed}")
    for _ in range(15):
        body = []
        for _ in range(rng.randint(2, 9)):
            if rng.random() < 0.2:
                body.append(_mov(rng.choice(REGS), rng.choice(REGS)))
            else:
                body.append(_add(rng.choice(REGS), rng.choice(REGS), rng.choice(REGS + (20, 21)),
                                 rng.random() < 0.6))
        v = {n: _lane_value(rng) for n in REGS + (20, 21)}
        check(Case(code=_loop(body), x={7: rng.randint(1, 6)}, v=v))


def _source(code: list[int]) -> str:
    mem = FlatMemory()
    words = b"".join(w.to_bytes(4, "little") for w in code + [BRK0])
    mem.map(CODE, len(words))
    mem.write(CODE, words)
    st = CpuState()
    st.x[7] = 3
    st.pc = CODE
    out: list[str] = []
    Engine(st, SoftTLB(mem.resolve), dump=out.append).run()
    return next(s for s in out if s.startswith(f"def blk_{CODE:x}("))


def test_tests_are_shared_and_hoisted():
    # add v1.2d, v0.2d, v20.2d; add v2.2d, v0.2d, v21.2d; add v0.2d, v0.2d, v20.2d;
    # add v3.2d, v0.2d, v21.2d; then v6 += v1, v2, v3 (so that no sum is dead) --
    # v20, v21 never assigned: their tests before the loop; v0's test made once for
    # the first three sums, again after v0 is assigned
    src = _source(_loop([_add(1, 0, 20, True), _add(2, 0, 21, True), _add(0, 0, 20, True),
                         _add(3, 0, 21, True), _add(6, 6, 1, True), _add(6, 6, 2, True),
                         _add(6, 6, 3, True)]))
    head, trip = re.split(r"while True:|for _n in TRIPS\[\d+\]:", src)   # the loop statement
    code = [ln.strip() for ln in trip.splitlines() if not ln.strip().startswith("#")]
    hoisted = [ln.strip() for ln in head.splitlines() if ln.strip().startswith("_k")]
    assert len(hoisted) == 2 and {ln.split(" & ")[0].split()[-1] for ln in hoisted} == {"v20", "v21"}
    upto = next(i for i, ln in enumerate(code) if ln.startswith("v3 = "))     # the fourth sum
    tests = [ln for ln in code[:upto] if ln.startswith("_k")]
    assert len(tests) == 2 and all(" = not v0 & " in ln for ln in tests), tests
    assert sum(1 for ln in code if ln.startswith(("v1 = ", "v2 = ", "v0 = ", "v3 = ")) and " if _k" in ln) == 4


def test_a_copy_shares_the_test_of_its_source():
    # mov v0.16b, v4.16b; add v4.2d, v4.2d, v20.2d; add v1.2d, v0.2d, v21.2d: v4's test,
    # made before v4 changes, answers for v0 (which holds the value it was made on)
    src = _source(_loop([_mov(0, 4), _add(4, 4, 20, True), _add(1, 0, 21, True)]))
    trip = re.split(r"while True:|for _n in TRIPS\[\d+\]:", src)[1]
    tests = [ln.strip() for ln in trip.splitlines() if ln.strip().startswith("_k")]
    assert len(tests) == 1 and " = not v4 & " in tests[0], tests
    name = tests[0].split(" = ")[0]
    assert f"if {name} and" in trip.split("v1 = ")[1].splitlines()[0]
