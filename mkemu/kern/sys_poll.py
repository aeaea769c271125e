"""Waiting on descriptors: ppoll and pselect6, on the host's own poll/select.

Their signal-mask argument replaces the blocked mask for the wait, as
sigsuspend does: a signal it lets through breaks the wait with EINTR and its
handler runs with the caller's old mask saved in the frame (restored by
sigreturn); when no signal comes, the old mask is back when the call returns.
GNU make -j waits this way, with SIGCHLD unblocked only inside pselect."""
from __future__ import annotations

import errno
import select
import struct

from . import timespec
from .errors import InterruptedSyscall
from .sys_signal import read_sigset
from .systable import syscall

_POLLFD = struct.Struct("<ihh")


def _swap_mask(t, mask_addr: int) -> bool:
    """Install the call's signal mask (the old one kept to come back); True when a
    signal it unblocks is already pending (the call ends at once with EINTR)."""
    if not mask_addr:
        return False
    t.sig.wait_mask(t, read_sigset(t, mask_addr))
    return t.sig.interrupting()


def _timeout_ms(t, addr: int) -> float | None:
    if not addr:
        return None
    ms = timespec.read_ns(t, addr) / 1e6
    # past what the host's poll takes (INT_MAX ms, 24 days): as good as forever
    return None if ms > 0x7FFF_FFFF else ms


@syscall("ppoll", "ptr", "int", "ptr", "ptr", "size")
def sys_ppoll(t, fds, nfds, tmo, sigmask, sigsetsize):
    if nfds > 4096 or sigmask and sigsetsize != 8:
        return -errno.EINVAL
    raw = t.mem.read(fds, 8 * nfds) if nfds else b""
    entries = [_POLLFD.unpack_from(raw, 8 * i) for i in range(nfds)]
    poller = select.poll()
    for fd, events, _ in entries:
        if fd >= 0 and fd not in t.reserved_fds:
            poller.register(fd, events & 0xFFFF)
    timeout = _timeout_ms(t, tmo)
    if _swap_mask(t, sigmask):
        return -errno.EINTR
    try:
        ready = dict(poller.poll(timeout))
    except InterruptedSyscall:
        return -errno.EINTR
    t.sig.restore_mask()
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


_SIGSET_ARG = struct.Struct("<QQ")         # pselect6's {const sigset_t *ss; size_t ss_len}


@syscall("pselect6", "int", "ptr", "ptr", "ptr", "ptr", "ptr")
def sys_pselect6(t, nfds, rset, wset, xset, tmo, sigmask):
    if nfds > 1024:
        return -errno.EINVAL
    mask_addr = 0
    if sigmask:
        mask_addr, mask_len = _SIGSET_ARG.unpack(t.mem.read(sigmask, 16))
        if mask_addr and mask_len != 8:
            return -errno.EINVAL
    r, w, x = (_read_set(t, a, nfds) for a in (rset, wset, xset))
    if any(fd in t.reserved_fds for fd in r + w + x):
        return -errno.EBADF
    timeout = _timeout_ms(t, tmo)
    if _swap_mask(t, mask_addr):
        return -errno.EINTR
    try:
        rr, ww, xx = select.select(r, w, x, None if timeout is None else timeout / 1000)
    except InterruptedSyscall:
        return -errno.EINTR
    t.sig.restore_mask()
    _write_set(t, rset, nfds, rr)
    _write_set(t, wset, nfds, ww)
    _write_set(t, xset, nfds, xx)
    return len(rr) + len(ww) + len(xx)
