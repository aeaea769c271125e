"""Loads through a page that changes under them (munmap, mprotect, MAP_FIXED remap,
copy-on-write, fork, threads, mremap, ftruncate): tests/guest/page_change_loads.c
against qemu-aarch64, in the full translation and the default tiers; and DC ZVA on
pages out of the write TLB (tests/guest/dc_zva_pages.c)."""
from __future__ import annotations

import pytest

from tests.support.guestrun import run_mkemu, run_qemu


@pytest.mark.parametrize("tier", ["off", ""])
def test_loads_after_the_page_changed_match_qemu(rootfs, guest_binary, tier):
    prog = guest_binary("page_change_loads")
    code, out, err = run_mkemu([str(prog)], rootfs=rootfs, timeout=120,
                               env={"MKEMU_TIER": tier})
    qcode, qout, _ = run_qemu([str(prog)], rootfs=rootfs)
    assert (code, out) == (qcode, qout), err.decode(errors="replace")[-3000:]
    assert out.endswith(b"done\n")
    for line in (b"munmap after: SIGSEGV", b"mprotect none: SIGSEGV", b"mremap old address: SIGSEGV",
                 b"ftruncate second after: SIGBUS", b"torn 0 backwards 0"):
        assert line in out


@pytest.mark.parametrize("tier", ["off", ""])
def test_dc_zva_on_pages_out_of_the_write_tlb(rootfs, guest_binary, tier):
    # tests/guest/dc_zva_pages.c: DC ZVA after mprotect took write access away and gave
    # it back, and on a copy-on-write page after fork: the slow path's 16-byte stores.
    # The block is 4 << DCZID_EL0.BS bytes (mkemu's 64, qemu's 512: implementation
    # defined), so the expected lines are worked out here from the DCZID the guest read
    prog = guest_binary("dc_zva_pages")
    code, out, err = run_mkemu([str(prog)], rootfs=rootfs, timeout=120, env={"MKEMU_TIER": tier})
    assert code == 0, err.decode(errors="replace")[-3000:]
    lines = out.decode().splitlines()
    dczid = int(lines[0].split()[1], 16)
    assert dczid >> 4 & 1 == 0          # DZP: DC ZVA allowed
    block = 4 << (dczid & 0xF)

    def zeroed(offset: int) -> str:
        first = offset // block * block
        return f"zeros {block} first {first} last {first + block - 1}"

    page = 4096
    expected = [f"after mprotect, offset {o}: {zeroed(o)}"
                for o in (0, 64 * 7 + 13, page - 64, page - 1, page + 64 * 33 + 40)]
    expected += [f"child after fork: {zeroed(page + 128 + 7)}",
                 "parent after the child's: zeros 0 first -1 last -1",
                 f"parent's own: {zeroed(64)}", "done"]
    assert lines[1:] == expected
