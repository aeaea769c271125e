"""Which kern module registers each syscall's handler, so that a task imports a
handler module at the first call it serves, not at start-up.

A static hello makes 13 calls, all in sys_fs, sys_proc and sys_mm (imported with
syscalls.py, as nearly every program makes those); the other 16 modules (sockets,
epoll, SysV IPC, clone, execve, ...) were ~5 ms of every `mkemu run`'s start-up.
A process's children inherit what it imported (fork), so a module is imported at
most once per process tree branch.

`python -m mkemu.kern.sysmodules` prints the table below from the registrations;
tests/unit/test_sysmodules.py checks it is current.
"""
from __future__ import annotations

import os

# module (in mkemu.kern) -> the names of the syscalls it registers
HANDLER_MODULES = {
    "fork": """clone clone3""",
    "sys_event": """epoll_create1 epoll_ctl epoll_pwait epoll_pwait2 eventfd2 pidfd_open
        pidfd_send_signal signalfd4 timerfd_create timerfd_gettime timerfd_settime""",
    "sys_exec": """execve execveat""",
    "sys_fs": """chdir chroot close close_range copy_file_range dup dup3 faccessat faccessat2
        fadvise64 fallocate fchdir fchmod fchmodat fchmodat2 fchown fchownat fcntl fdatasync
        flock fstat fstatfs fsync ftruncate getcwd getdents64 ioctl linkat lseek
        memfd_create mkdirat mknodat newfstatat openat openat2 pipe2 pread64 preadv preadv2
        pwrite64 pwritev pwritev2 read readahead readlinkat readv renameat renameat2
        sendfile splice statfs statx symlinkat sync syncfs tee truncate umask unlinkat
        utimensat vmsplice write writev""",
    "sys_inotify": """inotify_add_watch inotify_init1 inotify_rm_watch""",
    "sys_mm": """brk madvise mmap mprotect mremap msync munmap""",
    "sys_mqueue": """mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend mq_unlink""",
    "sys_poll": """ppoll pselect6""",
    "sys_privileged": """acct adjtimex capget capset clock_adjtime clock_settime delete_module finit_module
        init_module kexec_file_load kexec_load membarrier mincore mlock mlock2 mlockall
        mount munlock munlockall pivot_root quotactl reboot setfsgid setfsuid setns
        settimeofday swapoff swapon syslog umount2 unshare vhangup""",
    "sys_proc": """exit exit_group futex get_robust_list getegid geteuid getgid getgroups getpid
        getpriority getrandom getresgid getresuid getrlimit getrusage gettid getuid
        personality prctl prlimit64 rseq set_robust_list set_tid_address setdomainname
        setgid setgroups sethostname setpriority setregid setresgid setresuid setreuid
        setrlimit setuid sysinfo uname""",
    "sys_proctree": """getpgid getppid getsid setpgid setsid wait4 waitid""",
    "sys_procvm": """process_vm_readv process_vm_writev""",
    "sys_sched": """getcpu sched_get_priority_max sched_get_priority_min sched_getaffinity
        sched_getparam sched_getscheduler sched_rr_get_interval sched_setaffinity
        sched_setparam sched_setscheduler sched_yield""",
    "sys_signal": """kill rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn
        rt_sigsuspend rt_sigtimedwait rt_tgsigqueueinfo sigaltstack tgkill tkill""",
    "sys_socket": """accept accept4 bind connect getpeername getsockname getsockopt listen recvfrom
        recvmmsg recvmsg sendmmsg sendmsg sendto setsockopt shutdown socket socketpair""",
    "sys_sysvipc": """msgctl msgget msgrcv msgsnd semctl semget semop semtimedop shmat shmctl shmdt shmget""",
    "sys_time": """clock_getres clock_gettime clock_nanosleep getitimer gettimeofday nanosleep
        setitimer times""",
    "sys_timer": """timer_create timer_delete timer_getoverrun timer_gettime timer_settime""",
    "sys_xattr": """fgetxattr flistxattr fremovexattr fsetxattr getxattr lgetxattr listxattr llistxattr
        lremovexattr lsetxattr removexattr setxattr""",
}

# what a module's first use imports with it: a process that clones usually execs and
# waits, and its children would each import sys_exec at their execve
COMPANIONS = {"fork": ("sys_exec", "sys_proctree")}

_BY_NAME: dict[str, str] = {}


def module_of(name: str) -> str | None:
    """The module (in mkemu.kern) registering syscall `name`, or None: mkemu has no handler."""
    if not _BY_NAME:
        for module, names in HANDLER_MODULES.items():
            for n in names.split():
                _BY_NAME[n] = module
    return _BY_NAME.get(name)


def table_source() -> str:
    """HANDLER_MODULES as this file writes it, from every module's registrations."""
    import importlib
    import textwrap
    here = os.path.dirname(__file__)
    for file in sorted(os.listdir(here)):          # every module registering a handler
        if file.endswith(".py"):
            with open(os.path.join(here, file)) as f:
                if "@syscall(" in f.read():
                    importlib.import_module(f"mkemu.kern.{file[:-3]}")
    SYSCALLS = importlib.import_module("mkemu.kern.systable").SYSCALLS   # (it imports this)
    names: dict[str, list[str]] = {}
    for row in SYSCALLS.values():
        names.setdefault(row.handler.__module__.rpartition(".")[2], []).append(row.name)
    lines = []
    for module in sorted(names):
        wrapped = ("\n" + " " * 8).join(textwrap.wrap(" ".join(sorted(names[module])), 84))
        lines.append(f'    "{module}": """{wrapped}""",')
    return "HANDLER_MODULES = {\n" + "\n".join(lines) + "\n}\n"


if __name__ == "__main__":
    print(table_source(), end="")
