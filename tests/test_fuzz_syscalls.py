"""Every syscall handler called with random arguments from a guest (tests/guest/fuzz_syscalls.c).

The fuzzer gets the table's numbers and argument kinds and calls each many times with
seeded random integers, bad pointers, huge lengths and odd flags.  What must hold:

* no Python exception leaves a handler (mkemu reports one as "internal error in task",
  ending with the syscall and its arguments, and kills the guest process with SIGABRT:
  that is a bug of the handler, and the failure shows the call to run again);
* nothing outside the rootfs and its bind mount changes (a canary directory beside the
  rootfs: names, modes, sizes, contents and mtimes);
* the machine stays up: the fuzzer's first process lives to the end and reports every
  case run, and every handler in the table was called.

The seed and the case count are printed (shown by `pytest -rA`) and recorded as the
test's properties; `fuzz_syscalls SEED COUNT NR:KINDS...` runs the same cases again.
"""
from __future__ import annotations

import hashlib
import os
import random
import re

import pytest

from mkemu.kern.systable import load_all
from tests.support import leaks
from tests.support.guestrun import run_mkemu

# the table's argument kinds as the fuzzer's letters
KIND_LETTERS = {"int": "i", "uint": "u", "hex": "h", "fd": "f", "dirfd": "d", "path": "p",
                "str": "s", "ptr": "P", "buf": "b", "obuf": "o", "size": "z", "oflags": "O",
                "mode": "m", "flags": "F", "signal": "S", "clock": "c"}

# handlers the fuzzer never calls, and why (everything else it calls, some defanged:
# see defang() in the C source)
SKIPPED = {"rt_sigreturn": "loads every register from a random frame: the guest would jump anywhere"}

FIXED_SEED = 20261202
FIXED_CASES = 4000


def fuzz_specs() -> list[str]:
    return [f"{nr}:{''.join(KIND_LETTERS[k] for k in row.args)}" for nr, row in sorted(load_all().items())]


def _tree(top) -> dict[str, tuple]:
    """Every name under top with its type, mode, size, mtime and content digest."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest = ""
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            elif os.path.islink(path):
                digest = os.readlink(path)
            seen[os.path.relpath(path, top)] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_uid, digest)
    st = os.lstat(top)
    seen["."] = (st.st_mode, st.st_mtime_ns, st.st_uid)
    return seen


def _machine(tmp_path):
    """A throw-away rootfs with the scratch directory the fuzzer works in, a bind
    mount, and a canary directory beside them that nothing may touch."""
    rootfs = tmp_path / "rootfs"
    for d in ("tmp", "etc", "scratch", "bound", "proc", "dev"):
        (rootfs / d).mkdir(parents=True)
    (rootfs / "etc/hostname").write_text("fuzzhost\n")
    bound = tmp_path / "bound"
    bound.mkdir()
    (bound / "f").write_text("bound file\n")
    canary = tmp_path / "canary"
    (canary / "sub").mkdir(parents=True)
    (canary / "f0").write_text("canary\n")
    (canary / "sub/f1").write_bytes(os.urandom(100))
    (canary / "ro").write_text("read only\n")
    (canary / "ro").chmod(0o444)
    os.symlink("f0", canary / "lnk")
    return rootfs, bound, canary


def internal_errors(err: bytes) -> list[str]:
    """Each "internal error" report of mkemu: its exception and the call it was in."""
    text = err.decode(errors="replace")
    found = []
    for report in text.split("mkemu: internal error")[1:]:
        lines = [ln for ln in report.splitlines() if ln.strip()]
        call = next((ln for ln in lines if ln.startswith("in syscall ")), "(not in a syscall)")
        exc = next((ln for ln in lines if re.match(r"^[A-Za-z_.]+(Error|Exception|Exit)\b", ln)),
                   lines[-1] if lines else "")
        found.append(f"{call}: {exc}")
    return found


def run_fuzzer(tmp_path, guest_binary, seed: int, cases: int, timeout: float,
               record_property) -> None:
    rootfs, bound, canary = _machine(tmp_path)
    canary_before, beside_before = _tree(canary), sorted(os.listdir(tmp_path))
    queues_before = leaks.posix_queues()
    specs = fuzz_specs()
    banner = f"syscall fuzzer: seed {seed}, {cases} cases, {len(specs)} handlers"
    print(banner)
    record_property("fuzz_seed", seed)
    record_property("fuzz_cases", cases)
    code, out, err = run_mkemu([guest_binary("fuzz_syscalls"), str(seed), str(cases), *specs],
                               rootfs=rootfs, cwd=rootfs / "scratch", timeout=timeout,
                               extra=["--bind", f"{bound}:/bound"])
    # a random mq_open may have made a queue, which outlives the machine as on Linux
    leaks.remove_posix_queues(leaks.posix_queues() - queues_before)
    report = out.decode(errors="replace")
    print(report)
    how = f"{banner} (rerun: fuzz_syscalls {seed} {cases} NR:KINDS...)"
    errors = internal_errors(err)
    assert not errors, f"{how}: Python errors in handlers:\n  " + "\n  ".join(errors)
    assert _tree(canary) == canary_before, f"{how}: the canary beside the rootfs changed"
    assert sorted(os.listdir(tmp_path)) == beside_before, f"{how}: something appeared beside the rootfs"
    assert code == 0, f"{how}: exit {code}\n{report[-3000:]}\n{err.decode(errors='replace')[-3000:]}"
    done = re.search(r"fuzz: done: seed (\d+) cases (\d+) calls (\d+) distinct (\d+) "
                     r"succeeded (\d+)", report)
    assert done, f"{how}: no summary\n{report[-3000:]}"
    assert "clone children went on" not in report, f"{how}: clone gave a child something else than 0"
    assert int(done[1]) == seed and int(done[2]) == cases
    uncalled = re.search(r"fuzz: uncalled:(.*)", report)[1].split()
    assert not uncalled, f"{how}: never called: {uncalled}"
    assert int(done[4]) == len(load_all()) - len(SKIPPED)
    assert int(done[3]) == cases                   # each case made its call
    assert int(done[5]) > cases // 20              # and some got past the argument checks


def test_every_handler_survives_random_arguments(tmp_path, guest_binary, record_property):
    run_fuzzer(tmp_path, guest_binary, FIXED_SEED, FIXED_CASES, 300, record_property)


@pytest.mark.slow
def test_every_handler_survives_random_arguments_long(tmp_path, guest_binary, record_property):
    run_fuzzer(tmp_path, guest_binary, random.randrange(1 << 32), 40000, 3600, record_property)
