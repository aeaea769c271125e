"""Overlay nodes: files that exist in the guest whatever the rootfs holds (/dev, /proc).

Each node answers the few questions path syscalls ask -- open, stat (with
or without following), readlink -- in host terms: open returns a host fd
the guest then uses like any other.  An overlay (devfs, procfs) maps a
normalized guest path to a node; sys_fs asks the overlays before the rootfs.
"""
from __future__ import annotations

import errno
import fcntl
import functools
import os
import stat
import time
import zlib

from ..hostdirs import remove_tree
from ..lazyre import lazy_compile
from .ostrans import (H_O_DIRECTORY, O_ACCMODE, O_CLOEXEC, O_CREAT, O_EXCL, O_PATH, O__TMPFILE,
                      open_flags_to_guest)
from .structs import Stat

PROC_DEV = os.makedev(0, 22)          # the st_dev synthesized nodes report
MEMFD_NAME = "mkemu-proc:"           # generated files are memfds named after their path
MEMFD_PREFIX = b"/memfd:" + MEMFD_NAME.encode()


def _ino(path: bytes) -> int:
    return zlib.crc32(path) | 0x1000_0000


def synth_stat(path: bytes, mode: int, size: int = 0, t=None, nlink: int = 1) -> Stat:
    now = time.time_ns()
    uid = getattr(t, "uid", os.getuid()) if t is not None else os.getuid()
    gid = getattr(t, "gid", os.getgid()) if t is not None else os.getgid()
    return Stat(PROC_DEV, _ino(path), mode, nlink, uid, gid, 0, size, 1024, 0, now, now, now)


def reopen_fd(fd: int, hflags: int, mode: int = 0) -> int:
    """Open the file behind descriptor fd again (what opening /proc/self/fd/N does)."""
    if not hflags & O_PATH and not device_allowed(os.fstat(fd)):
        raise OSError(errno.EACCES, "device node")
    new = os.open(f"/proc/self/fd/{fd}", hflags & ~(O_CREAT | O__TMPFILE), mode)
    return fix_cloexec(new, hflags)


# Host device nodes a guest may open: the overlay's own devices and terminals.  Any
# other device node (a rootfs unpacked as root can hold /dev/sda) is refused, as
# on a file system mounted nodev.
_ALLOWED_RDEV = {os.makedev(1, n) for n in (3, 5, 7, 8, 9)} | {os.makedev(5, 0), os.makedev(5, 2)}


def device_allowed(st: os.stat_result) -> bool:
    mode = st.st_mode
    if stat.S_ISBLK(mode):
        return False
    if not stat.S_ISCHR(mode):
        return True
    return st.st_rdev in _ALLOWED_RDEV or 136 <= os.major(st.st_rdev) <= 143   # pts


def check_modifiable(st: os.stat_result) -> None:
    """Metadata changes never reach a host device node (the overlay's /dev/null is the host's,
    and the guest may hold it as stdin) nor a host /proc file (HostProcText: the host lets
    root chmod its /proc/stat): EPERM, as for a file the guest does not own."""
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        raise OSError(errno.EPERM, "host device")
    if st.st_dev == _host_proc_dev():
        raise OSError(errno.EPERM, "host /proc file")


@functools.cache
def _host_proc_dev() -> int:
    return os.stat("/proc").st_dev


def fix_cloexec(fd: int, hflags: int) -> int:
    """Python's os.open always sets FD_CLOEXEC; give the guest exactly the flag it asked for."""
    if not hflags & O_CLOEXEC:
        os.set_inheritable(fd, True)
    return fd


class Node:
    is_link = False
    # a magic link that stands for an object (FdLink, NsLink): named as the last name
    # and followed, it is opened and stat'ed as that object, not walked through
    is_object_link = False
    always = False         # Redirect: followed even under O_NOFOLLOW / AT_SYMLINK_NOFOLLOW
    path = b""

    def open(self, t, hflags: int, mode: int) -> int:
        raise OSError(errno.ENOENT, "no such file")

    def stat(self, t, follow: bool = True) -> Stat:
        raise OSError(errno.ENOENT, "no such file")

    def readlink(self, t) -> bytes:
        raise OSError(errno.EINVAL, "not a symbolic link")


class HostDevice(Node):
    """A host character device, opened directly (/dev/null reads the host's /dev/null)."""

    def __init__(self, path: bytes, host: str) -> None:
        self.path, self.host = path, host

    def open(self, t, hflags, mode):
        return fix_cloexec(os.open(self.host, hflags & ~O__TMPFILE, mode), hflags)

    def stat(self, t, follow=True):
        return Stat.from_os(os.stat(self.host))


class ControllingTerminal(HostDevice):
    """/dev/tty: the opener's controlling terminal, whichever host device that is
    (the task processes have no host one); ENXIO when it has none."""

    def open(self, t, hflags, mode):
        where = t.controlling_terminal()
        if where is None:
            raise OSError(errno.ENXIO, "no controlling terminal")
        return fix_cloexec(os.open(where, hflags & ~O__TMPFILE, mode), hflags)


class Console(HostDevice):
    """/dev/console: the machine's terminal (the host terminal mkemu runs on, or its pty),
    never made anyone's controlling terminal by the open; ENXIO when it has none."""

    def _where(self, t) -> str:
        where = getattr(getattr(t, "config", None), "console", None)
        if not where:
            raise OSError(errno.ENXIO, "no console")
        return where

    def open(self, t, hflags, mode):
        return fix_cloexec(os.open(self._where(t), (hflags & ~O__TMPFILE) | os.O_NOCTTY, mode),
                           hflags)

    def stat(self, t, follow=True):
        st = Stat.from_os(os.stat(self._where(t)))
        return st


class HostDir(Node):
    """A host directory shown as is (the fd table at /proc/self/fd)."""

    def __init__(self, path: bytes, host: str) -> None:
        self.path, self.host = path, host

    def open(self, t, hflags, mode):
        if hflags & (O_CREAT | O__TMPFILE) or hflags & O_ACCMODE:
            raise OSError(errno.EISDIR, "is a directory")
        return fix_cloexec(os.open(self.host, hflags), hflags)

    def stat(self, t, follow=True):
        return Stat.from_os(os.stat(self.host))


class TextFile(Node):
    """A read-only file whose text is generated when it is opened, served as a memfd."""

    def __init__(self, path: bytes, make) -> None:
        self.path, self.make = path, make

    @staticmethod
    def check_read_only(hflags: int) -> None:
        """An open of a read-only file: EEXIST, ENOTDIR or EACCES where the flags ask more."""
        if hflags & O_CREAT and hflags & O_EXCL:
            raise OSError(errno.EEXIST, "file exists")
        if hflags & H_O_DIRECTORY:
            raise OSError(errno.ENOTDIR, "not a directory")
        if hflags & O_ACCMODE != os.O_RDONLY and not hflags & O_PATH:
            raise OSError(errno.EACCES, "read-only file")

    def open(self, t, hflags, mode):
        self.check_read_only(hflags)
        data = self.make(t)             # before the memfd takes a descriptor number
        if isinstance(data, str):
            data = data.encode()
        fd = os.memfd_create(MEMFD_NAME + os.fsdecode(self.path),
                             os.MFD_CLOEXEC if hflags & O_CLOEXEC else 0)
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
        return fd

    def stat(self, t, follow=True):
        return synth_stat(self.path, stat.S_IFREG | 0o444, 0, t)


class HostProcText(TextFile):
    """A host /proc file shown as it is (/proc/stat, meminfo, uptime...), opened
    directly: like any proc file it is made again when read from its start, so a
    reader that keeps it open and seeks back (vmstat, top, free -s) sees it change."""

    def __init__(self, path: bytes, host: str) -> None:
        super().__init__(path, None)
        # (not `host`: namei.Target would hand that path to calls that change metadata)
        self.host_file = host

    def open(self, t, hflags, mode):
        self.check_read_only(hflags)
        return fix_cloexec(os.open(self.host_file, os.O_RDONLY), hflags)


class WritableText(TextFile):
    """A /proc file a write changes (/proc/self/comm): opened for writing it is a pipe
    whose data the task applies with apply(t, data) as soon as it is written."""

    def __init__(self, path: bytes, make, apply) -> None:
        super().__init__(path, make)
        self.apply = apply

    def open(self, t, hflags, mode):
        if hflags & O_ACCMODE == os.O_RDONLY or hflags & O_PATH:
            return super().open(t, hflags, mode)
        if hflags & H_O_DIRECTORY:
            raise OSError(errno.ENOTDIR, "not a directory")
        return fix_cloexec(t.proc_writer(self.apply), hflags)

    def stat(self, t, follow=True):
        return synth_stat(self.path, stat.S_IFREG | 0o644, 0, t)


class Symlink(Node):
    """A plain symbolic link to a guest path (/dev/stdin -> /proc/self/fd/0)."""
    is_link = True

    def __init__(self, path: bytes, target: bytes) -> None:
        self.path, self.target = path, target

    def readlink(self, t):
        return self.target

    def lstat(self, t) -> Stat:
        return synth_stat(self.path, stat.S_IFLNK | 0o777, len(self.target), t)


class NsLink(Symlink):
    """/proc/PID/ns/NAME: a magic link to a namespace.  mkemu makes none: every guest
    process is in the host namespaces mkemu runs in, so the link is the host's
    (TYPE:[INODE]), and followed it is the host's nsfs file (stat compares two
    processes' namespaces by its inode; opened, it is a descriptor of it)."""
    is_object_link = True

    def __init__(self, path: bytes, name: str) -> None:
        self.path, self.host = path, f"/proc/self/ns/{name}"
        self.target = os.fsencode(os.readlink(self.host))

    def open(self, t, hflags, mode):
        if hflags & (O_CREAT | O__TMPFILE) or hflags & O_ACCMODE:
            raise OSError(errno.EACCES, "permission denied")
        return fix_cloexec(os.open(self.host, hflags), hflags)

    def stat(self, t, follow=True):
        return Stat.from_os(os.stat(self.host)) if follow else self.lstat(t)


class Redirect(Symlink):
    """A path that continues through a magic link (/proc/self/cwd/x, /proc/self/root/etc):
    always followed, even where the last component would not be."""
    always = True


class FdLink(Symlink):
    """/proc/self/fd/N: a magic link to the guest's descriptor N."""
    is_object_link = True

    def __init__(self, path: bytes, fd: int) -> None:
        self.path, self.fd = path, fd
        self.target = b""

    def _check(self, t) -> None:
        _check_guest_fd(t, self.fd)

    def readlink(self, t):
        self._check(t)
        try:
            host = os.fsencode(os.readlink(f"/proc/self/fd/{self.fd}"))
        except OSError:
            raise OSError(errno.ENOENT, "no such file") from None
        guest = t.fs.root.guest_path_of_host(host)
        if guest is not None:
            return guest
        if host.startswith(MEMFD_PREFIX) and host.endswith(b" (deleted)"):
            return host[len(MEMFD_PREFIX):-10]          # a generated /proc file: its own name
        return host             # pipe:[N], socket:[N], a host terminal, another memfd

    def open(self, t, hflags, mode):
        self._check(t)
        return reopen_fd(self.fd, hflags, mode)

    def stat(self, t, follow=True):
        self._check(t)
        if not follow:
            return self.lstat(t)
        return Stat.from_os(os.fstat(self.fd))

    def lstat(self, t):
        self._check(t)
        # the link's mode shows how the descriptor is open: r-x, -wx or rwx for the owner
        acc = fcntl.fcntl(self.fd, fcntl.F_GETFL) & os.O_ACCMODE
        perm = (0o500 if acc != os.O_WRONLY else 0) | (0o300 if acc != os.O_RDONLY else 0)
        return synth_stat(self.path, stat.S_IFLNK | perm, 64, t)


def _check_guest_fd(t, fd: int) -> None:
    """ENOENT unless fd is an open descriptor of the guest (not one of mkemu's)."""
    if fd in t.reserved_fds:
        raise OSError(errno.ENOENT, "no such file")
    try:
        os.fstat(fd)
    except OSError:
        raise OSError(errno.ENOENT, "no such file") from None   # a closed fd: no entry


_LOCK_OWNER = lazy_compile(rb"^(lock:.*\b(?:READ|WRITE|UNLCK)\s+)(-?\d+)(\s)")


class FdInfo(TextFile):
    """/proc/self/fdinfo/N: the host's fdinfo of the guest's descriptor N, with the open
    flags in the guest's bits and a lock owned by this process shown with its guest pid."""

    def __init__(self, path: bytes, fd: int) -> None:
        super().__init__(path, self._text)
        self.fd = fd

    def _text(self, t) -> bytes:
        _check_guest_fd(t, self.fd)
        try:
            with open(f"/proc/self/fdinfo/{self.fd}", "rb") as f:
                lines = f.read().splitlines(keepends=True)
        except OSError:
            raise OSError(errno.ENOENT, "no such file") from None
        me = str(os.getpid()).encode()
        out = []
        for line in lines:
            if line.startswith(b"flags:"):
                line = b"flags:\t0%o\n" % open_flags_to_guest(int(line.split()[1], 8))
            else:
                m = _LOCK_OWNER.match(line)
                if m and m.group(2) == me:
                    line = m.group(1) + str(t.pid).encode() + line[m.end(2):]
            out.append(line)
        return b"".join(out)

    def stat(self, t, follow=True):
        _check_guest_fd(t, self.fd)
        return super().stat(t, follow)


class GuestLink(Symlink):
    """A magic link to a guest path computed when asked (/proc/self/exe, cwd, root)."""

    def __init__(self, path: bytes, target_of) -> None:
        self.path, self.target_of = path, target_of

    def readlink(self, t):
        return self.target_of(t)

    def lstat(self, t):
        return synth_stat(self.path, stat.S_IFLNK | 0o777, 64, t)


# ---- another process's files: answered by its task (kern/introspect.py) ----------------
class RemoteText(TextFile):
    """/proc/PID/<file> of another process: the text its own task generates for
    /proc/self/<file>.  No answer (a zombie, a stopped process, one that cannot answer
    in time): fallback(t), what /proc shows then."""

    def __init__(self, path: bytes, tid: int, rest: bytes, fallback) -> None:
        super().__init__(path, self._text)
        self.tid, self.rest, self.fallback = tid, rest, fallback

    def _text(self, t):
        err, value, _ = t.introspect(self.tid, "text", self.rest)
        if err == -errno.EACCES or err == -errno.ENOENT:
            raise OSError(-err, os.strerror(-err))
        return value if err == 0 else self.fallback(t)


class RemoteLink(GuestLink):
    """/proc/PID/cwd (and the like) of another process: the guest path its task gives."""

    def __init__(self, path: bytes, tid: int, rest: bytes) -> None:
        super().__init__(path, self._target)
        self.tid, self.rest = tid, rest

    def _target(self, t):
        err, value, _ = t.introspect(self.tid, "readlink", self.rest)
        if err:
            raise OSError(errno.EACCES if err == -errno.EACCES else errno.ENOENT, "no link")
        return value


class RemoteFdLink(FdLink):
    """/proc/PID/fd/N of another process: its task passes the descriptor over, and the
    link is read, followed or reopened as this process's own /proc/self/fd/N is."""

    def __init__(self, path: bytes, tid: int, fd: int) -> None:
        super().__init__(path, fd)
        self.tid = tid

    def _borrow(self, t) -> "FdLink":
        err, _, passed = t.introspect(self.tid, "getfd", self.fd)
        if err or passed is None:
            raise OSError(errno.EACCES if err == -errno.EACCES else errno.ENOENT, "no such file")
        link = FdLink(self.path, passed)
        link._check = lambda t: None
        return link

    def _with(self, t, how):
        link = self._borrow(t)
        try:
            return how(link)
        finally:
            os.close(link.fd)

    def readlink(self, t):
        return self._with(t, lambda link: link.readlink(t))

    def open(self, t, hflags, mode):
        return self._with(t, lambda link: link.open(t, hflags, mode))

    def stat(self, t, follow=True):
        return self._with(t, lambda link: link.stat(t, follow))

    def lstat(self, t):
        return self._with(t, lambda link: link.lstat(t))


# host directory of a NameListDir copy -> the guest path it lists: a descriptor of one
# (a dirfd for openat, fstatat, openat2) is known as that guest directory
LISTED: dict[bytes, bytes] = {}


class NameListDir(HostDir):
    """A directory whose entries are names computed when it is opened (/proc itself,
    another process's /proc/PID/fd): empty files in a host directory of the opener's
    own (under the broker's /proc listing), made anew at each open in the order they
    are to be listed -- tmpfs lists the newest first, so they are made last to first."""

    generation = 0

    def __init__(self, path: bytes, host: str, names_of, mode: int = 0o500) -> None:
        super().__init__(path, host)
        self.names_of, self.mode = names_of, mode

    def open(self, t, hflags, mode):
        names = [str(n) for n in self.names_of(t)]
        # this task's own copies, a few generations of them: one still open (a walk
        # down /proc keeps its parents open) is not emptied under its reader
        NameListDir.generation = (NameListDir.generation + 1) % 8
        host = os.path.join(self.host, f"{os.getpid()}.{NameListDir.generation}")
        remove_tree(host)
        os.makedirs(host)
        for name in reversed(names):
            os.close(os.open(os.path.join(host, name), os.O_CREAT | os.O_WRONLY, 0o500))
        LISTED[os.fsencode(host)] = self.path
        return fix_cloexec(os.open(host, hflags), hflags) if not hflags & (
            O_CREAT | O__TMPFILE | O_ACCMODE) else super().open(t, hflags, mode)

    def stat(self, t, follow=True):
        return synth_stat(self.path, stat.S_IFDIR | self.mode, 0, t, 2)
