"""The CPU time of a guest process, all its threads'.

Each guest thread is a host process of its own (kern/thread.py), so the host's
per-process counters (os.times, RUSAGE_SELF, CLOCK_PROCESS_CPUTIME_ID) count the
calling thread alone.  A threaded process's time is the sum over its threads'
host processes, which the broker lists (ProcTable.info's host_pids), and the
time of its threads that have ended (the broker's rusage of each when it reaped it).
Its children's time (RUSAGE_CHILDREN, times()'s cutime) is the broker's too: guest
children are not the host children of a task, and it adds an ended child's when
its parent waits for it (also what wait4's rusage shows).
"""
from __future__ import annotations

import os
import struct
import time

_RUSAGE = struct.Struct("<18q")     # struct rusage: two timevals, then 14 longs

# Linux's CPU-time clock ids: ((~pid) << 3) | CPUCLOCK_PERTHREAD for one thread | the
# kind: user and system time (PROF), user time (VIRT), time run (SCHED, what
# CLOCK_PROCESS_CPUTIME_ID is)
CPUCLOCK_PROF, CPUCLOCK_VIRT, CPUCLOCK_SCHED = 0, 1, 2
CPUCLOCK_PERTHREAD = 4


def cpu_ns(t, kind: int = CPUCLOCK_SCHED) -> int:
    """CLOCK_PROCESS_CPUTIME_ID (or the CPU clock of another kind) of t's process: its
    threads' host CPU clocks summed, and its ended threads' time."""
    if not getattr(t, "threaded", False):
        return time.clock_gettime_ns(((~0) << 3) | kind)     # (pid 0: this process)
    info = t.proc_info(t.pid) or {}
    return clock_ns(info.get("host_pids") or [os.getpid()], info.get("gone_cpu", (0.0, 0.0)),
                    kind)


def clock_ns(host_pids, gone: tuple[float, float], kind: int = CPUCLOCK_SCHED) -> int:
    """A guest process's CPU clock of a kind: the host's of each of its threads' task
    processes, summed, and gone, the (user, system) seconds of its ended threads."""
    total = int((gone[0] if kind == CPUCLOCK_VIRT else gone[0] + gone[1]) * 1e9)
    for pid in host_pids:
        if pid is None:
            continue                        # a thread whose host process is not known yet
        try:
            total += time.clock_gettime_ns(((~pid) << 3) | kind)
        except OSError:
            pass                            # exited meanwhile
    return total


def cpu_seconds(t, info: dict | None = None) -> tuple[float, float]:
    """(user, system) seconds of t's process: its threads' summed (the broker reads
    their hosts' /proc/PID/stat, in clock ticks) when it has threads.  info: the
    broker's answer for t's process, if the caller has it."""
    if getattr(t, "threaded", False):
        info = info or t.proc_info(t.pid)
        if info is not None:
            utime, stime = info["cpu"]
            return utime / 100, stime / 100
    tm = os.times()
    return tm.user, tm.system


def children_seconds(t, info: dict | None = None) -> tuple[float, float]:
    """(user, system) seconds of the children t's process waited for (and theirs)."""
    info = info or t.proc_info(t.pid)
    return (info or {}).get("children_cpu", (0.0, 0.0))


def children_rusage(t) -> bytes:
    """RUSAGE_CHILDREN: the times of the children t's process waited for (and theirs)
    and the largest peak among them, from one question to the broker."""
    info = t.proc_info(t.pid) or {}
    return rusage(*children_seconds(t, info), info.get("children_maxrss", 0))


def times(t) -> tuple[float, float, float, float]:
    """times(2)'s four (seconds): the process's user and system time and its children's,
    from one question to the broker."""
    info = t.proc_info(t.pid)
    return (*cpu_seconds(t, info), *children_seconds(t, info))


def rusage(user: float, system: float, maxrss: int = 0, counts=(0,) * 13) -> bytes:
    """A struct rusage of those times (seconds), ru_maxrss (kB) and the other counts
    (ru_ixrss ... ru_nivcsw)."""
    return _RUSAGE.pack(int(user), int(user % 1 * 1e6), int(system), int(system % 1 * 1e6),
                        maxrss, *counts)
