"""Syscalls of process identity, limits and exit (the task's own state, or the broker's)."""
from __future__ import annotations

import errno
import os
import resource
import struct
import time

from ..identity import MAX_NAME
from ..ipc import protocol as P
from . import brokercall, futex, groupcpu, nice
from .errors import TaskExit
from .systable import s32, syscall

M64 = 0xFFFF_FFFF_FFFF_FFFF



@syscall("exit", "int")
def sys_exit(t, code):
    raise TaskExit(code & 0xFF, thread=True)     # the group ends with its last thread


@syscall("exit_group", "int")
def sys_exit_group(t, code):
    raise TaskExit(code & 0xFF)


@syscall("getpid")
def sys_getpid(t):
    return t.pid


@syscall("gettid")
def sys_gettid(t):
    return t.tid


@syscall("set_tid_address", "ptr")
def sys_set_tid_address(t, addr):
    t.clear_child_tid = addr
    return t.tid


@syscall("futex", "ptr", "hex", "uint", "ptr", "ptr", "hex",
         status="partial: no PI futexes (LOCK_PI, UNLOCK_PI, TRYLOCK_PI, *_REQUEUE_PI, "
                "LOCK_PI2: ENOSYS); robust lists are recorded, not walked at exit; a "
                "CLOCK_REALTIME deadline is not moved by clock changes")
def sys_futex(t, uaddr, op, val, timeout, uaddr2, val3):
    return futex.futex(t, uaddr, op, val, timeout, uaddr2, val3)


@syscall("set_robust_list", "ptr", "size")
def sys_set_robust_list(t, head, size):
    if size != 24:
        return -errno.EINVAL
    t.robust_list = (head, size)
    return 0


@syscall("get_robust_list", "int", "ptr", "ptr",
         status="partial: the pid is ignored (always the caller's own list)")
def sys_get_robust_list(t, pid, head_ptr, len_ptr):
    t.mem.write_u64(head_ptr, t.robust_list[0])
    t.mem.write_u64(len_ptr, 24)
    return 0


@syscall("rseq", "ptr", "size", "flags", "hex", status="stub: always ENOSYS (callers fall back)")
def sys_rseq(t, rseq, size, flags, sig):
    # Restartable sequences are optional: glibc and others fall back when absent.
    return -errno.ENOSYS


# ---- credentials (the guest's own view; no host privilege changes) ----------------
@syscall("getuid")
def sys_getuid(t):
    return t.uid


@syscall("geteuid")
def sys_geteuid(t):
    return t.euid


@syscall("getgid")
def sys_getgid(t):
    return t.gid


@syscall("getegid")
def sys_getegid(t):
    return t.egid


@syscall("getresuid", "ptr", "ptr", "ptr")
def sys_getresuid(t, r, e, s):
    for addr, v in ((r, t.uid), (e, t.euid), (s, t.suid)):
        t.mem.write_u32(addr, v)
    return 0


@syscall("getresgid", "ptr", "ptr", "ptr")
def sys_getresgid(t, r, e, s):
    for addr, v in ((r, t.gid), (e, t.egid), (s, t.sgid)):
        t.mem.write_u32(addr, v)
    return 0


def _set_ids(t, prefix: str, real: int, eff: int, saved: int) -> int:
    cur = [getattr(t, prefix), getattr(t, "e" + prefix), getattr(t, "s" + prefix)]
    privileged = t.euid == 0
    for v in (real, eff, saved):
        if v != 0xFFFF_FFFF and not privileged and v not in cur:
            return -errno.EPERM
    for name, v in ((prefix, real), ("e" + prefix, eff), ("s" + prefix, saved)):
        if v != 0xFFFF_FFFF:
            setattr(t, name, v)
    return 0


@syscall("setuid", "uint")
def sys_setuid(t, uid):
    uid &= 0xFFFF_FFFF
    return _set_ids(t, "uid", uid, uid, uid) if t.euid == 0 else _set_ids(t, "uid", -1 & 0xFFFF_FFFF, uid, -1 & 0xFFFF_FFFF)


@syscall("setgid", "uint")
def sys_setgid(t, gid):
    gid &= 0xFFFF_FFFF
    return _set_ids(t, "gid", gid, gid, gid) if t.euid == 0 else _set_ids(t, "gid", 0xFFFF_FFFF, gid, 0xFFFF_FFFF)


@syscall("setresuid", "uint", "uint", "uint")
def sys_setresuid(t, r, e, s):
    return _set_ids(t, "uid", r & 0xFFFF_FFFF, e & 0xFFFF_FFFF, s & 0xFFFF_FFFF)


@syscall("setresgid", "uint", "uint", "uint")
def sys_setresgid(t, r, e, s):
    return _set_ids(t, "gid", r & 0xFFFF_FFFF, e & 0xFFFF_FFFF, s & 0xFFFF_FFFF)


@syscall("setreuid", "uint", "uint", status="partial: the saved uid is not updated as Linux does")
def sys_setreuid(t, r, e):
    return _set_ids(t, "uid", r & 0xFFFF_FFFF, e & 0xFFFF_FFFF, 0xFFFF_FFFF)


@syscall("setregid", "uint", "uint", status="partial: the saved gid is not updated as Linux does")
def sys_setregid(t, r, e):
    return _set_ids(t, "gid", r & 0xFFFF_FFFF, e & 0xFFFF_FFFF, 0xFFFF_FFFF)


@syscall("getgroups", "int", "ptr")
def sys_getgroups(t, size, lst):
    groups = getattr(t, "groups", [t.gid])
    if size == 0:
        return len(groups)
    if size < len(groups):
        return -errno.EINVAL
    t.mem.write(lst, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


@syscall("setgroups", "int", "ptr")
def sys_setgroups(t, size, lst):
    if t.euid != 0:
        return -errno.EPERM
    t.groups = list(struct.unpack(f"<{size}I", t.mem.read(lst, 4 * size))) if size else []
    return 0


# ---- system information ----------------------------------------------------------
@syscall("uname", "ptr")
def sys_uname(t, buf):
    t.mem.write(buf, t.identity.utsname())
    return 0


def _set_uts_name(t, attr: str, name: int, length: int) -> int:
    if t.euid != 0:                        # CAP_SYS_ADMIN
        return -errno.EPERM
    length = ((length & 0xFFFF_FFFF) ^ 0x8000_0000) - 0x8000_0000     # an int
    if not 0 <= length <= MAX_NAME:
        return -errno.EINVAL
    setattr(t.identity, attr, t.mem.read(name, length))
    return 0


@syscall("sethostname", "buf", "size")
def sys_sethostname(t, name, length):
    return _set_uts_name(t, "nodename", name, length)


@syscall("setdomainname", "buf", "size")
def sys_setdomainname(t, name, length):
    return _set_uts_name(t, "domainname", name, length)


@syscall("sysinfo", "ptr", status="partial: procs is always 1; shared, buffer and swap memory are 0")
def sys_sysinfo(t, buf):
    uptime = int(time.clock_gettime(time.CLOCK_BOOTTIME))
    loads = [int(x * 65536) for x in os.getloadavg()]
    pages = os.sysconf("SC_PHYS_PAGES")
    avail = os.sysconf("SC_AVPHYS_PAGES")
    page = os.sysconf("SC_PAGE_SIZE")
    data = struct.pack("<q3Q6QHH4xQQI4x", uptime, *loads, pages * page, avail * page, 0, 0, 0, 0,
                       1, 0, 0, 0, 1)
    t.mem.write(buf, data)
    return 0


@syscall("getrandom", "obuf", "size", "flags")
def sys_getrandom(t, buf, count, flags):
    count = min(count, 1 << 25)
    t.mem.write(buf, os.urandom(count))
    return count


# ---- resource limits -----------------------------------------------------------
RLIM_INFINITY = M64
_DEFAULT_LIMITS = {
    3: (8 << 20, RLIM_INFINITY),      # RLIMIT_STACK
    7: (1024, 1024),                  # RLIMIT_NOFILE: the guest's range, below mkemu's own fds
}


def _get_limit(t, res: int) -> tuple[int, int]:
    limits = t.__dict__.setdefault("rlimits", {})
    if res in limits:
        return limits[res]
    if res in _DEFAULT_LIMITS:
        return _DEFAULT_LIMITS[res]
    try:
        soft, hard = resource.getrlimit(res)
    except (ValueError, OSError):
        raise OSError(errno.EINVAL, "bad resource") from None
    conv = lambda v: RLIM_INFINITY if v == resource.RLIM_INFINITY else v
    return conv(soft), conv(hard)


@syscall("prlimit64", "int", "int", "ptr", "ptr",
         status="partial: limits are recorded, not enforced; other processes are ESRCH")
def sys_prlimit64(t, pid, res, new, old):
    if pid not in (0, t.pid):
        return -errno.ESRCH
    if res >= 16:
        return -errno.EINVAL
    cur = _get_limit(t, res)
    if old:
        t.mem.write(old, struct.pack("<QQ", *cur))
    if new:
        soft, hard = struct.unpack("<QQ", t.mem.read(new, 16))
        if soft > hard:
            return -errno.EINVAL
        t.rlimits[res] = (soft, hard)
    return 0


@syscall("getrlimit", "int", "ptr")
def sys_getrlimit(t, res, old):
    return sys_prlimit64(t, 0, res, 0, old)


@syscall("setrlimit", "int", "ptr", status="partial: limits are recorded, not enforced")
def sys_setrlimit(t, res, new):
    return sys_prlimit64(t, 0, res, new, 0)


# ---- scheduling and odds ----------------------------------------------------------
@syscall("getpriority", "int", "int",
         status="partial: the host processes' nice values (kern/nice.py); PRIO_USER "
                "reaches the caller's own process only")
def sys_getpriority(t, which, who):
    return 20 - nice.lowest(t, s32(which), s32(who))    # the kernel returns 20 - nice


@syscall("setpriority", "int", "int", "int",
         status="partial: the host processes' nice values (kern/nice.py); PRIO_USER "
                "reaches the caller's own process only; a guest that is not root changes "
                "only its own threads")
def sys_setpriority(t, which, who, prio):
    nice.assign(t, s32(which), s32(who), s32(prio))
    return 0


@syscall("prctl", "int", "hex", "hex", "hex", "hex",
         status="partial: PR_SET_NAME, PR_GET_NAME, PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, "
                "PR_SET_DUMPABLE and PR_GET_DUMPABLE only; every other option is EINVAL")
def sys_prctl(t, option, a2, a3, a4, a5):
    if option == 1:         # PR_SET_PDEATHSIG: the broker sends it when the parent ends
        if not 0 <= a2 <= 64:
            return -errno.EINVAL
        t.pdeathsig = a2
        brokercall.send(t, P.ProcUpdate(None, None, None, False, a2))
        return 0
    if option == 2:         # PR_GET_PDEATHSIG
        t.mem.write_u32(a2, t.pdeathsig)
        return 0
    if option == 15:        # PR_SET_NAME: up to 15 bytes, a NUL not needed (the 16th is one)
        name = bytearray()
        while len(name) < 15:               # strncpy_from_user: fault only on bytes it reads
            c = t.mem.read(a2 + len(name), 1)[0]
            if not c:
                break
            name.append(c)
        t.comm = bytes(name)
        brokercall.send(t, P.ProcUpdate(t.comm.decode(errors="replace"), None, None, False, None))
        return 0
    if option == 16:        # PR_GET_NAME: the name NUL-padded to 16 bytes
        t.mem.write(a2, t.comm[:15].ljust(16, b"\0"))
        return 0
    if option == 4:         # PR_SET_DUMPABLE: 0 or 1 (SUID_DUMP_USER)
        if a2 not in (0, 1):
            return -errno.EINVAL
        t.dumpable = a2
        return 0
    if option == 3:         # PR_GET_DUMPABLE: the value (execve makes it 1 again)
        return t.dumpable
    return -errno.EINVAL


@syscall("personality", "hex", status="stub: always PER_LINUX; changes are ignored")
def sys_personality(t, persona):
    return 0


RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1


@syscall("getrusage", "int", "ptr",
         status="partial: the times are the host processes' (translation included); "
                "ru_maxrss is the guest's peak pages present (CHILDREN: the largest "
                "waited-for descendant's); the other counts are the calling thread's host "
                "process's (none for CHILDREN)")
def sys_getrusage(t, who, buf):
    who = s32(who)
    if who == RUSAGE_CHILDREN:
        t.mem.write(buf, groupcpu.children_rusage(t))
        return 0
    if who not in (RUSAGE_SELF, RUSAGE_THREAD):
        return -errno.EINVAL
    ru = resource.getrusage(resource.RUSAGE_SELF)
    user, system = ru.ru_utime, ru.ru_stime
    if who == RUSAGE_SELF:
        # every thread's (the broker's sum, in clock ticks), but never less than this one's
        group_user, group_system = groupcpu.cpu_seconds(t)
        user, system = max(user, group_user), max(system, group_system)
    # ru_maxrss: the guest's, not the host process's
    t.mem.write(buf, groupcpu.rusage(user, system, t.peak_rss_kb(),
                                     (0, 0, 0, ru.ru_minflt, ru.ru_majflt, 0, 0, 0, 0, 0, 0,
                                      ru.ru_nvcsw, ru.ru_nivcsw)))
    return 0
