"""What read and write must know of a descriptor before the transfer, remembered.

Every read and write asks whether its descriptor is a terminal (job control:
kern/sys_tty.py) and whether the transfer could sleep (kern/sys_fs.py's
_wait_ready polls first, so a host signal can interrupt the sleep).  For the
descriptors most programs use -- regular files, /dev/null and friends, pipes
-- the answer cannot change while the descriptor number names the same open
file, so the task keeps it (Task.fd_kinds: fd -> kind) instead of asking the
host again with fstat, isatty and poll on every call.

What a descriptor number names changes only through a system call of this task
(close, dup2, open, execve, ...) or, with a descriptor table shared by CLONE_FILES,
of another one: dispatch forgets every kind after each call not in KEEPS_FDS,
and a task that shares its table never keeps any.  A terminal is never kept:
its checks depend on state (the foreground group, TOSTOP) that changes
without a call of this task.
"""
from __future__ import annotations

import os
import stat

NOT_TTY = 1         # no terminal: no job-control check
NEVER_WAITS = 2     # ... and a transfer never sleeps (no poll first)

# character devices whose reads and writes never sleep (major 1: mem, null, zero, full,
# random, urandom): (major, minor)
_NEVER_WAITING_DEVICES = frozenset(((1, 3), (1, 5), (1, 7), (1, 8), (1, 9)))

# calls that never change which open file a descriptor number names (every other call
# drops the kinds: one not listed here is safe, only slower)
KEEPS_FDS = frozenset((
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
    "preadv2", "pwritev2", "lseek", "fstat", "newfstatat", "statx", "fsync", "fdatasync",
    "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getpgid",
    "getsid", "getrusage", "getrandom", "uname", "getcwd", "faccessat", "faccessat2",
    "readlinkat", "clock_gettime", "clock_getres", "gettimeofday", "nanosleep",
    "clock_nanosleep", "futex", "sched_yield", "rt_sigprocmask", "rt_sigaction",
    "rt_sigreturn", "sigaltstack", "brk", "mmap", "munmap", "mprotect", "madvise",
    "wait4", "waitid", "kill", "tgkill", "tkill", "ppoll", "pselect6", "set_robust_list",
    "set_tid_address", "prlimit64",
))


def kind(t, fd: int) -> int:
    """fd's kind: 0 (a terminal, or unknown: check it), NOT_TTY or NEVER_WAITS.
    OSError (EBADF) for a descriptor that is not open."""
    k = t.fd_kinds.get(fd)
    if k is not None:
        return k
    st = os.fstat(fd)
    mode = st.st_mode
    if stat.S_ISREG(mode):
        k = NEVER_WAITS
    elif stat.S_ISCHR(mode):
        if os.isatty(fd):
            return 0
        k = NEVER_WAITS if (os.major(st.st_rdev), os.minor(st.st_rdev)) in _NEVER_WAITING_DEVICES \
            else NOT_TTY
    else:
        k = NOT_TTY
    if not t.shares_fds:
        t.fd_kinds[fd] = k
    return k
