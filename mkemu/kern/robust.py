"""Robust futex lists: what a thread's end does to the robust mutexes it still holds.

A thread registers the head of a list of the robust mutexes it holds
(set_robust_list: the list, the offset from an entry to its futex word, and
the entry being locked or unlocked right now).  When the thread ends, every
word still naming it as owner gets FUTEX_OWNER_DIED (keeping FUTEX_WAITERS),
and one waiter is woken; the next locker gets EOWNERDEAD from glibc.  The
word is changed with a host compare-and-swap, as a waiter on another core may
be setting FUTEX_WAITERS at the same moment.
"""
from __future__ import annotations

import struct

from ..cpu import hostatomic
from ..mm.fault import MemFault
from . import futex

FUTEX_WAITERS, FUTEX_OWNER_DIED, FUTEX_TID_MASK = 0x8000_0000, 0x4000_0000, 0x3FFF_FFFF
ROBUST_LIST_LIMIT = 2048             # the kernel's bound on a (possibly circular) list
_HEAD = struct.Struct("<QqQ")


def release_all(t) -> None:
    """Mark the robust mutexes t's thread holds as their owner dead (at its end)."""
    head, size = t.robust_list
    if not head or size != _HEAD.size:
        return
    try:
        first, offset, pending = _HEAD.unpack(t.mem.read(head, _HEAD.size))
        entry = first
        for _ in range(ROBUST_LIST_LIMIT):
            if entry & ~1 == head:
                break
            nxt = t.mem.read_u64(entry & ~1)
            if entry & ~1 != pending & ~1:
                _owner_died(t, (entry & ~1) + offset)
            entry = nxt
        if pending & ~1:
            _owner_died(t, (pending & ~1) + offset)
    except (MemFault, OSError):
        pass                            # a damaged list: what was walked is done


def _owner_died(t, addr: int) -> None:
    addr &= 0xFFFF_FFFF_FFFF_FFFF
    if addr & 3:
        return
    page = t.tlb.writable_page(addr)
    host = hostatomic.page_address(page) + (addr & 4095)
    while True:
        word = hostatomic.load(host, 4)
        if word & FUTEX_TID_MASK != t.tid:
            return
        new = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED
        stored, _ = hostatomic.compare_exchange(host, 4, word, new)
        if stored:
            break
    if word & FUTEX_WAITERS:
        futex.wake_word(t, addr, 1)
