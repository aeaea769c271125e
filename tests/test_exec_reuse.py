"""Code reused across fork and execve (cpu/codecache.py: traces kept in the process
and inherited by fork children, and a fork site's hint that has the parent make
what its children exec'd) never runs a program other than the file execve finds.

tests/guest/exec_swap.c execs one path in a loop while swapping the file there
between two builds of tests/guest/exec_swap_child.c that differ in one constant
(their exit status), by rename and by rewriting it in place.  qemu-aarch64 hands
a guest's execve to the host, so the reference is execve(2)'s rule: each child
exits with the status of the program installed for its round.  Two machines
share a fresh code cache: the first translates everything, the second starts
from the cache and the hints the first wrote.
"""
from __future__ import annotations

import shutil

import pytest

from tests.support.guestrun import run_mkemu
from tests.support.scratch import rootfs_tmpdir

ROUNDS = 8


@pytest.fixture
def swap_dir(glibc_rootfs):
    with rootfs_tmpdir(glibc_rootfs, "swap") as made:
        yield made


@pytest.mark.parametrize("kind", ["dynamic", "static"])
def test_exec_of_a_changed_file_runs_the_new_program(guest_binary, glibc_rootfs, swap_dir,
                                                     tmp_path, kind):
    host, guest = swap_dir
    shutil.copy(guest_binary("exec_swap"), host / "swap")
    for name, value in (("a", 1), ("b", 2)):
        shutil.copy(guest_binary("exec_swap_child", kind=kind, cflags=(f"-DVALUE={value}",)),
                    host / name)
    expected = "".join(f"round {i}: {'AB'[i % 2]} exit {1 + i % 2}\n" for i in range(ROUNDS))
    cache = {"MKEMU_CACHE": str(tmp_path / "cache")}
    for run in ("cold", "warm"):
        code, out, err = run_mkemu([f"{guest}/swap", guest, f"{guest}/a", f"{guest}/b",
                                    str(ROUNDS)], rootfs=glibc_rootfs, env=cache)
        assert (code, out.decode()) == (0, expected), (run, err.decode()[-2000:])
    assert list((tmp_path / "cache").glob("code/*/hint-*")), "the children left no hint"
