"""A private apt for arm64: the host's sources, an empty package database.

The host's apt is used as a program only: its package lists, cache, status
and architecture list stay untouched (no `dpkg --add-architecture`).  A work
directory holds apt's state (lists, caches, an empty dpkg status file) and a
copy of the host's sources; every apt command gets those settings twice: in
the file named by APT_CONFIG (so that a person can run
`APT_CONFIG=DIR/apt.conf apt-cache policy bash` by hand) and as `-o` options,
which win over anything in the host's apt.conf.d.  The host's apt.conf.d is
still read: its proxy, keyring and authentication settings apply.

Against the empty status file, `apt-get install --download-only` resolves
and fetches the whole dependency closure.  The .debs stay in a cache folder
of their own, so a rebuild downloads nothing again.
"""
from __future__ import annotations

import os
import re
import selectors
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .sources import Source, binary_only, render

ARCH = "arm64"


class AptError(RuntimeError):
    """apt could not do what the build needs; the message is one line."""


@dataclass(frozen=True)
class Planned:
    """One package of the closure apt chose: name, version, architecture."""
    package: str
    version: str
    arch: str

    @property
    def archive_name(self) -> str:
        """The .deb's name in apt's archives folder (apt quotes '_' and ':' in each part)."""
        return f"{_quote(self.package)}_{_quote(self.version)}_{_quote(self.arch)}.deb"


def _quote(part: str) -> str:
    return re.sub(r"[_:%]|[^\x21-\x7e]", lambda m: "".join(f"%{b:02x}" for b in m.group().encode()),
                  part)


# "Inst NAME [OLD] (VERSION ORIGIN... [ARCH]) [BROKEN...]"
_INST = re.compile(r"^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) [^()]*\[([^\]\s]+)\]\)")


def parse_simulation(text: str) -> list[Planned]:
    """The packages of `apt-get -s install` output, in apt's install order."""
    out = []
    for line in text.splitlines():
        if not line.startswith("Inst "):
            continue
        m = _INST.match(line)
        if not m:
            raise ValueError(f"unexpected apt-get -s line: {line}")
        out.append(Planned(m.group(1).partition(":")[0], m.group(2), m.group(3)))
    return out


def essential_names(dumpavail: TextIO) -> list[str]:
    """Packages marked `Essential: yes` or `Priority: required` in a package list
    (`apt-cache dumpavail` output), sorted."""
    names: set[str] = set()
    pkg, keep = None, False
    for line in dumpavail:
        if not line.strip():
            if pkg and keep:
                names.add(pkg)
            pkg, keep = None, False
            continue
        if line[0] in " \t":
            continue
        key, _, value = line.partition(":")
        key, value = key.lower(), value.strip()
        if key == "package":
            pkg = value
        elif (key == "essential" and value == "yes") or (key == "priority" and value == "required"):
            keep = True
    if pkg and keep:
        names.add(pkg)
    return sorted(names)


def first_error(output: str) -> str:
    """apt's first error line, for a one-line message."""
    for line in output.splitlines():
        if line.startswith("E: "):
            return line[3:].strip()
    lines = [ln for ln in output.splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "no output"


class PrivateApt:
    """apt with its state in WORK and its .debs in ARCHIVES; output goes to LOG."""

    def __init__(self, work: Path, archives: Path, log: TextIO) -> None:
        self.work = work
        self.archives = archives
        self.log = log

    # ---- configuration
    @property
    def config_file(self) -> Path:
        return self.work / "apt.conf"

    def settings(self) -> list[tuple[str, str]]:
        w = self.work
        return [
            ("APT::Architecture", ARCH),
            ("APT::Architectures", ARCH),     # not the host's dpkg architecture list
            ("Dir::State", str(w / "state")),
            ("Dir::State::Lists", str(w / "state" / "lists")),
            ("Dir::State::status", str(w / "state" / "status")),   # empty: nothing installed
            ("Dir::Cache", str(w / "cache")),
            ("Dir::Cache::Archives", str(self.archives)),
            ("Dir::Etc::SourceList", str(w / "sources.list")),
            ("Dir::Etc::SourceParts", str(w / "sources.list.d")),
            ("Dir::Log", str(w / "log")),
            ("Debug::NoLocking", "1"),        # our own lock serializes builds
            # The lists and .debs live in the user's cache folder, which apt's
            # sandbox user (_apt) cannot write: apt would warn and use root anyway.
            ("APT::Sandbox::User", "root"),
            ("Acquire::Languages", "none"),   # no translated descriptions
            ("APT::Install-Recommends", "false"),
        ]

    def setup(self, sources: list[Source]) -> None:
        debs = binary_only(sources)
        if not debs:
            raise AptError("the host has no apt sources (deb entries in /etc/apt/sources.list "
                           "or /etc/apt/sources.list.d) to download Debian packages from")
        for d in ("state/lists/partial", "cache", "sources.list.d", "log"):
            (self.work / d).mkdir(parents=True, exist_ok=True)
        (self.archives / "partial").mkdir(parents=True, exist_ok=True)
        (self.work / "state" / "status").write_text("")
        (self.work / "sources.list").write_text("")
        (self.work / "sources.list.d" / "host.sources").write_text(render(debs))
        self.config_file.write_text(
            "// The private apt of mkemu rootfs build: arm64 only, nothing installed.\n"
            + "".join(f'{k} "{v}";\n' for k, v in self.settings()))

    def command(self, program: str, *args: str) -> list[str]:
        opts = [a for k, v in self.settings() for a in ("-o", f"{k}={v}")]
        return [program, *opts, *args]

    def _env(self) -> dict[str, str]:
        env = dict(os.environ, APT_CONFIG=str(self.config_file), LC_ALL="C")
        env.pop("DEBIAN_FRONTEND", None)
        return env

    def run(self, program: str, *args: str,
            on_status: Callable[[str], None] | None = None) -> tuple[int, str]:
        """Run an apt program; its output goes to the log and is returned.
        ON_STATUS gets each line of apt's machine-readable status (APT::Status-Fd)."""
        if not shutil.which(program):
            raise AptError(f"{program} not found: building a Debian rootfs needs apt "
                           "and dpkg-deb (a Debian or Ubuntu host)")
        extra = []
        rfd = wfd = -1
        if on_status is not None:
            rfd, wfd = os.pipe()
            extra = ["-o", f"APT::Status-Fd={wfd}"]
        cmd = self.command(program, *extra, *args)
        self.log.write(f"\n$ {' '.join(cmd)}\n")
        self.log.flush()
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, env=self._env(),
                                    pass_fds=(wfd,) if wfd >= 0 else ())
        finally:
            if wfd >= 0:
                os.close(wfd)
        out = _pump(proc, rfd, self.log, on_status)
        return proc.wait(), out

    # ---- the three steps
    def update(self, on_status: Callable[[str], None] | None = None) -> None:
        code, out = self.run("apt-get", "update", on_status=on_status)
        lists = list((self.work / "state" / "lists").glob(f"*_binary-{ARCH}_Packages*"))
        # apt-get update exits 0 when a fetch fails (a warning): its output tells
        failed = [ln[3:].strip() for ln in out.splitlines()
                  if ln[:3] in ("W: ", "E: ") and "Failed to fetch" in ln]
        if not lists:
            if code != 0 or failed:
                why = failed[0] if failed else first_error(out)
                raise AptError(f"apt-get update could not fetch the package lists "
                               f"(no network?): {why}")
            raise AptError(f"the host's apt sources have no {ARCH} packages "
                           "(no binary-arm64 package lists after apt-get update)")
        if code != 0 or failed:
            self.log.write("apt-get update failed; using the package lists of an earlier "
                           "update\n")

    def essential(self) -> list[str]:
        """Essential: yes and Priority: required packages of the private lists."""
        cmd = self.command("apt-cache", "dumpavail")
        self.log.write(f"\n$ {' '.join(cmd)} | (Essential: yes or Priority: required)\n")
        with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=self._env()) as proc:
            names = essential_names(proc.stdout)
            err = proc.stderr.read()
        if proc.returncode != 0 or not names:
            raise AptError(f"apt-cache dumpavail failed: {first_error(err)}")
        self.log.write(" ".join(names) + "\n")
        return names

    def plan(self, packages: list[str]) -> list[Planned]:
        """The closure apt would install for PACKAGES on an empty system, in its order."""
        code, out = self.run("apt-get", "install", "-s", "-y", "--no-install-recommends",
                             *packages)
        if code != 0:
            err = first_error(out)
            m = re.match(r"Unable to locate package (\S+)", err)
            if m:
                raise AptError(f"unknown package: {m.group(1)} (not in the {ARCH} package "
                               "lists of the host's apt sources)")
            raise AptError(f"apt cannot resolve the package set: {err}")
        try:
            planned = parse_simulation(out)
        except ValueError as e:
            raise AptError(str(e)) from None
        if not planned:
            raise AptError("apt chose no packages to install (see the build log)")
        return planned

    def download(self, planned: list[Planned], packages: list[str],
                 on_status: Callable[[str], None] | None = None) -> list[Path]:
        """The .deb of each planned package, fetched unless cached."""
        missing = [p for p in planned if not (self.archives / p.archive_name).is_file()]
        if missing:
            code, out = self.run("apt-get", "install", "--download-only", "-y",
                                 "--no-install-recommends", *packages, on_status=on_status)
            if code != 0:
                raise AptError(f"downloading the packages failed: {first_error(out)}")
        debs = []
        for p in planned:
            deb = self.archives / p.archive_name
            if not deb.is_file():
                raise AptError(f"apt did not leave {p.archive_name} in {self.archives}")
            debs.append(deb)
        return debs


def _pump(proc: subprocess.Popen, status_fd: int, log: TextIO,
          on_status: Callable[[str], None] | None) -> str:
    """Copy the process's output to LOG (and keep it) while feeding status lines to ON_STATUS."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    if status_fd >= 0:
        sel.register(status_fd, selectors.EVENT_READ, "status")
    chunks: list[bytes] = []
    pending = b""
    try:
        while sel.get_map():
            for key, _ in sel.select():
                fd = key.fd
                data = os.read(fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                if key.data == "out":
                    chunks.append(data)
                    log.write(data.decode(errors="replace"))
                    log.flush()
                else:
                    pending += data
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        if on_status:
                            on_status(line.decode(errors="replace"))
    finally:
        sel.close()
        if status_fd >= 0:
            os.close(status_fd)
    return b"".join(chunks).decode(errors="replace")


def percent(status_line: str) -> float | None:
    """The percentage of an apt status line (`dlstatus:N:PERCENT:text`)."""
    parts = status_line.split(":", 3)
    if len(parts) >= 3 and parts[0] in ("dlstatus", "pmstatus"):
        try:
            return float(parts[2])
        except ValueError:
            return None
    return None
