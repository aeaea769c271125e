"""The code cache stays bounded: least recently used pages are evicted past the limit,
a run refreshes what it used, and `mkemu cache info|gc|clear` say and do it."""
from __future__ import annotations

import marshal
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mkemu import cachectl
from mkemu.cpu.codecache import TOUCH_AGE, CodeCache, translator_tag
from tests.support.guestrun import run_mkemu

KIB = 1024


def _age(paths, seconds: float) -> None:
    """Make the files' last use `seconds` ago."""
    t = time.time() - seconds
    for p in paths:
        os.utime(p, (t, t))


def _file(path: Path, size: int, age: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    _age([path], age)
    return path


def test_parse_size():
    assert cachectl.parse_size("400M") == 400 << 20
    assert cachectl.parse_size("2GiB") == 2 << 30
    assert cachectl.parse_size("1.5k") == 1536
    assert cachectl.parse_size("4096") == 4096
    with pytest.raises(ValueError):
        cachectl.parse_size("lots")


def test_collect_evicts_least_recently_used_across_versions(tmp_path):
    root = tmp_path / "code"
    # an old translator version's pages, then the current one's, oldest first
    old = [_file(root / "oldtag" / f"p{i}", 64 * KIB, 10_000 + i) for i in range(4)]
    new = [_file(root / "newtag" / f"p{i}", 64 * KIB, 100 - i) for i in range(4)]
    limit = 5 * 64 * KIB + 1000
    removed, freed = cachectl.collect(root, limit)
    left = sorted(f.path for f in cachectl.cache_files(root))
    # 8 files of 64 KiB against a limit of ~5: down to 80% of it, i.e. 4 files, oldest gone
    assert removed == 4 and freed >= 4 * 64 * KIB
    assert left == sorted(new)
    assert not any(p.exists() for p in old)
    assert not (root / "oldtag").exists()          # an emptied version directory goes too


def test_collect_within_the_limit_keeps_everything_but_abandoned_temporaries(tmp_path):
    root = tmp_path / "code"
    keep = _file(root / "tag" / "page", 4 * KIB, 1e6)
    fresh_tmp = _file(root / "tag" / "page.123.tmp", 4 * KIB, 10)
    stale_tmp = _file(root / "tag" / "page.456.tmp", 4 * KIB, cachectl.STALE_TMP + 100)
    removed, _ = cachectl.collect(root, 1 << 30)
    assert removed == 1
    assert keep.exists() and fresh_tmp.exists() and not stale_tmp.exists()


def test_collect_if_due_runs_once_per_interval(tmp_path):
    root = tmp_path / "code"
    page = _file(root / "tag" / "page", 64 * KIB, 50)
    cachectl.collect_if_due(root, limit=1)          # due: no stamp yet
    assert not page.exists()
    page = _file(root / "tag" / "page", 64 * KIB, 50)
    cachectl.collect_if_due(root, limit=1)          # collected a moment ago: not due
    assert page.exists()


def _mkemu(*args, env):
    return subprocess.run([sys.executable, "-m", "mkemu", *args], capture_output=True,
                          env={**os.environ, **env}, timeout=60)


def test_a_run_fills_refreshes_and_the_commands_report_and_clear(rootfs, guest_binary, tmp_path):
    env = {"MKEMU_CACHE": str(tmp_path)}
    prog = guest_binary("hello")
    code, out, err = run_mkemu([prog], rootfs=rootfs, env=env)
    assert code == 0, err.decode(errors="replace")
    version = tmp_path / "code" / translator_tag()
    pages = [p for p in version.iterdir() if p.suffix != ".tmp"]
    assert pages, "the run stored no translated code"

    info = _mkemu("cache", "info", env=env)
    assert info.returncode == 0, info.stderr
    text = info.stdout.decode()
    assert f"{translator_tag()}:" in text and "(this mkemu)" in text
    assert f"in {len(pages)} files" in text

    # pages last used long ago are marked used again by a run that loads them
    long_ago = time.time() - 3 * TOUCH_AGE
    for p in pages:
        os.utime(p, (long_ago, long_ago))
    code, out, err = run_mkemu([prog], rootfs=rootfs, env=env)
    assert code == 0, err.decode(errors="replace")
    refreshed = [p for p in pages if p.stat().st_mtime > long_ago + TOUCH_AGE]
    assert refreshed, "a run from the cache did not mark the pages it used"

    gc = _mkemu("cache", "gc", env={**env, "MKEMU_CODE_CACHE_MAX": "1"})
    assert gc.returncode == 0 and b"evicted" in gc.stdout
    assert not version.exists() or not [p for p in version.iterdir() if p.suffix != ".tmp"]

    run_mkemu([prog], rootfs=rootfs, env=env)
    clear = _mkemu("cache", "clear", env=env)
    assert clear.returncode == 0 and not (tmp_path / "code").exists()
    assert b"size: 0 B in 0 files" in _mkemu("cache", "info", env=env).stdout


def test_a_program_run_again_outlives_programs_made_since(rootfs, guest_binary, tmp_path):
    """A collection within the hour: hello ran ten minutes ago and again now, busybox two
    minutes ago.  hello's files (its start kit and the page files that kit ran, which the
    run did not read) are the recently used ones, and stay."""
    env = {"MKEMU_CACHE": str(tmp_path)}
    version = tmp_path / "code" / translator_tag()
    hello = [str(guest_binary("hello"))]

    def files() -> set[Path]:
        return {p for p in version.iterdir() if p.suffix != ".tmp"}

    for _ in range(2):                      # the second run leaves its kit as it is
        assert run_mkemu(hello, rootfs=rootfs, env=env)[0] == 0
    mine = files()
    assert any(p.name.startswith("kit-") for p in mine) and len(mine) > 3, mine
    _age(mine, 600)
    code, _, err = run_mkemu(["/bin/busybox", "sed", "s/a/b/"], rootfs=rootfs, stdin=b"a\n",
                             env=env)
    assert code == 0, err
    theirs = files() - mine
    assert sum(p.stat().st_size for p in theirs) > sum(p.stat().st_size for p in mine) // 2
    _age(theirs, 120)
    code, out, err = run_mkemu(hello, rootfs=rootfs, env=env)
    assert code == 0, err

    size = sum(p.stat().st_size for p in files())
    gc = _mkemu("cache", "gc", env={**env, "MKEMU_CODE_CACHE_MAX": str(size - 1)})
    assert gc.returncode == 0 and b"evicted" in gc.stdout, gc.stderr
    left = files()
    assert left < mine | theirs and mine <= left, sorted(p.name for p in mine - left)
    code2, out2, err2 = run_mkemu(hello, rootfs=rootfs, extra=["--stats"], env=env)
    assert (code2, out2) == (code, out)
    stats = dict(l.split()[1:3] for l in err2.decode().splitlines() if l.startswith("mkemu: "))
    assert stats["blocks-from-cache"] == stats["blocks"], err2


def test_a_fork_hint_read_again_is_marked_used(rootfs, tmp_path):
    env = {"MKEMU_CACHE": str(tmp_path)}
    script = ["/bin/busybox", "sh", "-c", "for i in 1 2 3; do /bin/busybox true; done"]
    for _ in range(2):
        code, _, err = run_mkemu(script, rootfs=rootfs, env=env)
        assert code == 0, err
    hints = list((tmp_path / "code" / translator_tag()).glob("hint-*"))
    assert hints
    _age(hints, 600)
    assert run_mkemu(script, rootfs=rootfs, env=env)[0] == 0
    assert all(time.time() - p.stat().st_mtime < 300 for p in hints)


def test_a_kit_a_hint_and_the_helpers_in_a_cache_this_user_cannot_write_are_still_used(tmp_path, monkeypatch):
    from mkemu.cpu import startkit, tier, tiercode
    code = compile("def blk_1000(S, X, V):\n    return 0x1004\n", "<t>", "exec").co_consts[0]
    kit = tmp_path / "kit-x"
    kit.write_bytes(marshal.dumps([("ph", 0x1000, (), [], code)]))
    helpers = tmp_path / tiercode.NAME
    helpers.write_bytes(marshal.dumps(tier.helpers_code()))
    names = [("ph", 0x1000, ())]
    hint = tmp_path / "hint-site"
    hint.write_bytes(marshal.dumps(names))
    _age([kit, helpers, hint], 10 * TOUCH_AGE)

    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(os, "utime", refuse)
    monkeypatch.setattr(tier, "helpers_code", refuse)   # the file must serve them
    loaded, entries = startkit.load(str(kit), 1, TOUCH_AGE)
    assert [e[:2] for e in entries] == [("ph", 0x1000)] and loaded.stale
    assert tiercode.first_tier_code(str(tmp_path)).co_filename == "<first-tier helpers>"
    cache = CodeCache(tmp_path)
    cache.warm("site")
    assert cache.hinted["site"] == names
