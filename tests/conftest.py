"""Session fixtures: the test rootfs, guest binaries, and the check that no
machine left anything behind (processes, shared memory, message queues).

The leak check runs when each pytest (or pytest-xdist worker) session ends:
- processes: every descendant of this process that is still alive, and every
  process anywhere (orphans are re-parented to init) whose environment holds
  this session's MKEMU_TEST_SESSION token, which every mkemu started from
  the tests inherits;
- /dev/shm and /dev/mqueue entries named mkemu* that appeared during the
  session: one whose name holds a pid (mkemu-PID-...) is a leak once that pid
  is gone; one without is a leak only if no mkemu process runs anywhere
  (another xdist worker's machine may still own it) and it outlives a grace
  period.
"""
from __future__ import annotations

import os
import re
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support.guestbin import guest_binary as _guest_binary
from tests.support.rootfs import busybox_rootfs, glibc_rootfs as _glibc_rootfs

SESSION_TOKEN = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
os.environ["MKEMU_TEST_SESSION"] = SESSION_TOKEN
IPC_DIRS = ("/dev/shm", "/dev/mqueue")


@pytest.fixture(scope="session")
def rootfs() -> Path:
    """Debian's static arm64 busybox tree (cached; see tests/support/rootfs.py)."""
    return busybox_rootfs()


@pytest.fixture(scope="session")
def glibc_rootfs() -> Path:
    """The busybox tree plus Debian's arm64 glibc, for dynamic guest binaries."""
    return _glibc_rootfs()


@pytest.fixture(scope="session")
def guest_binary():
    """guest_binary(name, kind="static"|"static-pie"|"dynamic") -> Path of tests/guest/NAME.c built."""
    return _guest_binary


def _proc_stat(pid: str) -> tuple[int, str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            rest = f.read().rsplit(b")", 1)[1].split()
        return int(rest[1]), rest[0].decode()
    except (OSError, IndexError, ValueError):
        return None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def leftover_processes() -> dict[int, str]:
    """Live (non-zombie) processes this session started and did not end."""
    me = os.getpid()
    parent: dict[int, int] = {}
    state: dict[int, str] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (st := _proc_stat(name)):
            parent[int(name)], state[int(name)] = st
    found = set()
    for pid in parent:                       # descendants of this process
        p, seen = pid, 0
        while p > 1 and seen < 64:
            p, seen = parent.get(p, 0), seen + 1
            if p == me:
                found.add(pid)
                break
    token = f"MKEMU_TEST_SESSION={SESSION_TOKEN}".encode()
    for pid in parent:                       # orphans that carry our token
        if pid == me or pid in found:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if token in f.read().split(b"\0"):
                    found.add(pid)
        except OSError:
            pass
    return {pid: _cmdline(pid) for pid in sorted(found) if state.get(pid) != "Z"}


def _ipc_entries() -> set[str]:
    found = set()
    for d in IPC_DIRS:
        try:
            names = os.listdir(d)
        except OSError:
            continue
        found |= {f"{d}/{n}" for n in names if n.removeprefix("sem.").startswith("mkemu")}
    return found


def _mkemu_running_anywhere() -> bool:
    me = os.getpid()
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != me:
            cmd = _cmdline(int(name))
            if " -m mkemu " in f" {cmd} " or "/bin/mkemu " in cmd:
                return True
    return False


def leaked_ipc(before: set[str]) -> list[str]:
    leaked = []
    for path in sorted(_ipc_entries() - before):
        m = re.search(r"mkemu\D{0,8}?-(\d+)", os.path.basename(path))
        if m:
            if not os.path.exists(f"/proc/{m.group(1)}"):
                leaked.append(path)
        elif not _mkemu_running_anywhere():
            leaked.append(path)
    return leaked


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind():
    before_ipc = _ipc_entries()
    yield
    deadline = time.monotonic() + 5          # a machine may still be tearing down
    while time.monotonic() < deadline and (leftover_processes() or leaked_ipc(before_ipc)):
        time.sleep(0.1)
    left = leftover_processes()
    ipc = leaked_ipc(before_ipc)
    assert not left, "processes left behind by the tests: " + "; ".join(
        f"{pid}: {cmd}" for pid, cmd in left.items())
    assert not ipc, f"shared memory or message queues left behind: {ipc}"


# ---- what the unicorn oracle checked, per group (summed over xdist workers) ----
_worker_tallies: list[dict[str, dict]] = []


def _oracle():
    return sys.modules.get("tests.support.oracle")     # loaded only where oracle tests ran


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if (mod := _oracle()) is not None:
        mod.group = item.nodeid               # oracle cases are counted under their test
    yield


def _local_tally() -> dict[str, dict]:
    """group -> {outcome: cases, ..., "answers": digest of mkemu's end states}."""
    mod = _oracle()
    if mod is None:
        return {}
    return {g: {**mod.TALLY.get(g, {}), "answers": mod.answers_digest(g)}
            for g in sorted(set(mod.TALLY) | set(mod.ANSWERS))}


def oracle_tally() -> dict[str, dict]:
    merged = _local_tally()
    for tally in _worker_tallies:
        merged.update(tally)
    return merged


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _worker_tallies.append(getattr(node, "workeroutput", {}).get("oracle_tally", {}))


def pytest_sessionfinish(session):
    out = getattr(session.config, "workeroutput", None)
    if out is not None:                       # an xdist worker: hand the tally to the controller
        out["oracle_tally"] = _local_tally()


def pytest_terminal_summary(terminalreporter, config):
    tally = oracle_tally()
    if not tally:
        return
    from tests.support.oracle import BOTH_UNDEFINED, COMPARED, FAULTS, OUTCOMES
    total = {o: sum(t.get(o, 0) for t in tally.values()) for o in OUTCOMES}
    terminalreporter.write_line(
        f"oracle: {total[COMPARED]} instruction cases compared with unicorn (state equal); "
        f"besides, {total[BOTH_UNDEFINED]} both undefined and {total[FAULTS]} faults compared as faults")
    if config.option.verbose > 0:
        for name, t in tally.items():
            terminalreporter.write_line(
                f"  {name}: " + ", ".join(f"{t.get(o, 0)} {o}" for o in OUTCOMES))
