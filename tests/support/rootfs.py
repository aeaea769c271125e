"""Test root filesystems unpacked from Debian's arm64 packages, built once and cached.

`busybox_rootfs()` is Debian's static arm64 busybox (`apt-get download
busybox-static:arm64` + `dpkg-deb -x`) plus the few files and directories
programs look for (/tmp, /root, /dev, /proc, /etc/passwd, /etc/group,
/etc/hostname).  Tests call `/bin/busybox APPLET`: no applet links are made.
`glibc_rootfs()` is the same with Debian's arm64 glibc (libc6) added, for
dynamically linked guest programs.  `full_rootfs()` is a small Debian 12
system for real programs (shells, coreutils, make, perl, python3, sqlite3,
procps; see FULL_PACKAGES), laid out as an installed Debian 12 is: merged
/usr (/bin, /sbin and /lib are links into /usr) and the links the packages'
maintainer scripts would make (/bin/sh -> dash, awk -> mawk).

The machine needs `dpkg --add-architecture arm64` and `apt-get update` once
(.ci/run does both).  Everything lives under the cache directory (env
MKEMU_CACHE, default ~/.cache/mkemu): the downloaded .deb files in debs/, the
trees in rootfs/NAME.  pytest-xdist workers may ask at the same moment: a lock
file serializes the build, the tree is assembled in a temporary directory
beside its final place and renamed into place, and a stamp file beside it
(rootfs/NAME.stamp, written after the rename) says it is complete and which
layout it has; the guest does not see the stamp.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mkemu.system.unpack import hosts_text

# Bump when the layout below changes: caches with an older stamp are rebuilt.
LAYOUT = "3"

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
GROUP = "root:x:0:\nnogroup:x:65534:\n"
HOSTNAME = "mkemu-guest\n"

# The "full" tree: Debian 12 (bookworm) arm64 packages and their run-time
# dependency closure.  `apt-get download` resolves no dependencies, so the
# closure is written out here.  It was computed once with
#   apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
#       --no-breaks --no-replaces --no-enhances \
#       busybox-static:arm64 libc6:arm64 bash:arm64 dash:arm64 coreutils:arm64 \
#       make:arm64 perl-base:arm64 python3.11-minimal:arm64 python3-minimal:arm64 \
#       sqlite3:arm64 procps:arm64 mawk:arm64 grep:arm64 sed:arm64 findutils:arm64
# keeping the :arm64 names and leaving out what only installing or
# administering packages needs (base-files, debianutils, dpkg, install-info,
# init-system-helpers, tar, usr-is-merged, usrmerge), data and documentation
# (readline-common: /etc/inputrc; gcc-12-base: only docs) and the alternatives
# of a choice (gawk, original-awk: mawk is the awk here).  perl-base is the
# interpreter with its core modules (fork, pipe, POSIX); the full perl
# (perl-modules-5.36, libperl5.36, ~25 MB) is not needed.
FULL_PACKAGES = [
    "busybox-static",
    "libc6", "libgcc-s1", "libcrypt1",
    "bash", "libtinfo6",
    "dash",
    "coreutils", "libacl1", "libattr1", "libgmp10", "libselinux1", "libpcre2-8-0",
    "grep", "sed", "findutils", "mawk",
    "make",
    "perl-base",
    "python3.11-minimal", "libpython3.11-minimal", "python3-minimal",
    "libpython3.11-stdlib", "libffi8", "libbz2-1.0", "libuuid1",
    "libexpat1", "zlib1g", "libssl3",
    "sqlite3", "libsqlite3-0", "libreadline8",
    "procps", "libproc2-0", "libncursesw6", "libsystemd0",
    "ncurses-base",     # /usr/share/terminfo: top, watch, clear, tput find their terminal
    "libcap2", "libgcrypt20", "libgpg-error0", "liblz4-1", "liblzma5", "libzstd1",
]

ROOTFS_PACKAGES = {
    "busybox": ["busybox-static"],
    "glibc": ["busybox-static", "libc6"],
    "full": FULL_PACKAGES,
}

# Trees laid out as an installed Debian system (merged /usr, maintainer-script
# links), with their own layout version: bump it when _install_layout changes
# (the other trees' stamps, hence their caches, stay as they are).
INSTALLED_LAYOUT = {"full": "1"}

# Links that packages' maintainer scripts make on a real install:
# path -> target (relative, so that qemu-aarch64 -L follows them too).
INSTALLED_LINKS = {
    "usr/bin/sh": "dash",                  # dash.postinst (Debian's /bin/sh)
    "usr/bin/awk": "mawk",                 # update-alternatives (mawk.postinst)
    "usr/bin/python3": "python3.11",       # python3-minimal ships it; kept if so
}


class RootfsError(RuntimeError):
    """The test rootfs could not be built (missing tools or packages)."""


def cache_dir() -> Path:
    root = Path(os.environ.get("MKEMU_CACHE") or Path.home() / ".cache" / "mkemu")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _stamp_text(name: str) -> str:
    text = f"layout {LAYOUT}\npackages {' '.join(ROOTFS_PACKAGES[name])}\n"
    if name in INSTALLED_LAYOUT:
        text += f"installed {INSTALLED_LAYOUT[name]}\n"
    return text


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".stamp")


def _complete(target: Path, name: str) -> bool:
    try:
        return _stamp(target).read_text() == _stamp_text(name) and target.is_dir()
    except OSError:
        return False


# packages of "Architecture: all" (data, no code): downloaded without ":arm64"
ARCH_ALL = {"ncurses-base"}


def _apt_name(pkg: str) -> str:
    return pkg if pkg in ARCH_ALL else f"{pkg}:arm64"


def _cached_deb(debs: Path, pkg: str) -> Path | None:
    found = sorted(debs.glob(f"{pkg}_*_{'all' if pkg in ARCH_ALL else 'arm64'}.deb"))
    return found[-1] if found else None


def _download(pkgs: list[str]) -> list[Path]:
    """The arm64 .debs of PKGS in the cache (the caller holds the lock).

    Those not cached yet are fetched by one `apt-get download` (each call
    spends a second or two reading the package lists).
    """
    debs = cache_dir() / "debs"
    debs.mkdir(exist_ok=True)
    missing = [p for p in pkgs if _cached_deb(debs, p) is None]
    if missing:
        if not shutil.which("apt-get"):
            raise RootfsError("building the test rootfs needs apt-get (a Debian host): "
                              f"it downloads {' '.join(missing)} (arm64) from Debian's archive")
        with tempfile.TemporaryDirectory(dir=debs) as tmp:
            # apt-get warns when root downloads "unsandboxed": harmless, so not printed
            r = subprocess.run(["apt-get", "download", "-q", *map(_apt_name, missing)],
                               cwd=tmp, stdin=subprocess.DEVNULL, capture_output=True, text=True)
            got = {p: _cached_deb(Path(tmp), p) for p in missing}
            if r.returncode != 0 or None in got.values():
                raise RootfsError(
                    f"`apt-get download {' '.join(map(_apt_name, missing))}` failed; the "
                    "host needs `dpkg --add-architecture arm64 && apt-get update` (.ci/run does it):\n"
                    + r.stderr.strip())
            for deb in got.values():
                os.rename(deb, debs / deb.name)
    return [_cached_deb(debs, p) for p in pkgs]


def _build(name: str) -> Path:
    target = cache_dir() / "rootfs" / name
    if _complete(target, name):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _complete(target, name):
            return target
        if not shutil.which("dpkg-deb"):
            raise RootfsError("building the test rootfs needs dpkg-deb (a Debian host)")
        debs = _download(ROOTFS_PACKAGES[name])
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
            staging = Path(tmp) / "root"
            staging.mkdir()
            for deb in debs:
                r = subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)],
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True)
                if r.returncode != 0:
                    raise RootfsError(f"dpkg-deb -x {deb.name} failed:\n{r.stderr.strip()}")
            if name in INSTALLED_LAYOUT:
                _install_layout(staging)
            for d in ("tmp", "root", "dev", "proc", "etc", "home", "bin"):
                (staging / d).mkdir(exist_ok=True)
            (staging / "tmp").chmod(0o1777)
            (staging / "root").chmod(0o700)
            (staging / "etc" / "passwd").write_text(PASSWD)
            (staging / "etc" / "group").write_text(GROUP)
            (staging / "etc" / "hostname").write_text(HOSTNAME)
            # as `mkemu rootfs build` writes it: without it glibc asks DNS for localhost
            (staging / "etc" / "hosts").write_text(hosts_text(HOSTNAME.strip()))
            _stamp(target).unlink(missing_ok=True)
            if target.exists() or target.is_symlink():
                # an older layout or an interrupted build: move it aside, then drop it
                os.rename(target, Path(tmp) / "old")
            os.rename(staging, target)
            stamp_tmp = Path(tmp) / "stamp"
            stamp_tmp.write_text(_stamp_text(name))
            os.rename(stamp_tmp, _stamp(target))
    return target


def _merge_into_usr(staging: Path) -> None:
    """Debian 12's merged /usr: /bin, /sbin and /lib become links into /usr.

    Bookworm's packages still ship files under /bin, /sbin and /lib (the
    usrmerge conversion happens on install); they are moved into /usr here, so
    that /bin/bash and /usr/bin/bash, /lib/ld-linux-aarch64.so.1 (PT_INTERP)
    and /usr/lib/ld-linux-aarch64.so.1 are the same file, as on Debian 12.
    """
    usr = staging / "usr"
    for top in ("bin", "sbin", "lib"):
        src, dst = staging / top, usr / top
        dst.mkdir(parents=True, exist_ok=True)
        if src.is_dir() and not src.is_symlink():
            for dirpath, dirnames, filenames in os.walk(src, topdown=True):
                rel = Path(dirpath).relative_to(src)
                (dst / rel).mkdir(exist_ok=True)
                for entry in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
                    target = dst / rel / entry
                    if target.exists() or target.is_symlink():
                        raise RootfsError(f"merged /usr: both /{top}/{rel / entry} and "
                                          f"/usr/{top}/{rel / entry} are shipped")
                    os.rename(Path(dirpath) / entry, target)
            shutil.rmtree(src)
        os.symlink(f"usr/{top}", src)


def _install_layout(staging: Path) -> None:
    """What installing the packages would leave beyond their files."""
    _merge_into_usr(staging)
    for path, target in INSTALLED_LINKS.items():
        link = staging / path
        if not (link.exists() or link.is_symlink()):
            if not (link.parent / target).exists():
                raise RootfsError(f"/{path}: its target {target} is not in the tree")
            os.symlink(target, link)
    _compile_python(staging)


def _compile_python(staging: Path) -> None:
    """Byte-compile the guest's python standard library, as python3.11-minimal's
    postinst does (py3compile), so that the guest does not compile it on every
    start.  A .pyc depends only on the python version, not on the machine: the
    host's python3.11 writes the same files (none found: left to the guest)."""
    stdlib = staging / "usr" / "lib" / "python3.11"
    if not stdlib.is_dir():
        return
    py = next((c for c in (sys.executable, shutil.which("python3.11"), "/usr/bin/python3.11")
               if c and _python_version(c) == "3.11"), None)
    if py is None:
        return
    r = subprocess.run([py, "-c", _COMPILE_SCRIPT, str(staging)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if r.returncode != 0:
        raise RootfsError(f"compiling the guest's python library failed:\n{r.stdout}{r.stderr}")


# Run by the host's python3.11 with the staging tree as argument.  A module that
# is an absolute link (sitecustomize.py -> /etc/python3.11/sitecustomize.py) is
# compiled from the link's target in the tree, not the host's file of that name.
_COMPILE_SCRIPT = """if True:
    import compileall, os, py_compile, re, sys
    from pathlib import Path
    root = Path(sys.argv[1])
    stdlib = root / "usr/lib/python3.11"
    links = [p for p in stdlib.rglob("*.py") if p.is_symlink()]
    ok = compileall.compile_dir(stdlib, quiet=1, workers=0, ddir="/usr/lib/python3.11",
                                rx=re.compile("|".join(re.escape(str(p)) for p in links) or "^$"))
    for p in links:
        target = os.readlink(p)
        source = root / target.lstrip("/") if target.startswith("/") else p.resolve()
        guest = "/" + str(p.relative_to(root))
        py_compile.compile(str(source), cfile=str(p.parent / "__pycache__" / (
            p.stem + ".cpython-311.pyc")), dfile=guest, doraise=True)
    sys.exit(0 if ok else 1)
"""


def _python_version(python: str) -> str | None:
    try:
        r = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def busybox_rootfs() -> Path:
    """Debian's static arm64 busybox in a minimal tree (built on first use)."""
    return _build("busybox")


def glibc_rootfs() -> Path:
    """busybox_rootfs plus Debian's arm64 glibc, for dynamically linked programs."""
    return _build("glibc")


def full_rootfs() -> Path:
    """A small installed Debian 12 arm64 system (FULL_PACKAGES) for real programs."""
    return _build("full")
