"""Nice values: a guest thread's is its host process's.

Each guest thread is a host process (kern/thread.py), so the host's nice value of
that process serves as the guest thread's: the host scheduler honours it, a fork
child and a new thread inherit it and execve keeps it, as in Linux, with nothing
for mkemu to keep.  getpriority and setpriority reach other guest processes through
the host pids the broker lists (ProcInfo).

Permission follows the guest's identity, not the host's: a guest process that is not
root may change only its own threads, and may not lower their nice value (Linux:
EPERM without a matching uid, EACCES without CAP_SYS_NICE; the broker keeps no uids,
so a non-root guest cannot renice its other processes).  No guest, root included,
goes below the nice value mkemu started with (FLOOR): the host's scheduler is the
host's to share, as a container without CAP_SYS_NICE sees it (EACCES).
"""
from __future__ import annotations

import errno
import os

from ..ipc import protocol as P
from . import brokercall

PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2
NICE_MIN, NICE_MAX = -20, 19
# the machine's own nice value: this module is imported as the first task starts
# (sys_proc), before any guest code runs, and fork children and threads inherit it
FLOOR = os.getpriority(os.PRIO_PROCESS, 0)


def _error(err: int) -> OSError:
    return OSError(err, os.strerror(err))      # the syscall's result: -err


def _targets(t, which: int, who: int) -> list[tuple[int, bool]]:
    """The host processes (host pid, one of the caller's own threads) that (which, who)
    names; ESRCH if none, EINVAL for a bad which."""
    if which == PRIO_PROCESS:
        if who in (0, t.tid):
            return [(os.getpid(), True)]
        info = t.proc_info(who)
        if info is None or info.get("state") == "Z":
            raise _error(errno.ESRCH)
        return [(info["tid_host_pid"], info["pid"] == t.pid)]
    if which == PRIO_PGRP:
        group = who or (t.proc_info(t.pid) or {}).get("pgid", t.pid)
        found = []
        for pid in brokercall.call(t, P.ProcList(), P.ProcListReply).pids:
            info = t.proc_info(pid)
            if info is not None and info["pgid"] == group and info.get("state") != "Z":
                found += [(h, pid == t.pid) for h in info["host_pids"]]
        if not found:
            raise _error(errno.ESRCH)
        return found
    if which == PRIO_USER:
        # (the broker keeps no uids: the caller's own process stands for its user's)
        if who not in (0, t.uid):
            raise _error(errno.ESRCH)
        info = t.proc_info(t.pid) or {}
        return [(h, True) for h in info.get("host_pids") or [os.getpid()]]
    raise _error(errno.EINVAL)


def _nice_of(host_pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, host_pid)     # (gone meanwhile: ESRCH)


def lowest(t, which: int, who: int) -> int:
    """getpriority: the lowest nice value among the targets (raises OSError)."""
    return min(_nice_of(pid) for pid, _ in _targets(t, which, who))


def assign(t, which: int, who: int, value: int) -> None:
    """setpriority: every target's nice value to value, clamped to -20..19 (raises
    OSError)."""
    value = max(NICE_MIN, min(NICE_MAX, value))
    root = t.euid == 0
    for pid, own in _targets(t, which, who):
        if not root and not own:
            raise _error(errno.EPERM)
        if value < FLOOR or not root and value < _nice_of(pid):
            raise _error(errno.EACCES)
        try:
            os.setpriority(os.PRIO_PROCESS, pid, value)
        except PermissionError:
            raise _error(errno.EACCES) from None      # the host will not lower it
