"""Extended attributes of files in the rootfs: the host's, reached inside the root."""
from __future__ import annotations

import shutil
import uuid

from tests.support.guestrun import run_mkemu, run_qemu


def test_xattr_calls_like_qemu(rootfs, guest_binary):
    # the same program under qemu (its -L passes host paths through) and mkemu
    # (guest paths resolved inside the root), each in a fresh directory
    name = f"xa-{uuid.uuid4().hex[:10]}"
    host = rootfs / "tmp" / name
    host.mkdir(parents=True)
    try:
        prog = guest_binary("fs_xattr")
        qc, qo, qe = run_qemu([prog, str(host)], rootfs=rootfs)
        code, out, err = run_mkemu([prog, f"/tmp/{name}"], rootfs=rootfs)
    finally:
        shutil.rmtree(host, ignore_errors=True)
    assert qc == 0, qe.decode(errors="replace")
    assert (code, out) == (qc, qo), err.decode(errors="replace")
    if out != b"no user xattrs here\n":
        assert b"get: 4 blue\ntoo small: Numerical result out of range\n" in out
        assert b"the link itself: No data available\n" in out
