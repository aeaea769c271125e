"""The guest's Python byte-code, compiled by the host's python of the same version.

python3.11-minimal's and python3.11's postinsts byte-compile the standard
library (some 550 files) with the guest's python3.11; under mkemu that takes
about ten seconds a file, well over an hour.  A .pyc depends only on the
python version and the source file (for Debian 12 the host's python3.11
writes the same bytes as the guest's: checked), so the host's python of the
guest's version compiles every .py under /usr/lib/python3* and
/usr/share/python3 first, each with its guest path as the code's file name.

The postinsts still run, unchanged, and still call py_compile on every file;
for as long as the configuration runs, the guest's py_compile.py carries a
check that returns at once when the .pyc is already current for its source
(the same test the import system makes: magic, mtime, size).  Afterwards
py_compile.py is put back byte for byte, with its times, and its own .pyc is
compiled again.  Without a host python of the guest's version nothing is
changed and the guest compiles everything itself (slowly).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from .unpack import resolve_in_root

# Run by the host's python: stdin is a JSON list of [source, cfile, dfile].
_COMPILE = r"""if True:
    import json, py_compile, sys
    failed = 0
    for source, cfile, dfile in json.load(sys.stdin):
        try:
            py_compile.compile(source, cfile=cfile, dfile=dfile, doraise=True)
        except Exception:
            failed += 1
    print(failed)
"""

SHIM_MARK = "# ---- mkemu rootfs build: removed when the configuration ends ----"
SHIM = SHIM_MARK + '''
# The host's python of this version byte-compiled the tree already (the same
# .pyc bytes); a .pyc that is current for its source is not compiled again.
_mkemu_compile = compile


def compile(file, cfile=None, dfile=None, doraise=False, optimize=-1,
            invalidation_mode=None, quiet=0):
    try:
        if (optimize == -1 and not sys.flags.optimize and dfile in (None, file)
                and invalidation_mode in (None, PycInvalidationMode.TIMESTAMP)
                and _get_default_invalidation_mode() == PycInvalidationMode.TIMESTAMP):
            target = cfile or importlib.util.cache_from_source(file)
            st = os.stat(file)
            with open(target, "rb") as f:
                head = f.read(16)
            if head == (importlib.util.MAGIC_NUMBER + bytes(4)
                        + (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
                        + (st.st_size & 0xFFFFFFFF).to_bytes(4, "little")):
                return target
    except (OSError, ValueError):
        pass
    return _mkemu_compile(file, cfile, dfile, doraise, optimize, invalidation_mode, quiet)


'''
_MAIN_GUARD = re.compile(r"^if __name__ == ['\"]__main__['\"]:", re.M)


def guest_versions(root: Path) -> list[str]:
    """The python versions of the tree ("3.11"), from /usr/lib/pythonX.Y/os.py."""
    found = []
    for d in sorted((root / "usr" / "lib").glob("python3.*")):
        if (d / "os.py").is_file() and re.fullmatch(r"python3\.\d+", d.name):
            found.append(d.name.removeprefix("python"))
    return found


def host_python(version: str) -> str | None:
    """A host python of VERSION (X.Y): Debian's own first, then PATH's, then this one."""
    for cand in (f"/usr/bin/python{version}", shutil.which(f"python{version}"), sys.executable):
        if cand and _version_of(cand) == version:
            return cand
    return None


def _version_of(python: str) -> str | None:
    try:
        r = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def _sources(root: Path, version: str) -> list[list[str]]:
    """[host source, host .pyc, guest path] of every .py file the guest's scripts compile."""
    tag = "cpython-" + version.replace(".", "")
    tops = [f"usr/lib/python{version}", "usr/lib/python3/dist-packages", "usr/share/python3"]
    jobs = []
    for top in tops:
        base = root / top
        if not base.is_dir() or base.is_symlink():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in filenames:
                if not name.endswith(".py"):
                    continue
                guest = "/" + str(Path(dirpath, name).relative_to(root))
                source = resolve_in_root(root, guest)      # a link is compiled from its target
                if not source.is_file():
                    continue
                cfile = Path(dirpath) / "__pycache__" / f"{name[:-3]}.{tag}.pyc"
                jobs.append([str(source), str(cfile), guest])
    return jobs


def precompile(root: Path, log: TextIO, only: list[str] | None = None) -> dict[str, str]:
    """Byte-compile the tree's python files with host pythons of their versions.
    Returns version -> the host python used (versions without one are left out)."""
    used = {}
    for version in guest_versions(root):
        python = host_python(version)
        if python is None:
            log.write(f"python{version}: no host python{version}; the guest byte-compiles "
                      "its own library (slow)\n")
            continue
        jobs = _sources(root, version)
        if only is not None:
            jobs = [j for j in jobs if j[2] in only]
        r = subprocess.run([python, "-c", _COMPILE], input=json.dumps(jobs), text=True,
                           capture_output=True, timeout=3600)
        failed = r.stdout.strip() if r.returncode == 0 else "all"
        log.write(f"python{version}: {len(jobs)} files byte-compiled by the host's {python} "
                  f"({failed} not compilable, as for the guest)\n")
        if r.returncode == 0:
            used[version] = python
    return used


@contextmanager
def current_pyc_check(root: Path, versions: list[str], log: TextIO):
    """While the block runs, the guest's py_compile.py of each version leaves a
    current .pyc alone; afterwards it is restored exactly."""
    saved: list[tuple[Path, bytes, os.stat_result]] = []
    try:
        for version in versions:
            path = root / "usr" / "lib" / f"python{version}" / "py_compile.py"
            if path.is_symlink() or not path.is_file():
                continue
            text = path.read_text()
            m = _MAIN_GUARD.search(text)
            if m is None or SHIM_MARK in text:
                log.write(f"{path.name} of python{version}: unexpected layout; not changed\n")
                continue
            saved.append((path, path.read_bytes(), path.stat()))
            path.write_text(text[:m.start()] + SHIM + text[m.start():])
            log.write(f"python{version}: py_compile.py skips current .pyc files while the "
                      "guest configures\n")
        yield
    finally:
        for path, data, st in saved:
            path.write_bytes(data)
            os.chmod(path, st.st_mode & 0o7777)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        if saved:
            precompile(root, log, only=["/" + str(p.relative_to(root)) for p, _, _ in saved])
