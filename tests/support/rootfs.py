"""Test root filesystems unpacked from Debian's arm64 packages, built once and cached.

`busybox_rootfs()` is Debian's static arm64 busybox (`apt-get download
busybox-static:arm64` + `dpkg-deb -x`) plus the few files and directories
programs look for (/tmp, /root, /dev, /proc, /etc/passwd, /etc/group,
/etc/hostname).  Tests call `/bin/busybox APPLET`: no applet links are made.
`glibc_rootfs()` is the same with Debian's arm64 glibc (libc6) added, for
dynamically linked guest programs.

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
import tempfile
from pathlib import Path

# Bump when the layout below changes: caches with an older stamp are rebuilt.
LAYOUT = "2"

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
GROUP = "root:x:0:\nnogroup:x:65534:\n"
HOSTNAME = "mkemu-guest\n"

ROOTFS_PACKAGES = {
    "busybox": ["busybox-static"],
    "glibc": ["busybox-static", "libc6"],
}


class RootfsError(RuntimeError):
    """The test rootfs could not be built (missing tools or packages)."""


def cache_dir() -> Path:
    root = Path(os.environ.get("MKEMU_CACHE") or Path.home() / ".cache" / "mkemu")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _stamp_text(name: str) -> str:
    return f"layout {LAYOUT}\npackages {' '.join(ROOTFS_PACKAGES[name])}\n"


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".stamp")


def _complete(target: Path, name: str) -> bool:
    try:
        return _stamp(target).read_text() == _stamp_text(name) and target.is_dir()
    except OSError:
        return False


def _download(pkg: str) -> Path:
    """The arm64 .deb of PKG in the cache (downloaded once; the caller holds the lock)."""
    debs = cache_dir() / "debs"
    debs.mkdir(exist_ok=True)
    found = sorted(debs.glob(f"{pkg}_*_arm64.deb"))
    if found:
        return found[-1]
    if not shutil.which("apt-get"):
        raise RootfsError("building the test rootfs needs apt-get (a Debian host): "
                          f"it downloads {pkg}:arm64 from Debian's archive")
    with tempfile.TemporaryDirectory(dir=debs) as tmp:
        # apt-get warns when root downloads "unsandboxed": harmless, so not printed
        r = subprocess.run(["apt-get", "download", "-q", f"{pkg}:arm64"], cwd=tmp,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        got = list(Path(tmp).glob(f"{pkg}_*_arm64.deb"))
        if r.returncode != 0 or not got:
            raise RootfsError(
                f"`apt-get download {pkg}:arm64` failed; the host needs "
                "`dpkg --add-architecture arm64 && apt-get update` (.ci/run does it):\n"
                + r.stderr.strip())
        final = debs / got[0].name
        os.rename(got[0], final)
    return final


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
        debs = [_download(p) for p in ROOTFS_PACKAGES[name]]
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
            staging = Path(tmp) / "root"
            staging.mkdir()
            for deb in debs:
                r = subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)],
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True)
                if r.returncode != 0:
                    raise RootfsError(f"dpkg-deb -x {deb.name} failed:\n{r.stderr.strip()}")
            for d in ("tmp", "root", "dev", "proc", "etc", "home", "bin"):
                (staging / d).mkdir(exist_ok=True)
            (staging / "tmp").chmod(0o1777)
            (staging / "root").chmod(0o700)
            (staging / "etc" / "passwd").write_text(PASSWD)
            (staging / "etc" / "group").write_text(GROUP)
            (staging / "etc" / "hostname").write_text(HOSTNAME)
            _stamp(target).unlink(missing_ok=True)
            if target.exists() or target.is_symlink():
                # an older layout or an interrupted build: move it aside, then drop it
                os.rename(target, Path(tmp) / "old")
            os.rename(staging, target)
            stamp_tmp = Path(tmp) / "stamp"
            stamp_tmp.write_text(_stamp_text(name))
            os.rename(stamp_tmp, _stamp(target))
    return target


def busybox_rootfs() -> Path:
    """Debian's static arm64 busybox in a minimal tree (built on first use)."""
    return _build("busybox")


def glibc_rootfs() -> Path:
    """busybox_rootfs plus Debian's arm64 glibc, for dynamically linked programs."""
    return _build("glibc")
