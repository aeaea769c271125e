"""The host's System V IPC and POSIX message queue calls, and their constants.

The raw x86_64 system calls through libc's syscall(), so every guest call
gets exactly the host kernel's answer (-errno, never an exception): the
sysv_ipc and posix_ipc objects cannot say semaphore sets, MSG_NOERROR or
a chosen errno.  Those libraries remove a machine's objects at its end
(kern/ipcspace.py).  The constants are the same on aarch64 and x86_64
(asm-generic and x86 share include/uapi/linux/ipc.h, sem.h, msg.h, shm.h).
"""
from __future__ import annotations

import ctypes

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

_NR = {"shmget": 29, "shmat": 30, "shmctl": 31, "semget": 64, "semop": 65, "semctl": 66,
       "shmdt": 67, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "semtimedop": 220,
       "mq_open": 240, "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243,
       "mq_notify": 244, "mq_getsetattr": 245}            # x86_64

IPC_PRIVATE = 0
IPC_CREAT, IPC_EXCL, IPC_NOWAIT = 0o1000, 0o2000, 0o4000
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0, 1, 2, 3
IPC_64 = 0x100
GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 12, 13, 14, 15, 16, 17
SEM_STAT, SEM_INFO, SEM_STAT_ANY = 18, 19, 20
SEM_UNDO = 0x1000
SEMMSL = 32000                   # Linux's default most semaphores per set
MSG_STAT, MSG_INFO, MSG_STAT_ANY = 11, 12, 13
MSG_NOERROR, MSG_EXCEPT, MSG_COPY = 0o10000, 0o20000, 0o40000
SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC = 0o10000, 0o20000, 0o40000, 0o100000
SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO, SHM_STAT_ANY = 11, 12, 13, 14, 15
SHM_DEST = 0o1000                # in shm_perm.mode: removed, alive until the last detach

KINDS = ("sem", "msg", "shm")


def _arg(a):
    if isinstance(a, int):
        return ctypes.c_long(a)
    return a                     # a ctypes buffer, or None (NULL)


def call(name: str, *args) -> int:
    """The host call's result, or -errno."""
    r = _libc.syscall(ctypes.c_long(_NR[name]), *map(_arg, args))
    return r if r != -1 else -ctypes.get_errno()


def remove(kind: str, ident: int) -> int:
    """IPC_RMID of a host object: 0 or -errno."""
    ctl = {"sem": ("semctl", ident, 0, IPC_RMID, 0), "msg": ("msgctl", ident, IPC_RMID, None),
           "shm": ("shmctl", ident, IPC_RMID, None)}[kind]
    return call(*ctl)
