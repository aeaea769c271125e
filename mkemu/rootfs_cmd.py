"""`mkemu rootfs build [DIR] [--packages PKG ...]` and `mkemu rootfs info [DIR]`: the
command's arguments and messages.  The build itself (rootfs_build.py, with apt,
dpkg-deb and the guest's configure step) is imported when `build` runs, not
with the CLI: every `mkemu run` registers this command.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .rootfs_stamp import (DEFAULT_PACKAGES, BuildInfo, RootfsBuildError, default_rootfs_path,
                           log_path, read_stamp)


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
    from .rootfs_build import build_rootfs     # the build's machinery: only now
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
