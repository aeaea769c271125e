"""The guest configures itself: its own maintainer scripts and `dpkg --configure -a`, under mkemu.

What debootstrap's second stage does inside the new system, after the files
are in place:

1. each package's preinst with `install` (dpkg runs it before it unpacks;
   the files are already there, which a fresh install's preinst does not
   mind), in apt's install order, with the DPKG_MAINTSCRIPT_* variables dpkg
   sets;
2. `dpkg --configure -a`: every postinst in dependency order, then the
   triggers (ldconfig, ...);
3. if packages are left unconfigured, once more with debootstrap's own
   `--force-configure-any --force-depends` (a package whose postinst needed
   another one configured first goes through now);
4. `dpkg --audit` into the log.

Daemons are not started: /usr/sbin/policy-rc.d answers 101 (what a chroot
build does) while the scripts run, and is removed afterwards.  Every guest
program runs in `python -m mkemu run` (a subprocess of the same mkemu), its
output into the build log.  The result is read from the guest's own
/var/lib/dpkg/status: the packages still not `installed`, the reason dpkg
gave for each, and the system calls mkemu answered ENOSYS while they ran.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from ..kern.machine import default_guest_env
from .control import packages_not_installed

GUEST_ENV = {
    "DEBIAN_FRONTEND": "noninteractive",
    "DEBCONF_NONINTERACTIVE_SEEN": "true",
    "LC_ALL": "C",
    "LANGUAGE": "C",
    "LANG": "C",
}
POLICY_RC_D = "usr/sbin/policy-rc.d"
DEFAULT_TIMEOUT = 4 * 3600           # one guest step; a hung guest must not hang the build

# Run by the guest's /bin/sh: $1 is dpkg's version, then one NAME@ARCH a package
# (NAME as in /var/lib/dpkg/info), in apt's order.
PREINST_SCRIPT = r"""
cd /
dpkg_version=$1
shift
for a in "$@"; do
    p=${a%@*}
    f=/var/lib/dpkg/info/$p.preinst
    [ -f "$f" ] || continue
    echo "mkemu-preinst: $p"
    DPKG_MAINTSCRIPT_PACKAGE=${p%%:*} DPKG_MAINTSCRIPT_NAME=preinst \
    DPKG_MAINTSCRIPT_ARCH=${a##*@} DPKG_MAINTSCRIPT_PACKAGE_REFCOUNT=1 \
    DPKG_ADMINDIR=/var/lib/dpkg DPKG_ROOT= DPKG_FORCE= DPKG_RUNNING_VERSION=$dpkg_version \
        "$f" install </dev/null || echo "mkemu-preinst-failed: $p status $?"
done
"""

_SETTING_UP = re.compile(r"^Setting up (\S+) \(")
_TRIGGERS = re.compile(r"^Processing triggers for (\S+) \(")
_PREINST = re.compile(r"^mkemu-preinst: (\S+)$")
_PREINST_FAILED = re.compile(r"^mkemu-preinst-failed: (\S+) status (\d+)$")
_ERROR_PKG = re.compile(r"^dpkg: error processing package (\S+) \(")
_DEP_PROBLEM = re.compile(r"^dpkg: dependency problems prevent configuration of (\S+):$")
_ENOSYS = re.compile(r"unimplemented syscall (\w+) \((\d+)\)")


@dataclass
class GuestRun:
    """What one guest step printed, read as it went."""
    status: int = 0
    current: str = ""                                      # the package being set up
    errors: dict[str, str] = field(default_factory=dict)   # package -> dpkg's reason
    enosys: dict[str, set[str]] = field(default_factory=dict)   # syscall -> packages
    preinst_failed: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)      # step -> time it took
    _since: float = 0.0

    def _step(self, name: str) -> None:
        now = time.monotonic()
        if self.current:
            self.seconds[self.current] = self.seconds.get(self.current, 0.0) + now - self._since
        self.current, self._since = name, now

    def feed(self, line: str, pending: list[str]) -> None:
        """One line of output; PENDING holds the lines of an error being read."""
        if pending:
            if line.startswith(" ") and len(pending) < 4:
                pending.append(line.strip())
                return
            head = pending.pop(0)
            self.errors.setdefault(head, "; ".join(pending) or "failed")
            pending.clear()
        if m := _SETTING_UP.match(line):
            self._step(m.group(1))
        elif m := _TRIGGERS.match(line):
            self._step(f"{m.group(1)} (triggers)")
        elif m := _PREINST.match(line):
            self._step(f"{m.group(1)} (preinst)")
        elif m := _PREINST_FAILED.match(line):
            self.preinst_failed[m.group(1)] = f"preinst exited with status {m.group(2)}"
        elif m := _ERROR_PKG.match(line):
            pending.append(_plain(m.group(1)))
        elif m := _DEP_PROBLEM.match(line):
            pending.append(_plain(m.group(1)))
        if m := _ENOSYS.search(line):
            self.enosys.setdefault(m.group(1), set()).add(self.current or "(before any package)")


def _plain(name: str) -> str:
    return name.partition(":")[0]


@dataclass
class ConfigureResult:
    unconfigured: dict[str, str]        # package -> its dpkg state and reason
    enosys: dict[str, list[str]]        # syscall -> packages whose scripts met it
    preinst_failed: dict[str, str]
    dpkg_ran: bool                      # dpkg started in the guest at all
    passes: int


def mkemu_command(root: Path, argv: list[str], env: dict[str, str]) -> list[str]:
    """`python -m mkemu run` of this very mkemu, with the guest environment ENV."""
    cmd = [sys.executable, "-m", "mkemu", "run", "--rootfs", str(root)]
    for k, v in env.items():
        cmd += ["-E", f"{k}={v}"]
    return cmd + ["--", *argv]


def run_guest(root: Path, argv: list[str], log: TextIO, on_line: Callable[[str], None],
              timeout: float = DEFAULT_TIMEOUT) -> int:
    """Run ARGV in the guest ROOT under mkemu; its output (both streams) goes to
    LOG and, line by line, to ON_LINE.  Returns the exit status (-9: killed at
    TIMEOUT seconds)."""
    env = {**default_guest_env({}), **GUEST_ENV}
    cmd = mkemu_command(root, argv, env)
    host_env = dict(os.environ)
    package_dir = str(Path(__file__).resolve().parents[2])
    host_env["PYTHONPATH"] = os.pathsep.join(
        [package_dir] + [p for p in host_env.get("PYTHONPATH", "").split(os.pathsep) if p])
    shown = " ".join("SCRIPT" if "\n" in a else a for a in argv[:12])
    log.write(f"\n$ mkemu run --rootfs {root} -- {shown}{' ...' if len(argv) > 12 else ''}\n")
    log.flush()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=host_env, cwd="/",
                            start_new_session=True)     # one group: killed whole on timeout

    def kill() -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    watchdog = threading.Timer(timeout, kill)
    watchdog.start()
    try:
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            log.write(line + "\n")
            log.flush()                 # the log is where a watcher sees how far it is
            on_line(line)
        status = proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:        # interrupted (^C): the guest goes too
            kill()
            proc.wait()
        proc.stdout.close()
        log.flush()
    if status == -signal.SIGKILL:
        log.write(f"(guest step killed: still running after {timeout:.0f} s)\n")
    return status


def unconfigured(root: Path) -> dict[str, str]:
    try:
        text = (root / "var/lib/dpkg/status").read_text(errors="replace")
    except OSError:
        return {"dpkg": "no /var/lib/dpkg/status"}
    return packages_not_installed(text)


def configure(root: Path, order: list[tuple[str, str]], dpkg_version: str, log: TextIO,
              progress: Callable[[str], None] = lambda what: None,
              timeout: float = DEFAULT_TIMEOUT) -> ConfigureResult:
    """Run the guest's maintainer scripts.  ORDER: (info name, architecture) of
    every package in apt's install order.  PROGRESS(what) is called as each
    preinst and each package's configuration starts."""
    seen = GuestRun()
    pending: list[str] = []

    def on_line(line: str) -> None:
        before = seen.current
        seen.feed(line, pending)
        if seen.current != before and seen.current:
            progress(seen.current)

    policy = root / POLICY_RC_D
    had_policy = policy.exists() or policy.is_symlink()
    if not had_policy:
        policy.write_text("#!/bin/sh\n# mkemu rootfs build: no daemon starts while it runs\n"
                          "exit 101\n")
        policy.chmod(0o755)
    initial = len(unconfigured(root))
    passes = 0
    try:
        run_guest(root, ["/bin/sh", "-c", PREINST_SCRIPT, "sh", dpkg_version,
                         *(f"{name}@{arch}" for name, arch in order)], log, on_line, timeout)
        for force in ([], ["--force-configure-any", "--force-depends"]):
            left = unconfigured(root)
            if not left:
                break
            passes += 1
            log.write(f"\n# dpkg --configure -a, pass {passes}: {len(left)} packages "
                      "not configured\n")
            run_guest(root, ["/usr/bin/dpkg", "--configure", "-a", *force], log, on_line,
                      timeout)
        seen._step("")
        audit: list[str] = []
        run_guest(root, ["/usr/bin/dpkg", "--audit"], log, audit.append, timeout)
        if not [ln for ln in audit if ln.strip() and "unimplemented syscall" not in ln]:
            log.write("(dpkg --audit: nothing to report)\n")
        slow = sorted(seen.seconds.items(), key=lambda kv: -kv[1])[:15]
        log.write("\n# the slowest steps (seconds): "
                  + ", ".join(f"{name} {secs:.0f}" for name, secs in slow) + "\n")
    finally:
        if not had_policy:
            policy.unlink(missing_ok=True)
    left = unconfigured(root)
    reasons = {}
    for pkg, state in left.items():
        why = seen.errors.get(pkg)
        reasons[pkg] = f"{state}: {why}" if why else state
    return ConfigureResult(unconfigured=reasons,
                           enosys={k: sorted(v) for k, v in sorted(seen.enosys.items())},
                           preinst_failed=dict(seen.preinst_failed),
                           dpkg_ran=len(left) < initial, passes=passes)
