"""Rootfs symlinks that lead into /proc and /dev (issue #6), with real aarch64 programs.

Debian's /etc/mtab is `../proc/self/mounts`: the path walk must follow the
rootfs's own links before it matches the /proc and /dev overlays.  Each test
builds its own small rootfs in a temporary directory (the shared cached
one is never changed).  What a link gives is checked against what its
target gives when named directly, against the host's facts (the guest's
/dev/null is the host's) and, for /dev/null, against qemu-aarch64, which
follows the same link to the host's /dev/null.
"""
from __future__ import annotations

import os
import shutil

import pytest

from tests.support.guestrun import run_mkemu, run_qemu


@pytest.fixture
def linked_root(tmp_path):
    """A rootfs holding the links under test."""
    root = tmp_path / "root"
    for d in ("etc", "proc", "dev", "tmp", "sub"):
        (root / d).mkdir(parents=True)
    os.symlink("../proc/self/mounts", root / "etc" / "mtab")       # Debian's
    os.symlink("/proc/self/cmdline", root / "etc" / "cmdline")
    os.symlink("/dev/null", root / "etc" / "null")
    os.symlink("c2", root / "etc" / "c1")                          # a relative chain to /proc
    os.symlink("../sub/c3", root / "etc" / "c2")
    os.symlink("../proc", root / "sub" / "c3")
    return root


def results(out: bytes) -> dict[str, str]:
    """{"PATH call": result} from the lines links.c prints."""
    lines = out.decode().splitlines()
    return dict(line.split(": ", 1) for line in lines)


def test_rootfs_links_into_proc_and_dev(linked_root, guest_binary):
    paths = ["/etc/mtab", "/proc/self/mounts", "/etc/cmdline", "/proc/self/cmdline",
             "/etc/null", "/etc/c1/self/cmdline", "/etc/c1"]
    code, out, err = run_mkemu([guest_binary("links"), *paths], rootfs=linked_root)
    assert code == 0, err
    got = results(out)
    # the link reads, stats and refuses writes as its target does
    for call in ("read", "write", "stat"):
        assert got[f"/etc/mtab {call}"] == got[f"/proc/self/mounts {call}"], call
        assert got[f"/etc/cmdline {call}"] == got[f"/proc/self/cmdline {call}"], call
        assert got[f"/etc/c1/self/cmdline {call}"] == got[f"/proc/self/cmdline {call}"], call
    mounts = got["/etc/mtab read"]
    assert " / " in mounts and "proc /proc proc " in mounts and "/dev " in mounts
    assert got["/etc/cmdline read"].endswith('\\0/etc/mtab\\0/proc/self/mounts\\0/etc/cmdline'
                                             '\\0/proc/self/cmdline\\0/etc/null\\0'
                                             '/etc/c1/self/cmdline\\0/etc/c1\\0"')
    # readlink and lstat see the rootfs's own links
    for link in ("mtab", "cmdline", "null", "c1"):
        target = os.readlink(linked_root / "etc" / link)
        assert got[f"/etc/{link} readlink"] == f'"{target}"'
        assert got[f"/etc/{link} lstat"] == f"link size {len(target)}"
    kind, mode, owner = got["/etc/c1 stat"].split()     # /proc: a directory all may list
    assert (kind, int(mode, 8) & 0o555, owner) == ("dir", 0o555, "0:0")
    # /etc/null is the host's /dev/null
    null = os.stat("/dev/null")
    assert got["/etc/null stat"] == "chr %o %d:%d" % (null.st_mode & 0o7777, os.major(null.st_rdev),
                                                    os.minor(null.st_rdev))
    assert (got["/etc/null read"], got["/etc/null write"]) == ('""', "5")
    qcode, qout, _ = run_qemu([guest_binary("links"), "/etc/null"], rootfs=linked_root)
    assert (code, {k: v for k, v in got.items() if k.startswith("/etc/null ")}) == \
        (qcode, results(qout))


def test_busybox_reads_debian_mtab(rootfs, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(rootfs, root, symlinks=True)
    os.symlink("../proc/self/mounts", root / "etc" / "mtab")
    code, out, err = run_mkemu(["/bin/busybox", "cat", "/etc/mtab"], rootfs=root)
    assert code == 0, err
    fstype = {line.split()[1]: line.split()[2] for line in out.decode().splitlines()}
    assert "/" in fstype and fstype["/proc"] == "proc" and "/dev" in fstype
    code, direct, err = run_mkemu(["/bin/busybox", "cat", "/proc/mounts"], rootfs=root)
    assert (code, direct) == (0, out), err
