"""Kernel structure layouts the guest sees (aarch64, asm-generic)."""
from __future__ import annotations

import os
import struct

STAT = struct.Struct("<QQIIIIQQqiiqqQqQqQII")        # struct stat, 128 bytes
STATX_BASIC_STATS = 0x7FF


def pack_stat(st: os.stat_result) -> bytes:
    return STAT.pack(
        st.st_dev, st.st_ino, st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_rdev, 0,
        st.st_size, st.st_blksize, 0, st.st_blocks,
        int(st.st_atime_ns // 10**9), st.st_atime_ns % 10**9,
        int(st.st_mtime_ns // 10**9), st.st_mtime_ns % 10**9,
        int(st.st_ctime_ns // 10**9), st.st_ctime_ns % 10**9, 0, 0)


def pack_statx(st: os.stat_result) -> bytes:
    def ts(ns: int) -> bytes:
        return struct.pack("<qIi", ns // 10**9, ns % 10**9, 0)

    head = struct.pack("<IIQIIIHHQQQQ", STATX_BASIC_STATS, st.st_blksize, 0, st.st_nlink,
                       st.st_uid, st.st_gid, st.st_mode, 0, st.st_ino, st.st_size, st.st_blocks, 0)
    times = ts(st.st_atime_ns) + ts(0) + ts(st.st_ctime_ns) + ts(st.st_mtime_ns)
    devs = struct.pack("<IIII", os.major(st.st_rdev), os.minor(st.st_rdev),
                       os.major(st.st_dev), os.minor(st.st_dev))
    out = head + times + devs
    return out + bytes(256 - len(out))


# open(2) flags: asm-generic (aarch64) and x86_64 differ in four bits
_GUEST_TO_HOST_BITS = [(0o40000, 0o200000),     # O_DIRECTORY
                       (0o100000, 0o400000),    # O_NOFOLLOW
                       (0o200000, 0o40000),     # O_DIRECT
                       (0o400000, 0o100000)]    # O_LARGEFILE
_MOVED = sum(g for g, _ in _GUEST_TO_HOST_BITS)
_MOVED_HOST = sum(h for _, h in _GUEST_TO_HOST_BITS)


def open_flags_to_host(flags: int) -> int:
    out = flags & ~_MOVED
    for g, h in _GUEST_TO_HOST_BITS:
        if flags & g:
            out |= h
    return out


def open_flags_to_guest(flags: int) -> int:
    out = flags & ~_MOVED_HOST
    for g, h in _GUEST_TO_HOST_BITS:
        if flags & h:
            out |= g
    return out
