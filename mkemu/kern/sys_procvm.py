"""process_vm_readv / process_vm_writev: copying between this process's memory and
another's.  The other's memory is reached through its own task (kern/introspect.py);
a thread group's space is shared, so any of its threads answers.  As Linux, the copy
goes remote iovec by remote iovec, page by page, and stops at the first page that
faults on either side: the bytes copied so far, or EFAULT when none were."""
from __future__ import annotations

import errno

from ..fs.structs import IOVEC
from ..mm.fault import MemFault
from . import introspect
from .systable import s32, syscall

UIO_MAXIOV = 1024
PAGE = 4096


def _iovecs(t, iov: int, n: int) -> list[tuple[int, int]]:
    """The iovec array, as import_iovec reads it: EINVAL for too many or too long, EFAULT
    for an array out of reach."""
    if n > UIO_MAXIOV:
        raise OSError(errno.EINVAL, "too many iovecs")
    if n == 0:
        return []
    raw = t.mem.read(iov, IOVEC.size * n)
    vecs = [IOVEC.unpack_from(raw, IOVEC.size * i) for i in range(n)]
    if any(length >> 63 for _, length in vecs) or sum(length for _, length in vecs) >> 63:
        raise OSError(errno.EINVAL, "iovec too long")
    return vecs


def _pieces(vecs, limit: int):
    """(address, length) chunks of vecs that never cross a page, at most limit bytes."""
    for base, length in vecs:
        addr, left = base, min(length, limit)
        while left > 0:
            n = min(left, PAGE - (addr & (PAGE - 1)))
            yield addr, n
            addr, left, limit = addr + n, left - n, limit - n
        if limit <= 0:
            return


def _remote(t, pid: int, op: str, args):
    """Run a transfer in process pid (this one's own space when pid is this process)."""
    if pid in (t.pid, t.tid):
        try:
            return introspect.transfer(t, *args)
        except MemFault:
            raise OSError(errno.EFAULT, "bad address") from None
    if pid <= 0:
        raise OSError(errno.ESRCH, "no such process")
    err, value, _ = t.introspect(pid, op, args)
    if err == -errno.EAGAIN:        # a stopped process, or one that could not answer in time
        err = -errno.ESRCH
    if err:
        raise OSError(-err, "process_vm")
    return value


def _both_iovecs(t, liov, liovcnt, riov, riovcnt, flags):
    """The local and remote iovec arrays (EINVAL for any flag, as Linux has none)."""
    if flags:
        raise OSError(errno.EINVAL, "process_vm flags")
    return _iovecs(t, liov, liovcnt), _iovecs(t, riov, riovcnt)


@syscall("process_vm_readv", "int", "ptr", "uint", "ptr", "uint", "hex",
         status="partial: a stopped process, or one blocking every signal, is ESRCH")
def sys_process_vm_readv(t, pid, liov, liovcnt, riov, riovcnt, flags):
    local, remote = _both_iovecs(t, liov, liovcnt, riov, riovcnt, flags)
    limit = sum(n for _, n in local)
    if limit == 0:
        return 0
    data = _remote(t, s32(pid), "vm_read", (remote, limit, None))
    done = 0
    for addr, n in _pieces(local, len(data)):
        try:
            t.mem.write(addr, data[done:done + n])
        except MemFault:
            if not done:
                raise
            break
        done += n
    return done


@syscall("process_vm_writev", "int", "ptr", "uint", "ptr", "uint", "hex",
         status="partial: a stopped process, or one blocking every signal, is ESRCH")
def sys_process_vm_writev(t, pid, liov, liovcnt, riov, riovcnt, flags):
    local, remote = _both_iovecs(t, liov, liovcnt, riov, riovcnt, flags)
    limit = min(sum(n for _, n in local), sum(n for _, n in remote))
    if limit == 0:
        return 0
    data = bytearray()
    for addr, n in _pieces(local, limit):
        try:
            data += t.mem.read(addr, n)
        except MemFault:
            if not data:
                raise
            break
    return _remote(t, s32(pid), "vm_write", (remote, len(data), bytes(data)))
