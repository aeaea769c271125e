"""Guest test programs: C and assembly sources in tests/guest/, compiled for
aarch64 with Debian's cross compiler (aarch64-linux-gnu-gcc) and cached.

    guest_binary("hello")                      # -static (the default)
    guest_binary("hello", kind="static-pie")   # -static-pie
    guest_binary("hello", kind="dynamic")      # needs glibc_rootfs() to run

The cache key is the source text, the flags and the compiler's version, so an
edited fixture is rebuilt and an unchanged one is compiled once per machine.
Binaries live in the cache directory (env MKEMU_CACHE, default ~/.cache/mkemu)
under guest/; pytest-xdist workers serialize on a lock file per fixture and
each result is renamed into place whole.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from .rootfs import cache_dir

GUEST_SRC = Path(__file__).resolve().parent.parent / "guest"
CC = os.environ.get("MKEMU_GUEST_CC", "aarch64-linux-gnu-gcc")
KINDS = {
    "static": ["-static"],
    "static-pie": ["-static-pie", "-fPIE"],
    "dynamic": ["-fPIE", "-pie"],
}
CFLAGS = ["-O2", "-g0", "-Wall", "-Wno-unused-result"]
LDLIBS = ["-lm"]


class GuestBuildError(RuntimeError):
    """A guest fixture could not be compiled."""


@functools.cache
def _compiler_id() -> str:
    if not shutil.which(CC):
        raise GuestBuildError(f"{CC} not found: apt-get install gcc-aarch64-linux-gnu "
                              "libc6-dev-arm64-cross (.ci/run does it)")
    r = subprocess.run([CC, "--version"], capture_output=True, text=True)
    return r.stdout.splitlines()[0] if r.stdout else CC


def guest_source(name: str) -> Path:
    for ext in (".c", ".S"):
        src = GUEST_SRC / f"{name}{ext}"
        if src.exists():
            return src
    raise FileNotFoundError(f"no guest source tests/guest/{name}.c or tests/guest/{name}.S")


def guest_binary(name: str, kind: str = "static", cflags: tuple[str, ...] = ()) -> Path:
    """The aarch64 executable built from tests/guest/NAME.c (or .S)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
    src = guest_source(name)
    flags = [*CFLAGS, *KINDS[kind], *source_cflags(src), *cflags]
    libs = LDLIBS
    if src.suffix == ".S":
        flags.append("-nostdlib")   # assembly fixtures bring their own _start
        libs = []
    key = "\0".join([_compiler_id(), *flags, *libs]).encode() + b"\0" + src.read_bytes()
    digest = hashlib.sha256(key).hexdigest()[:16]
    out_dir = cache_dir() / "guest"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}-{kind}-{digest}"
    if out.exists():
        return out
    with open(out_dir / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.exists():
            tmp = out_dir / f".{out.name}.tmp{os.getpid()}"
            cmd = [CC, *flags, "-o", str(tmp), str(src), *libs]
            r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if r.returncode != 0:
                tmp.unlink(missing_ok=True)
                raise GuestBuildError(f"{' '.join(cmd)} failed:\n{r.stderr.strip()}")
            os.rename(tmp, out)
    return out


def source_cflags(src: Path) -> list[str]:
    """Flags a fixture asks for on a line "mkemu-cflags: ..." (e.g. an -march for its features)."""
    for line in src.read_text().splitlines()[:20]:
        if "mkemu-cflags:" in line:
            return line.split("mkemu-cflags:", 1)[1].replace("*/", "").split()
    return []


def all_guest_sources() -> list[str]:
    """Names of every fixture in tests/guest/."""
    return sorted(p.stem for p in GUEST_SRC.iterdir() if p.suffix in (".c", ".S"))


def host_binary(name: str) -> Path:
    """tests/guest/NAME.c built for this host with gcc and run natively: the Linux
    reference where qemu-aarch64 deviates (vfork, execve, fcntl owners...)."""
    src = guest_source(name)
    cc = shutil.which("gcc")
    if cc is None:
        raise GuestBuildError("no host gcc: apt-get install gcc (.ci/run does)")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    out = cache_dir() / "host" / f"{name}-{digest}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
        subprocess.run([cc, "-O2", "-Wall", "-o", str(tmp), str(src)], check=True)
        tmp.rename(out)
    return out
