"""Path walking: what a guest path names (namei, in xv6's sense).

A guest path is walked one name at a time, as the kernel walks it, so that
every symlink -- the rootfs's own and the overlays' -- is followed before
anything is matched against /dev, /proc or a bind mount: `/etc/mtab ->
../proc/self/mounts` reaches procfs, a rootfs link to /dev/null reaches the
host's device, `/dev/fd/3/..` is the parent of the directory fd 3 names.

The walk works on guest paths only.  It looks at the rootfs through RootFS
(every look is an openat2 with RESOLVE_IN_ROOT) and at the overlays through
their lookup functions, and what it returns is again a guest path, which the
caller hands to RootFS.  Confinement therefore stays with the host kernel: a
path the walk got wrong (a rename racing it, say) names another file inside
the rootfs, never one outside.

The rules are Linux's, with the rootfs as `/`:
* `..` goes to the parent of the directory reached so far.  That directory
  has no symlink left in its path, so this is lexical on it; at `/` it stays.
* A symlink on the way is followed; the last name is followed unless the
  caller says not to, and always when the path ends in `/`, `/.` or `/..`.
* Names under /dev and /proc are asked of the overlay first (fs/devfs.py,
  fs/procfs.py), and of the rootfs when the overlay has no such node.  /dev
  and /proc themselves are directories whatever the rootfs holds there.
* A symlink inside a bind mount resolves inside that mount: an absolute
  target starts at the mount's top and its `..` stops there.
* More than 40 symlinks in one walk is ELOOP.

Most paths hold no symlink at all: a run of plain names is looked at with one
openat2 under RESOLVE_NO_SYMLINKS, and only a run that meets a symlink is
looked at again one name at a time.  A rootfs symlink of the root mount is
followed in place: its target's names take its place in the names still to
walk, so `/lib/x/y` with /lib -> usr/lib is one more look, at `/usr/lib/x/y`.
What the walk learnt of the last name (its mode, or the error that says it
is not there) comes back in Found, so the caller need not look again.
"""
from __future__ import annotations

import errno
import os
import stat

from ..record import record

from . import devfs, procfs
from .nodes import LISTED, FdLink, GuestLink, HostDir, Node, Redirect, TextFile, check_modifiable
from .rootfs import O_PATH, Mount, split_last

AT_FDCWD = -100
MAX_SYMLINKS = 40           # Linux's limit for one path walk


def _error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def _is_cwd(dirfd: int) -> bool:
    return dirfd & 0xFFFF_FFFF == AT_FDCWD & 0xFFFF_FFFF


def guest_fd(t, fd: int) -> int:
    """A guest descriptor argument (a raw register): EBADF for negative numbers and for
    mkemu's own descriptors."""
    fd = (fd & 0xFFFF_FFFF) - ((fd & 0x8000_0000) << 1)
    if fd < 0 or fd in t.reserved_fds:
        raise _error(errno.EBADF)
    return fd


def guest_path_of_fd(t, fd: int) -> bytes | None:
    """The guest path of an open descriptor, or None if it names nothing the guest can reach."""
    try:
        host = os.fsencode(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None
    guest = t.fs.root.guest_path_of_host(host)
    if guest is not None:
        return guest
    listed = LISTED.get(host)                     # an overlay directory's listing copy
    if listed is not None:
        return listed
    me = f"/proc/{os.getpid()}".encode()         # host /proc/self/fd opened through procfs
    if host == me or host.startswith(me + b"/"):
        return b"/proc/self" + host[len(me):]
    return None


def absolute(t, dirfd: int, path: bytes) -> bytes:
    """The absolute guest path of (dirfd, path) as the *at() calls take them: path itself
    when absolute, else relative to the cwd (AT_FDCWD) or to the directory dirfd names."""
    if path.startswith(b"/"):
        return path
    if _is_cwd(dirfd):
        return t.fs.absolute(path)
    fd = guest_fd(t, dirfd)
    base = guest_path_of_fd(t, fd)
    if base is None or not stat.S_ISDIR(os.fstat(fd).st_mode):
        os.fstat(fd)                                  # EBADF first, as the kernel checks
        raise _error(errno.ENOTDIR)
    return t.fs.absolute(path, base)


@record
class Found:
    """What a guest path names: an overlay node, or (node None) a path in the rootfs.

    path is absolute with every symlink on the way followed: its last name is a
    symlink only when the caller did not follow it.  A rootfs path ends in "/"
    when the guest's path asked for a directory, so the host checks that too.
    """
    node: Node | None
    path: bytes
    mode: int | None = None     # a rootfs path's st_mode as the walk saw it (None: not seen)
    missing: int = 0            # the errno the walk got for a rootfs path's last name


def resolve(t, path: bytes, follow: bool = True, no_symlinks: bool = False,
            no_magiclinks: bool = False) -> Found:
    """What an absolute guest path names.  follow: whether a symlink as the last name is
    followed; no_symlinks: any symlink to follow is ELOOP (openat2's RESOLVE_NO_SYMLINKS);
    no_magiclinks: so is any /proc magic link to follow (RESOLVE_NO_MAGICLINKS)."""
    w = _Walk(t, no_symlinks, no_magiclinks)
    node, where = w.walk(b"", path, b"", follow, True)
    if node is None and path.endswith((b"/", b"/.", b"/..")):
        where += b"/"
    if node is not None:
        return Found(node, where or b"/")
    return Found(None, where or b"/", w.mode, w.missing)


def lookup(t, dirfd: int, path: bytes, follow: bool = True, no_symlinks: bool = False,
           no_magiclinks: bool = False) -> Found:
    """What (dirfd, path) names; an empty path is ENOENT."""
    if not path:
        raise _error(errno.ENOENT)
    return resolve(t, absolute(t, dirfd, path), follow, no_symlinks, no_magiclinks)


def is_magic_link(node: Node | None) -> bool:
    """A /proc link that jumps to an object rather than naming a path (fd/N, cwd, root,
    exe, ns/NAME), or a path through one; /proc/self and /dev/fd are ordinary symlinks."""
    return isinstance(node, (GuestLink, Redirect)) or (node is not None and node.is_object_link)


def _overlay(t, path: bytes) -> Node | None:
    if path.startswith(b"/dev/"):
        return devfs.lookup(t, path)
    if path.startswith(b"/proc/"):
        return procfs.lookup(t, path)
    if path == b"/proc":
        return procfs.root_dir(t)
    return None


def _run_end(names: list[bytes], i: int) -> int:
    """The end of the run of plain names that starts at names[i] (up to a `..`)."""
    j = i + 1
    while j < len(names) and names[j] != b"..":
        j += 1
    return j


class _Walk:
    """One path walk: the rootfs and overlays it looks at and the symlinks it has followed."""

    def __init__(self, t, no_symlinks: bool, no_magiclinks: bool = False) -> None:
        self.t = t
        self.root = t.fs.root
        self.no_symlinks = no_symlinks
        self.no_magiclinks = no_magiclinks or no_symlinks
        self.links = 0
        self.mode: int | None = None  # the last walk's end: the rootfs's st_mode of it,
        self.missing = 0              # or the errno of its last name (at_end only)

    def walk(self, cur: bytes, path: bytes, floor: bytes, follow: bool,
             at_end: bool) -> tuple[Node | None, bytes]:
        """Walk path from the resolved directory cur ("" is the root): (node or None, path).

        floor is where `..` stops (the root "", or the top of the bind mount a followed
        symlink lives in).  at_end: nothing of the guest's path comes after this one, so
        a rootfs name that is not there is left for the caller's operation to report (or
        to create), as the kernel's own walk would.
        """
        wants_dir = path.endswith((b"/", b"/.")) or path == b"."
        names = [n for n in path.split(b"/") if n and n != b"."]
        node = _overlay(self.t, cur)
        one_by_one_until = 0          # a run met a symlink: its names singly, up to that link
        mode = None                   # cur's st_mode, when a look at the rootfs gave cur
        i = 0
        while i < len(names):
            name = names[i]
            if node is not None and not isinstance(node, HostDir):
                raise _error(errno.ENOTDIR)
            mode = None
            if name == b"..":
                if cur != floor and cur:
                    cur = cur[:cur.rindex(b"/")]
                node = _overlay(self.t, cur)
                i += 1
                continue
            last = i == len(names) - 1 and not wants_dir
            nxt = cur + b"/" + name
            if nxt in (b"/dev", b"/proc"):
                cur, node = nxt, _overlay(self.t, nxt)    # the overlays' directories
                i += 1
                continue
            if nxt.startswith((b"/dev/", b"/proc/")):
                found = _overlay(self.t, nxt)
                if found is not None:
                    # the last name an object link (fd/N, ns/NAME): it is that object
                    as_object = found.is_object_link and last
                    if found.is_link and not as_object and (not last or follow or found.always):
                        node, cur = self._follow_node(cur, found, at_end and i == len(names) - 1)
                    else:
                        cur, node = nxt, found
                    i += 1
                    continue
                j = i + 1                     # not the overlay's: the rootfs's, name by name
            else:
                if not cur and name in self.root.top_links and \
                        not (i == len(names) - 1 and not wants_dir and not follow):
                    target = self.root.top_link(name)     # still a link? (one readlinkat)
                    if target is not None:
                        cur, node, names, follow, wants_dir = self._splice(
                            b"", target, names[i + 1:], follow, wants_dir)
                        i, one_by_one_until, mode = 0, 0, None
                        continue
                j = i + 1 if i < one_by_one_until else _run_end(names, i)
            run = cur + b"/" + b"/".join(names[i:j])
            ends = j == len(names)
            try:
                mode, target = self.root.inspect(run)
            except OSError as e:
                if e.errno == errno.ELOOP and j > i + 1:
                    one_by_one_until = j
                    continue
                if ends and at_end:
                    self.mode, self.missing = None, e.errno
                    return None, run          # the caller's operation reports it or creates it
                raise
            if target is None:
                if not (ends and not wants_dir) and not stat.S_ISDIR(mode):
                    raise _error(errno.ENOTDIR)
                cur = run
            elif ends and not wants_dir and not follow:
                cur = run
            else:
                mount = self.root.mount_of(run)
                if floor or mount.guest != b"/":
                    node, cur = self._follow(run[:run.rindex(b"/")], target, mount,
                                             at_end and ends)
                    mode = self.mode
                    i, one_by_one_until = j, 0
                    continue
                at_top = j == i + 1 and not cur
                cur, node, names, follow, wants_dir = self._splice(
                    run[:run.rindex(b"/")], target, names[j:], follow, wants_dir)
                if at_top:
                    self.root.top_links.add(name)     # look there first next time
                i, one_by_one_until, mode = 0, 0, None
                continue
            node = None
            i = j
        if wants_dir and node is not None and not isinstance(node, HostDir):
            raise _error(errno.ENOTDIR)
        self.mode, self.missing = (mode if node is None else None), 0
        return node, cur

    def _follow_node(self, link_dir: bytes, link: Node, at_end: bool) -> tuple[Node | None, bytes]:
        if self.no_magiclinks and is_magic_link(link):
            raise _error(errno.ELOOP)
        target = link.readlink(self.t)
        if link.is_object_link and not target.startswith(b"/"):
            raise _error(errno.ENOTDIR)       # pipe:[N] and friends have nothing below them
        return self._follow(link_dir, target, None, at_end)

    def _splice(self, link_dir: bytes, target: bytes, rest: list[bytes], follow: bool,
                wants_dir: bool) -> tuple[bytes, Node | None, list[bytes], bool, bool]:
        """A root mount's symlink in link_dir, followed in place: its target's names go
        before the names after it (`rest`), from where the target starts -- what _follow
        walks, then those names from where it ended.  (cur, node, names, follow,
        wants_dir) to walk on with."""
        self._count_link(target)
        if not rest:                      # the last name was the link: its target's last
            follow = True                 # name is followed, and must be a directory when
            wants_dir = wants_dir or target.endswith((b"/", b"/.")) or target == b"."
        cur = b"" if target.startswith(b"/") else link_dir    # (the guest's path said so)
        names = [n for n in target.split(b"/") if n and n != b"."] + rest
        return cur, _overlay(self.t, cur), names, follow, wants_dir

    def _count_link(self, target: bytes) -> None:
        """One more symlink followed (ELOOP past MAX_SYMLINKS, or for any under
        RESOLVE_NO_SYMLINKS); an empty target names nothing."""
        self.links += 1
        if self.no_symlinks or self.links > MAX_SYMLINKS:
            raise _error(errno.ELOOP)
        if not target:
            raise _error(errno.ENOENT)

    def _follow(self, link_dir: bytes, target: bytes, mount: Mount | None,
                at_end: bool) -> tuple[Node | None, bytes]:
        """Continue at a symlink's target; mount is the bind mount the link lives in (None
        or the root mount: the whole guest tree)."""
        self._count_link(target)
        top = b"" if mount is None or mount.guest == b"/" else mount.guest
        start = top if target.startswith(b"/") else link_dir
        return self.walk(start, target, top, True, at_end)


class Parent:
    """The directory that holds a guest path's last name, open (O_PATH) for the *at() calls
    on that name, which the host never follows (unlink, mkdir, rename, symlink, lchown...).
    The directories on the way are walked like any path; `.` and `..` as the last name
    stand for the directory they name."""

    def __init__(self, t, dirfd: int, path: bytes) -> None:
        if not path:
            raise _error(errno.ENOENT)
        ap = absolute(t, dirfd, path)
        self.trailing_slash = path.endswith(b"/")
        parent, name = split_last(ap)
        root = t.fs.root
        if name in (b".", b".."):
            self.fd = root.open(resolve(t, ap).path, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            self.name = b"."
        else:
            where = resolve(t, parent + b"/").path.rstrip(b"/")
            self.fd, self.name = root.open_parent(where + b"/" + name)

    def __enter__(self):
        return self.fd, self.name

    def __exit__(self, *exc):
        os.close(self.fd)


def has_host_file(node: Node, follow: bool) -> bool:
    """Does overlay node `node` (followed or not) stand for a host file, which Target
    can hand to the host?  An object link (a descriptor's, a namespace's) when
    followed, a node with its own `host` file; not a file mkemu makes (TextFile) nor
    a link not followed."""
    return follow if node.is_object_link else hasattr(node, "host")


class Target:
    """A guest path, followed or not, as a host path string that is safe to hand to the
    host: /proc/self/fd/N of an O_PATH descriptor opened inside the root (or an overlay
    node's own host file).  modify: metadata is about to change, which no host device
    node may see (EPERM).  found: the caller's lookup of the same (dirfd, path, follow),
    which is then not walked again."""

    def __init__(self, t, dirfd: int, path: bytes, follow: bool = True, empty_ok: bool = False,
                 modify: bool = False, found: Found | None = None):
        self.fd = -1
        self._open(t, dirfd, path, follow, empty_ok, found)
        if modify:
            try:
                check_modifiable(os.stat(self.host))
            except BaseException:
                self.__exit__()
                raise

    def _open(self, t, dirfd, path, follow, empty_ok, found):
        self.node = None
        if not path:
            if not empty_ok:
                raise _error(errno.ENOENT)
            if _is_cwd(dirfd):
                self.fd = t.fs.root.open_path(t.fs.cwd)
                self.host = f"/proc/self/fd/{self.fd}"
            else:
                self.host = f"/proc/self/fd/{guest_fd(t, dirfd)}"
            return
        found = found or lookup(t, dirfd, path, follow)
        node = self.node = found.node
        if node is None:
            if found.missing == errno.ENOENT:
                raise _error(errno.ENOENT)    # the walk's look at the last name said so
            self.fd = t.fs.root.open_path(found.path, follow=follow)
            self.host = f"/proc/self/fd/{self.fd}"
        elif isinstance(node, FdLink):
            node._check(t)
            if not has_host_file(node, follow):
                raise _error(errno.ELOOP)
            self.host = f"/proc/self/fd/{node.fd}"
        elif has_host_file(node, follow):
            self.host = node.host
        else:
            raise _error(errno.EACCES if isinstance(node, TextFile) else errno.ELOOP)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
