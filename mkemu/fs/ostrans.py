"""Open-flag translation between the guest (aarch64, asm-generic) and the host (x86_64).

Four bits sit in different places:

    flag          aarch64    x86_64
    O_DIRECTORY   0o40000    0o200000
    O_NOFOLLOW    0o100000   0o400000
    O_DIRECT      0o200000   0o40000
    O_LARGEFILE   0o400000   0o100000

Every other open flag (access mode, O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC,
O_APPEND, O_NONBLOCK, O_DSYNC, FASYNC, O_NOATIME, O_CLOEXEC, __O_SYNC,
O_PATH, __O_TMPFILE) has the same value on both.  The same translation
applies to F_GETFL/F_SETFL and to pipe2's flags.
"""
from __future__ import annotations

G_O_DIRECTORY, G_O_NOFOLLOW, G_O_DIRECT, G_O_LARGEFILE = 0o40000, 0o100000, 0o200000, 0o400000
H_O_DIRECTORY, H_O_NOFOLLOW, H_O_DIRECT, H_O_LARGEFILE = 0o200000, 0o400000, 0o40000, 0o100000

O_ACCMODE = 0o3
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DSYNC = 0o10000
FASYNC = 0o20000
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
O__SYNC = 0o4000000
O_PATH = 0o10000000
O__TMPFILE = 0o20000000

_SAME = (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC
         | FASYNC | O_NOATIME | O_CLOEXEC | O__SYNC | O_PATH | O__TMPFILE)
_PAIRS = ((G_O_DIRECTORY, H_O_DIRECTORY), (G_O_NOFOLLOW, H_O_NOFOLLOW),
          (G_O_DIRECT, H_O_DIRECT), (G_O_LARGEFILE, H_O_LARGEFILE))

# the guest's O_TMPFILE / O_DIRECTORY, for handlers that test guest flags
G_O_TMPFILE = O__TMPFILE | G_O_DIRECTORY
# with O_PATH the kernel ignores every flag but these three (openat2 refuses them instead)
H_O_PATH_KEEP = O_PATH | O_CLOEXEC | H_O_DIRECTORY | H_O_NOFOLLOW


def _table(pairs, same):
    """A lookup table over the four moved bits (16 entries), indexed by a compact key."""
    out = {}
    for key in range(16):
        src = dst = 0
        for i, (a, b) in enumerate(pairs):
            if key >> i & 1:
                src |= a
                dst |= b
        out[src] = dst
    return out


_G2H = _table(_PAIRS, _SAME)
_H2G = _table([(b, a) for a, b in _PAIRS], _SAME)
_G_MOVED = G_O_DIRECTORY | G_O_NOFOLLOW | G_O_DIRECT | G_O_LARGEFILE
_H_MOVED = H_O_DIRECTORY | H_O_NOFOLLOW | H_O_DIRECT | H_O_LARGEFILE


def open_flags_to_host(flags: int) -> int:
    """Guest open flags -> host open flags; bits no open flag uses are dropped (the kernel
    ignores them for open, and openat2 would refuse them)."""
    return (flags & _SAME) | _G2H[flags & _G_MOVED]


def open_flags_to_guest(flags: int) -> int:
    """Host F_GETFL result -> guest F_GETFL result (bits outside the table pass through)."""
    return (flags & ~_H_MOVED) | _H2G[flags & _H_MOVED]
