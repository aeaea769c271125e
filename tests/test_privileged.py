"""Privilege and whole-system calls: capabilities, memory locks, mincore, membarrier and
the clock's state as Linux answers them (compared with qemu-aarch64, which passes them
to this host as root), and every call that would act on the whole host refused."""
from __future__ import annotations

import time

from tests.support.guestrun import run_mkemu, run_qemu


def test_capabilities_locks_mincore_like_qemu(rootfs, guest_binary):
    prog = guest_binary("priv_calls")
    qc, qo, qe = run_qemu([prog], rootfs=rootfs)
    assert qc == 0, qe.decode(errors="replace")
    code, out, err = run_mkemu([prog], rootfs=rootfs)
    assert (code, out) == (qc, qo), err.decode(errors="replace")
    text = out.decode()
    assert "now: net_raw effective 0 permitted 1" in text       # the drop is seen
    assert "mincore: ok [1 1 1]" in text and "mincore over a hole: Cannot allocate" in text


def test_whole_host_calls_refused(rootfs, guest_binary):
    # never under qemu: as root here it would mount, set the clock, ... on this host
    before = time.time()
    code, out, err = run_mkemu([guest_binary("priv_calls"), "try-host"], rootfs=rootfs)
    assert code == 0, err.decode(errors="replace")
    tail = out.decode().split("tick set\n", 1)[1]
    refused = "Operation not permitted"
    assert tail == "mlock2 (qemu lacks it): ok\n" + "".join(f"{name}: {refused}\n" for name in (
        "mount tmpfs", "umount2", "reboot", "settimeofday", "clock_settime", "unshare",
        "swapon", "init_module")) + f"syslog read: 0 bytes\nadjtimex change: {refused}\n"
    assert b"ENOSYS" not in err and time.time() >= before
