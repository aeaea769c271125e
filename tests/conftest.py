"""Session fixtures: the busybox rootfs, guest binaries, and the check that no
machine left anything behind (processes, shared memory, message queues)."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.support.guestbin import guest_binary as _guest_binary
from tests.support.rootfs import busybox_rootfs


@pytest.fixture(scope="session")
def rootfs() -> Path:
    return busybox_rootfs()


@pytest.fixture(scope="session")
def guest_binary():
    return _guest_binary


def _descendants(pid: int) -> list[int]:
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _leftover_ipc() -> list[str]:
    found = []
    for d in ("/dev/shm", "/dev/mqueue"):
        if os.path.isdir(d):
            found += [f"{d}/{n}" for n in os.listdir(d) if "mkemu" in n]
    return found


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind():
    before_ipc = set(_leftover_ipc())
    yield
    deadline = time.time() + 5
    while _descendants(os.getpid()) and time.time() < deadline:
        time.sleep(0.1)
    left = _descendants(os.getpid())
    ipc = set(_leftover_ipc()) - before_ipc
    assert not left, f"processes left behind by the tests: {left}"
    assert not ipc, f"shared memory or queues left behind: {sorted(ipc)}"
