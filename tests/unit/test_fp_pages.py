"""Double loads that keep their page across a loop's trips (cpu/a64_fp_pages) and the FP
mode read once a loop (cpu/a64_fp_mode), against qemu-aarch64 (tests/guest/fp_pages.c):
pages copied on their first write while a load of the loop keeps them, one page at two
addresses, overlapping arrays, a new page each trip, unaligned arrays, a read-only
table, random doubles under each FPCR with FPSR read back, IXC first set mid-loop.
The trace shapes: which loops are rewritten and which are left as they were."""
from __future__ import annotations

import re

from mkemu.cpu.a64_fp import HELPERS
from mkemu.cpu.a64_fp_mode import REFRESH
from mkemu.cpu.a64_fp_pages import SAFE
from tests.support.guestrun import run_mkemu, run_qemu


def test_fp_pages_match_qemu(rootfs, guest_binary):
    prog = guest_binary("fp_pages")
    code, out, err = run_mkemu([str(prog)], rootfs=rootfs, timeout=300)
    qcode, qout, _ = run_qemu([str(prog)], rootfs=rootfs)
    assert (code, out) == (qcode, qout), err.decode(errors="replace")[-3000:]
    assert out.count(b"\n") == 3 + 2 + 6 + 1 + 3 + 2 + 2 + 7 * 3 * 3 + 2 + 3 * 2


def test_safe_calls_are_helpers_that_touch_no_memory():
    """Every name the rewrite lets a loop call is a register array, a page table read
    directly, the side-exit counter, or an FP helper of a64_fp (not LDD: it may call LD)."""
    assert "LDD" not in SAFE and "LD" not in SAFE and "ST" not in SAFE
    assert SAFE - {"X", "V", "RT", "WD", "WT", "HOT"} <= set(HELPERS)


def _loop_source(words):
    """The source of the loop trace of `words` (ending in a branch back to the first)."""
    from tests.oracle.test_memgroup import _source
    return _source(words)


def ldr_d(rt, rn, rm):            # ldr dT, [xN, xM]
    return 0xFC606800 | rm << 16 | rn << 5 | rt


def str_d(rt, rn, rm):            # str dT, [xN, xM]
    return 0xFC206800 | rm << 16 | rn << 5 | rt


FMADD = 0x1F420020                 # fmadd d0, d1, d2, d0
ADD_X3 = 0x91002063                # add x3, x3, #8
CMP_X3_X4 = 0xEB04007F             # cmp x3, x4


def _bne(back):                   # b.ne back instructions
    return 0x54000001 | ((-back & 0x7FFFF) << 5)


def test_loop_of_double_loads_keeps_pages_and_reads_the_mode_once():
    body = [ldr_d(1, 0, 3), ldr_d(2, 1, 3), ldr_d(0, 2, 3), FMADD, str_d(0, 2, 3), ADD_X3, CMP_X3_X4]
    src = _loop_source(body + [_bne(len(body))])
    assert src.count("& -4089:") == 3 and src.count("S.fpmode") == 2
    assert f"_fm, S)); {REFRESH}" in src                     # after the FMADD helper
    # every cached page unknown at entry; each load adds its index to base - page start
    assert re.search(r"\n    (_lo\d+ = ){3}-0x100000000000000000000; (_b\d+ = ){3}0x1", src)
    assert src.count(":= (x3) + _b") == 3


def test_loop_with_an_integer_load_or_msr_is_left_alone():
    ldr_x = 0xF8636805                 # ldr x5, [x0, x3]
    msr_fpcr = 0xD51B4405              # msr fpcr, x5
    body = [ldr_d(1, 0, 3), ldr_x, ldr_d(0, 2, 3), FMADD, str_d(0, 2, 3), ADD_X3, CMP_X3_X4]
    src = _loop_source(body + [_bne(len(body))])
    assert "& -4089:" not in src and REFRESH not in src
    body = [ldr_d(1, 0, 3), msr_fpcr, ldr_d(0, 2, 3), FMADD, str_d(0, 2, 3), ADD_X3, CMP_X3_X4]
    src = _loop_source(body + [_bne(len(body))])
    assert REFRESH not in src and src.count("& -4089:") == 2
