"""The metadata store: ownership, modes and file types the host cannot give a file.

A guest system expects to be root: to chown files to other users, to set
setuid bits, to make device nodes.  The host user running mkemu usually
cannot, and mkemu never makes a host device node even when it can.  The
store records, per host inode, what the guest set and the host does not
hold, and every stat the guest makes shows that view (fs/structs.Stat is
edited before it is packed).

Where: an sqlite database in a directory beside the rootfs directory,
`DIR.meta/meta.db` (`DIR` its real path; see db_path for the fallback under
the user's cache directory; WAL mode, so machines and processes share it and
a crash leaves it consistent).  It is outside the tree, so no guest path
reaches it.  It is made only when something must be recorded: a rootfs
without one behaves as if the store did not exist.

Keys: a row belongs to an inode, (st_dev, st_ino), so renames and hard
links need nothing.  Inode numbers are reused once a file is gone, so a row
also holds the inode's birth time (statx btime; 0 where the host keeps
none) and a row whose birth time differs from the file's is stale and
ignored.  Removing the last link of a file (unlink, rmdir, a rename over
it) drops its row.  The rootfs's own st_dev is remembered: if it changes
(another boot, another mount) the rows move to the new number.

A row's columns, each NULL when the host's value stands:
  uid, gid   the owner (chown)
  perm       the 12 permission bits (chmod), when the host file has others
  kind       S_IFCHR or S_IFBLK: the host holds an empty regular file
  rdev       the device number of such a node

Two ways to run (`records_owners`):
* recorded ownership (`mkemu run --root-as-user`, the default for a host
  user who is not root): the guest is root; chown is recorded, never done on
  the host; the host user's own files are the guest root's (uid/gid 0).  A
  chmod goes to the host as far as the host user keeps access (its owner
  bits stay rw, rwx for directories; no setuid/setgid on host files) and the
  bits the host file does not show are recorded.
* host ownership (root on the host without --root-as-user): chown and chmod
  go to the host, as without the store; only device nodes are recorded.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat

from .structs import DT_BLK, DT_CHR, DT_REG, Stat, host_statx, iter_dirents64

try:
    # hashlib's sha256 without importing hashlib, which loads OpenSSL (~2.5 ms of every
    # start-up): Python's own implementation, the same digest
    from _sha256 import sha256 as _sha256       # Python 3.11
except ImportError:
    try:
        from _sha2 import sha256 as _sha256     # 3.12 and later
    except ImportError:
        from hashlib import sha256 as _sha256

META_DIR_SUFFIX = ".meta"        # DIR.meta/ beside the tree DIR
DB_NAME = "meta.db"
S_IFCHR, S_IFBLK = stat.S_IFCHR, stat.S_IFBLK
PERM = 0o7777
_SETID = stat.S_ISUID | stat.S_ISGID

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inodes (
    dev INTEGER NOT NULL, ino INTEGER NOT NULL,
    born INTEGER NOT NULL,
    uid INTEGER, gid INTEGER, perm INTEGER, kind INTEGER, rdev INTEGER,
    PRIMARY KEY (dev, ino));
CREATE TABLE IF NOT EXISTS facts (name TEXT PRIMARY KEY, value INTEGER);
"""

# Connections a forked child inherited: its parent's (or, with a shared descriptor table,
# its sibling thread's) to keep using; never used or closed here.
_inherited: list[sqlite3.Connection] = []

# sqlite3 is imported with the first connection (~2 ms of every start-up otherwise,
# while most machines never open a store)
sqlite3 = None


def _sqlite():
    global sqlite3
    if sqlite3 is None:
        import sqlite3 as module
        sqlite3 = module
    return sqlite3


def db_path(rootfs_dir: str) -> str:
    """Where the store of a rootfs lives: `DIR.meta/meta.db`, a directory beside the tree
    (sqlite keeps its -wal and -shm files there too, so whoever may write that directory may
    use the store).  Where nothing can be made beside the tree (its parent is not the user's
    to write, or the tree is the host's `/`), under the user's cache directory, keyed by the
    tree's real path.  An existing store is found in either place."""
    real = os.path.realpath(rootfs_dir)
    cache = os.environ.get("MKEMU_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "mkemu")
    cached = os.path.join(cache, "meta", _sha256(real.encode()).hexdigest()[:16], DB_NAME)
    if real == "/":
        return cached
    beside = os.path.join(real + META_DIR_SUFFIX, DB_NAME)
    if os.path.exists(beside) or not os.path.exists(cached) and \
            os.access(os.path.dirname(real), os.W_OK | os.X_OK):
        return beside
    return cached


def _s64(v: int) -> int:
    """An unsigned 64-bit number as sqlite's signed INTEGER."""
    v &= 0xFFFF_FFFF_FFFF_FFFF
    return v - (1 << 64) if v >> 63 else v


def _born(st: Stat) -> int:
    return st.btime_ns or 0


def key_of(st: Stat) -> tuple[int, int, int]:
    """What identifies a file's row: (dev, ino, birth time)."""
    return _s64(st.dev), _s64(st.ino), _born(st)


@contextlib.contextmanager
def _descriptors_above(base: int | None):
    """While sqlite opens its files, every free descriptor below `base` is taken, so sqlite's
    land at or above it, among mkemu's own (a guest never sees or closes them).  Once per
    process; a thread sharing the descriptor table that opens a file in that moment gets
    EMFILE."""
    if base is None:
        yield
        return
    held = [os.open("/", os.O_PATH | os.O_CLOEXEC)]
    try:
        while held[-1] < base:
            try:
                held.append(os.dup(held[0]))
            except OSError:
                break
        yield
    finally:
        for fd in held:
            os.close(fd)


def _as_oserror(method):
    """An sqlite failure (a store the user may not write, a disk error) reaches the guest as
    EIO, never as a Python exception out of a syscall handler."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as e:
            if sqlite3 is None or not isinstance(e, sqlite3.Error):
                raise
            raise OSError(errno.EIO, f"metadata store {self.path}: {e}") from None
    return wrapper


def _open_fds() -> set[int]:
    return {int(n) for n in os.listdir("/proc/self/fd")}


class MetaStore:
    def __init__(self, rootfs_dir: str, records_owners: bool = False, fd_base: int | None = None,
                 host_ids: tuple[int, int] | None = None) -> None:
        self.path = db_path(rootfs_dir)
        self.root_dev = _s64(os.stat(rootfs_dir).st_dev)
        self.records_owners = records_owners
        self.fd_base = fd_base
        self.host_uid, self.host_gid = host_ids if host_ids is not None else (os.getuid(), os.getgid())
        self.fds: set[int] = set()          # the descriptors sqlite holds in this process
        self.reserve = None                 # called with each of them (the task hides them)
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._kinds: dict[tuple[int, int], tuple[int, int]] = {}
        self._kinds_version: int | None = None

    # ---- the database ------------------------------------------------------------------
    def exists(self) -> bool:
        return (self._db is not None and self._pid == os.getpid()) or os.path.exists(self.path)

    @_as_oserror
    def _conn(self, create: bool = False) -> sqlite3.Connection | None:
        if self._db is not None:
            if self._pid == os.getpid():
                return self._db
            _inherited.append(self._db)        # a forked child: open a connection of its own
            self._db = None
            self.fds = set()
        if not create and not os.path.exists(self.path):
            return None
        if create:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        before = _open_fds()
        with _descriptors_above(self.fd_base):
            db = _sqlite().connect(self.path, timeout=60, isolation_level=None,
                                 check_same_thread=False)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.execute("PRAGMA temp_store=MEMORY")      # no temporary files to open later
                db.executescript(_SCHEMA)
                self._follow_root_dev(db)
            except BaseException:
                db.close()
                raise
        self.fds = _open_fds() - before
        for fd in self.fds if self.reserve is not None else ():
            self.reserve(fd)
        self._db, self._pid = db, os.getpid()
        self._kinds_version = None
        return db

    def _follow_root_dev(self, db: sqlite3.Connection) -> None:
        """The rows follow the rootfs to a new device number (a remount, another boot)."""
        row = db.execute("SELECT value FROM facts WHERE name='root_dev'").fetchone()
        if row is not None and row[0] == self.root_dev:
            return                              # the usual case: nothing to write
        with self._write(db):
            row = db.execute("SELECT value FROM facts WHERE name='root_dev'").fetchone()
            if row is None:
                db.execute("INSERT INTO facts VALUES ('root_dev', ?)", (self.root_dev,))
            elif row[0] != self.root_dev:
                db.execute("DELETE FROM inodes WHERE dev=?", (self.root_dev,))
                db.execute("UPDATE inodes SET dev=? WHERE dev=?", (self.root_dev, row[0]))
                db.execute("UPDATE facts SET value=? WHERE name='root_dev'", (self.root_dev,))

    @contextlib.contextmanager
    def _write(self, db: sqlite3.Connection):
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._kinds_version = None

    def close(self) -> None:
        if self._db is not None and self._pid == os.getpid():
            self._db.close()
        self._db = None
        self.fds = set()

    # ---- reading -------------------------------------------------------------------------
    def _row(self, db: sqlite3.Connection, st: Stat):
        """(uid, gid, perm, kind, rdev) recorded for the file st describes, or None."""
        dev, ino, born = key_of(st)
        r = db.execute("SELECT born, uid, gid, perm, kind, rdev FROM inodes WHERE dev=? AND ino=?",
                       (dev, ino)).fetchone()
        if r is None or (r[0] and born and r[0] != born):
            return None                         # none, or a row of a file gone before this one
        return r[1:]

    @_as_oserror
    def view(self, st: Stat) -> Stat:
        """st as the guest sees it (edited in place and returned)."""
        if self.records_owners:
            if st.uid == self.host_uid:
                st.uid = 0
            if st.gid == self.host_gid:
                st.gid = 0
        db = self._conn()
        if db is None:
            return st
        r = self._row(db, st)
        if r is not None:
            uid, gid, perm, kind, rdev = r
            if uid is not None:
                st.uid = uid
            if gid is not None:
                st.gid = gid
            if perm is not None:
                st.mode = (st.mode & ~PERM) | perm
            if kind is not None and stat.S_ISREG(st.mode):
                st.mode = kind | (st.mode & PERM)
                st.rdev = rdev or 0
        return st

    @_as_oserror
    def device_of(self, st: Stat) -> tuple[int, int] | None:
        """(kind, rdev) of a recorded device node the host holds as the file st describes."""
        if not stat.S_ISREG(st.mode):
            return None
        db = self._conn()
        r = None if db is None else self._row(db, st)
        if r is None or r[3] is None:
            return None
        return r[3], r[4] or 0

    @_as_oserror
    def special_inodes(self) -> dict[tuple[int, int], tuple[int, int]]:
        """(dev, ino) -> (kind, rdev) of every recorded device node (for directory listings)."""
        db = self._conn()
        if db is None:
            return {}
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._kinds_version:
            self._kinds = {(d, i): (k, r or 0) for d, i, k, r in db.execute(
                "SELECT dev, ino, kind, rdev FROM inodes WHERE kind IS NOT NULL")}
            self._kinds_version = version
        return self._kinds

    # ---- recording -------------------------------------------------------------------------
    _COLUMNS = ("uid", "gid", "perm", "kind", "rdev")

    @_as_oserror
    def record(self, st: Stat, **changes) -> None:
        """Set columns of st's row (a value None: the host's again); a row left with nothing
        is removed.  The database is made here when a value must be kept."""
        keeps = any(v is not None for v in changes.values())
        db = self._conn(create=keeps)
        if db is None:
            return
        dev, ino, born = key_of(st)
        with self._write(db):
            r = self._row(db, st)
            cur = dict(zip(self._COLUMNS, r)) if r is not None else dict.fromkeys(self._COLUMNS)
            cur.update(changes)
            if cur["kind"] is None:
                cur["rdev"] = None
            if all(v is None for v in cur.values()):
                db.execute("DELETE FROM inodes WHERE dev=? AND ino=?", (dev, ino))
            else:
                db.execute("INSERT OR REPLACE INTO inodes VALUES (?,?,?,?,?,?,?,?)",
                           (dev, ino, born, *(cur[c] for c in self._COLUMNS)))

    @_as_oserror
    def forget(self, key: tuple[int, int, int] | None) -> None:
        """The file with this key is gone (its last link removed): drop its row."""
        if key is None:
            return
        db = self._conn()
        if db is None:
            return
        dev, ino, born = key
        with self._write(db):
            db.execute("DELETE FROM inodes WHERE dev=? AND ino=? AND (born=? OR born=0 OR ?=0)",
                       (dev, ino, born, born))

    # ---- the rules of the two ways to run ---------------------------------------------------
    def host_perm(self, perm: int, is_dir: bool) -> int:
        """The permission bits a host file gets when the guest asks for perm: with recorded
        ownership the host user keeps its access and no host file is setuid/setgid."""
        if not self.records_owners:
            return perm
        if is_dir:
            return perm | 0o700
        return (perm | 0o600) & ~_SETID

    def owner_for_chown(self, view: Stat, uid: int, gid: int) -> tuple[int, int, int]:
        """(uid, gid, perm) a chown leaves (uid/gid -1: unchanged), from the guest's view;
        as Linux, a non-directory loses setuid, and setgid when group-executable."""
        new_uid = view.uid if uid == -1 else uid
        new_gid = view.gid if gid == -1 else gid
        perm = view.mode & PERM
        if not stat.S_ISDIR(view.mode):
            perm &= ~stat.S_ISUID
            if perm & stat.S_IXGRP:
                perm &= ~stat.S_ISGID
        return new_uid, new_gid, perm


    # ---- what the file calls do (kern/sys_fs.py hands over host descriptors and names) --------
    @property
    def active(self) -> bool:
        """Whether stat needs the store: ids are mapped, or something is recorded."""
        return self.records_owners or self.exists()

    def stat_fd(self, fd: int, flags: int = 0) -> Stat:
        """The guest's view of the file a host descriptor (O_PATH too) names."""
        return self.view(host_statx(fd, flags))

    def _base(self, host: Stat) -> tuple[int, int]:
        """The owner the guest sees of a host file that has no row."""
        if not self.records_owners:
            return host.uid, host.gid
        return (0 if host.uid == self.host_uid else host.uid,
                0 if host.gid == self.host_gid else host.gid)

    def chown(self, fd: int, uid: int, gid: int, euid: int, groups) -> None:
        """chown with recorded ownership: the row changes, never the host file.  uid/gid
        -1 stay; a guest that is not root may only give its own file to one of its groups."""
        host = host_statx(fd)
        view = self.view(host_statx(fd))
        if euid != 0 and (view.uid != euid or uid not in (-1, view.uid)
                          or gid not in (-1, view.gid) and gid not in groups):
            raise OSError(errno.EPERM, "not the owner")
        new_uid, new_gid, perm = self.owner_for_chown(view, uid, gid)
        base_uid, base_gid = self._base(host)
        self.record(host, uid=None if new_uid == base_uid else new_uid,
                    gid=None if new_gid == base_gid else new_gid,
                    perm=None if perm == host.mode & PERM else perm)

    def chowned_on_host(self, fd: int) -> None:
        """The host itself now holds the owner the guest gave (host ownership); recorded
        setuid/setgid bits go as the host's would."""
        if not self.exists():
            return
        host = host_statx(fd)
        perm = self.owner_for_chown(self.view(host_statx(fd)), -1, -1)[2]
        self.record(host, uid=None, gid=None, perm=None if perm == host.mode & PERM else perm)

    def chmod(self, fd: int, perm: int, euid: int) -> None:
        """chmod of the file fd names (O_PATH is fine): the host file gets what it may
        show, the store keeps the rest."""
        host = host_statx(fd)
        if self.records_owners and euid != 0 and self.view(host_statx(fd)).uid != euid:
            raise OSError(errno.EPERM, "not the owner")
        want = self.host_perm(perm, stat.S_ISDIR(host.mode))
        try:
            os.chmod(f"/proc/self/fd/{fd}", want)
            now: int | None = want
        except PermissionError:
            if not self.records_owners:
                raise
            now = None                  # another host user's file: the store alone holds it
        self.record(host, perm=None if now == perm else perm)

    def settle_new(self, dir_fd: int, name: bytes, perm: int) -> None:
        """A file the guest just made with perm (umask applied): with recorded ownership
        the host user keeps its access to it, and the store the bits the host lacks."""
        if not self.records_owners:
            return
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            host = host_statx(fd)
            want = self.host_perm(perm, stat.S_ISDIR(host.mode))
            if want != perm and not stat.S_ISLNK(host.mode):
                os.chmod(f"/proc/self/fd/{fd}", want)
                self.record(host, perm=perm)
        finally:
            os.close(fd)

    def make_device(self, dir_fd: int, name: bytes, kind: int, perm: int, rdev: int) -> None:
        """mknod of a character or block device: an empty host file, recorded as the node."""
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=dir_fd)
        try:
            want = self.host_perm(perm & ~_SETID, False)
            os.fchmod(fd, want)
            host = host_statx(fd)
            self.record(host, kind=kind, rdev=rdev, perm=None if want == perm else perm)
        except BaseException:
            os.unlink(name, dir_fd=dir_fd)
            raise
        finally:
            os.close(fd)

    def _key_at(self, dir_fd: int, name: bytes) -> tuple[tuple[int, int, int], Stat] | None:
        try:
            fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError:
            return None
        try:
            st = host_statx(fd)
        finally:
            os.close(fd)
        return key_of(st), st

    def doomed(self, dir_fd: int, name: bytes) -> tuple[int, int, int] | None:
        """The key of the file whose last name this is (about to be unlinked, removed or
        renamed over), or None: it keeps other links, or nothing is recorded at all."""
        if not self.exists():
            return None
        found = self._key_at(dir_fd, name)
        if found is None:
            return None
        key, st = found
        return key if stat.S_ISDIR(st.mode) or st.nlink <= 1 else None

    def replaced(self, old_fd: int, old: bytes, new_fd: int, new: bytes) -> tuple[int, int, int] | None:
        """The key of the file a rename of old to new removes (not when both are one file)."""
        key = self.doomed(new_fd, new)
        if key is None:
            return None
        src = self._key_at(old_fd, old)
        return None if src is not None and src[0] == key else key

    def recorded_device(self, fd: int) -> tuple[int, int] | None:
        """(kind, rdev) when the open host file fd is the stand-in of a recorded device node."""
        if not self.exists():
            return None
        return self.device_of(host_statx(fd))

    def fix_dirents(self, dir_fd: int, data: bytes) -> bytes:
        """getdents64 records with the d_type of recorded device nodes."""
        if not data or not self.exists():
            return data
        kinds = self.special_inodes()
        if not kinds:
            return data
        dev = _s64(os.fstat(dir_fd).st_dev)
        out = bytearray(data)
        for pos, _reclen, ino, _off, dtype, _name in iter_dirents64(data):
            found = kinds.get((dev, _s64(ino))) if dtype == DT_REG else None
            if found is not None:
                out[pos + 18] = DT_CHR if found[0] == S_IFCHR else DT_BLK
        return bytes(out)


# ---- importing a tree's metadata ---------------------------------------------------------------
def import_tree(rootfs_dir: str) -> tuple[int, int]:
    """Record the ownership and permission bits of every file in the tree as the host shows
    them now, and replace each host device node by an empty file recorded as that node
    (the guest never opens host devices of a rootfs).  Mount points inside the tree are
    not entered.  Returns (files recorded, device nodes replaced)."""
    top = os.path.realpath(rootfs_dir)
    store = MetaStore(top)
    db = store._conn(create=True)
    top_dev = os.stat(top).st_dev
    devices = 0
    rows = []

    def visit(dir_fd: int, name: str) -> os.stat_result:
        nonlocal devices
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        kind = stat.S_IFMT(st.st_mode)
        rdev = None
        if kind in (S_IFCHR, S_IFBLK):
            os.unlink(name, dir_fd=dir_fd)
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600, dir_fd=dir_fd)
            try:
                os.fchown(fd, st.st_uid, st.st_gid)
                os.fchmod(fd, st.st_mode & PERM & ~_SETID)
            finally:
                os.close(fd)
            rdev = st.st_rdev
            devices += 1
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            now = host_statx(fd)
        finally:
            os.close(fd)
        rows.append((*key_of(now), st.st_uid, st.st_gid, st.st_mode & PERM,
                     kind if rdev is not None else None, rdev))
        return st

    for dirpath, dirnames, filenames, dir_fd in os.fwalk(top):
        if dirpath == top:
            visit(dir_fd, ".")
        for name in list(dirnames):
            st = visit(dir_fd, name)
            if st.st_dev != top_dev:
                dirnames.remove(name)          # another file system mounted here
        for name in filenames:
            visit(dir_fd, name)
    with store._write(db):
        db.executemany("INSERT OR REPLACE INTO inodes VALUES (?,?,?,?,?,?,?,?)", rows)
    store.close()
    return len(rows), devices
