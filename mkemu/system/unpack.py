"""Debian packages unpacked on the host into a merged-/usr tree, with dpkg's database.

Each .deb is taken apart by Debian's own tool (`dpkg-deb -e` for the control
archive, `dpkg-deb -x` for the files) into an empty work directory, and its
files are then moved into the tree the way dpkg places them: through the
directory links the tree already has, so that a bookworm package's /bin/bash
lands in /usr/bin/bash under Debian 12's merged /usr (/bin, /sbin and /lib are
links into /usr, as debootstrap makes them), and a later package's file
replaces an earlier one's (logged: dpkg would want a Replaces for it).  Links
are followed inside the tree only; an absolute link is the tree's own path,
never the host's.

The dpkg database then says every package is unpacked and not configured
(`install ok unpacked`), with its file list, maintainer scripts, conffiles
(with the hashes of the files as unpacked), md5sums and trigger interests,
as `dpkg --unpack` would have left it; the guest's `dpkg --configure -a`
does the rest.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .control import (conffile_paths, format_stanza, info_name, list_file, parse_stanzas,
                      status_stanza, trigger_interests)

MERGED_DIRS = ("bin", "sbin", "lib")          # Debian 12 on arm64: no lib32/lib64/libx32
MAX_LINKS = 40                                # as the kernel's limit on nested links


class UnpackError(RuntimeError):
    """A package could not be unpacked; the message is one line."""


# ---- paths inside the tree ------------------------------------------------------------

def resolve_in_root(root: Path, guest: str) -> Path:
    """The host path of guest path GUEST in the tree ROOT, every link followed
    inside ROOT: an absolute target starts again at ROOT, `..` stops at ROOT."""
    todo = [p for p in guest.split("/") if p]
    done: list[str] = []
    hops = 0
    while todo:
        part = todo.pop(0)
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        host = root.joinpath(*done, part)
        if host.is_symlink():
            hops += 1
            if hops > MAX_LINKS:
                raise UnpackError(f"/{guest.lstrip('/')}: too many levels of links in the tree")
            target = os.readlink(host)
            if target.startswith("/"):
                done = []
            todo = [p for p in target.split("/") if p] + todo
            continue
        done.append(part)
    return root.joinpath(*done)


def make_merged_usr(root: Path) -> None:
    """/bin, /sbin and /lib as links into /usr (what debootstrap makes before unpacking)."""
    for top in MERGED_DIRS:
        (root / "usr" / top).mkdir(parents=True, exist_ok=True)
        link = root / top
        if not link.is_symlink():
            if link.exists():
                raise UnpackError(f"/{top} exists and is not a link: not a merged /usr tree")
            os.symlink(f"usr/{top}", link)


def place_tree(src: Path, root: Path, log: TextIO | None = None, owner: str = "") -> list[str]:
    """Move the files of SRC (one package, unpacked alone) into ROOT, as dpkg places them.

    A directory of SRC that ROOT has (as a directory, or as a link to one)
    is entered; one it lacks is moved over whole.  Any other entry replaces
    what ROOT has at its place, unless that is a directory (dpkg refuses too).
    Returns the guest paths that replaced an earlier package's file or could
    not be placed; each is also written to LOG.
    """
    notes: list[str] = []

    def note(msg: str) -> None:
        notes.append(msg)
        if log is not None:
            log.write(f"unpack {owner}: {msg}\n")

    def walk(src_dir: Path, guest_dir: str) -> None:
        dst_dir = resolve_in_root(root, guest_dir)
        with os.scandir(src_dir) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            guest = f"{guest_dir.rstrip('/')}/{e.name}"
            dst = dst_dir / e.name
            if e.is_dir(follow_symlinks=False):
                if dst.is_dir():                       # a directory, or a link to one
                    walk(Path(e.path), guest)
                elif dst.is_symlink() or dst.exists():
                    note(f"{guest}: a directory in the package, a file in the tree: not placed")
                else:
                    os.rename(e.path, dst)
                continue
            if dst.is_dir() and not dst.is_symlink():
                note(f"{guest}: a directory in the tree: the package's file not placed")
                continue
            if dst.is_symlink() or dst.exists():
                note(f"{guest}: replaces the file an earlier package unpacked")
            os.rename(e.path, dst)

    walk(src, "/")
    return notes


def tree_paths(tree: Path) -> list[str]:
    """Every entry of an unpacked package as dpkg lists it (`/.` first, directories
    before what they hold)."""
    out = ["/."]

    def walk(d: Path, guest: str) -> None:
        with os.scandir(d) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            path = f"{guest}/{e.name}"
            out.append(path)
            if e.is_dir(follow_symlinks=False):
                walk(Path(e.path), path)

    walk(tree, "")
    return out


def md5_in_root(root: Path, guest: str) -> str | None:
    """md5 of a file of the tree (links followed inside it), None if it is not a file."""
    host = resolve_in_root(root, guest)
    if not host.is_file():
        return None
    h = hashlib.md5()
    with open(host, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---- one package ----------------------------------------------------------------------

@dataclass
class Unpacked:
    control: dict[str, str]
    members: dict[str, bytes]              # control archive members but `control`
    modes: dict[str, int]                  # ... and their permission bits
    paths: list[str]                       # the package's entries (`dpkg -L`)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.control["Package"]

    @property
    def info_name(self) -> str:
        return info_name(self.control)


def _dpkg_deb(*args: str) -> None:
    r = subprocess.run(["dpkg-deb", *args], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True)
    if r.returncode != 0:
        msg = (r.stderr.strip().splitlines() or ["failed"])[-1]
        raise UnpackError(f"dpkg-deb {args[0]} {Path(args[1]).name}: {msg}")


def unpack_deb(deb: Path, root: Path, work: Path, log: TextIO | None = None) -> Unpacked:
    """Unpack DEB into ROOT (merged /usr kept); WORK is an empty-able folder on ROOT's
    file system (the files are moved, not copied)."""
    if work.exists():
        shutil.rmtree(work)
    ctl, tree = work / "control", work / "tree"
    work.mkdir(parents=True)
    _dpkg_deb("-e", str(deb), str(ctl))
    tree.mkdir()
    _dpkg_deb("-x", str(deb), str(tree))
    try:
        control = parse_stanzas((ctl / "control").read_text(errors="surrogateescape"))[0]
    except (OSError, IndexError, ValueError) as e:
        raise UnpackError(f"{deb.name}: unreadable control file ({e})") from None
    members, modes = {}, {}
    for f in sorted(ctl.iterdir()):
        if f.name != "control" and f.is_file():
            members[f.name] = f.read_bytes()
            modes[f.name] = stat.S_IMODE(f.stat().st_mode)
    paths = tree_paths(tree)
    notes = place_tree(tree, root, log, control.get("Package", deb.name))
    shutil.rmtree(work)
    return Unpacked(control, members, modes, paths, notes)


# ---- the dpkg database -------------------------------------------------------------------

def write_dpkg_database(root: Path, packages: list[Unpacked], arch: str = "arm64") -> None:
    """/var/lib/dpkg as `dpkg --unpack` of PACKAGES would leave it on an empty system."""
    admin = root / "var" / "lib" / "dpkg"
    info = admin / "info"
    for d in (info, admin / "updates", admin / "triggers", admin / "alternatives"):
        d.mkdir(parents=True, exist_ok=True)
    (info / "format").write_text("1\n")             # the multiarch layout of info/
    (admin / "arch").write_text(f"{arch}\n")
    for name in ("diversions", "statoverride"):
        (admin / name).touch()
    status, avail = [], []
    file_triggers: list[str] = []
    explicit: dict[str, list[str]] = {}
    for pkg in packages:
        iname = pkg.info_name
        conff = []
        for path in conffile_paths(pkg.members.get("conffiles", b"").decode(errors="replace")):
            digest = md5_in_root(root, path)
            if digest is not None:
                conff.append((path, digest))
        status.append(status_stanza(pkg.control, "install ok unpacked", conff))
        avail.append(format_stanza(pkg.control))
        (info / f"{iname}.list").write_text(list_file(pkg.paths), errors="surrogateescape")
        for member, data in pkg.members.items():
            target = info / f"{iname}.{member}"
            target.write_bytes(data)
            target.chmod(pkg.modes[member])
        if "triggers" in pkg.members:
            lines, named = trigger_interests(iname, pkg.members["triggers"].decode(errors="replace"))
            file_triggers += lines
            for trig, who in named.items():
                explicit.setdefault(trig, []).extend(who)
    (admin / "status").write_text("\n".join(status), errors="surrogateescape")
    (admin / "available").write_text("\n".join(avail), errors="surrogateescape")
    (admin / "triggers" / "File").write_text("".join(f"{ln}\n" for ln in file_triggers))
    for trig, who in explicit.items():
        (admin / "triggers" / trig).write_text("".join(f"{w}\n" for w in who))
    (admin / "triggers" / "Unincorp").touch()


# ---- what a booted Debian system has that no package ships --------------------------------

def hosts_text(hostname: str) -> str:
    """/etc/hosts of a system named hostname: localhost, and its own name (Debian's
    127.0.1.1), so that glibc resolves both without asking DNS."""
    return (f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n"
            "::1\t\tlocalhost ip6-localhost ip6-loopback\n")


def add_basics(root: Path, hostname: str = "mkemu") -> list[str]:
    """The directories and files every system has, where the packages left them out.
    Returns what was added (for the log)."""
    added = []
    for d, mode in (("tmp", 0o1777), ("var/tmp", 0o1777), ("root", 0o700), ("proc", 0o555),
                    ("sys", 0o555), ("dev", 0o755), ("run", 0o755), ("home", 0o755),
                    ("etc", 0o755)):
        p = root / d
        if not p.exists() and not p.is_symlink():
            p.mkdir(parents=True)
            p.chmod(mode)
            added.append(f"/{d}")
    # base-passwd's preinst writes these from its master files when they are
    # missing; the same text, so that every later step finds users and groups.
    masters = root / "usr" / "share" / "base-passwd"
    for name in ("passwd", "group"):
        target = root / "etc" / name
        master = masters / f"{name}.master"
        if not target.exists() and master.is_file():
            shutil.copyfile(master, target)
            target.chmod(0o644)
            added.append(f"/etc/{name} (from base-passwd's {name}.master)")
    files = {
        "etc/hostname": f"{hostname}\n",
        "etc/hosts": hosts_text(hostname),
        "etc/fstab": "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n",    # debootstrap's words
    }
    for path, text in files.items():
        p = root / path
        if not p.exists() and not p.is_symlink():
            p.write_text(text)
            added.append(f"/{path}")
    return added
