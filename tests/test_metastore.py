"""The metadata store (fs/metastore.py): ownership, modes and device nodes the host
user cannot give a file, recorded beside the rootfs and shown to the guest.

Guest tests run in a private copy of the busybox rootfs (the shared one never gets a
store).  What root's chown and chmod do is checked against qemu-aarch64 run as root
on the host, where they are real; device nodes against Linux's documented
behaviour (qemu as root would make real host devices).  Running as a host user who
is not root: the test drops to nobody (65534) after Python has loaded mkemu, so it
works wherever the checkout and Python are not readable by that user.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mkemu.fs.metastore import MetaStore, db_path, import_tree
from mkemu.fs.structs import host_statx
from mkemu.record import replace
from tests.support.guestrun import REPO, run_command, run_mkemu, run_qemu

NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root on the host")


def _copy_rootfs(rootfs: Path, where: Path) -> Path:
    root = where / "root"
    shutil.copytree(rootfs, root, symlinks=True)
    return root


@pytest.fixture
def own_rootfs(rootfs, tmp_path) -> Path:
    """A private copy of the busybox rootfs, its store (if any) beside it."""
    return _copy_rootfs(rootfs, tmp_path)


def _scratch(root: Path, name: str) -> Path:
    d = root / "tmp" / name
    d.mkdir()
    d.chmod(0o1777)
    return d


def _sh(root: Path, script: str, *extra: str, env=None):
    code, out, err = run_mkemu(["/bin/busybox", "sh", "-c", script], rootfs=root,
                               extra=extra, env=env)
    assert code == 0, err.decode(errors="replace")
    return out.decode()


# ---- the store itself ---------------------------------------------------------------------------
@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    return root


def _host(path: Path):
    fd = os.open(path, os.O_PATH | os.O_NOFOLLOW)
    try:
        return host_statx(fd)
    finally:
        os.close(fd)


def test_rename_and_hard_links_keep_a_row_and_the_last_unlink_drops_it(tree):
    store = MetaStore(str(tree))
    (tree / "a").write_text("x")
    store.record(_host(tree / "a"), uid=7, gid=8)
    os.rename(tree / "a", tree / "b")
    os.link(tree / "b", tree / "c")
    assert [(store.view(_host(tree / n)).uid, store.view(_host(tree / n)).gid)
            for n in "bc"] == [(7, 8), (7, 8)]
    dfd = os.open(tree, os.O_PATH | os.O_DIRECTORY)
    try:
        assert store.doomed(dfd, b"b") is None         # c still links it
        os.unlink(tree / "b")
        gone = store.doomed(dfd, b"c")
        assert gone is not None
        os.unlink(tree / "c")
        store.forget(gone)
    finally:
        os.close(dfd)
    db = sqlite3.connect(store.path)
    assert db.execute("SELECT count(*) FROM inodes").fetchone()[0] == 0
    db.close()
    store.close()


def test_a_reused_inode_number_does_not_inherit_the_old_row(tree):
    store = MetaStore(str(tree))
    (tree / "old").write_text("x")
    old = _host(tree / "old")
    store.record(old, uid=7, perm=0o4755)
    # a later file with the same device and inode number: another birth time
    newer = replace(old, btime_ns=old.btime_ns + 1_000_000_000)
    seen = store.view(replace(newer))
    assert (seen.uid, seen.mode & 0o7777) == (old.uid, old.mode & 0o7777)
    seen = store.view(replace(old))
    assert (seen.uid, seen.mode & 0o7777) == (7, 0o4755)
    store.close()


def test_no_database_until_something_is_recorded(tree):
    store = MetaStore(str(tree), records_owners=True)
    (tree / "f").write_text("x")
    st = _host(tree / "f")
    assert store.view(replace(st)).uid == (0 if st.uid == os.getuid() else st.uid)
    store.record(st, uid=None, perm=None)           # nothing to keep
    dfd = os.open(tree, os.O_PATH | os.O_DIRECTORY)
    store.forget(store.doomed(dfd, b"f"))
    os.close(dfd)
    assert not os.path.exists(db_path(str(tree)))
    store.record(st, uid=5)
    assert db_path(str(tree)) == str(tree) + ".meta/meta.db" and os.path.exists(db_path(str(tree)))
    store.close()


def test_rows_follow_the_rootfs_to_another_device_number(tree):
    store = MetaStore(str(tree))
    (tree / "f").write_text("x")
    st = _host(tree / "f")
    store.record(st, uid=9)
    store.close()
    db = sqlite3.connect(db_path(str(tree)))       # as if made when the disk had number 77
    db.execute("UPDATE inodes SET dev=77")
    db.execute("UPDATE facts SET value=77 WHERE name='root_dev'")
    db.commit()
    db.close()
    again = MetaStore(str(tree))
    assert again.view(replace(st)).uid == 9
    again.close()


def test_sqlite_descriptors_stay_out_of_the_guests_range(tree):
    base = 600
    store = MetaStore(str(tree), fd_base=base)
    (tree / "f").write_text("x")
    store.record(_host(tree / "f"), uid=3)
    assert store.fds and min(store.fds) >= base
    low = os.open("/", os.O_PATH)                  # the lowest free descriptor is still free
    os.close(low)
    assert low < base
    store.close()


@needs_root
def test_import_records_owners_modes_and_turns_device_nodes_into_plain_files(tree):
    (tree / "bin").mkdir()
    prog = tree / "bin" / "su"
    prog.write_text("x")
    os.chown(prog, 5, 6)
    os.chmod(prog, 0o4755)
    os.mknod(tree / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.chmod(tree / "null", 0o666)                  # past the umask
    assert import_tree(str(tree)) == (4, 1)         # ., bin, bin/su, null
    assert stat.S_ISREG(os.lstat(tree / "null").st_mode)
    os.chown(prog, 0, 0)                            # the host loses what the store keeps
    store = MetaStore(str(tree))
    su, null = store.view(_host(prog)), store.view(_host(tree / "null"))
    assert (su.uid, su.gid, su.mode) == (5, 6, stat.S_IFREG | 0o4755)
    assert (stat.S_IFMT(null.mode), null.rdev, null.mode & 0o7777) == \
        (stat.S_IFCHR, os.makedev(1, 3), 0o666)
    store.close()


# ---- the guest ----------------------------------------------------------------------------------
@needs_root
def test_chown_and_chmod_as_root_match_real_root(own_rootfs, tmp_path, guest_binary):
    prog = guest_binary("meta_owner")
    host_dir = tmp_path / "qemu-scratch"
    host_dir.mkdir()
    qc, qo, qe = run_qemu([prog, host_dir], rootfs=own_rootfs)
    assert qc == 0, qe.decode(errors="replace")
    _scratch(own_rootfs, "owner")
    code, out, err = run_mkemu([prog, "/tmp/owner"], rootfs=own_rootfs, extra=["--root-as-user"])
    assert (code, out.decode()) == (qc, qo.decode()), err.decode(errors="replace")
    assert b"after chown                  uid 123 gid 45 mode 100644\n" in out   # not vacuous


NODES_MADE = """\
mknod null c 1 3: ok
mknod zero c 1 5: ok
mknod sda1 b 8 1: ok
mknod odd c 240 7: ok
mknod fifo: ok
mkfifo: ok
mknod sock: ok
mknod again: EEXIST
chown null 0:5: ok
open null: ok
write to null: 5
read from null: 0
read from zero: 4, all zero 1
open sda1: ENXIO
open odd: ENXIO
rename sda1 disk: ok
link disk disk2: ok
unlink disk: ok
unlink odd: ok
user: mknod c: EPERM
user: mknod fifo: ok
"""
NODES_SEEN = """\
null: chr 644 uid 0 gid 5 rdev 1,3
zero: chr 644 uid 0 gid 0 rdev 1,5
disk: ENOENT
disk2: blk 640 uid 0 gid 0 rdev 8,1
odd: ENOENT
plain: reg 644 uid 0 gid 0
fifo: fifo 640 uid 0 gid 0
fifo2: fifo 600 uid 0 gid 0
sock: sock 600 uid 0 gid 0
d_type: disk2=blk fifo=fifo fifo2=fifo null=chr plain=reg sock=sock zero=chr
"""


@pytest.mark.parametrize("root_as_user", [True, False], ids=["root-as-user", "host-root"])
def test_device_nodes_fifos_and_sockets_survive_a_restart(own_rootfs, guest_binary, root_as_user):
    if not root_as_user and os.geteuid() != 0:
        pytest.skip("the guest is root without --root-as-user only for a root host user")
    prog = guest_binary("meta_nodes")
    scratch = _scratch(own_rootfs, "nodes")
    flag = ["--root-as-user" if root_as_user else "--no-root-as-user"]
    code, out, err = run_mkemu([prog, "make", "/tmp/nodes"], rootfs=own_rootfs, extra=flag)
    assert (code, out.decode()) == (0, NODES_MADE + NODES_SEEN), err.decode(errors="replace")
    # a new machine sees them; the host holds no device node, only plain files
    code, out, err = run_mkemu([prog, "show", "/tmp/nodes"], rootfs=own_rootfs, extra=flag)
    assert (code, out.decode()) == (0, NODES_SEEN), err.decode(errors="replace")
    assert [n for n in os.listdir(scratch)
            if stat.S_ISCHR(os.lstat(scratch / n).st_mode) or stat.S_ISBLK(os.lstat(scratch / n).st_mode)] == []
    assert stat.S_ISFIFO(os.lstat(scratch / "fifo").st_mode)


@needs_root
def test_busybox_sees_chown_chmod_mknod_after_a_restart(own_rootfs):
    _sh(own_rootfs, "cd /tmp && touch f && chown 123:45 f && chmod 4710 f && mknod n c 1 3 "
                    "&& mkfifo p && chown 7:8 p", "--root-as-user")
    out = _sh(own_rootfs, "cd /tmp && ls -ln f n p", "--root-as-user")
    lines = [line.split() for line in out.splitlines()]
    assert [(ln[0], ln[2], ln[3]) for ln in lines] == [
        ("-rws--x---", "123", "45"), ("crw-r--r--", "0", "0"), ("prw-r--r--", "7", "8")]
    assert lines[1][4:6] == ["1,", "3"]
    host = os.lstat(own_rootfs / "tmp" / "f")            # the host file was not given away
    assert (host.st_uid, host.st_gid, host.st_mode & 0o7777) == (0, 0, 0o710 | 0o600)


@needs_root
def test_without_a_store_chown_is_the_hosts_as_before(own_rootfs):
    out = _sh(own_rootfs, "cd /tmp && touch f && chown 123:45 f && chmod 640 f && ls -ln f && id -u")
    assert out.split()[0:4:2] == ["-rw-r-----", "123"] and out.split()[3] == "45"
    assert out.splitlines()[-1] == "0"
    host = os.lstat(own_rootfs / "tmp" / "f")
    assert (host.st_uid, host.st_gid, host.st_mode & 0o7777) == (123, 45, 0o640)
    _sh(own_rootfs, "ls -ln /tmp /bin >/dev/null", "--root-as-user")   # reading records nothing
    assert not os.path.exists(db_path(str(own_rootfs)))


# ---- a host user who is not root --------------------------------------------------------------
_AS_NOBODY = """
import importlib, os, pkgutil, sys
import mkemu
for m in pkgutil.walk_packages(mkemu.__path__, "mkemu."):
    if not m.name.endswith("__main__"):
        importlib.import_module(m.name)       # all of mkemu, before its files may be unreadable
from mkemu.cli import build_parser, main
build_parser()                                # reads the installed package's metadata now
os.setgroups([])
os.setresgid(%d, %d, %d)
os.setresuid(%d, %d, %d)
sys.exit(main(sys.argv[1:]))
""" % ((NOBODY,) * 6)


@pytest.fixture
def nobodys_rootfs(rootfs):
    """A copy of the rootfs in a directory of its own, all owned by nobody."""
    where = Path(tempfile.mkdtemp(prefix="mkemu-meta-", dir="/tmp"))   # every user may enter /tmp
    try:
        root = _copy_rootfs(rootfs, where)
        yield root
    finally:
        shutil.rmtree(where, ignore_errors=True)


def _as_nobody(root: Path, script: str, *extra: str) -> tuple[int, str, str]:
    for dirpath, dirnames, filenames in os.walk(root.parent):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            os.lchown(name, NOBODY, NOBODY)
    env = {**os.environ, "PYTHONPATH": str(REPO), "MKEMU_NO_CODE_CACHE": "1"}
    code, out, err = run_command([sys.executable, "-c", _AS_NOBODY, "run", "--rootfs", str(root),
                                  *extra, "--", "/bin/busybox", "sh", "-c", script], env=env,
                                 cwd="/")
    return code, out.decode(), err.decode(errors="replace")


@needs_root
def test_a_user_who_is_not_root_is_root_in_the_guest(nobodys_rootfs):
    code, out, err = _as_nobody(nobodys_rootfs, "id -u; id -g; cd /tmp; touch f; chown 123:45 f; "
                                                "chmod 0 f; echo data > f; cat f; ls -ln f; "
                                                "mkdir -m 0 d; touch d/in && echo made")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:3] == ["0", "0", "data"], err
    assert lines[3].split()[0:4:2] == ["----------", "123"] and lines[3].split()[3] == "45"
    assert lines[4] == "made"
    host = os.lstat(nobodys_rootfs / "tmp" / "f")
    assert (host.st_uid, host.st_gid) == (NOBODY, NOBODY)
    assert os.stat(db_path(str(nobodys_rootfs))).st_uid == NOBODY
    # a later run sees the same, and with --no-root-as-user the host's ids
    code, out, err = _as_nobody(nobodys_rootfs, "ls -ln /tmp/f")
    assert out.split()[2:4] == ["123", "45"], err
    code, out, err = _as_nobody(nobodys_rootfs, "id -u; chown 5 /tmp/d; echo $?",
                                "--no-root-as-user")
    assert out.split()[0] == str(NOBODY) and out.split()[-1] == "1", err


@needs_root
def test_import_meta_keeps_a_root_builds_owners_for_a_user(nobodys_rootfs):
    f = nobodys_rootfs / "bin" / "tool"
    f.write_text("x")
    os.chown(f, 123, 45)
    os.chmod(f, 0o4755)
    os.mknod(nobodys_rootfs / "root" / "zero", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    os.chmod(nobodys_rootfs / "root" / "zero", 0o666)
    r = subprocess.run([sys.executable, "-m", "mkemu", "rootfs", "import-meta", str(nobodys_rootfs)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "1 device nodes made plain files" in r.stdout
    assert stat.S_ISREG(os.lstat(nobodys_rootfs / "root" / "zero").st_mode)
    code, out, err = _as_nobody(nobodys_rootfs, "ls -ln /bin/tool /root/zero; "
                                                "head -c 2 /root/zero | wc -c")
    assert code == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert (lines[0][0], lines[0][2], lines[0][3]) == ("-rwsr-xr-x", "123", "45")
    assert (lines[1][0], lines[1][2], lines[1][3], lines[1][4], lines[1][5]) == \
        ("crw-rw-rw-", "0", "0", "1,", "5")
    assert lines[2] == ["2"]


def test_mkemu_run_starts_without_sqlite_and_the_store_still_opens(tmp_path):
    # sqlite3 is imported with the first connection (fs/metastore.py _sqlite), not by
    # every start-up; an OSError inside a store method stays an OSError before that
    code = f"""if True:
        import errno, os, sys
        import mkemu.cli
        from mkemu.fs import metastore
        assert "sqlite3" not in sys.modules, "imported at start-up"
        store = metastore.MetaStore({str(tmp_path)!r})
        @metastore._as_oserror
        def fails(self):
            raise OSError(errno.ENOSPC, "full")
        try:
            fails(store)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
        assert store._conn() is None and "sqlite3" not in sys.modules   # no store: none
        assert store._conn(create=True) is not None and "sqlite3" in sys.modules
        assert os.path.exists(metastore.db_path({str(tmp_path)!r}))
    """
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert r.returncode == 0, r.stderr
