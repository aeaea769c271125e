"""What a `mkemu run` start-up does not do any more: import shutil for argparse's help
width, compile the regular expressions of code it may never reach (mkemu/lazyre.py),
import argparse, re, enum and pickle for a plain command line (mkemu/runargs.py), the
translator when the code cache has every trace (cpu/familyhelpers.py), or the handlers
of syscalls a run may never make (kern/sysmodules.py)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from mkemu.lazyre import LazyPattern, lazy_compile


def _python(code: str, env: dict | None = None) -> str:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_parsing_a_run_command_line_imports_no_shutil_and_compiles_no_proc_pattern():
    out = _python("""if True:
        import sys
        import mkemu.cli
        args = mkemu.cli.parse_args(["run", "--rootfs", "/r", "--", "/bin/true", "-x"])
        assert args.program == ["/bin/true", "-x"], args.program
        from mkemu.fs import procfs
        print("shutil" in sys.modules, "compiled" in vars(procfs._PID))
    """)
    assert out.split() == ["False", "False"]


def test_help_wraps_at_the_width_columns_gives():
    import os
    env = {**os.environ, "COLUMNS": "50"}
    out = _python("import mkemu.cli; mkemu.cli.parse_args(['run', '--help'])", env)
    lines = out.splitlines()
    assert len(lines) > 20 and max(map(len, lines)) <= 48, lines
    wide = _python("import mkemu.cli; mkemu.cli.parse_args(['run', '--help'])",
                   {**env, "COLUMNS": "200"})
    assert max(map(len, wide.splitlines())) > 60


def test_a_lazy_pattern_compiles_at_first_use_and_then_answers_as_re_does():
    lazy = lazy_compile(rb"^/task/(\d+)(/.*)?$")
    assert isinstance(lazy, LazyPattern) and "compiled" not in vars(lazy)
    ref = re.compile(rb"^/task/(\d+)(/.*)?$")
    for text in (b"/task/12/stat", b"/task/12", b"/task/x", b""):
        got, want = lazy.match(text), ref.match(text)
        assert (got and got.groups()) == (want and want.groups())
    assert vars(lazy)["compiled"] is not None
    words = lazy_compile(r"\b_a\d+\b", re.I)
    assert words.sub("T", "_a1 + _A12 + x_a3") == "T + T + x_a3"
    assert words.findall("_a1 _a22") == ["_a1", "_a22"] and words.flags & re.I
    assert lazy_compile(r"(a)(b)").groups == 2


def test_a_plain_run_command_line_imports_no_argparse_re_enum_or_pickle():
    # runargs.parse_run reads it (argparse with re, enum and gettext: ~10 ms); the
    # protocol's pickling is _pickle's (pickle imports re)
    out = _python("""if True:
        import sys
        import mkemu.cli
        args = mkemu.cli.parse_args(["run", "-L", "/r", "-E", "A=1", "--stats", "--", "/p", "-x"])
        assert (args.rootfs, args.env_changes, args.stats, args.program) == \\
            ("/r", [("set", "A=1")], True, ["/p", "-x"]), args
        print(sorted(m for m in ("argparse", "gettext", "re", "enum", "pickle",
                                 "mkemu.cliargs", "mkemu.cpu.decode", "mkemu.cpu.block")
                     if m in sys.modules))
    """)
    assert out.split() == ["[]"]


# the handler modules a task imports at a call's first use (kern/sysmodules.py)
LAZY_HANDLERS = tuple(f"mkemu.kern.{m}" for m in (
    "fork", "sys_event", "sys_exec", "sys_inotify", "sys_mqueue", "sys_poll", "sys_privileged",
    "sys_procvm", "sys_proctree", "sys_sched", "sys_signal", "sys_socket", "sys_sysvipc",
    "sys_time", "sys_xattr", "hostclone", "thread", "signalfd", "sockaddr"))
# nor what a machine uses only when its guest does: SysV/POSIX IPC objects are the host
# calls themselves (kern/hostipc.py), removed the same way at the machine's end; nor
# selectors (the broker waits with ipc/poller.py)
NOT_AT_START = (*LAZY_HANDLERS, "posix_ipc", "sysv_ipc", "selectors")


def test_importing_the_cli_imports_nothing_a_run_may_never_call():
    out = _python(f"""if True:
        import sys
        import mkemu.cli
        print(sorted(m for m in {NOT_AT_START!r} if m in sys.modules))
    """)
    assert out.split() == ["[]"]


RUN_LINES = [
    ["/bin/true"],
    ["--", "/bin/true", "-x", "--stats"],
    ["--rootfs", "/r", "--", "/bin/true", "-x"],
    ["--rootfs=/r", "--stats", "prog", "--rootfs", "/other"],
    ["-L", "/r", "-0", "zero", "-strace", "-cpu", "max", "prog", "a"],
    ["-E", "A=1", "-U", "B", "--env=C=3", "--unset-env", "D", "-E", "A=2", "--", "prog"],
    ["--inherit-env", "--dump-blocks", "--strace", "--stats", "--inject-crash", "openat", "p"],
    ["--tmpfs", "/tmp", "--tmpfs", "/run", "--bind", "/h:/g", "--bind=/x", "p"],
    ["--root-as-user", "p"], ["--no-root-as-user", "p"], ["--root-as-user", "--no-root-as-user", "p"],
    ["--argv0", "", "--rootfs=", "p"],
    ["--rootfs", "/a", "--rootfs", "/b", "--", "--", "p"],
    ["--cpu=max", "--argv0=a=b", "p", "-", "--"],
    # not plain: argparse's to read (the same result, or its usage error)
    ["-L/r", "p"], ["-Lr", "p"], ["-cpu=max", "p"], ["--rootfs"], ["--rootfs", "-x", "p"],
    ["--stats=1", "p"], ["--stat", "p"], ["-", "p"], [], ["--"], ["--stats"],
    ["-h"], ["--help"], ["--bogus", "p"], ["-E", "-1", "p"],
]


@pytest.mark.parametrize("words", RUN_LINES)
def test_parse_run_reads_a_line_as_argparse_does_or_leaves_it_to_argparse(words):
    from mkemu.cli import build_parser
    from mkemu.runargs import parse_run
    fast = parse_run(words)
    if fast is None:
        return                          # argparse reads it (tests/test_cli.py)
    parser, _ = build_parser("run")
    args, unknown = parser.parse_known_args(["run", *words])
    want = vars(args)
    if want["program"][:1] == ["--"]:
        want["program"] = want["program"][1:]
    assert unknown == [] and {"version": None, "command": "run", **fast} == \
        {k: v for k, v in want.items() if k != "func"}


def test_parse_run_leaves_what_is_not_plain_to_argparse():
    from mkemu.runargs import parse_run
    assert parse_run(["-L", "/r", "p"]) is not None
    for words in (["-L/r", "p"], ["--stat", "p"], ["--stats=1", "p"], ["--rootfs"], [],
                  ["--"], ["--help", "p"], ["-", "p"], ["--rootfs", "-x", "p"]):
        assert parse_run(words) is None, words


def _importtime_run(prog, rootfs, cache) -> tuple[bytes, set[str], dict[str, str]]:
    """A `python -X importtime -m mkemu run --stats` of prog: its output and the modules
    that the run's processes (the CLI, the broker, the task) imported, its --stats."""
    env = {**os.environ, "MKEMU_CACHE": str(cache)}
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "mkemu", "run", "--stats",
                        "--rootfs", str(rootfs), "--", str(prog)],
                       capture_output=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    err = r.stderr.decode()
    modules = {line.rsplit("|", 1)[1].strip() for line in err.splitlines()
               if line.startswith("import time:") and line.count("|") == 2}
    stats = dict(re.findall(r"mkemu: ([\w-]+) (\S+)", err))
    assert stats["blocks"] and modules
    return r.stdout, modules, stats


TRANSLATOR = ("mkemu.cpu.decode", "mkemu.cpu.block", "mkemu.cpu.a64_ldst", "mkemu.cpu.a64_simd",
              "mkemu.cpu.memgroup", "mkemu.cpu.region")


def test_a_warm_cache_run_of_a_static_hello_imports_no_translator(rootfs, guest_binary, tmp_path):
    # every trace from the code cache, none naming a family's helper (cpu/familyhelpers.py),
    # the first tier's helpers from the cache too (cpu/tiercode.py): no decoder, no builder
    prog = guest_binary("puts_hello")
    out, cold, stats = _importtime_run(prog, rootfs, tmp_path)
    assert out == b"hello\n" and stats["blocks-from-cache"] == "0"
    assert set(TRANSLATOR) - {"mkemu.cpu.region"} <= cold      # a cold run translates
    for _ in range(2):          # (the second run may still make a trace the first tiered up)
        out, warm, stats = _importtime_run(prog, rootfs, tmp_path)
    assert out == b"hello\n" and stats["blocks-from-cache"] == stats["blocks"]
    assert sorted(m for m in TRANSLATOR if m in warm) == []
    assert "argparse" not in warm and "mkemu.cpu.familyhelpers" in warm
    # its calls' handlers are in sys_fs, sys_proc and sys_mm (kern/sysmodules.py)
    assert sorted(m for m in NOT_AT_START if m in warm) == []
    # glibc's start reads /proc/self/exe: procfs.split_self reads the path without re
    assert "re" not in warm and "enum" not in warm


def test_a_warm_run_whose_kit_names_fp_helpers_gets_them(rootfs, guest_binary, tmp_path):
    # hello.c's doubles: its start kit (made before the task runs a trace) holds traces
    # calling the FP family's helpers, which the kit's making puts in the globals
    prog = guest_binary("hello")
    cold, _, _ = _importtime_run(prog, rootfs, tmp_path)
    for _ in range(2):
        out, warm, stats = _importtime_run(prog, rootfs, tmp_path)
        assert out == cold and b"harmonic(1000)=7.485470860550" in out
    assert stats["blocks-from-cache"] == stats["blocks"] and "mkemu.cpu.decode" in warm


PROC_PATHS = [b"/proc/self", b"/proc/self/exe", b"/proc/thread-self/task/7/comm", b"/proc/42",
              b"/proc/42/", b"/proc/43/maps", b"/proc/7/fd/3", b"/proc/41/exe", b"/proc/",
              b"/proc//exe", b"/proc/self2/exe", b"/proc/4x2/exe", b"/procs/self", b"/proc",
              b"/proc/self\n", b"/proc/self/a\nb", b"/proc/42\n", b"/proc/\xd9\xa4/exe",
              b"/proc/0042/stat", b"/proc/self//x", b"/sys/self"]


@pytest.mark.parametrize("path", PROC_PATHS)
def test_split_self_reads_a_path_as_the_pid_pattern_does(path):
    from mkemu.fs import procfs

    class Task:
        pid, tid = 42, 7

    m = re.match(rb"^/proc/(self|thread-self|\d+)(/.*)?$", path)
    want = None
    if m and (m.group(1) in (b"self", b"thread-self") or int(m.group(1)) in (42, 7)):
        want = m.group(2) or b""
    assert procfs.split_self(Task, path) == want
