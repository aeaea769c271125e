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

import fcntl
import os
import shutil
import tempfile
from io import TextIOBase
from pathlib import Path

from .fs.metastore import META_DIR_SUFFIX
# (read_stamp and the paths are this module's names too: the build's callers and tests
# ask rootfs_build whether a tree is built and where its stamp and log are)
from .rootfs_stamp import (DEFAULT_PACKAGES, MERGED_USR_MARKER, BuildInfo,  # noqa: F401
                           RootfsBuildError, _lock_path, _write_stamp, build_cache,
                           default_rootfs_path, is_built, log_path, read_stamp, stamp_path)
from .system.apt import AptError, PrivateApt, percent
from .system.configure import ConfigureResult, configure
from .system.progress import Reporter
from .system.pycompile import current_pyc_check, precompile
from .system.sources import SourcesError, read_host_sources
from .system.unpack import (UnpackError, add_basics, make_merged_usr, unpack_deb,
                            write_dpkg_database)


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
