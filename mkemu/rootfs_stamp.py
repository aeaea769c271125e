"""Where `mkemu rootfs build` keeps things and what DIR.stamp records.

The light half of the rootfs command: the CLI needs the default rootfs's path
and whether a tree is built on every start, while the build's machinery
(rootfs_build.py and mkemu/system) is imported only when a build runs.
"""
from __future__ import annotations

import os
from pathlib import Path

from .record import asdict, field, record

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

@record
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
    import json                 # (here: json is not on the run path)
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
