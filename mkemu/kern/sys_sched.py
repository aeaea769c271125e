"""Scheduling calls: the host's scheduler runs every guest thread (one host process
each), so these ask or tell the host about the calling task's process.

A pid argument names a guest thread; 0 or the caller's own tid is the caller.
Another thread's host process is not known here, so for it the answer is the
caller's (threads of one group share policy and affinity in practice).  Only
SCHED_OTHER (and SCHED_BATCH/IDLE, which need no privilege) can be set.
"""
from __future__ import annotations

import ctypes
import errno
import os
import struct

from .systable import s32, syscall

SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE = 0, 1, 2, 3, 5
_libc = ctypes.CDLL(None, use_errno=True)


def _known(t, pid: int) -> bool:
    pid = s32(pid)
    if pid < 0:
        raise OSError(errno.EINVAL, "negative pid")
    return pid in (0, t.tid, t.pid) or t.proc_info(pid) is not None


@syscall("sched_yield")
def sys_sched_yield(t):
    os.sched_yield()             # a spinning guest thread lets its siblings' processes run
    return 0


@syscall("sched_getaffinity", "int", "size", "ptr",
         status="partial: another thread's mask is the caller's; at most 1024 CPUs")
def sys_sched_getaffinity(t, pid, size, mask):
    if not _known(t, pid):
        return -errno.ESRCH
    cpus = os.sched_getaffinity(0)
    nbytes = max(8, -(-(max(cpus) + 1) // 64) * 8)
    if size < nbytes or size & 7:
        return -errno.EINVAL
    t.mem.write(mask, sum(1 << c for c in cpus).to_bytes(nbytes, "little"))
    return nbytes


@syscall("sched_setaffinity", "int", "size", "ptr",
         status="partial: sets the caller's host process's mask (another thread: the caller's)")
def sys_sched_setaffinity(t, pid, size, mask):
    if not _known(t, pid):
        return -errno.ESRCH
    bits = int.from_bytes(t.mem.read(mask, min(size, 128)), "little")
    cpus = {c for c in range(bits.bit_length()) if bits >> c & 1}
    usable = cpus & os.sched_getaffinity(0) if cpus else set()
    if not usable:
        return -errno.EINVAL
    os.sched_setaffinity(0, usable)
    return 0


@syscall("getcpu", "ptr", "ptr", "ptr")
def sys_getcpu(t, cpu, node, cache):
    n = _libc.sched_getcpu()
    if cpu:
        t.mem.write_u32(cpu, max(n, 0))
    if node:
        t.mem.write_u32(node, 0)
    return 0


@syscall("sched_getscheduler", "int")
def sys_sched_getscheduler(t, pid):
    if not _known(t, pid):
        return -errno.ESRCH
    return os.sched_getscheduler(0)


@syscall("sched_setscheduler", "int", "int", "ptr",
         status="partial: SCHED_OTHER, SCHED_BATCH and SCHED_IDLE; real-time ones are EPERM")
def sys_sched_setscheduler(t, pid, policy, param):
    if not _known(t, pid):
        return -errno.ESRCH
    policy = s32(policy)
    prio = struct.unpack("<i", t.mem.read(param, 4))[0]
    if policy in (SCHED_FIFO, SCHED_RR):
        return -errno.EINVAL if not 1 <= prio <= 99 else -errno.EPERM
    if policy not in (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE) or prio != 0:
        return -errno.EINVAL
    os.sched_setscheduler(0, policy, os.sched_param(0))
    return 0


@syscall("sched_getparam", "int", "ptr")
def sys_sched_getparam(t, pid, param):
    if not _known(t, pid):
        return -errno.ESRCH
    t.mem.write(param, struct.pack("<i", 0))
    return 0


@syscall("sched_setparam", "int", "ptr", status="partial: priority 0 only (SCHED_OTHER)")
def sys_sched_setparam(t, pid, param):
    if not _known(t, pid):
        return -errno.ESRCH
    prio = struct.unpack("<i", t.mem.read(param, 4))[0]
    return 0 if prio == 0 else -errno.EINVAL


def _priority_bound(policy: int, realtime: int) -> int:
    """A policy's priority bound: `realtime` for FIFO and RR, 0 for the others."""
    policy = s32(policy)
    if policy in (SCHED_FIFO, SCHED_RR):
        return realtime
    return 0 if policy in (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE) else -errno.EINVAL


@syscall("sched_get_priority_max", "int")
def sys_sched_get_priority_max(t, policy):
    return _priority_bound(policy, 99)


@syscall("sched_get_priority_min", "int")
def sys_sched_get_priority_min(t, policy):
    return _priority_bound(policy, 1)


@syscall("sched_rr_get_interval", "int", "ptr")
def sys_sched_rr_get_interval(t, pid, ts):
    if not _known(t, pid):
        return -errno.ESRCH
    secs = os.sched_rr_get_interval(0)
    t.mem.write(ts, struct.pack("<qq", int(secs), round(secs % 1 * 1e9)))
    return 0
