"""IPC for the guest: SysV semaphores, shared memory and message queues, POSIX message
queues, glibc's shm_open/sem_open under /dev/shm; every object is its machine's and
goes with it, also when the machine is killed."""
from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from mkemu.kern import ipcspace
from tests.support import leaks
from tests.support.guestbin import host_binary
from tests.support.guestrun import (children, mkemu_command, run_command, run_mkemu,
                                    run_qemu)

# every test here counts the host's SysV objects and queues: one worker runs them all
pytestmark = pytest.mark.xdist_group("host-ipc-objects")


def _records() -> set[str]:
    """The IPC records (/tmp/mkemu-ipc-<pid>-*) and /dev/shm directories there are now."""
    return set(glob.glob("/tmp/mkemu-ipc-*") + glob.glob("/dev/shm/mkemu-*"))


def _records_of_dead_brokers(older: set[str]) -> list[str]:
    """IPC records and /dev/shm directories of brokers that no longer run: what nobody
    cleaned; those in `older` left out (they were there before the test: an earlier
    test's machine may still be ending, or its supervisor was killed with it, and
    the next machine's start sweeps it, not this test's).  A record written in another
    IPC namespace (another xdist worker, a machine run under unshare) names objects no
    machine here can reach, so a sweep here leaves it, and so does this count."""
    left = []
    here = ipcspace._ipc_namespace()
    for path in sorted(_records() - older):
        pid = os.path.basename(path).split("-")[2 if "/tmp/" in path else 1]
        if not pid.isdigit() or os.path.exists(f"/proc/{pid}"):
            continue
        if "/tmp/" in path and ipcspace._record_namespace(path) not in (None, here):
            continue
        left.append(path)
    return left


def _gone(broker: str) -> bool:
    return broker.isdigit() and not os.path.exists(f"/proc/{broker}")


def _no_keys_objects(older: set[str]):
    """Nothing ipc_keys makes is left by a machine that has ended: no queue or /dev/shm
    file.  A machine still running (another pytest run on this host runs ipc_keys too:
    xdist_group only orders this run's workers) owns what it made.  No record of a
    machine started since `older` was taken (_records) is left either."""
    assert not [f for f in glob.glob("/dev/shm/mkemu-*/mkemu-keys-shm")
                if _gone(f.split("/")[3].split("-")[1])]
    assert not {q for q in leaks.posix_queues()
                if q.endswith("mkemu-keys-q") and _gone(q.split("-")[1])}
    assert not _records_of_dead_brokers(older)


def test_sysv_across_fork_like_qemu(rootfs, guest_binary):
    # qemu passes the calls to the host; the program uses IPC_PRIVATE, so its objects
    # cannot meet mkemu's
    before = leaks.sysv_objects()
    prog = guest_binary("ipc_sysv")
    qc, qo, qe = run_qemu([prog], rootfs=rootfs)
    code, out, err = run_mkemu([prog], rootfs=rootfs)
    assert qc == 0, qe.decode(errors="replace")
    assert (code, out) == (qc, qo), err.decode(errors="replace")
    assert b"sem1 while the child holds its undo: 2\n" in out
    assert b"sem1 after the child's exit (undone): 0\n" in out
    assert b"shm: 'written by the child' last byte z\n" in out
    assert b"msgrcv(-3): type 1 'one' (4)\n" in out
    assert leaks.sysv_objects() == before


def test_posix_mq_like_linux(rootfs, guest_binary):
    # qemu has no mq_notify: the reference is the same program built for the host
    name = f"/mkemu-mq-{uuid.uuid4().hex[:8]}"
    hc, ho, he = run_command([str(host_binary("ipc_mq")), name + "-host"])
    code, out, err = run_mkemu([guest_binary("ipc_mq"), name], rootfs=rootfs)
    assert hc == 0, he.decode(errors="replace")
    assert (code, out) == (hc, ho), err.decode(errors="replace")
    assert b"first: 'high' prio 30\nsecond: 'middle' prio 7\n" in out
    assert b"empty, O_NONBLOCK: -1 Resource temporarily unavailable\n" in out
    assert b"timed receive: -1 Connection timed out\n" in out
    assert b"notified by signal 10\n" in out


@pytest.mark.parametrize("kind", ["static", "dynamic"])
def test_glibc_shm_open_and_sem_open_across_fork(kind, glibc_rootfs, guest_binary):
    prefix = f"/mkemu-posix-{uuid.uuid4().hex[:8]}"
    prog = guest_binary("ipc_posix", kind=kind)
    qc, qo, qe = run_qemu([prog, prefix + "-q"], rootfs=glibc_rootfs)
    code, out, err = run_mkemu([prog, prefix], rootfs=glibc_rootfs)
    assert qc == 0, qe.decode(errors="replace")
    assert (code, out) == (qc, qo), err.decode(errors="replace")
    assert b"after sem_wait: 'hello from the child'\n" in out
    assert b"the semaphore is a file: 1\n" in out


def test_two_machines_with_one_key_do_not_meet(rootfs, guest_binary):
    # both make everything with IPC_EXCL/O_EXCL under one key and one set of names,
    # and each waits until the other has made its own before reading back
    before, older = leaks.sysv_objects(), _records()
    prog = guest_binary("ipc_keys")
    tag = uuid.uuid4().hex[:8]
    host_tmp = rootfs / "tmp"
    host_tmp.mkdir(exist_ok=True)
    a, b = f"/tmp/keys-{tag}-a", f"/tmp/keys-{tag}-b"
    procs = [subprocess.Popen(mkemu_command([prog, "0x4d4b0001", value, mine, other, "leave"],
                                            rootfs), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, start_new_session=True)
             for value, mine, other in (("11", a, b), ("22", b, a))]
    try:
        results = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for f in (a, b):
            try:
                os.unlink(str(rootfs) + f)
            except OSError:
                pass
    for p, (out, err), value in zip(procs, results, ("11", "22")):
        assert p.returncode == 0, err.decode(errors="replace")
        assert out.decode() == (f"the same set again: 1\nsem {value}\nshm {value}\nmsg {value}\n"
                                f"mq {value}\nfile {value}\n"), err.decode(errors="replace")
    # a normal end removed what the guests left
    assert leaks.sysv_objects() == before
    _no_keys_objects(older)


def _wait_gone(pids: list[int], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") and
                                              leaks._proc_stat(str(p)) not in (None,)
                                              and leaks._proc_stat(str(p))[1] != "Z"
                                              for p in pids):
        time.sleep(0.05)


@pytest.mark.parametrize("cleanup", ["next machine", "sweep"])
def test_killed_machine_is_cleaned_up(cleanup, rootfs, guest_binary):
    before, older = leaks.sysv_objects(), _records()
    prog = guest_binary("ipc_keys")
    sup = subprocess.Popen(mkemu_command([prog, "0x4d4b0002", "7", "/tmp/x", "/tmp/x", "hold"],
                                         rootfs), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, start_new_session=True)
    try:
        line = sup.stdout.readline()
        assert line == b"ready\n", sup.stderr.read1().decode(errors="replace")
        (broker,) = children(sup.pid)
        tasks = children(broker)
        made = leaks.sysv_objects() - before
        assert sorted(o.split()[0] for o in made) == ["mqueue", "msg", "sem", "shm"]
        assert f"mqueue mkemu-{broker}-mkemu-keys-q" in made
        assert glob.glob(f"/dev/shm/mkemu-{broker}-*/mkemu-keys-shm")
        os.kill(sup.pid, signal.SIGKILL)     # the whole machine, supervisor first
        os.kill(broker, signal.SIGKILL)
        sup.wait()
        _wait_gone([broker, *tasks])
    finally:
        if sup.poll() is None:
            sup.kill()
            sup.wait()
    assert leaks.sysv_objects() - before, "nothing to clean up: the test proves nothing"
    if cleanup == "next machine":
        code, out, err = run_mkemu(["/bin/busybox", "true"], rootfs=rootfs)
        assert code == 0, err.decode(errors="replace")
    else:
        code, out, err = run_command([sys.executable, "-c",
                                      "from mkemu.kern.ipcspace import sweep; sweep()"],
                                     cwd=os.path.dirname(os.path.dirname(__file__)))
        assert code == 0, err.decode(errors="replace")
    assert leaks.sysv_objects() == before
    ipcs = subprocess.run(["ipcs"], capture_output=True, text=True).stdout
    assert "0x4d4b0002" not in ipcs
    _no_keys_objects(older)


def test_segments_shared_by_threads_and_fork_like_qemu(rootfs, guest_binary):
    # a thread in another task process attaches a segment a sibling attached (when it
    # loads the published mappings); shmdt by one thread detaches for all; fork keeps both
    before = leaks.sysv_objects()
    prog = guest_binary("ipc_threads")
    qc, qo, qe = run_qemu([prog], rootfs=rootfs)
    code, out, err = run_mkemu([prog], rootfs=rootfs)
    assert qc == 0, qe.decode(errors="replace")
    assert (code, out) == (qc, qo), err.decode(errors="replace")
    assert b"main reads: 'written by the thread' 'attached by the thread'\n" in out
    assert b"child reads: 'attached by main' 'attached by the thread'\n" in out
    assert leaks.sysv_objects() == before


def test_signal_breaks_blocked_calls_like_qemu(rootfs, guest_binary):
    # SysV calls are never restarted, even with SA_RESTART; a queue receive without it
    name = f"/mkemu-eintr-{uuid.uuid4().hex[:8]}"
    prog = guest_binary("ipc_eintr")
    qc, qo, qe = run_qemu([prog, name + "-q"], rootfs=rootfs)
    code, out, err = run_mkemu([prog, name], rootfs=rootfs)
    assert qc == 0, qe.decode(errors="replace")
    assert (code, out) == (qc, qo), err.decode(errors="replace")
    assert out.count(b"Interrupted system call") == 4
