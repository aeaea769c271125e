"""Host pid -> guest pid, for answers the host gives in host pids (a lock's owner...).

The broker knows every guest process's task: its host pid is in what /proc
shows of the process (ProcInfo).  A found pair is cached and checked again
when used, since a host pid can be reused by another process.
"""
from __future__ import annotations

import os

from ..ipc import protocol as P
from . import brokercall

_known: dict[int, int] = {}          # host pid -> guest pid


def remember(host: int, guest: int) -> None:
    """A pair learnt elsewhere (pidfd_open): the next lookup starts from it."""
    _known[host] = guest


def guest_pid_of_host(t, host: int) -> int:
    """The guest pid of a host process of this machine; 0 for any other (as Linux shows a
    process outside the reader's pid namespace)."""
    if host <= 0:
        return 0
    if host == os.getpid():
        return t.pid
    known = _known.get(host)
    if known is not None:
        info = t.proc_info(known)
        if info is not None and info.get("host_pid") == host:
            return known
    for pid in brokercall.call(t, P.ProcList(), P.ProcListReply).pids:
        info = t.proc_info(pid)
        if info is not None and info.get("host_pid") == host:
            _known[host] = pid
            return pid
    return 0
