"""What a `mkemu run` start-up does not do any more: import shutil for argparse's help
width, compile the regular expressions of code it may never reach (mkemu/lazyre.py)."""
from __future__ import annotations

import re
import subprocess
import sys

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
