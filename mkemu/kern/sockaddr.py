"""Socket addresses between guest and host: what a guest's sockaddr names on the
host, and what a host sockaddr shows the guest.

sockaddr_in (16 bytes) and sockaddr_in6 (28) have the same layout on aarch64
and x86_64 and pass through, as does any address of another family (the host
checks it against the socket's own family, so an AF_UNIX socket only ever
sees AF_UNIX addresses, which are translated).  AF_UNIX names are translated
so that a guest reaches only its own rootfs and its own machine:

* A path name is a guest path.  connect and sendto resolve it as open does
  (fs/namei.py: inside the rootfs, its symlinks followed there) and give the
  host the socket file as /proc/self/fd/N of an O_PATH descriptor opened
  inside the root: short whatever the host path's length, and never a host
  path the guest chose.
* bind creates the socket file through the directory namei.Parent opened
  inside the root, so nothing the host walks can be redirected out of it:
  the host's cwd is that directory, or a private scratch directory whose one
  symlink points at /proc/self/fd/N of it.  The string given to bind is what
  the host keeps as the socket's name and shows every process (getsockname,
  getpeername, accept, recvfrom), so it is chosen to read back as the
  guest's own: a relative guest path is bound as itself (its directories
  are the scratch directory's), an absolute one as MARK + its directory with
  "/" turned into MARK + "/" + its last name, e.g. /tmp/s as "\\x01\\x01tmp/s"
  (one byte longer than the guest's), which `guest_name` turns back.  A
  path that cannot be written so (it holds MARK or "..", or would not fit
  in 108 bytes) is bound as its last name alone and reads back as that.
* Abstract names (a leading NUL) are per machine: the host name is the
  guest's with the machine's tag after the NUL (the broker's host pid: every
  task is its child, and every socket of a machine ends with it), so two
  machines, or a machine and the host, never meet; the tag is taken off
  again on the way back.  A guest name longer than 107 bytes minus the tag
  does not fit (EINVAL).  Autobind (bind with only the family) picks a
  5-hex-digit name with the tag, as Linux picks one.
"""
from __future__ import annotations

import errno
import os
import struct
from contextlib import contextmanager

from ..fs import namei
from ..hostdirs import make_dir, remove_tree, temp_root
from ..fs.rootfs import O_PATH

AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6 = 0, 1, 2, 10
SUN_PATH = 108                  # sizeof sun_path, on both
SOCKADDR_UN = 2 + SUN_PATH
SOCKADDR_MAX = 128              # sizeof(struct sockaddr_storage): the kernel's limit
MARK = b"\x01"
_FAMILY = struct.Struct("<H")
_UNIX = _FAMILY.pack(AF_UNIX)
AT_FDCWD = -100


def _err(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def family(raw: bytes) -> int:
    return _FAMILY.unpack_from(raw)[0] if len(raw) >= 2 else AF_UNSPEC


def machine_tag() -> bytes:
    """What makes an abstract name this machine's: every task is a host child of its
    machine's broker, and the broker's pid is unique while any of its sockets live."""
    return b"mkemu%d/" % os.getppid()


# ---- guest -> host ---------------------------------------------------------------------
def unix_name(raw: bytes) -> tuple[str, bytes]:
    """("unnamed" | "abstract" | "path", name) of a guest sockaddr_un of len(raw) bytes
    (Linux's checks: the family, at most sizeof(sockaddr_un), a path up to its NUL)."""
    if len(raw) < 2 or family(raw) != AF_UNIX or len(raw) > SOCKADDR_UN:
        raise _err(errno.EINVAL)
    if len(raw) == 2:
        return "unnamed", b""
    if raw[2] == 0:
        return "abstract", raw[3:]
    return "path", raw[2:].split(b"\0", 1)[0]


def abstract(name: bytes) -> bytes:
    """The host sockaddr of a guest abstract name."""
    host = _UNIX + b"\0" + machine_tag() + name
    if len(host) > SOCKADDR_UN:
        raise _err(errno.EINVAL)
    return host


@contextmanager
def host_address(t, raw: bytes):
    """The host sockaddr a guest address stands for when connecting or sending to it
    (bind has its own path: `bind_unix`).  An AF_UNIX path holds an O_PATH descriptor
    of the socket file open while the caller uses the address."""
    if family(raw) != AF_UNIX:
        yield raw
        return
    kind, name = unix_name(raw)
    if kind == "unnamed":
        raise _err(errno.EINVAL)
    if kind == "abstract":
        yield abstract(name)
        return
    with namei.Target(t, AT_FDCWD, name) as target:
        host = os.fsencode(target.host)
        if len(host) >= SUN_PATH:             # an overlay's own host file: no socket there
            raise _err(errno.ECONNREFUSED)
        yield _UNIX + host + b"\0"


def bind_string(path: bytes) -> tuple[bytes, bytes | None]:
    """(what to hand the host's bind, the scratch entry that stands for the directory, or
    None: bind from inside the directory itself) for a guest path name."""
    k = path.rfind(b"/")
    name = path[k + 1:]
    if k < 0:
        return path, None
    if path.startswith(b"/"):
        if MARK in path:
            return name, None
        link = MARK + path[:k].replace(b"/", MARK)
        s = link + path[k:]
    else:
        dirs = [c for c in path[:k].split(b"/") if c not in (b"", b".")]
        if not dirs:
            return path, None                  # "./s": the directory itself
        if b".." in dirs or path.startswith(MARK):
            return name, None
        link, s = b"/".join(dirs), path
    if len(s) > SUN_PATH:
        return name, None
    return s, link


def bind_unix(t, raw: bytes, do_bind) -> None:
    """Bind a socket to a guest AF_UNIX address: do_bind(host sockaddr) is the host's
    bind of the socket.  Path names are made in the rootfs, abstract ones carry the
    machine's tag, an address of the family alone autobinds."""
    kind, name = unix_name(raw)
    if kind == "abstract":
        do_bind(abstract(name))
        return
    if kind == "unnamed":
        autobind(do_bind)
        return
    with namei.Parent(t, AT_FDCWD, name) as (pfd, last):
        if name.endswith(b"/"):
            # a path that asks for a directory is no socket's name
            try:
                os.stat(last, dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                raise _err(errno.ENOENT) from None
            raise _err(errno.EADDRINUSE)
        if last in (b".", b".."):
            raise _err(errno.EADDRINUSE)         # names a directory (Linux: EEXIST)
        s, link = bind_string(name)
        _bind_in(pfd, s, link, do_bind)


def _bind_in(pfd: int, s: bytes, link: bytes | None, do_bind) -> None:
    """do_bind(s) with the host's cwd where s names the socket inside directory pfd (the
    task has one thread, and nothing of mkemu uses host-relative paths meanwhile)."""
    here = os.open(".", O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    scratch = None
    try:
        if link is not None:
            try:
                scratch = _scratch(pfd, link)
            except OSError:          # no private directory to be had: the bare name then
                s, link = s[s.rindex(b"/") + 1:], None
        if scratch is None:
            os.fchdir(pfd)
        else:
            os.chdir(scratch)
        do_bind(_UNIX + s)
    finally:
        os.fchdir(here)
        os.close(here)
        if scratch is not None:
            remove_tree(scratch)


def _scratch(pfd: int, link: bytes) -> bytes:
    """A private host directory where the relative path `link` leads to directory pfd."""
    scratch = make_dir(temp_root(), "mkemu-bind-").encode()
    try:
        parent, _, entry = link.rpartition(b"/")
        where = os.path.join(scratch, parent) if parent else scratch
        if parent:
            os.makedirs(where)
        os.symlink(b"/proc/self/fd/%d" % pfd, os.path.join(where, entry))
    except BaseException:
        remove_tree(scratch)
        raise
    return scratch


def autobind(do_bind) -> None:
    """Bind to a fresh abstract name of this machine (Linux's autobind)."""
    tag = machine_tag()
    for _ in range(4096):
        try:
            name = int.from_bytes(os.urandom(3), "little") & 0xFFFFF
            do_bind(_UNIX + b"\0" + tag + b"%05x" % name)
            return
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
    raise _err(errno.ENOSPC)


# ---- host -> guest ---------------------------------------------------------------------
def guest_path(t, host: bytes) -> bytes:
    """The guest's name for the path a socket was bound to on the host."""
    if host.startswith(MARK) and b"/" in host:
        k = host.rindex(b"/")
        return host[1:k].replace(MARK, b"/") + host[k:]
    if host.startswith(b"/"):                 # bound by the host, seen through a bind mount
        guest = t.fs.root.guest_path_of_host(host)
        return host if guest is None else guest
    return host


def guest_name(t, raw: bytes) -> bytes:
    """A host sockaddr as the guest sees it: AF_UNIX names translated back."""
    if family(raw) != AF_UNIX or len(raw) <= 2:
        return raw
    if raw[2] == 0:
        tag = machine_tag()
        name = raw[3:]
        if name.startswith(tag):
            name = name[len(tag):]
        return _UNIX + b"\0" + name
    return _UNIX + guest_path(t, raw[2:].split(b"\0", 1)[0]) + b"\0"
