"""Guest test programs: C and assembly sources in tests/guest/, compiled for
aarch64 with Debian's cross compiler and cached by source hash."""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from .rootfs import cache_dir

GUEST_SRC = Path(__file__).resolve().parent.parent / "guest"
CC = "aarch64-linux-gnu-gcc"
KINDS = {"static": ["-static"], "static-pie": ["-static-pie", "-fPIE"], "dynamic": []}


def guest_binary(name: str, kind: str = "static") -> Path:
    src = next((GUEST_SRC / f"{name}{ext}" for ext in (".c", ".S") if (GUEST_SRC / f"{name}{ext}").exists()), None)
    if src is None:
        raise FileNotFoundError(f"no guest source tests/guest/{name}.c or .S")
    if not shutil.which(CC):
        raise RuntimeError(f"{CC} not found: install gcc-aarch64-linux-gnu")
    flags = ["-O2", "-g0", *KINDS[kind]]
    if src.suffix == ".S":
        flags += ["-nostdlib"]
    digest = hashlib.sha256(src.read_bytes() + " ".join(flags).encode()).hexdigest()[:16]
    out_dir = cache_dir() / "guest"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}-{kind}-{digest}"
    if out.exists():
        return out
    with open(out_dir / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.exists():
            tmp = out.with_suffix(f".tmp{os.getpid()}")
            subprocess.run([CC, *flags, "-o", str(tmp), str(src)], check=True, capture_output=True)
            os.rename(tmp, out)
    return out
