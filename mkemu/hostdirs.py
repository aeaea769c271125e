"""The host directories a machine makes for itself (its /proc listing, --tmpfs trees, its
/dev/shm, IPC records, socket-bind scratch) and removes again.

Made here rather than with tempfile and shutil: those two (with random, weakref,
fnmatch, bz2, lzma) were imported by every `mkemu run` for these few calls, ~17 M host
instructions of a start-up that is ~500 M in all for a static hello.
"""

from __future__ import annotations

import os


def temp_root() -> str:
    """The host's directory for temporary files: $TMPDIR when it names a writable
    directory, else /tmp (tempfile.gettempdir's answer on any ordinary host)."""
    env = os.environ.get("TMPDIR")
    if env and os.path.isdir(env) and os.access(env, os.W_OK | os.X_OK):
        return env
    return "/tmp"


def make_dir(parent: str, prefix: str, mode: int = 0o700) -> str:
    """A new directory parent/prefixXXXXXXXXXXXX with a name no one else has; then chmod
    to mode (made 0700 first, so no one else can reach it before)."""
    while True:
        where = os.path.join(parent, prefix + os.urandom(6).hex())
        try:
            os.mkdir(where, 0o700)
        except FileExistsError:
            continue
        if mode != 0o700:
            os.chmod(where, mode)
        return where


def remove_tree(top: str | bytes) -> None:
    """Remove a directory and everything in it, errors ignored (what is left stays);
    symbolic links are removed, never followed."""
    try:
        entries = list(os.scandir(top))
    except OSError:
        return
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            remove_tree(e.path)
        else:
            try:
                os.unlink(e.path)
            except OSError:
                pass
    try:
        os.rmdir(top)
    except OSError:
        pass
