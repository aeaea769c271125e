"""Advanced SIMD floating point (vector and scalar forms) against unicorn.

Random encodings of every Advanced SIMD group, kept when capstone names an FP
instruction (FADD..., FCVT*, SCVTF/UCVTF, FRINT*, FCM*, FMLA by element,
FMAXNMV, FADDP...), on registers whose lanes are FP edge values (zeros,
infinities, quiet and signalling NaNs, denormals, the integer-conversion
limits) or ordinary numbers, with FPCR.DN sometimes set.  The default run compares
the values and the FPSR bits IOC, DZC and QC.

The "all FPCR" runs also draw the directed rounding modes and flush-to-zero
(FZ, FZ16) and compare every cumulative flag (IXC, UFC, OFC, IDC too), for
these groups and for the scalar FP classes (FADD Sd, FMADD, FCVT, SCVTF...).
"""
import re
import random
import struct

import pytest

from tests.oracle.test_neon import GROUPS, _CS, allowed_gap, unicorn_bug
from tests.oracle.test_simd_fp import FP_GROUPS as SCALAR_FP_GROUPS
from tests.oracle.templates import instance
from tests.support.oracle import Case, Unimplemented, compare, random_fpcr, random_state

SPECIAL32 = [0, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000, 0x7FC00000,
             0xFFC00001, 0x7F800001, 0xFF912345, 0x00000001, 0x807FFFFF, 0x00800000,
             0x7F7FFFFF, 0x4F000000, 0xCF000000, 0x4F800000, 0x3F000000, 0x3FC00000,
             0x40200000, 0xBFC00000, 0x5F000000, 0x4B000001]
SPECIAL64 = [0, 1 << 63, 0x3FF0000000000000, 0xBFF0000000000000, 0x7FF0000000000000,
             0xFFF0000000000000, 0x7FF8000000000000, 0x7FF0000000000001, 0xFFF4000000000123, 1,
             0x800FFFFFFFFFFFFF, 0x0010000000000000, 0x7FEFFFFFFFFFFFFF, 0x41E0000000000000,
             0xC3E0000000000000, 0x43F0000000000000, 0x3FE0000000000000, 0x3FF8000000000000,
             0x4004000000000000, 0x43E0000000000000, 0x4330000000000001, 0x400921FB54442D18]

FP_NAMES = ("scvtf", "ucvtf", "urecpe", "ursqrte")


def is_fp(word: int) -> bool:
    d = list(_CS.disasm(word.to_bytes(4, "little"), 0))
    return bool(d) and (d[0].mnemonic.startswith("f") or d[0].mnemonic in FP_NAMES)


def fp_lanes(rng: random.Random) -> int:
    """A 128-bit value of single- or double-precision lanes."""
    if rng.random() < 0.1:
        return rng.getrandbits(128)
    e = rng.choice((32, 64))
    special = SPECIAL32 if e == 32 else SPECIAL64
    fmt = "<f" if e == 32 else "<d"
    v = 0
    for i in range(128 // e):
        r = rng.random()
        if r < 0.35:
            x = rng.choice(special)
        elif r < 0.85:
            f = rng.choice((rng.uniform(-1e6, 1e6), rng.uniform(-4, 4), float(rng.randrange(-1000, 1000)),
                            rng.uniform(-1, 1) * 2.0 ** rng.randrange(-140, 140)))
            try:
                x = int.from_bytes(struct.pack(fmt, f), "little")
            except OverflowError:
                x = special[0]
        else:
            x = rng.getrandbits(e)
        v |= x << (i * e)
    return v


DRAW_TRIES = 5000        # "across" has about 2% FP encodings: 200 tries failed 1.3% of the time


def draw_fp(rng: random.Random, mask: int, value: int) -> int | None:
    for _ in range(DRAW_TRIES):
        w = instance(rng, mask, value)
        if is_fp(w) and not unicorn_bug(w):
            return w
    return None


FLAGS_CHECKED = 0x1 | 0x2 | (1 << 27)     # IOC, DZC, QC


def run_fp_group(rng, mask, value, count, seq=1, full=False) -> None:
    """`count` cases of `seq` FP instructions, each one compared: an encoding that hits
    an allowed gap is drawn again, and a group that cannot draw its cases fails."""
    done = gaps = 0
    while done < count:
        words = [draw_fp(rng, mask, value) for _ in range(seq)]
        assert None not in words, f"{done} of {count} cases: no FP encoding in {DRAW_TRIES} draws"
        st = random_state(rng)
        v = {n: fp_lanes(rng) for n in range(32)}
        case = Case(code=words, x=st["x"], v=v, nzcv=st["nzcv"], fpcr=random_fpcr(rng, full))
        try:
            diffs = compare(case, check_fpsr=True)
        except Unimplemented as e:
            word = int(str(e), 16)
            assert allowed_gap(word), f"{word:08x} executed by unicorn but undefined in mkemu"
            gaps += 1
            assert gaps <= count, f"{done} of {count} cases: {gaps} draws hit unimplemented encodings"
            continue
        if not full:
            for d in list(diffs):
                m = re.match(r"fpsr: mkemu (0x[0-9a-f]+) unicorn (0x[0-9a-f]+)", d)
                if m and not (int(m.group(1), 16) ^ int(m.group(2), 16)) & FLAGS_CHECKED:
                    diffs.remove(d)
        assert not diffs, (f"code [{' '.join(f'{w:08x}' for w in words)}] fpcr {case.fpcr:#x}:\n  "
                           + "\n  ".join(diffs))
        done += 1


FP_GROUP_NAMES = ("three_same", "two_misc", "across", "shift_imm", "by_element",
                  "scalar_three_same", "scalar_two_misc", "scalar_pairwise", "scalar_shift_imm",
                  "scalar_by_element", "fp16_three_same", "fp16_two_misc", "scalar_fp16_three_same",
                  "scalar_fp16_two_misc", "three_same_extra")
FP_GROUPS = [g for g in GROUPS if g[0] in FP_GROUP_NAMES]


@pytest.mark.parametrize("group", FP_GROUPS, ids=lambda g: g[0])
def test_fp_group(group):
    name, mask, value = group
    run_fp_group(random.Random(f"neon-fp-{name}"), mask, value, 300)


@pytest.mark.slow
@pytest.mark.parametrize("group", FP_GROUPS, ids=lambda g: g[0])
def test_fp_group_sweep(group):
    name, mask, value = group
    run_fp_group(random.Random(f"neon-fp-sweep-{name}"), mask, value, 3000)


@pytest.mark.parametrize("group", FP_GROUPS + SCALAR_FP_GROUPS, ids=lambda g: g[0])
def test_fp_group_all_fpcr_and_flags(group):
    name, mask, value = group
    run_fp_group(random.Random(f"fp-full-{name}"), mask, value, 120, full=True)


@pytest.mark.slow
@pytest.mark.parametrize("group", FP_GROUPS + SCALAR_FP_GROUPS, ids=lambda g: g[0])
def test_fp_group_all_fpcr_and_flags_sweep(group):
    name, mask, value = group
    run_fp_group(random.Random(f"neon-fp-full-{name}"), mask, value, 1500, full=True)
