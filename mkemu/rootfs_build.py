"""`mkemu rootfs build [DIR] [--packages PKG ...]`: a Debian arm64 system from Debian's packages.

    download   a private apt (arm64 only, an empty package database, the host's
               sources) resolves the package set and fetches its whole closure
               into MKEMU_CACHE/rootfs-build/debs (kept: a rebuild fetches nothing)
    unpack     dpkg-deb on the host takes each .deb apart into a staging tree
               beside DIR: merged /usr, dpkg's database saying `unpacked`
    configure  the guest runs its own preinsts and `dpkg --configure -a` under
               mkemu (minutes: every maintainer script is emulated)

No `dpkg --add-architecture` on the host, no qemu, no binfmt_misc: nothing
aarch64 runs on the host.  The tree is renamed into place when it is complete;
DIR.stamp (beside it, unseen by the guest) records the package set and any
package that could not be configured, DIR.log everything the tools printed.
Two builds of one DIR take turns (a lock file beside it).

The default set is every package marked Essential or Priority: required, and
DEFAULT_PACKAGES; `--packages` adds to it.
"""
from __future__ import annotations

import argparse
import fcntl
import importlib
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from io import TextIOBase
from pathlib import Path

from .fs.metastore import META_DIR_SUFFIX

# The build's machinery (mkemu/system: apt, dpkg-deb, the guest's configure step) is
# imported when a build starts, not with this module: every `mkemu run` registers the
# rootfs command, and importing all of it cost each start-up ~6 ms.  The names are this
# module's all the same (rootfs_build.PrivateApt, ...), bound on first use.
_BUILD_TOOLS = {
    "AptError": "apt", "PrivateApt": "apt", "percent": "apt",
    "ConfigureResult": "configure", "configure": "configure",
    "Reporter": "progress",
    "current_pyc_check": "pycompile", "precompile": "pycompile",
    "SourcesError": "sources", "read_host_sources": "sources",
    "UnpackError": "unpack", "add_basics": "unpack", "make_merged_usr": "unpack",
    "unpack_deb": "unpack", "write_dpkg_database": "unpack",
}

TYPE_CHECKING = False       # typing's constant without importing typing (~2 ms)
if TYPE_CHECKING:           # for readers and linters: where each of those names comes from
    from .system.apt import AptError, PrivateApt, percent
    from .system.configure import ConfigureResult, configure
    from .system.progress import Reporter
    from .system.pycompile import current_pyc_check, precompile
    from .system.sources import SourcesError, read_host_sources
    from .system.unpack import (UnpackError, add_basics, make_merged_usr, unpack_deb,
                                write_dpkg_database)


def _load_build_tools() -> None:
    """Bind the build's machinery as module names (a name already bound stays)."""
    for name, module in _BUILD_TOOLS.items():
        if name not in globals():
            globals()[name] = getattr(importlib.import_module(f"{__package__}.system.{module}"),
                                      name)


def __getattr__(name: str):
    """rootfs_build.PrivateApt and the like, before any build bound them (PEP 562)."""
    if name in _BUILD_TOOLS:
        _load_build_tools()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

DEFAULT_PACKAGES = [
    "bash", "coreutils", "findutils", "grep", "sed", "gawk", "diffutils", "gzip", "xz-utils",
    "bzip2", "tar", "procps", "less", "vim-tiny", "python3", "perl", "sqlite3", "lua5.4",
    "file", "make",
]
# init-system-helpers depends on "usrmerge | usr-is-merged"; apt would pick usrmerge
# (a perl converter to merged /usr).  The tree is merged from the start, so the
# marker package debootstrap installs is named instead.
MERGED_USR_MARKER = "usr-is-merged"
STAMP_FORMAT = 1


class RootfsBuildError(Exception):
    """The build could not finish; the message is one line (the CLI prints it)."""

    def __init__(self, msg: str, code: int = 1) -> None:
        super().__init__(msg)
        self.code = code


# ---- where things live ------------------------------------------------------------------

def cache_dir() -> Path:
    """MKEMU_CACHE, default ~/.cache/mkemu (the folder mkemu's other caches use)."""
    return Path(os.environ.get("MKEMU_CACHE") or Path.home() / ".cache" / "mkemu")


def default_rootfs_path() -> Path:
    """The rootfs `mkemu run` and `mkemu boot` use when none is named."""
    return cache_dir() / "rootfs" / "default"


def build_cache() -> Path:
    """apt's private state and the downloaded .debs, shared by every build."""
    return cache_dir() / "rootfs-build"


def stamp_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".stamp")


def log_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".log")


def _lock_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.lock")


# ---- the stamp ----------------------------------------------------------------------------

@dataclass
class BuildInfo:
    """What DIR.stamp records about a finished build."""
    requested: list[str]                          # the package set asked for
    installed: dict[str, str]                     # package -> version
    unconfigured: dict[str, str]                  # package -> dpkg's state and reason
    enosys: dict[str, list[str]] = field(default_factory=dict)   # syscall -> packages
    preinst_failed: dict[str, str] = field(default_factory=dict)
    essential: list[str] = field(default_factory=list)           # Essential: yes packages
    seconds: dict[str, float] = field(default_factory=dict)      # phase -> duration
    built: str = ""
    format: int = STAMP_FORMAT

    @property
    def complete(self) -> bool:
        return not self.unconfigured

    @property
    def broken(self) -> list[str]:
        """Unconfigured packages the system cannot do without (Essential: yes)."""
        return sorted(set(self.unconfigured) & set(self.essential))


def read_stamp(dest: Path) -> BuildInfo | None:
    """The stamp of a finished build of DEST, or None (never built, or unreadable)."""
    import json                 # (here: see _BUILD_TOOLS)
    try:
        data = json.loads(stamp_path(Path(dest)).read_text())
        if data.get("format") != STAMP_FORMAT:
            return None
        return BuildInfo(**data)
    except (OSError, ValueError, TypeError):
        return None


def is_built(dest: Path) -> bool:
    """DEST holds a finished build (configured, or with its failures recorded)."""
    dest = Path(dest)
    return dest.is_dir() and read_stamp(dest) is not None


def _write_stamp(dest: Path, info: BuildInfo, tmpdir: Path) -> None:
    import json
    tmp = tmpdir / "stamp"
    tmp.write_text(json.dumps(asdict(info), indent=1, sort_keys=True) + "\n")
    os.rename(tmp, stamp_path(dest))


# ---- the build ------------------------------------------------------------------------------

def _locked(path: Path) -> TextIOBase:
    f = open(path, "w")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def _need_host_tools() -> None:
    missing = [t for t in ("apt-get", "apt-cache", "dpkg-deb") if shutil.which(t) is None]
    if missing:
        raise RootfsBuildError(f"{', '.join(missing)} not found: building a Debian rootfs "
                               "needs the host's apt and dpkg-deb (a Debian or Ubuntu host)")


def _download(apt: PrivateApt, packages: list[str] | None, extra: list[str],
              reporter: Reporter, log: TextIOBase):
    with reporter.phase("download", total=100, unit="%") as ph:
        try:
            apt.setup(read_host_sources())
            ph.update(detail="apt-get update")
            apt.update(on_status=lambda line: ph.update(
                min(30, int((percent(line) or 0) * 0.3)), detail="package lists"))
            base = (apt.essential() + DEFAULT_PACKAGES) if packages is None else list(packages)
            wanted = list(dict.fromkeys(base + [MERGED_USR_MARKER] + list(extra)))
            ph.update(30, detail="resolving")
            planned = apt.plan(wanted)
            cached = sum((apt.archives / p.archive_name).is_file() for p in planned)
            ph.note(f"download: {len(planned)} packages, {len(planned) - cached} to fetch, "
                    f"{cached} cached in {apt.archives}")
            debs = apt.download(planned, wanted, on_status=lambda line: ph.update(
                30 + int((percent(line) or 0) * 0.7), detail="packages"))
        except (AptError, SourcesError) as e:
            raise RootfsBuildError(str(e)) from None
    log.write(f"\n# download: {len(debs)} packages\n")
    return wanted, planned, debs, ph.seconds


def _unpack(debs: list[Path], root: Path, work: Path, reporter: Reporter, log: TextIOBase):
    with reporter.phase("unpack", total=len(debs), unit="packages") as ph:
        make_merged_usr(root)
        unpacked = []
        for deb in debs:
            try:
                unpacked.append(unpack_deb(deb, root, work, log))
            except UnpackError as e:
                raise RootfsBuildError(str(e)) from None
            ph.advance(detail=deb.name.split("_")[0])
        write_dpkg_database(root, unpacked)
        for what in add_basics(root):
            log.write(f"unpack: added {what}\n")
    return unpacked, ph.seconds


def _configure(root: Path, unpacked, reporter: Reporter, log: TextIOBase,
               timeout: float) -> tuple[ConfigureResult, float]:
    order = [(u.info_name, u.control.get("Architecture", "all")) for u in unpacked]
    dpkg_version = next((u.control.get("Version", "") for u in unpacked if u.name == "dpkg"), "")
    steps = len(unpacked) + sum("preinst" in u.members for u in unpacked)
    with reporter.phase("configure", total=steps, unit="steps") as ph:
        ph.update(detail="python byte-code (host)")
        compiled = precompile(root, log)
        with current_pyc_check(root, list(compiled), log):
            result = configure(root, order, dpkg_version, log,
                               progress=lambda what: ph.update(min(steps, ph.done + 1),
                                                               detail=what),
                               timeout=timeout)
    _finish_accounts(root, log)
    return result, ph.seconds


def _finish_accounts(root: Path, log: TextIOBase) -> None:
    """/etc/shadow and /etc/gshadow, if no script made them (passwd's postinst does)."""
    for plain, shadow, fields in (("passwd", "shadow", ":*:19000:0:99999:7:::"),
                                  ("group", "gshadow", ":*::")):
        target = root / "etc" / shadow
        source = root / "etc" / plain
        if target.exists() or not source.is_file():
            continue
        names = [ln.split(":", 1)[0] for ln in source.read_text().splitlines() if ":" in ln]
        target.write_text("".join(f"{n}{fields}\n" for n in names))
        target.chmod(0o640)
        log.write(f"configure: /etc/{shadow} made from /etc/{plain} (no script made it)\n")


def build_rootfs(dest: Path, extra_packages: list[str] = (), *, packages: list[str] | None = None,
                 reporter: Reporter | None = None, configure_timeout: float = 4 * 3600
                 ) -> BuildInfo:
    """Build a Debian arm64 system at DEST; see the module's docstring.

    PACKAGES replaces the default set (essential packages and DEFAULT_PACKAGES);
    EXTRA_PACKAGES is added to it.  Returns what the stamp records; raises
    RootfsBuildError (one line) when there is no tree to show for it.
    """
    import datetime
    _load_build_tools()
    dest = Path(dest).absolute()
    reporter = reporter or Reporter()
    _need_host_tools()
    dest.parent.mkdir(parents=True, exist_ok=True)
    cache = build_cache()
    cache.mkdir(parents=True, exist_ok=True)
    with _locked(_lock_path(dest)), open(log_path(dest), "w") as log:
        log.write(f"mkemu rootfs build {dest} at {datetime.datetime.now().isoformat()}\n")
        with _locked(cache / ".lock"):          # apt's state is shared by every build
            apt = PrivateApt(cache / "apt", cache / "debs", log)
            wanted, planned, debs, t_download = _download(apt, packages, list(extra_packages),
                                                          reporter, log)
        _sweep_interrupted(dest, log)
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}-") as tmp:
            tmpdir = Path(tmp)
            root = tmpdir / "root"
            root.mkdir()
            unpacked, t_unpack = _unpack(debs, root, tmpdir / "work", reporter, log)
            result, t_configure = _configure(root, unpacked, reporter, log, configure_timeout)
            if not result.dpkg_ran:
                raise RootfsBuildError(
                    f"the guest's dpkg configured no package under mkemu (see {log_path(dest)})")
            info = BuildInfo(
                requested=wanted, installed={p.package: p.version for p in planned},
                unconfigured=result.unconfigured, enosys=result.enosys,
                preinst_failed=result.preinst_failed,
                essential=sorted(u.name for u in unpacked if u.control.get("Essential") == "yes"),
                seconds={"download": round(t_download, 1), "unpack": round(t_unpack, 1),
                         "configure": round(t_configure, 1)},
                built=datetime.datetime.now().isoformat(timespec="seconds"))
            _report_to_log(info, log)
            stamp_path(dest).unlink(missing_ok=True)
            if dest.exists() or dest.is_symlink():
                os.rename(dest, tmpdir / "old")     # dropped with the temporary folder
            os.rename(root, dest)
            _move_metadata(root, dest, tmpdir)
            _write_stamp(dest, info, tmpdir)
    return info


def _move_metadata(staged: Path, dest: Path, tmpdir: Path) -> None:
    """The metadata store the configure step recorded beside the staging tree (device
    nodes the maintainer scripts made) goes with the tree: its rows name inodes, which a
    rename keeps."""
    staged_meta = Path(str(staged) + META_DIR_SUFFIX)
    dest_meta = Path(str(dest) + META_DIR_SUFFIX)
    if dest_meta.exists():
        os.rename(dest_meta, tmpdir / "old.meta")      # the replaced tree's store
    if staged_meta.exists():
        os.rename(staged_meta, dest_meta)


def _sweep_interrupted(dest: Path, log: TextIOBase) -> None:
    """Staging folders of builds that were killed (the caller holds DEST's lock, so
    none of them is in use)."""
    for stale in dest.parent.glob(f".{dest.name}-*"):
        if stale.is_dir() and not stale.is_symlink():
            log.write(f"removing {stale} (an interrupted build)\n")
            shutil.rmtree(stale, ignore_errors=True)


def _report_to_log(info: BuildInfo, log: TextIOBase) -> None:
    log.write("\n# result\n")
    for pkg, why in sorted(info.unconfigured.items()):
        log.write(f"not configured: {pkg}: {why}\n")
    for pkg, why in sorted(info.preinst_failed.items()):
        log.write(f"preinst failed: {pkg}: {why}\n")
    for call, pkgs in info.enosys.items():
        log.write(f"ENOSYS from mkemu: {call} (while: {', '.join(pkgs)})\n")
    log.write(f"seconds: {info.seconds}\n")


def ensure_default_rootfs(reporter: Reporter | None = None) -> Path:
    """The default rootfs, built on first use (minutes; progress on stderr)."""
    dest = default_rootfs_path()
    if not is_built(dest):
        build_rootfs(dest, reporter=reporter)
    return dest


# ---- the command ---------------------------------------------------------------------------

def add_rootfs_command(subparsers) -> argparse.ArgumentParser:
    """Register `mkemu rootfs build` and `mkemu rootfs info`."""
    rootfs = subparsers.add_parser("rootfs", help="build a Debian arm64 root filesystem",
                                   description="Build or describe a Debian arm64 root "
                                               "filesystem made from Debian's packages.")
    sub = rootfs.add_subparsers(dest="rootfs_command", required=True, metavar="ACTION")
    build = sub.add_parser("build", help="download, unpack and configure a Debian system",
                           description="Build a Debian arm64 system in DIR (default: "
                                       f"{default_rootfs_path()}) from the essential packages, "
                                       f"{', '.join(DEFAULT_PACKAGES)} and any --packages; "
                                       "the guest configures itself under mkemu (minutes).")
    build.add_argument("dir", nargs="?", metavar="DIR", help="where the tree goes")
    build.add_argument("--packages", nargs="+", action="extend", default=[], metavar="PKG",
                       help="more Debian packages to install (names as apt knows them)")
    build.set_defaults(func=cmd_rootfs_build)
    info = sub.add_parser("info", help="what a built tree holds and what failed",
                          description="Show what `mkemu rootfs build` recorded for DIR.")
    info.add_argument("dir", nargs="?", metavar="DIR")
    info.set_defaults(func=cmd_rootfs_info)
    return rootfs


def _dest(args) -> Path:
    return Path(args.dir).absolute() if args.dir else default_rootfs_path()


def cmd_rootfs_build(args) -> int:
    dest = _dest(args)
    bad = [p for p in args.packages if not p or p.startswith("-")]
    if bad:
        return _fail(f"rootfs build: {bad[0]!r} is not a package name", 2)
    try:
        info = build_rootfs(dest, args.packages)
    except RootfsBuildError as e:
        return _fail(f"rootfs build: {e}", e.code)
    except OSError as e:             # the destination's folder, the cache folder, a full disk
        return _fail(f"rootfs build: {e.filename or dest}: {e.strerror or e}", 1)
    except KeyboardInterrupt:
        sys.stderr.write("mkemu: rootfs build: interrupted; nothing was installed\n")
        return 130
    secs = info.seconds
    print(f"mkemu: built {dest} ({len(info.installed)} packages; download "
          f"{secs['download']:.0f} s, unpack {secs['unpack']:.0f} s, configure "
          f"{secs['configure']:.0f} s); log {log_path(dest)}", file=sys.stderr)
    return _print_failures(dest, info)


def _print_failures(dest: Path, info: BuildInfo) -> int:
    """Warn about packages left unconfigured.  The exit status is 1 when an
    Essential package is among them (the system is not usable as Debian), else 0:
    the tree is there and its stamp lists them."""
    if info.complete:
        return 0
    sys.stderr.write(f"mkemu: warning: {len(info.unconfigured)} packages are not configured "
                     f"(dpkg --audit in {log_path(dest)}):\n")
    for pkg, why in sorted(info.unconfigured.items()):
        sys.stderr.write(f"  {pkg}: {why}\n")
    for call, pkgs in info.enosys.items():
        sys.stderr.write(f"  mkemu answered ENOSYS to {call} (in {', '.join(pkgs)})\n")
    if info.broken:
        sys.stderr.write(f"mkemu: essential packages not configured: {' '.join(info.broken)}\n")
        return 1
    return 0


def cmd_rootfs_info(args) -> int:
    dest = _dest(args)
    info = read_stamp(dest)
    if info is None or not dest.is_dir():
        return _fail(f"rootfs info: {dest} is not a built rootfs (run `mkemu rootfs build"
                     f"{' ' + args.dir if args.dir else ''}`)", 1)
    print(f"{dest}: built {info.built}, {len(info.installed)} packages "
          f"({'all configured' if info.complete else f'{len(info.unconfigured)} not configured'})")
    print(f"requested: {' '.join(info.requested)}")
    print("seconds: " + ", ".join(f"{k} {info.seconds[k]:.0f}"
                                  for k in ("download", "unpack", "configure") if k in info.seconds))
    for call, pkgs in info.enosys.items():
        print(f"mkemu answered ENOSYS to {call} (in {', '.join(pkgs)})")
    print(f"log: {log_path(dest)}")
    _print_failures(dest, info)
    return 0


def _fail(msg: str, code: int) -> int:
    sys.stderr.write(f"mkemu: {msg}\n")
    return code
