"""Clocks and sleeping."""
from __future__ import annotations

import errno
import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import struct
import time

from . import groupcpu, timespec
from .errors import InterruptedSyscall
from .systable import s32, syscall

_TS = timespec.TIMESPEC
# Linux clock ids the guest may name (same numbers on every architecture)
CLOCK_PROCESS_CPUTIME_ID = 2
_CLOCKS = {0: time.CLOCK_REALTIME, 1: time.CLOCK_MONOTONIC, 2: time.CLOCK_PROCESS_CPUTIME_ID,
           3: time.CLOCK_THREAD_CPUTIME_ID, 4: time.CLOCK_MONOTONIC_RAW, 5: 5, 6: 6,
           7: time.CLOCK_BOOTTIME, 8: 8, 9: 9, 11: 11}


def _clock(clk: int) -> int:
    if clk not in _CLOCKS:
        raise OSError(errno.EINVAL, "bad clock id")
    return _CLOCKS[clk]


def _cpu_clock_ns(t, clk: int) -> int:
    """The time of a CPU-time clock id (clock_getcpuclockid, pthread_getcpuclockid:
    groupcpu's encoding).  A process's is its threads' summed (the broker knows their
    task processes); a thread's, its task process's.  EINVAL for a pid or tid that
    names no live process or thread, and for another process's thread (as Linux;
    glibc's clock_getcpuclockid then says ESRCH)."""
    pid, kind = ~(clk >> 3), clk & 3
    if kind > groupcpu.CPUCLOCK_SCHED:
        raise OSError(errno.EINVAL, "bad clock id")
    if clk & groupcpu.CPUCLOCK_PERTHREAD:
        if pid in (0, t.tid):           # this thread: the task's own (guest code's) thread
            return time.clock_gettime_ns(((~0) << 3) | groupcpu.CPUCLOCK_PERTHREAD | kind)
        info = t.proc_info(pid) if getattr(t, "threaded", False) else None
        if info is None or info["pid"] != t.pid or info["tid_host_pid"] is None:
            raise OSError(errno.EINVAL, "no such thread here")
        return groupcpu.clock_ns([info["tid_host_pid"]], (0.0, 0.0), kind)
    if pid in (0, t.pid):
        return groupcpu.cpu_ns(t, kind)
    info = t.proc_info(pid)
    if info is None or info["pid"] != pid or info["state"] == "Z":
        raise OSError(errno.EINVAL, "no such process")
    return groupcpu.clock_ns(info["host_pids"], info["gone_cpu"], kind)


@syscall("clock_gettime", "clock", "ptr")
def sys_clock_gettime(t, clk, ts):
    clk = s32(clk)
    if clk == CLOCK_PROCESS_CPUTIME_ID:
        ns = groupcpu.cpu_ns(t)         # every thread's host process (one without threads: its own)
    elif clk < 0:
        ns = _cpu_clock_ns(t, clk)
    else:
        ns = time.clock_gettime_ns(_clock(clk))
    t.mem.write(ts, _TS.pack(ns // 1_000_000_000, ns % 1_000_000_000))
    return 0


@syscall("clock_getres", "clock", "ptr")
def sys_clock_getres(t, clk, ts):
    clk = s32(clk)
    if clk < 0:
        _cpu_clock_ns(t, clk)           # (a clock that exists: glibc's clock_getcpuclockid asks)
        clk = CLOCK_PROCESS_CPUTIME_ID
    res = time.clock_getres(_clock(clk))
    if ts:
        t.mem.write(ts, _TS.pack(int(res), int(round((res - int(res)) * 1e9))))
    return 0


@syscall("gettimeofday", "ptr", "ptr")
def sys_gettimeofday(t, tv, tz):
    ns = time.time_ns()
    if tv:
        t.mem.write(tv, _TS.pack(ns // 1_000_000_000, (ns // 1000) % 1_000_000))
    if tz:
        t.mem.write(tz, bytes(8))
    return 0


def _sleep_until(t, clock: int, deadline_ns: int, rem: int) -> int:
    """Sleep until the clock reaches deadline; interruptible by guest signals."""
    try:
        while True:
            left = deadline_ns - time.clock_gettime_ns(clock)
            if left <= 0:
                return 0
            time.sleep(min(left, 1 << 50) / 1e9)     # time.sleep takes at most ~292 years
    except InterruptedSyscall:
        t.sig.sleep_deadline = (clock, deadline_ns)
        if rem:
            left = max(0, deadline_ns - time.clock_gettime_ns(clock))
            t.mem.write(rem, _TS.pack(left // 1_000_000_000, left % 1_000_000_000))
        return -errno.EINTR


def _relative_deadline(t, clock: int, dur: int) -> int:
    """now + dur, or, when this call is the restart of a sleep a stop interrupted (no
    handler ran), the deadline it had: a stopped `sleep 10` sleeps what was left."""
    kept, t.sig.sleep_deadline = t.sig.sleep_deadline, None
    if t.sig.restarted and kept is not None and kept[0] == clock:
        return kept[1]
    return time.clock_gettime_ns(clock) + dur


@syscall("nanosleep", "ptr", "ptr")
def sys_nanosleep(t, req, rem):
    dur = timespec.read_ns(t, req)
    return _sleep_until(t, time.CLOCK_MONOTONIC,
                        _relative_deadline(t, time.CLOCK_MONOTONIC, dur), rem)


@syscall("clock_nanosleep", "clock", "flags", "ptr", "ptr")
def sys_clock_nanosleep(t, clk, flags, req, rem):
    clock = _clock(clk)
    val = timespec.read_ns(t, req)
    if flags & 1:    # TIMER_ABSTIME
        return _sleep_until(t, clock, val, 0)
    return _sleep_until(t, clock, _relative_deadline(t, clock, val), rem)


@syscall("times", "ptr")
def sys_times(t, buf):
    hz = 100
    if buf:
        # all the process's threads, and its children's (kern/groupcpu.py)
        t.mem.write(buf, struct.pack("<4q", *(int(s * hz) for s in groupcpu.times(t))))
    return int(os.times().elapsed * hz)


# ---- interval timers ------------------------------------------------------------
_ITIMERVAL = struct.Struct("<qqqq")        # it_interval (sec, usec), it_value (sec, usec)
_ITIMERS = {0: (signal.ITIMER_REAL, signal.SIGALRM), 1: (signal.ITIMER_VIRTUAL, signal.SIGVTALRM),
            2: (signal.ITIMER_PROF, signal.SIGPROF)}


def _itimer(which: int) -> tuple[int, int]:
    if which not in _ITIMERS:
        raise OSError(errno.EINVAL, "bad itimer")
    return _ITIMERS[which]


def _tv(seconds: float) -> tuple[int, int]:
    usec = round(seconds * 1_000_000)
    return usec // 1_000_000, usec % 1_000_000


def _pack_itimer(value: float, interval: float) -> bytes:
    return _ITIMERVAL.pack(*_tv(interval), *_tv(value))


@syscall("getitimer", "int", "ptr")
def sys_getitimer(t, which, out):
    host, _ = _itimer(which)
    value, interval = signal.getitimer(host)
    t.mem.write(out, _pack_itimer(value, interval))
    return 0


@syscall("setitimer", "int", "ptr", "ptr",
         status="partial: the host process's timers; ITIMER_VIRTUAL and ITIMER_PROF count "
                "the emulator's CPU time, not the guest's")
def sys_setitimer(t, which, new, old):
    host, sig = _itimer(which)
    if new:
        i_sec, i_usec, v_sec, v_usec = _ITIMERVAL.unpack(t.mem.read(new, 32))
        if min(i_sec, v_sec, i_usec, v_usec) < 0 or max(i_usec, v_usec) >= 1_000_000:
            return -errno.EINVAL
        # Linux clamps a time past KTIME_MAX (~292 years); so does Python's range
        value, interval = (min(sec + usec / 1e6, 9e9) for sec, usec in ((v_sec, v_usec), (i_sec, i_usec)))
    else:
        value = interval = 0.0                 # Linux's legacy: NULL disarms
    if value and not interval and value < 1e-6:
        value = 1e-6
    prev = signal.setitimer(host, value, interval)
    if value:
        t.sig.timers_armed.add(sig)            # its signals say SI_KERNEL
    else:
        t.sig.timers_armed.discard(sig)
    if old:
        t.mem.write(old, _pack_itimer(*prev))
    return 0
