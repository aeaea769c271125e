"""The test rootfs: Debian's static arm64 busybox, unpacked once and cached.

Built from the Debian package with `apt-get download busybox-static:arm64`
and `dpkg-deb -x` (the machine needs `dpkg --add-architecture arm64` and an
`apt-get update`, which .ci/run and scripts/setup.sh do).  pytest-xdist
workers may ask at once: a lock file serializes the build and the result is
moved into place atomically.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    root = Path(os.environ.get("MKEMU_CACHE", Path.home() / ".cache" / "mkemu"))
    root.mkdir(parents=True, exist_ok=True)
    return root


PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"


def busybox_rootfs() -> Path:
    target = cache_dir() / "rootfs" / "busybox"
    if (target / "bin" / "busybox").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".busybox.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "bin" / "busybox").exists():
            return target
        if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
            raise RuntimeError("building the test rootfs needs apt-get and dpkg-deb (Debian)")
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            r = subprocess.run(["apt-get", "download", "busybox-static:arm64"], cwd=tmp,
                               capture_output=True, text=True)
            debs = list(Path(tmp).glob("busybox-static_*_arm64.deb"))
            if r.returncode != 0 or not debs:
                raise RuntimeError("apt-get download busybox-static:arm64 failed (run "
                                   "`dpkg --add-architecture arm64 && apt-get update`):\n" + r.stderr)
            staging = Path(tmp) / "root"
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(staging)], check=True)
            for d in ("tmp", "root", "dev", "proc", "etc", "home"):
                (staging / d).mkdir(exist_ok=True)
            (staging / "tmp").chmod(0o1777)
            (staging / "etc" / "passwd").write_text(PASSWD)
            (staging / "etc" / "group").write_text(GROUP)
            (staging / "etc" / "hostname").write_text("mkemu-guest\n")
            os.rename(staging, target)
    return target
