"""Doubles kept as host floats in a trace (cpu/a64_fp_twin), against qemu-aarch64
(tests/guest/fp_twins.c): the matmul inner loop and a store/reload loop over NaN
payloads, signalling NaNs, -0.0, denormals, infinities and long significands under
each FPCR, FPCR changed inside the loop, a signal delivered mid-loop and a fault in
each of the loop's three accesses (the frame's D registers are the last trip's:
the register ints a trip no longer computes are made at its exits and faults)."""
from __future__ import annotations

import math
import random
from fractions import Fraction

from mkemu.cpu.a64_fp_twin import HELPERS
from tests.support.guestrun import run_mkemu, run_qemu


def test_nan_payloads_and_signs_survive_the_float_paths():
    """A twin is a host float: the load (F64), the aligned store (a double view),
    the unaligned store (D8) and the conversions keep every bit, signalling NaNs too."""
    F64, D8, DQ, QD = HELPERS["F64"], HELPERS["D8"], HELPERS["DQ"], HELPERS["QD"]
    for bits in (0x7FF0000000000001, 0xFFF4000000000ABC, 0x7FF8000000000123, 0x8000000000000000,
                 0x0000000000000001, 0x800FFFFFFFFFFFFF, 0xFFF0000000000000):
        page = memoryview(bytearray(16))
        page.cast("Q")[0] = bits
        d = F64(page, 0)[0]
        page.cast("d")[1] = d
        assert page.cast("Q")[1] == bits
        assert D8(d) == bits.to_bytes(8, "little")
        assert QD(d) == bits and QD(DQ(bits)) == bits


def test_split_constants_admit_only_exact_products():
    """SPLITS[y] (the hoisted factor's Veltkamp constant): a factor x that passes the
    split test (or any x, for 0.0) has an exact x * y, short of underflow and overflow
    (tested apart in the trace); and x of exactly the bits y leaves passes."""
    splits = HELPERS["SPLITS"]
    rng = random.Random(23)

    def with_bits(n: int) -> float:      # a double of exactly n significant bits
        sig = (1 << (n - 1)) | (rng.getrandbits(n - 2) << 1 if n > 2 else 0) | (1 if n > 1 else 0)
        return math.ldexp(sig * rng.choice((1, -1)), rng.randint(-40, 40) - n)

    assert splits[0.0] == 0.0 and splits[-0.0] == 0.0 and splits[0.5] == 0.0 and splits[-8.0] == 0.0
    assert splits[1.5] == 5.0 and splits[5e-324] == 0.0 and splits[3 * 5e-324] == 5.0
    for y in (math.inf, -math.inf, math.nan, 0.1, 1 / 3, with_bits(52)):
        assert math.isnan(splits[y])
    for _ in range(20000):
        b = rng.randint(1, 53)
        y = with_bits(b)
        s = splits[y]
        for a in (53 - b, 53 - b + 1, rng.randint(1, 53)):
            if not 1 <= a <= 53:
                continue
            x = with_bits(a)
            passes = not s or (c := x * s) - (c - x) == x
            if a <= 53 - b and b <= 51:
                assert passes, (x, y)
            if passes:
                assert Fraction(x) * Fraction(y) == Fraction(x * y), (x, y)


def test_float_twins_match_qemu(rootfs, guest_binary):
    prog = guest_binary("fp_twins")
    code, out, err = run_mkemu([str(prog)], rootfs=rootfs, timeout=300)
    qcode, qout, _ = run_qemu([str(prog)], rootfs=rootfs)
    assert (code, out) == (qcode, qout), err.decode(errors="replace")[-3000:]
    assert b"signal checks bad 0\n" in out and b"fault checks bad 0\n" in out
    checks = int(err.decode().split("signal checks ")[1].split()[0])
    assert checks > 0          # mkemu delivered signals at the loop's top (the trace's exit)
    assert out.count(b"fault at k=300") == 1 and out.count(b"segv insn") == 3


def test_a_load_and_store_of_one_double_share_the_view_only_with_no_access_between():
    """c[j] += ...: the STR D writes through the view its LDR D found; with another
    access between (whose slow path may apply a sibling's munmap or mprotect) the store
    looks its page up again."""
    from tests.oracle.test_memgroup import _source, ldr

    def ldr_d(rt, rn, off):
        return 0xFD400000 | (off // 8) << 10 | rn << 5 | rt

    def str_d(rt, rn, off):
        return 0xFD000000 | (off // 8) << 10 | rn << 5 | rt

    fmadd = 0x1F410000   # fmadd d0, d0, d1, d0
    fused = _source([ldr_d(0, 9, 8), fmadd, str_d(0, 9, 8)])
    assert "= WD[" in fused and fused.count(" is not None: ") == 1
    apart = _source([ldr_d(0, 9, 8), ldr(3, 12, 0), fmadd, str_d(0, 9, 8)])
    assert "= WD[" not in apart and " is not None: " not in apart
