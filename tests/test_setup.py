"""README's first command from a fresh clone, with Debian's own python3 only.

The set-up (scripts/setup.sh -> .ci/run --setup-only) must not depend on a
`python` that happens to be first on PATH: with PATH=/usr/bin:/bin it builds
the checkout's .venv with /usr/bin/python3, writes mkemu's bytecode and links
`mkemu` into MKEMU_BIN_DIR, and that `mkemu` runs a guest.  Slow (a virtual
environment and a pip install of the test extra), so behind the marker; every
CI run (.ci/run) also runs its set-up with Debian's default PATH.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_readme_setup_from_a_fresh_clone_with_debians_python(tmp_path, rootfs):
    clone, bindir = tmp_path / "mkemu", tmp_path / "bin"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=300)
    # PYTHONDONTWRITEBYTECODE, as many containers set it: the set-up writes mkemu's
    # bytecode itself, so that no start compiles ~33,000 lines again
    env = {**os.environ, "PATH": "/usr/bin:/bin", "MKEMU_BIN_DIR": str(bindir),
           "PYTHONDONTWRITEBYTECODE": "1"}
    r = subprocess.run(["bash", "scripts/setup.sh"], cwd=clone, env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=1800)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    assert (clone / ".venv" / "pyvenv.cfg").read_text().count("home = /usr/bin\n") == 1
    assert os.path.realpath(bindir / "mkemu") == str(clone / ".venv" / "bin" / "mkemu")
    assert list((clone / "mkemu" / "kern" / "__pycache__").glob("machine.cpython-*.pyc"))
    r = subprocess.run([str(bindir / "mkemu"), "run", "--rootfs", str(rootfs), "--",
                        "/bin/busybox", "uname", "-m"], env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=300)
    assert (r.returncode, r.stdout) == (0, b"aarch64\n"), r.stderr
