"""MAP_SHARED mappings write through to their file; MAP_PRIVATE ones copy a page at
its first write (tests/guest/mmap_shared.c under mkemu and under qemu-aarch64).

The scratch file lives in the rootfs's /tmp for mkemu and in a host temporary
directory for qemu; the program prints nothing that depends on where.
"""
from __future__ import annotations

import uuid

import pytest

from tests.support.guestrun import run_mkemu, run_qemu

# What Linux prints where qemu-aarch64 7.2 does not (see the fixture's header)
STRICT_LINUX = """\
strict: MAP_SHARED_VALIDATE = 0
strict: MAP_SHARED_VALIDATE with MAP_SYNC = -1 EOPNOTSUPP
strict: mremap of 0 bytes makes an alias: 1
strict: alias sees: via a, original sees: via alias
strict: mremap of 0 bytes of private memory = -1 EINVAL
strict: code written through the other view returns 1
strict: code written through the other view returns 2
strict: code written through the other view returns 3
"""


def _split(out: bytes) -> tuple[list[bytes], bytes]:
    lines = out.splitlines(keepends=True)
    return ([line for line in lines if not line.startswith(b"strict:")],
            b"".join(line for line in lines if line.startswith(b"strict:")))


def _run_both(rootfs, guest_binary, tmp_path, *args):
    prog = guest_binary("mmap_shared")
    guest_file = f"/tmp/mmap-shared-{uuid.uuid4().hex[:10]}"
    q = run_qemu([prog, tmp_path / "scratch", *args], rootfs=rootfs)
    m = run_mkemu([prog, guest_file, *args], rootfs=rootfs)
    left = rootfs / guest_file.lstrip("/")
    if left.exists():            # the guest died before it removed its file
        left.unlink()
    return q, m


def test_shared_and_private_file_mappings_match_qemu(rootfs, guest_binary, tmp_path):
    (qc, qo, _), (mc, mo, me) = _run_both(rootfs, guest_binary, tmp_path)
    assert (mc, _split(mo)[0]) == (qc, _split(qo)[0]), me.decode(errors="replace")[-3000:]
    assert b'store, then read() by another fd: 5 "hello"\n' in mo
    assert _split(mo)[1] == STRICT_LINUX.encode()


@pytest.mark.parametrize("how", ["bus", "truncate", "other"])
def test_access_beyond_the_end_of_the_file_is_sigbus(rootfs, guest_binary, tmp_path, how):
    (qc, qo, _), (mc, mo, me) = _run_both(rootfs, guest_binary, tmp_path, how)
    assert (mc, mo) == (qc, qo) == (128 + 7, mo)
    assert mo.endswith(b"touching the page beyond the end of the file\n")
    # mkemu's own report: the guest got the fault, the task was not killed by the host
    assert b"killed by SIGBUS: bus error: beyond the end of a mapped file" in me
