"""Kernel structure layouts the guest sees (aarch64, asm-generic), packed from host values.

Stat is the one file-metadata record of the file-system layer: built from a
host stat/statx, or made up by an overlay (procfs), and packed into the
guest's struct stat or struct statx.  The metadata store (ownership, modes
and device nodes the host user cannot create) will edit a Stat before it is
packed.
"""
from __future__ import annotations

import ctypes
import os
import struct

from ..record import record


# struct stat, asm-generic (aarch64): 128 bytes
#   dev ino | mode nlink uid gid | rdev __pad1 | size | blksize __pad2 | blocks
#   atime atime_nsec mtime mtime_nsec ctime ctime_nsec | __unused4 __unused5
STAT = struct.Struct("<QQIIIIQQqiiqqQqQqQII")
assert STAT.size == 128

# struct statx: 256 bytes, the same on every architecture
STATX_HEAD = struct.Struct("<IIQIIIHHQQQQ")          # up to stx_attributes_mask (64 bytes)
STATX_TS = struct.Struct("<qIi")                      # struct statx_timestamp
STATX_TAIL = struct.Struct("<IIIIQII")               # rdev/dev majors+minors, mnt_id, dio aligns
STATX_TYPE, STATX_MODE, STATX_NLINK, STATX_UID, STATX_GID = 0x1, 0x2, 0x4, 0x8, 0x10
STATX_ATIME, STATX_MTIME, STATX_CTIME, STATX_INO, STATX_SIZE, STATX_BLOCKS = \
    0x20, 0x40, 0x80, 0x100, 0x200, 0x400
STATX_BASIC_STATS = 0x7FF
STATX_BTIME = 0x800
STATX_MNT_ID = 0x1000

DIRENT64_HEAD = struct.Struct("<QqHB")               # d_ino d_off d_reclen d_type, then name
IOVEC = struct.Struct("<QQ")
WINSIZE = struct.Struct("<HHHH")
TERMIOS = struct.Struct("<IIIIB19s")                  # kernel struct termios: 36 bytes
assert TERMIOS.size == 36
FLOCK = struct.Struct("<hh4xqqi4x")                    # struct flock (64-bit): 32 bytes
assert FLOCK.size == 32
TIMESPEC = struct.Struct("<qq")

DT_UNKNOWN, DT_FIFO, DT_CHR, DT_DIR, DT_BLK, DT_REG, DT_LNK, DT_SOCK = 0, 1, 2, 4, 6, 8, 10, 12


@record(slots=True)
class Stat:
    dev: int
    ino: int
    mode: int
    nlink: int
    uid: int
    gid: int
    rdev: int
    size: int
    blksize: int
    blocks: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int
    btime_ns: int | None = None        # birth time when the host knows it
    mask: int = STATX_BASIC_STATS      # statx fields that are valid
    attributes: int = 0
    attributes_mask: int = 0
    mnt_id: int = 0
    dio_mem_align: int = 0
    dio_offset_align: int = 0

    @classmethod
    def from_os(cls, st: os.stat_result) -> "Stat":
        return cls(st.st_dev, st.st_ino, st.st_mode, st.st_nlink, st.st_uid, st.st_gid,
                   st.st_rdev, st.st_size, st.st_blksize, st.st_blocks,
                   st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)


def _split_ns(ns: int) -> tuple[int, int]:
    return ns // 1_000_000_000, ns % 1_000_000_000      # tv_nsec is never negative


def pack_stat(st: Stat) -> bytes:
    a, an = _split_ns(st.atime_ns)
    m, mn = _split_ns(st.mtime_ns)
    c, cn = _split_ns(st.ctime_ns)
    return STAT.pack(st.dev & 0xFFFF_FFFF_FFFF_FFFF, st.ino & 0xFFFF_FFFF_FFFF_FFFF, st.mode,
                     min(st.nlink, 0xFFFF_FFFF), st.uid & 0xFFFF_FFFF, st.gid & 0xFFFF_FFFF,
                     st.rdev, 0, st.size, st.blksize, 0, st.blocks, a, an, m, mn, c, cn, 0, 0)


def pack_statx(st: Stat) -> bytes:
    """struct statx; fields the host did not fill stay zero and out of stx_mask."""
    mask = st.mask
    if st.btime_ns is None:
        mask &= ~STATX_BTIME

    def ts(ns: int | None) -> bytes:
        if ns is None:
            return bytes(16)
        sec, nsec = _split_ns(ns)
        return STATX_TS.pack(sec, nsec, 0)

    head = STATX_HEAD.pack(mask, st.blksize, st.attributes, min(st.nlink, 0xFFFF_FFFF),
                           st.uid & 0xFFFF_FFFF, st.gid & 0xFFFF_FFFF, st.mode & 0xFFFF, 0,
                           st.ino, st.size, st.blocks, st.attributes_mask)
    times = ts(st.atime_ns) + ts(st.btime_ns if mask & STATX_BTIME else None) + \
        ts(st.ctime_ns) + ts(st.mtime_ns)
    tail = STATX_TAIL.pack(os.major(st.rdev), os.minor(st.rdev), os.major(st.dev),
                           os.minor(st.dev), st.mnt_id, st.dio_mem_align, st.dio_offset_align)
    out = head + times + tail
    return out + bytes(256 - len(out))


# ---- the host's statx, for fields os.stat does not give (btime, mnt_id, attributes) ----
_libc = ctypes.CDLL(None, use_errno=True)
_SYS_STATX_X86_64 = 332
AT_EMPTY_PATH = 0x1000
AT_STATX_SYNC_TYPE = 0x6000
_statx_buf = ctypes.create_string_buffer(256)


def host_statx(fd: int, flags: int = 0, mask: int = STATX_BASIC_STATS | STATX_BTIME | STATX_MNT_ID) -> Stat:
    """statx of an open host fd (O_PATH is fine); raises OSError."""
    r = _libc.syscall(_SYS_STATX_X86_64, fd, b"", AT_EMPTY_PATH | (flags & AT_STATX_SYNC_TYPE),
                      ctypes.c_uint(mask), _statx_buf)
    if r != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return unpack_statx(_statx_buf.raw)


def unpack_statx(raw: bytes) -> Stat:
    (mask, blksize, attrs, nlink, uid, gid, mode, _, ino, size, blocks,
     attrs_mask) = STATX_HEAD.unpack_from(raw, 0)

    def ns(off: int) -> int:
        sec, nsec, _ = STATX_TS.unpack_from(raw, off)
        return sec * 1_000_000_000 + nsec

    rmaj, rmin, dmaj, dmin, mnt_id, dio_mem, dio_off = STATX_TAIL.unpack_from(raw, 128)
    return Stat(os.makedev(dmaj, dmin), ino, mode, nlink, uid, gid, os.makedev(rmaj, rmin),
                size, blksize, blocks, ns(64), ns(112), ns(96),
                ns(80) if mask & STATX_BTIME else None, mask, attrs, attrs_mask, mnt_id,
                dio_mem, dio_off)


# ---- directory entries -------------------------------------------------------------------
def pack_dirent64(ino: int, off: int, dtype: int, name: bytes) -> bytes:
    reclen = (DIRENT64_HEAD.size + len(name) + 1 + 7) & ~7
    rec = DIRENT64_HEAD.pack(ino, off, reclen, dtype) + name
    return rec + bytes(reclen - len(rec))


def iter_dirents64(buf: bytes):
    """(offset in buf, reclen, d_ino, d_off, d_type, name) for each record."""
    pos = 0
    while pos + DIRENT64_HEAD.size <= len(buf):
        ino, off, reclen, dtype = DIRENT64_HEAD.unpack_from(buf, pos)
        if reclen == 0:
            break
        name = buf[pos + DIRENT64_HEAD.size:pos + reclen].split(b"\0", 1)[0]
        yield pos, reclen, ino, off, dtype, name
        pos += reclen


# ---- terminal ---------------------------------------------------------------------------
# termios, winsize and their ioctl numbers are asm-generic on both aarch64 and
# x86_64, so the host's bytes are the guest's; these helpers are for tests and
# for emulated terminals.
def pack_termios(iflag: int, oflag: int, cflag: int, lflag: int, line: int, cc: bytes) -> bytes:
    return TERMIOS.pack(iflag, oflag, cflag, lflag, line, cc[:19].ljust(19, b"\0"))


def unpack_termios(raw: bytes) -> tuple[int, int, int, int, int, bytes]:
    return TERMIOS.unpack(raw[:36])


def pack_winsize(rows: int, cols: int, xpixel: int = 0, ypixel: int = 0) -> bytes:
    return WINSIZE.pack(rows, cols, xpixel, ypixel)
