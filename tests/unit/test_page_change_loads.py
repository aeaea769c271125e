"""Loads through a page that changes under them (munmap, mprotect, MAP_FIXED remap,
copy-on-write, fork, threads, mremap, ftruncate): tests/guest/page_change_loads.c
against qemu-aarch64, in the full translation and the default tiers."""
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
