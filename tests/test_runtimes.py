"""Real multi-threaded programs of two language runtimes: Rust and Go.

Both come from pinned PyPI wheels (tests/support/wheels.py) as static aarch64
executables and run in the busybox rootfs, loaded from the host file:

* ruff 0.17.6 (Rust std + rayon, musl): `ruff check` walks a directory with
  the `ignore` crate's parallel walker and lints the files on rayon's thread
  pool (4 clone(CLONE_VM|CLONE_THREAD) on 2 host CPUs under qemu); `--version`
  starts no thread and is the baseline.
* shfmt v3.14.1 (Go 1.27, from shfmt-py 4.2.0): the Go runtime starts threads
  (sysmon, GC workers, idle Ps) before main, so even `--version` clones
  (3 under qemu); it preempts goroutines with tgkill(SIGURG) and parks threads
  on futexes.  GOGC=1 makes it collect garbage while it formats.

Each run is compared with qemu-aarch64: exit status and stdout.  The lint
runs in a fresh directory under the rootfs's /tmp, which both start in
(paths in ruff's report are then relative and the same under both).

Cost under mkemu (instructions counted under qemu; mkemu runs ~2-4 million a
second once its code cache is warm): ruff --version 0.7 M (~7 s cold, 2 s
warm), the lint ~38 M, shfmt ~1.3 M, the GOGC=1 format ~27 M; so none is
marked slow, but the timeouts allow for a cold cache and thread overhead.
"""
from __future__ import annotations

import shutil
import uuid

import pytest

from tests.support.guestrun import run_mkemu, run_qemu
from tests.support.wheels import wheel_binary

TIMEOUT = 300


@pytest.fixture(scope="module")
def ruff():
    return wheel_binary("ruff")


@pytest.fixture(scope="module")
def shfmt():
    return wheel_binary("shfmt")


@pytest.fixture
def work_dir(rootfs):
    """A fresh directory under the busybox rootfs's /tmp (host path)."""
    host = rootfs / "tmp" / f"rt-{uuid.uuid4().hex[:12]}"
    host.mkdir(parents=True)
    yield host
    shutil.rmtree(host, ignore_errors=True)


def assert_like_qemu(rootfs, args, stdin=b"", guest_env=None, cwd=None) -> bytes:
    """ARGS (args[0] a host program) under mkemu and qemu: same status and stdout."""
    qcode, qout, qerr = run_qemu(args, rootfs=rootfs, stdin=stdin, timeout=TIMEOUT,
                                 guest_env=guest_env, cwd=cwd)
    code, out, err = run_mkemu(args, rootfs=rootfs, stdin=stdin, timeout=TIMEOUT,
                               guest_env=guest_env, cwd=cwd)
    assert (code, out) == (qcode, qout), (
        f"mkemu status {code}, qemu {qcode}; mkemu stderr:\n"
        + err.decode(errors="replace")[-3000:])
    return out


# ---------------------------------------------------------------- Rust: ruff

def test_ruff_version(rootfs, ruff):
    out = assert_like_qemu(rootfs, [ruff, "--version"])
    assert out == b"ruff 0.17.6\n"


LINT_SOURCE = """\
import os
import sys


def f{i}(x):
    if x == None:
        return sys.argv
    l = [y for y in range(x)]
    return undefined_{i} + l
"""


@pytest.mark.timeout(2 * TIMEOUT + 60)
def test_ruff_check_lints_on_threads(rootfs, ruff, work_dir):
    for i in range(1, 7):
        (work_dir / f"m{i}.py").write_text(LINT_SOURCE.format(i=i))
    (work_dir / "clean.py").write_text("x = 1\n")
    # --isolated: no configuration file is looked for (the host's directories
    # above work_dir under qemu, the guest's under mkemu); --no-cache: nothing written
    out = assert_like_qemu(rootfs, [ruff, "check", "--no-cache", "--isolated",
                                    "--select", "E,F,W,I", "--output-format", "concise", "."],
                           cwd=work_dir)
    assert out.startswith(b"m1.py:1:8: F401 [*] `os` imported but unused\n")
    assert b"Found 24 errors." in out


# ---------------------------------------------------------------- Go: shfmt

def test_shfmt_version(rootfs, shfmt):
    out = assert_like_qemu(rootfs, [shfmt, "--version"])
    assert out == b"v3.14.1\n"


def _script(n: int) -> bytes:
    """N shell functions, badly laid out: each needs reformatting."""
    return "".join(
        f'f{i}(){{ if [ "$1" = {i} ];then echo  "n{i}" |tr a-z A-Z;else  for x in a b c;'
        f'do echo $x{i};done;fi; case $2 in a*) y={i};; *) y=$(( {i}*2 ));;esac\n}}\n'
        for i in range(n)).encode()


@pytest.mark.timeout(2 * TIMEOUT + 60)
def test_shfmt_formats_while_collecting_garbage(rootfs, shfmt):
    out = assert_like_qemu(rootfs, [shfmt, "-i", "2"], stdin=_script(150),
                           guest_env={"GOGC": "1"})
    assert out.startswith(b'f0() {\n  if [ "$1" = 0 ]; then echo "n0" | tr a-z A-Z; else')
    assert out.count(b"\n}\n") == 150
