"""Integer instructions against unicorn: data processing (immediate and register),
flag producers feeding flag consumers, and branches."""
import random
import zlib

import pytest

from tests.oracle.templates import CONSUMERS, DP_IMM, DP_REG, FLAG_SETTERS, instance
from tests.support.oracle import Case, check, random_state

PER_GROUP = 320


def _sweep(templates, per_group, seed):
    rng = random.Random(seed)
    for name, mask, value in templates:
        for _ in range(per_group):
            st = random_state(rng)
            word = instance(rng, mask, value)
            check(Case(code=[word], x=st["x"], nzcv=st["nzcv"]))


@pytest.mark.parametrize("group", DP_IMM, ids=lambda g: g[0])
def test_dp_immediate(group):
    _sweep([group], PER_GROUP, seed=zlib.crc32(group[0].encode()))


@pytest.mark.parametrize("group", DP_REG, ids=lambda g: g[0])
def test_dp_register(group):
    _sweep([group], PER_GROUP, seed=zlib.crc32(group[0].encode()) + 1)


def test_flag_producers_feed_consumers_in_one_block():
    rng = random.Random(7)
    for _ in range(600):
        st = random_state(rng)
        setter = instance(rng, *rng.choice(FLAG_SETTERS)[1:])
        consumer = instance(rng, *rng.choice(CONSUMERS)[1:])
        check(Case(code=[setter, consumer], x=st["x"], nzcv=st["nzcv"]))


def test_conditional_branches_after_flag_setters():
    rng = random.Random(8)
    movz_x0 = 0xD2800020          # movz x0, #1  (skipped when the branch is taken)
    movz_x1 = 0xD2800041          # movz x1, #2
    for _ in range(500):
        st = random_state(rng)
        setter = instance(rng, *rng.choice(FLAG_SETTERS)[1:])
        cond = rng.randrange(16)
        bcond = 0x54000000 | (2 << 5) | cond      # b.cond +8
        seq = [setter, bcond, movz_x0, movz_x1] if rng.random() < 0.7 else [bcond, movz_x0, movz_x1]
        check(Case(code=seq, x=st["x"], nzcv=st["nzcv"]))


def test_compare_and_test_branches():
    rng = random.Random(9)
    for _ in range(400):
        st = random_state(rng)
        rt = rng.randrange(31)
        if rng.random() < 0.5:
            br = (rng.getrandbits(1) << 31) | 0x34000000 | (rng.getrandbits(1) << 24) | (2 << 5) | rt
        else:
            bit = rng.choice([rng.randrange(64), 63, 31, 0])    # TBZ/TBNZ: bit 63 is a shift
            st["x"][rt] = rng.choice([st["x"][rt], 1 << bit, ~(1 << bit) & (2**64 - 1)])
            br = ((bit >> 5) << 31) | 0x36000000 | (rng.getrandbits(1) << 24) | ((bit & 31) << 19) | (2 << 5) | rt
        check(Case(code=[br, 0xD2800020, 0xD2800041], x=st["x"], nzcv=st["nzcv"]))


def test_calls_and_returns():
    rng = random.Random(10)
    for _ in range(100):
        st = random_state(rng)
        # bl +8; b +16; (callee:) add x2, x2, #1; ret; nop; movz x3, #3
        seq = [0x94000002, 0x14000004, 0x91000442, 0xD65F03C0, 0xD503201F, 0xD2800063]
        check(Case(code=seq, x=st["x"], nzcv=st["nzcv"]))
        # adr x5, +12; blr x5; b +8; ret(x30) ... callee at +12: movz x4,#4; ret
        seq = [0x10000065, 0xD63F00A0, 0x14000003, 0xD2800084, 0xD65F03C0]
        check(Case(code=seq, x=st["x"], nzcv=st["nzcv"]))


def test_system_registers():
    rng = random.Random(11)
    for _ in range(100):
        st = random_state(rng)
        seq = [0xD51BD040,   # msr tpidr_el0, x0
               0xD53BD041,   # mrs x1, tpidr_el0
               0xD51B4202,   # msr nzcv, x2
               0xD53B4203,   # mrs x3, nzcv
               0xD503201F,   # nop
               0xD5033BBF,   # dmb ish
               0xD5033FDF]   # isb
        check(Case(code=seq, x=st["x"], nzcv=st["nzcv"]))


@pytest.mark.slow
@pytest.mark.timeout(900)          # (300 s ran out once on a loaded machine)
def test_big_integer_sweep():
    _sweep(DP_IMM + DP_REG, 3000, seed=1234)


def test_dc_zva_zeroes_its_aligned_block():
    """DC ZVA zeroes the 64-byte block holding the address (one slice copy of a
    zero block; its slow path four 16-byte stores), at any offset in the block,
    at a page's last block, and around an STR it must not disturb."""
    from tests.support.oracle import DATA, DATA_SIZE
    rng = random.Random(11)
    for _ in range(120):
        st = random_state(rng)
        block = rng.choice([DATA + 0x1000 - 64, DATA + DATA_SIZE - 64, DATA,
                            DATA + rng.randrange(DATA_SIZE // 64) * 64])
        st["x"][1] = block + rng.randrange(64)
        st["x"][2] = block - 8 if block > DATA else block + 64
        dc_zva_x1 = 0xD50B7421
        str_x3_x2 = 0xF9000043                   # str x3, [x2]
        check(Case(code=[dc_zva_x1, str_x3_x2, dc_zva_x1], x=st["x"], nzcv=st["nzcv"],
                   data=st["data"]))
