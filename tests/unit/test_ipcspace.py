"""The broker's IPC namespace (kern/ipcspace.py) without a machine: keys, ids, removal,
and the record a later cleanup reads."""
from __future__ import annotations

import errno
import os

import pytest

from mkemu.kern import hostipc as H
from mkemu.kern.ipcspace import IpcSpace, clean_record, sweep
from tests.support import leaks


@pytest.fixture
def spaces():
    made = [IpcSpace.create(), IpcSpace.create()]     # two machines' namespaces
    yield made
    for s in made:
        s.close()


def test_one_key_two_namespaces(spaces):
    a, b = spaces
    before = leaks.sysv_objects()
    ia = a.get("sem", 0x4D4B0101, H.IPC_CREAT | H.IPC_EXCL | 0o600, 2)
    ib = b.get("sem", 0x4D4B0101, H.IPC_CREAT | H.IPC_EXCL | 0o600, 2)
    assert ia >= 0 and ib >= 0 and ia != ib
    assert a.get("sem", 0x4D4B0101, 0, 2) == ia                       # found again
    assert a.get("sem", 0x4D4B0101, H.IPC_CREAT | H.IPC_EXCL, 1) == -errno.EEXIST
    assert a.get("sem", 0x4D4B0101, 0, 3) == -errno.EINVAL           # more than it has
    assert a.get("sem", 0x4D4B0102, 0, 1) == -errno.ENOENT
    assert a.request("check", "sem", ib, 0, 0)[0] == -errno.EINVAL    # b's, not a's
    assert a.request("check", "sem", ia, 0, 0)[0] == 0x4D4B0101
    high = a.get("msg", -2, H.IPC_CREAT | 0o600, 0)                   # a key with bit 31 set
    assert a.request("check", "msg", high, 0, 0)[0] == 0xFFFF_FFFE
    assert a.get("msg", -2, 0, 0) == high
    assert len(leaks.sysv_objects() - before) == 3
    assert a.remove("sem", ia) == 0
    assert a.get("sem", 0x4D4B0101, 0, 0) == -errno.ENOENT            # the key is free
    assert a.remove("sem", ib) == -errno.EINVAL
    a.close()
    b.close()
    assert leaks.sysv_objects() == before


def test_removed_segment_keeps_its_id_until_the_end(spaces):
    a, _ = spaces
    before = leaks.sysv_objects()
    ident = a.get("shm", 0x4D4B0103, H.IPC_CREAT | 0o600, 4096)
    assert a.get("shm", 0x4D4B0103, 0, 8192) == -errno.EINVAL         # bigger than it is
    assert a.remove("shm", ident) == 0
    assert a.request("check", "shm", ident, 0, 0)[0] == 0             # key IPC_PRIVATE now
    assert a.get("shm", 0x4D4B0103, 0, 0) == -errno.ENOENT
    a.close()
    assert leaks.sysv_objects() == before


def test_a_dead_brokers_record_is_swept():
    before = leaks.sysv_objects()
    space = IpcSpace.create()
    space.get("msg", H.IPC_PRIVATE, 0o600, 0)
    open(os.path.join(space.shm_dir, "left"), "w").close()
    # a record that names another start time: its broker is gone, the pid was reused
    path = os.path.join(space.record_dir, "objects")
    with open(path) as f:
        lines = f.read().splitlines()
    with open(path, "w") as f:
        f.write("\n".join(["start 1", *lines[1:]]) + "\n")
    sweep()
    assert not os.path.exists(space.record_dir) and not os.path.exists(space.shm_dir)
    assert leaks.sysv_objects() == before
    clean_record(space.record_dir)                    # nothing left to do: no error
