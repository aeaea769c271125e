"""Integer loads and stores of every size, alignment and sign form, pairs across a page
end, accesses after munmap/mprotect, after fork (copy-on-write) and through a file page
mapped twice, against qemu-aarch64 (tests/guest/int_access.c); and the shape of an
aligned word store's fast path (cpu/block.py: the alignment tested on the page offset)."""
from __future__ import annotations

from mkemu.cpu.block import BlockBuilder
from tests.support.guestrun import run_mkemu, run_qemu


def test_int_access_matches_qemu(rootfs, guest_binary):
    prog = guest_binary("int_access")
    code, out, err = run_mkemu([str(prog)], rootfs=rootfs, timeout=300)
    qcode, qout, _ = run_qemu([str(prog)], rootfs=rootfs)
    assert (code, out) == (qcode, qout), err.decode(errors="replace")[-3000:]
    assert out.count(b"\n") == 6 + 4 + 2 + 1
    assert b"step 0: " in out and b"faults 1 1 1" in out     # the unmapped page faults


def test_word_store_tests_alignment_on_the_offset():
    for size, view in ((4, "WL"), (8, "WQ")):
        b = BlockBuilder(0, set())
        b.store("_a1", "x2", size)
        text = "\n".join(b.lines)
        assert "_o = _a1 & 4095" in text and f"if _o & {size - 1}:" in text, text
        assert f"{view}[_a1 >> 12][_o >> {size.bit_length() - 1}] = x2" in text, text
