"""Session fixtures: the test rootfs, guest binaries, the check that no machine
left anything behind, and the unicorn oracle's counts in the summary.

The leak check (tests/support/leaks.py) runs when each pytest (or pytest-xdist
worker) session ends and reports
- processes: every live descendant of this process, and every process anywhere
  (orphans are re-parented to init) whose environment holds this session's
  MKEMU_TEST_SESSION token, which every mkemu started from the tests inherits,
  with the memfds and sockets each still holds (a memfd or socket lives only
  as long as a process holds it);
- SysV IPC objects that appeared: each session process first moves into an IPC
  namespace of its own, so objects made by other users of the host never show.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support import leaks
from tests.support.guestbin import guest_binary as _guest_binary
from tests.support.rootfs import busybox_rootfs, full_rootfs as _full_rootfs, glibc_rootfs as _glibc_rootfs

SESSION_TOKEN = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
os.environ["MKEMU_TEST_SESSION"] = SESSION_TOKEN
SESSION_ENV = f"MKEMU_TEST_SESSION={SESSION_TOKEN}"
_sysv_isolated = False


def _default_job_signals() -> None:
    """A suite started in the background of a script (`pytest &`: the shell ignores
    SIGINT and SIGQUIT in it) would hand that SIG_IGN to every mkemu it starts, and
    mkemu, as execve does, to the guest: the tests that send those signals would
    see them ignored.  Give the suite the defaults (a handler set here goes back to
    SIG_DFL in each program started from it)."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGQUIT) == signal.SIG_IGN:
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def pytest_configure(config):
    global _sysv_isolated
    _default_job_signals()
    _sysv_isolated = leaks.isolate_sysv_ipc()    # before any test starts a process


@pytest.fixture(scope="session")
def rootfs() -> Path:
    """Debian's static arm64 busybox tree (cached; see tests/support/rootfs.py)."""
    return busybox_rootfs()


@pytest.fixture(scope="session")
def glibc_rootfs() -> Path:
    """The busybox tree plus Debian's arm64 glibc, for dynamic guest binaries."""
    return _glibc_rootfs()


@pytest.fixture(scope="session")
def full_rootfs() -> Path:
    """A small installed Debian 12 arm64 system: shells, coreutils, make, perl,
    python3, sqlite3, procps (tests/support/rootfs.py, FULL_PACKAGES)."""
    return _full_rootfs()


@pytest.fixture(scope="session")
def guest_binary():
    """guest_binary(name, kind="static"|"static-pie"|"dynamic") -> Path of tests/guest/NAME.c built."""
    return _guest_binary


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind():
    me = os.getpid()
    sysv_before = leaks.sysv_objects()
    yield
    deadline = time.monotonic() + 5          # a machine may still be tearing down
    while time.monotonic() < deadline and leaks.left_behind(me, SESSION_ENV, sysv_before):
        time.sleep(0.1)
    left = leaks.left_behind(me, SESSION_ENV, sysv_before)
    if left and not _sysv_isolated:
        left.append("(SysV objects are host-wide here: no IPC namespace of our own)")
    assert not left, "left behind by the tests:\n  " + "\n  ".join(left)


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


_failed: dict[str, str] = {}                 # node id -> the end of its failure report


def pytest_runtest_logreport(report):
    if report.failed:
        _failed[report.nodeid] = str(report.longrepr)[-2000:]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _worker_tallies.append(getattr(node, "workeroutput", {}).get("oracle_tally", {}))


def pytest_sessionfinish(session):
    out = getattr(session.config, "workeroutput", None)
    if out is not None:                       # an xdist worker: hand the tally to the controller
        out["oracle_tally"] = _local_tally()
    elif report := os.environ.get("MKEMU_ORACLE_REPORT"):   # tests/oracle/test_code_cache.py
        Path(report).write_text(json.dumps({"groups": oracle_tally(), "failed": _failed},
                                           indent=1, sort_keys=True))


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
