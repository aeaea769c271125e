"""Calls about privilege and the whole system: what the guest may know, and a plain
refusal of what would act on the host.

A guest runs inside the host user's rights, as a process in a container does:
mounting, rebooting, loading modules, setting the clock, swapping, switching
namespaces and accounting act on the whole host, so they are EPERM whatever
the guest's uid (as in an unprivileged container), never ENOSYS.  What can
be answered honestly is: capabilities (a guest process with euid 0 holds the
full set, any other none, as Linux without file capabilities; capset may
drop them, and capget shows what was kept), memory locks (nothing is ever
paged out of the segment, so a lock is a no-op that still checks its range),
mincore from the VMA list, membarrier through the host's, the clock's
adjtimex state read-only, and an empty kernel log.
"""
from __future__ import annotations

import ctypes
import errno

from .systable import s32, syscall

M32 = 0xFFFF_FFFF
CAP_LAST_CAP = 40                               # CAP_CHECKPOINT_RESTORE (Linux 6.1)
ALL_CAPS = (1 << (CAP_LAST_CAP + 1)) - 1
CAP_V1, CAP_V2, CAP_V3 = 0x19980330, 0x20071026, 0x20080522
_libc = ctypes.CDLL(None, use_errno=True)


# ---- capabilities ----------------------------------------------------------------------------
def _caps(t) -> tuple[int, int, int]:
    """(effective, permitted, inheritable) of the calling process."""
    kept = getattr(t, "capabilities", None)
    if kept is not None and kept[0] == t.euid:
        return kept[1]
    full = ALL_CAPS if t.euid == 0 else 0
    return full, full, 0


def _cap_header(t, hdr: int) -> tuple[int, int] | int:
    """(number of 32-bit words, pid) of a cap header, or -errno (an unknown version
    is answered with the preferred one, as Linux does)."""
    version, pid = t.mem.read_u32(hdr), s32(t.mem.read_u32(hdr + 4))
    if version not in (CAP_V1, CAP_V2, CAP_V3):
        t.mem.write_u32(hdr, CAP_V3)
        return -errno.EINVAL
    if pid < 0:
        return -errno.EINVAL
    return (1 if version == CAP_V1 else 2), pid


@syscall("capget", "ptr", "ptr",
         status="partial: another process's sets read as the caller's would with no capset "
                "(the broker does not know its euid)")
def sys_capget(t, hdr, data):
    parsed = _cap_header(t, hdr)
    if not data:                    # a probe of the version (told back if unknown): never an error
        return 0
    if isinstance(parsed, int):
        return parsed
    words, pid = parsed
    if pid in (0, t.pid, t.tid):
        eff, perm, inh = _caps(t)
    elif t.proc_info(pid) is None:
        return -errno.ESRCH
    else:
        eff = perm = ALL_CAPS if t.euid == 0 else 0
        inh = 0
    out = bytearray()
    for w in range(words):
        for value in (eff, perm, inh):
            out += (value >> (32 * w) & M32).to_bytes(4, "little")
    t.mem.write(data, bytes(out))
    return 0


@syscall("capset", "ptr", "ptr",
         status="partial: the sets are kept for capget and reset by a change of euid; "
                "nothing is enforced by them (the host user's rights are)")
def sys_capset(t, hdr, data):
    parsed = _cap_header(t, hdr)
    if isinstance(parsed, int):
        return parsed
    words, pid = parsed
    if pid not in (0, t.pid, t.tid):
        return -errno.EPERM
    raw = t.mem.read(data, 12 * words)
    new = [0, 0, 0]
    for w in range(words):
        for i in range(3):
            new[i] |= int.from_bytes(raw[12 * w + 4 * i:12 * w + 4 * i + 4], "little") << (32 * w)
    eff, perm, inh = new
    _, old_perm, old_inh = _caps(t)
    if perm & ~old_perm or eff & ~perm or inh & ~(old_inh | old_perm):
        return -errno.EPERM
    t.capabilities = (t.euid, (eff, perm, inh))
    return 0


# ---- memory ----------------------------------------------------------------------------------
def _mapped(t, addr: int, length: int) -> bool:
    """Whether every page of [addr, addr+length) is mapped."""
    end = addr + length
    while addr < end:
        vma = t.space.find(addr)
        if vma is None:
            return False
        addr = vma.end
    return True


def _lock_range(t, addr: int, length: int) -> int:
    start = addr & ~0xFFF
    end = (addr + length + 0xFFF) & ~0xFFF
    if end < start or end > 1 << 64:
        return -errno.EINVAL
    return 0 if _mapped(t, start, end - start) else -errno.ENOMEM


_LOCKS = ("partial: nothing is paged out of mkemu's segment, so nothing needs locking; "
          "the range is checked")


@syscall("mlock", "hex", "size", status=_LOCKS)
def sys_mlock(t, addr, length):
    return _lock_range(t, addr, length)


@syscall("munlock", "hex", "size", status=_LOCKS)
def sys_munlock(t, addr, length):
    return _lock_range(t, addr, length)


@syscall("mlock2", "hex", "size", "flags",
         status=_LOCKS)
def sys_mlock2(t, addr, length, flags):
    if flags & ~1:                                 # MLOCK_ONFAULT
        return -errno.EINVAL
    return _lock_range(t, addr, length)


@syscall("mlockall", "flags", status="partial: nothing is paged out, so nothing is locked")
def sys_mlockall(t, flags):
    if not flags or flags & ~7 or flags == 4:      # MCL_ONFAULT needs CURRENT or FUTURE
        return -errno.EINVAL
    return 0


@syscall("munlockall", status="partial: nothing was locked")
def sys_munlockall(t):
    return 0


@syscall("mincore", "hex", "size", "ptr",
         status="partial: every mapped page reads as resident")
def sys_mincore(t, addr, length, vec):
    if addr & 0xFFF:
        return -errno.EINVAL
    pages = (length + 0xFFF) >> 12
    if addr + (pages << 12) > 1 << 64:
        return -errno.ENOMEM
    if not _mapped(t, addr, pages << 12):
        return -errno.ENOMEM
    if pages:
        t.mem.write(vec, b"\x01" * pages)
    return 0


MEMBARRIER_CMD_QUERY, MEMBARRIER_CMD_GLOBAL = 0, 1
_MEMBARRIER_NR = 324                             # the host's (x86_64) number
# GLOBAL, GLOBAL_EXPEDITED (+ register), PRIVATE_EXPEDITED (+ register),
# PRIVATE_EXPEDITED_SYNC_CORE (+ register): each is a full barrier on every CPU
# running a thread of the guest, which the host's GLOBAL barrier gives.
MEMBARRIER_COMMANDS = 1 | 2 | 4 | 8 | 16 | 32 | 64


@syscall("membarrier", "int", "flags", "int",
         status="partial: every barrier command is the host's MEMBARRIER_CMD_GLOBAL "
                "(registration always succeeds); no RSEQ commands")
def sys_membarrier(t, cmd, flags, cpu_id):
    cmd = s32(cmd)
    if cmd == MEMBARRIER_CMD_QUERY:
        return -errno.EINVAL if flags else MEMBARRIER_COMMANDS
    if flags or cmd < 0 or cmd & (cmd - 1) or not cmd & MEMBARRIER_COMMANDS:
        return -errno.EINVAL
    if cmd in (1, 2, 8, 32):                       # the barriers (not the registrations)
        _libc.syscall(_MEMBARRIER_NR, MEMBARRIER_CMD_GLOBAL, 0, 0)
    return 0


# ---- the clock and the kernel log ------------------------------------------------------------
TIMEX_SIZE = 208                                 # struct timex, the same on both


@syscall("adjtimex", "ptr", status="partial: reads the host clock's state; any change is EPERM")
def sys_adjtimex(t, buf):
    return _adjtimex(t, buf)


@syscall("clock_adjtime", "int", "ptr",
         status="partial: CLOCK_REALTIME's state read-only; any change is EPERM")
def sys_clock_adjtime(t, clock, buf):
    if s32(clock) != 0:
        return -errno.EOPNOTSUPP if 0 <= s32(clock) < 16 else -errno.EINVAL
    return _adjtimex(t, buf)


def _adjtimex(t, buf: int) -> int:
    raw = bytearray(t.mem.read(buf, TIMEX_SIZE))
    if int.from_bytes(raw[:4], "little"):          # modes: a change to the host's clock
        return -errno.EPERM
    host = ctypes.create_string_buffer(bytes(raw), TIMEX_SIZE)
    state = _libc.adjtimex(host)
    if state < 0:
        return -ctypes.get_errno()
    t.mem.write(buf, host.raw)
    return state


@syscall("clock_settime", "int", "ptr", status="partial: the host's clocks are never set: EPERM")
def sys_clock_settime(t, clock, ts):
    if not 0 <= s32(clock) < 16:
        return -errno.EINVAL
    t.mem.read(ts, 16)
    return -errno.EPERM if s32(clock) == 0 else -errno.EINVAL


@syscall("settimeofday", "ptr", "ptr", status="partial: the host's clock is never set: EPERM")
def sys_settimeofday(t, tv, tz):
    return -errno.EPERM


SYSLOG_ACTION_READ_ALL, SYSLOG_ACTION_SIZE_UNREAD, SYSLOG_ACTION_SIZE_BUFFER = 3, 9, 10


@syscall("syslog", "int", "ptr", "int",
         status="partial: the machine has no kernel log: every read is empty")
def sys_syslog(t, action, buf, length):
    action, length = s32(action), s32(length)
    if not 0 <= action <= 10:
        return -errno.EINVAL
    if action in (2, 3, 4) and (length < 0 or (length and not buf)):
        return -errno.EINVAL
    if action == SYSLOG_ACTION_SIZE_BUFFER:
        return 1 << 17
    return 0


# ---- acting on the whole host: refused ---------------------------------------------------------
def _refuse(name: str, *kinds: str) -> None:
    @syscall(name, *kinds, status="partial: acts on the whole host: EPERM, as in an "
                                  "unprivileged container")
    def refuse(t, *args):
        return -errno.EPERM


for _name, _kinds in (
        ("mount", ("str", "str", "str", "hex", "ptr")), ("umount2", ("str", "flags")),
        ("pivot_root", ("str", "str")), ("swapon", ("str", "flags")), ("swapoff", ("str",)),
        ("reboot", ("hex", "hex", "int", "ptr")), ("acct", ("str",)), ("vhangup", ()),
        ("quotactl", ("int", "str", "int", "ptr")), ("unshare", ("hex",)),
        ("setns", ("fd", "int")), ("init_module", ("ptr", "size", "str")),
        ("finit_module", ("fd", "str", "flags")), ("delete_module", ("str", "flags")),
        ("kexec_load", ("hex", "size", "ptr", "hex")),
        ("kexec_file_load", ("fd", "fd", "size", "str", "hex"))):
    _refuse(_name, *_kinds)


@syscall("setfsuid", "uint", status="partial: the file-system uid follows the effective uid; "
                                     "a change is not kept")
def sys_setfsuid(t, uid):
    return t.euid


@syscall("setfsgid", "uint", status="partial: the file-system gid follows the effective gid; "
                                     "a change is not kept")
def sys_setfsgid(t, gid):
    return t.egid
