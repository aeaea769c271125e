"""The start kit (mkemu/cpu/startkit.py): a machine's first program takes the traces its
last run used from one file of the code cache, and stays right when that file is stale
or damaged."""
from __future__ import annotations

import marshal
import os
import shutil
from pathlib import Path

from tests.support.guestrun import run_mkemu, run_qemu


def _stat(err: bytes, key: str) -> int:
    return int(next(l.split()[2] for l in err.decode().splitlines() if l.startswith(f"mkemu: {key} ")))


def _cache_files(cache: Path, prefix: str = "") -> list[Path]:
    return [p for p in (cache / "code").glob("*/*") if p.name.startswith(prefix)]


def test_a_run_takes_its_traces_from_the_kit_without_the_page_files(rootfs, guest_binary, tmp_path):
    env = {"MKEMU_CACHE": str(tmp_path)}
    prog = str(guest_binary("hello"))
    c1, out1, _ = run_mkemu([prog], rootfs=rootfs, env=env)
    kits = _cache_files(tmp_path, "kit-")
    assert c1 == 0 and len(kits) == 1, kits
    # only the kit is left: what the engine finds comes from it (without it: translated)
    for p in _cache_files(tmp_path):
        if not p.name.startswith("kit-"):
            p.unlink()
    c2, out2, err2 = run_mkemu([prog], rootfs=rootfs, extra=["--stats"], env=env)
    assert (c2, out2) == (c1, out1), err2
    blocks = _stat(err2, "blocks")
    assert blocks > 100 and _stat(err2, "blocks-from-cache") >= 0.9 * blocks, err2


def test_another_program_at_the_same_path_runs_as_itself(rootfs, guest_binary, tmp_path):
    env = {"MKEMU_CACHE": str(tmp_path / "cache")}
    prog = tmp_path / "prog"
    shutil.copy(guest_binary("hello"), prog)
    for _ in range(2):
        assert run_mkemu([str(prog)], rootfs=rootfs, env=env)[0] == 0
    assert _cache_files(tmp_path / "cache", "kit-")
    os.unlink(prog)
    shutil.copy(guest_binary("exitcode"), prog)       # the kit still names hello's traces
    code, out, err = run_mkemu([str(prog), "7"], rootfs=rootfs, env=env)
    qcode, qout, _ = run_qemu([str(prog), "7"], rootfs=rootfs)
    assert (code, out) == (qcode, qout) == (7, qout), err
    # the kit is now what that run ran: nothing of hello's pages that exitcode never ran
    fresh = {"MKEMU_CACHE": str(tmp_path / "fresh")}
    assert run_mkemu([str(prog), "7"], rootfs=rootfs, env=fresh)[0] == 7
    (kit,) = _cache_files(tmp_path / "cache", "kit-")
    (alone,) = _cache_files(tmp_path / "fresh", "kit-")
    pages = {e[0] for e in marshal.loads(kit.read_bytes())}
    assert pages and pages <= {e[0] for e in marshal.loads(alone.read_bytes())}


def test_a_damaged_kit_is_none_and_is_written_again(rootfs, guest_binary, tmp_path):
    env = {"MKEMU_CACHE": str(tmp_path)}
    prog = str(guest_binary("hello"))
    c1, out1, _ = run_mkemu([prog], rootfs=rootfs, env=env)
    (kit,) = _cache_files(tmp_path, "kit-")
    good = kit.read_bytes()
    traces = len(marshal.loads(good))
    for damaged in (good[:len(good) // 2], b"\x00" * 64, marshal.dumps([("ab", 1, (), [], 2)])):
        kit.write_bytes(damaged)
        c2, out2, err2 = run_mkemu([prog], rootfs=rootfs, env=env)
        assert (c2, out2) == (c1, out1), err2
        assert len(marshal.loads(kit.read_bytes())) == traces      # the run's own, again


def test_a_trace_its_kit_keeps_in_the_first_tier_is_served_in_full_once_made(rootfs, guest_binary,
                                                                              tmp_path):
    # warm_calls' step() runs 200 times: the run that makes it keeps it in the first
    # tier; a run served from the kit makes it in full after WARM_RUNS runs (cpu/tier.py),
    # and the runs after that take the full code from the page file, though the kit
    # still has the first-tier code (CodeCache.lookup's full)
    env = {"MKEMU_CACHE": str(tmp_path)}
    prog = str(guest_binary("warm_calls"))
    qcode, qout, _ = run_qemu([prog], rootfs=rootfs)
    made = []
    for _ in range(4):
        code, out, err = run_mkemu([prog], rootfs=rootfs, extra=["--stats"], env=env)
        assert (code, out) == (qcode, qout) == (0, qout), err
        made.append(_stat(err, "blocks") - _stat(err, "blocks-from-cache"))
    assert made[0] > 100 and made[1] >= 2 and made[2] == made[3] == 0, made


def test_a_kit_whose_first_tier_traces_were_made_in_full_is_written_again(rootfs, guest_binary,
                                                                          tmp_path):
    # warm_many's 160 traces run 200 times each: the first run keeps them in the first
    # tier; the second, served from the kit, makes them in full after WARM_RUNS runs
    # and, as that is more than a rewrite needs, writes the kit again with their full
    # code; the third makes none of them again (before, every run made them again)
    env = {"MKEMU_CACHE": str(tmp_path)}
    prog = str(guest_binary("warm_many"))
    qcode, qout, _ = run_qemu([prog], rootfs=rootfs)
    tiered, kits = [], []
    for _ in range(3):
        code, out, err = run_mkemu([prog], rootfs=rootfs, extra=["--stats"], env=env)
        assert (code, out) == (qcode, qout) == (0, qout), err
        tiered.append(_stat(err, "tiered-up"))
        kits.append({p: p.stat().st_mtime_ns for p in _cache_files(tmp_path, "kit-")})
    assert tiered[1] >= 160 and tiered[2] == 0, tiered
    # one kit: written by the first run, again by the second, left by the third
    assert len(kits[0]) == 1 and kits[1] != kits[0] and kits[2] == kits[1]
