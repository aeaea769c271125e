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


def test_proc_files_have_no_attributes(full_rootfs):
    # coreutils' ls -l asks each name's security.selinux (lgetxattr): a /proc file or
    # magic link of mkemu's own has none (EOPNOTSUPP, as Linux's proc files), where it
    # printed "Too many levels of symbolic links" for every /proc/self/fd entry
    code, out, err = run_mkemu(["/bin/ls", "-l", "/proc/self/fd/0", "/proc/self/status"],
                               rootfs=full_rootfs)
    assert code == 0 and b"levels" not in err, err.decode(errors="replace")[-3000:]
    assert b"/proc/self/fd/0 -> " in out and b"/proc/self/status" in out, out
