"""The file calls never reach a host file outside the rootfs (tests/guest/files_escape.c).

The test plants a canary file (and a listening AF_UNIX socket) in a host
directory outside the rootfs, and links to them in the guest's directory:
absolute, by a '..' chain, and to the directory itself.  The guest then tries
every path call on them (open, openat2 with and without RESOLVE_*, /proc's
magic links with '..', linkat, renameat2 RENAME_EXCHANGE, O_TMPFILE, unlink,
chmod, xattrs, inotify, AF_UNIX bind/connect...).  Inside the rootfs those
paths name nothing (or a file of the guest's own), so no attempt may read
the canary, and the host directory must be exactly as it was.
"""
from __future__ import annotations

import os
import socket
import uuid

from tests.support.guestrun import run_mkemu


def _snapshot(d):
    """Each entry of d: (name, mode, size, mtime, nlink, content of regular files)."""
    out = []
    for name in sorted(os.listdir(d)):
        st = os.lstat(d / name)
        body = (d / name).read_bytes() if name == "canary" else b""
        out.append((name, st.st_mode, st.st_size, st.st_mtime_ns, st.st_nlink, body))
    return out


def test_no_path_call_reaches_a_host_file_outside_the_rootfs(rootfs, guest_binary, tmp_path):
    secret = f"CANARY-{uuid.uuid4().hex}"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "canary").write_text(secret)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(outside / "host.sock"))
    listener.listen(4)
    listener.setblocking(False)
    name = f"files-esc-{uuid.uuid4().hex[:10]}"
    work = rootfs / "tmp" / name
    work.mkdir()
    try:
        (work / "abs-link").symlink_to(outside / "canary")
        (work / "dotdot-link").symlink_to("../" * 40 + str(outside / "canary").lstrip("/"))
        (work / "dir-link").symlink_to(outside)
        before = _snapshot(outside)
        code, out, err = run_mkemu([guest_binary("files_escape"), f"/tmp/{name}", str(outside)],
                                   rootfs=rootfs)
        after = _snapshot(outside)
        text = out.decode(errors="replace")
        assert code == 0 and text.endswith("done\n"), err.decode(errors="replace")[-3000:]
        assert secret not in text
        assert after == before                      # nothing changed, nothing appeared
        try:
            conn, _ = listener.accept()
            conn.close()
            raise AssertionError("the guest connected to the host's socket")
        except BlockingIOError:
            pass
        lines = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
        # the answers Linux would give for a rootfs where these paths lead nowhere
        for label in ("absolute", "dotdot chain", "abs-link", "dotdot-link", "dir-link/canary",
                      "openat2 none dotdot", "openat2 IN_ROOT dotdot", "my-link",
                      "/proc/self/root/..", "/proc/self/cwd/..", "/proc/self/fd/N/..",
                      "openat /proc/self root/..", "stat absolute", "inotify_add_watch dotdot",
                      "linkat absolute", "renameat2 EXCHANGE absolute", "rename onto dir-link/canary",
                      "truncate abs-link", "O_TMPFILE in the host dir by dotdot",
                      "bind dotdot into the host dir", "connect dir-link/host.sock"):
            assert lines[label] == "ENOENT", (label, lines[label])
        assert lines["openat2 BENEATH dotdot"] == "EXDEV"
        assert lines["openat2 /proc/self BENEATH root/.."] == "EXDEV"
        assert lines["mine after"] == 'read "guest"'       # the exchange never happened
        assert lines["O_TMPFILE in /.."] == "made (in the guest's /)"
    finally:
        listener.close()
        for p in sorted(work.rglob("*"), reverse=True):
            p.unlink() if not p.is_dir() or p.is_symlink() else p.rmdir()
        work.rmdir()
