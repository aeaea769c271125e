"""Waiting on descriptors: ppoll and pselect6, on the host's own poll/select."""
from __future__ import annotations

import errno
import select
import struct

from .errors import InterruptedSyscall
from .systable import syscall

_POLLFD = struct.Struct("<ihh")
_TS = struct.Struct("<qq")


def _timeout_ms(t, addr: int) -> float | None:
    if not addr:
        return None
    sec, nsec = _TS.unpack(t.mem.read(addr, 16))
    if sec < 0 or not 0 <= nsec < 1_000_000_000:
        raise OSError(errno.EINVAL, "bad timeout")
    return sec * 1000 + nsec / 1e6


@syscall("ppoll", "ptr", "int", "ptr", "ptr", "size", status="partial: the signal mask argument is ignored")
def sys_ppoll(t, fds, nfds, tmo, sigmask, sigsetsize):
    if nfds > 4096:
        return -errno.EINVAL
    raw = t.mem.read(fds, 8 * nfds) if nfds else b""
    entries = [_POLLFD.unpack_from(raw, 8 * i) for i in range(nfds)]
    poller = select.poll()
    for fd, events, _ in entries:
        if fd >= 0 and fd not in t.reserved_fds:
            poller.register(fd, events & 0xFFFF)
    timeout = _timeout_ms(t, tmo)
    try:
        ready = dict(poller.poll(timeout))
    except InterruptedSyscall:
        return -errno.EINTR
    out = bytearray()
    count = 0
    for fd, events, _ in entries:
        rev = 0
        if fd in t.reserved_fds:
            rev = select.POLLNVAL
        elif fd >= 0:
            rev = ready.get(fd, 0)
        count += bool(rev)
        out += _POLLFD.pack(fd, events, rev)
    if nfds:
        t.mem.write(fds, bytes(out))
    return count


def _read_set(t, addr: int, nfds: int) -> list[int]:
    if not addr:
        return []
    nbytes = ((nfds + 63) // 64) * 8
    bits = int.from_bytes(t.mem.read(addr, nbytes), "little")
    return [fd for fd in range(nfds) if bits >> fd & 1]


def _write_set(t, addr: int, nfds: int, fds) -> None:
    if not addr:
        return
    nbytes = ((nfds + 63) // 64) * 8
    bits = 0
    for fd in fds:
        bits |= 1 << fd
    t.mem.write(addr, bits.to_bytes(nbytes, "little"))


@syscall("pselect6", "int", "ptr", "ptr", "ptr", "ptr", "ptr",
         status="partial: the signal mask argument is ignored")
def sys_pselect6(t, nfds, rset, wset, xset, tmo, sigmask):
    if nfds > 1024:
        return -errno.EINVAL
    r, w, x = (_read_set(t, a, nfds) for a in (rset, wset, xset))
    if any(fd in t.reserved_fds for fd in r + w + x):
        return -errno.EBADF
    timeout = _timeout_ms(t, tmo)
    try:
        rr, ww, xx = select.select(r, w, x, None if timeout is None else timeout / 1000)
    except InterruptedSyscall:
        return -errno.EINTR
    _write_set(t, rset, nfds, rr)
    _write_set(t, wset, nfds, ww)
    _write_set(t, xset, nfds, xx)
    return len(rr) + len(ww) + len(xx)
