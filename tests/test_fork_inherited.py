"""A fork child leaves the parent's big structures it no longer needs unfreed
(kern/fork.py `inherited`: the start kit, thousands of tuples and code objects,
and at its first execve the parent's TLB and engine): freeing them would write
to every host page they sit on, each a copy-on-write fault of the host fork.

tests/guest/proc_forkkit.c runs 512 distinct functions (a large kit) and then
forks children that exit at once, exec the program again (argv, envp and an
inherited descriptor checked), vfork + exec, and exec a missing file and a
file that is no program.  The guest part is checked against the program's own
expectations and its sums against qemu-aarch64 (which cannot run the exec
part here).  The mechanism is checked by counting: mkemu --stats gives each
process's host minor faults, and a child that only exits must fault about as
much under a parent with a start kit (4,481 traces) as under one with no code
cache at all (~700 and ~1,000 faults); freeing the kit added ~1,800.  And a
child that execs at once faults little more under a parent that read 32 MiB
first (8,192 TLB entries) than under one that read none: +320, and +790 when
the execve cleared the parent's TLB.
"""
from __future__ import annotations

import re
import shutil

from tests.support.guestrun import run_mkemu, run_qemu
from tests.support.scratch import rootfs_tmpdir

ROUNDS = 4


def _child_faults(err: bytes) -> list[int]:
    return [int(m) for m in re.findall(rb"^mkemu\[\d+\]: host-faults (\d+)$", err, re.M)]


def test_fork_children_with_a_big_kit(guest_binary, glibc_rootfs, tmp_path):
    prog = guest_binary("proc_forkkit")
    code, ref, _ = run_qemu([str(prog), "0"])
    assert code == 0
    sums = [line for line in ref.decode().splitlines() if line.startswith("sum ")]
    assert len(sums) == 2
    with rootfs_tmpdir(glibc_rootfs, "forkkit") as (host, guest):
        shutil.copy(prog, host / "forkkit")
        cache = {"MKEMU_CACHE": str(tmp_path / "cache")}
        want = (f"{sums[0]}\n{ROUNDS} rounds: exit 0 bad, exec 0 bad, vfork+exec 0 bad, "
                f"ENOENT 0 bad, ENOEXEC 0 bad\n{sums[1]}\n")
        for run in ("cold", "warm"):      # warm: the start kit and the fork hints are read
            code, out, err = run_mkemu([f"{guest}/forkkit", str(ROUNDS), guest], rootfs=glibc_rootfs,
                                       env=cache)
            assert (code, out.decode()) == (0, want), (run, err.decode()[-2000:])
        faults = {}
        for run, env in (("kit", cache), ("no cache", {**cache, "MKEMU_NO_CODE_CACHE": "1"})):
            code, out, err = run_mkemu([f"{guest}/forkkit", str(ROUNDS), guest, "exit-only"],
                                       rootfs=glibc_rootfs, env=env, extra=["--stats"])
            assert code == 0, err.decode()[-2000:]
            faults[run] = sorted(_child_faults(err))
            assert len(faults[run]) == ROUNDS, err.decode()[-2000:]
        for mib in ("0", "32"):
            code, out, err = run_mkemu([f"{guest}/forkkit", str(ROUNDS), guest, "exec-only", mib],
                                       rootfs=glibc_rootfs, env=cache, extra=["--stats"])
            assert code == 0, err.decode()[-2000:]
            faults[mib] = sorted(_child_faults(err))
            assert len(faults[mib]) == ROUNDS, err.decode()[-2000:]
    # the median child of each run
    assert faults["kit"][ROUNDS // 2] < faults["no cache"][ROUNDS // 2] + 500, faults
    assert faults["32"][ROUNDS // 2] < faults["0"][ROUNDS // 2] + 550, faults


def test_a_fork_child_never_collects_what_its_parent_made(guest_binary, rootfs):
    # kern/fork.py freezes the collector in each child: every object the parent had is in
    # the permanent generation, so no collection of the child writes to (and copies) the
    # parent's pages.  --stats' gc-frozen (with MKEMU_GC_STATS) is that count as a process
    # begins: a child's must exceed what its parent had frozen itself (start-up and kit),
    # by the objects the parent made since.
    code, out, err = run_mkemu([guest_binary("proc_chld_kinds")], rootfs=rootfs, extra=["--stats"],
                               env={"MKEMU_GC_STATS": "1"})
    assert code == 0, err.decode()[-2000:]
    parent = [int(n) for n in re.findall(rb"^mkemu: gc-frozen (\d+)$", err, re.M)]
    children = [int(n) for n in re.findall(rb"^mkemu\[\d+\]: gc-frozen (\d+)$", err, re.M)]
    assert len(parent) == 1 and len(children) >= 40, err.decode()[-2000:]
    assert min(children) > parent[0], (parent, sorted(children)[:5])
