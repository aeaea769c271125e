"""A machine: the broker process and its tasks, seen from the process that starts it.

    status = run_program(MachineConfig(rootfs=...), "/bin/busybox", [b"busybox", b"echo", b"hi"])

The calling process is the supervisor: it forks the broker (which forks the
first task) and waits.  The broker and tasks die with their parent
(PR_SET_PDEATHSIG), and all guest memory and channels are anonymous (a memfd
and socket pairs), so nothing outlives the machine.
"""
from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field

from ..mm.physmem import PhysMem
from .broker import Broker, die_with_parent, wait_status_to_exit_code
from .task import TaskConfig, task_main

DEFAULT_ENV = [b"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               b"HOME=/root", b"LANG=C.UTF-8"]


@dataclass
class MachineConfig:
    rootfs: str
    strace: bool = False
    stats: bool = False
    dump_blocks: bool = False
    env: list[bytes] = field(default_factory=lambda: list(DEFAULT_ENV))
    host_program: str | None = None     # load PROGRAM from this host file
    inject_crash: str | None = None     # fault injection (see TaskConfig)
    binds: list[tuple[str, str]] = field(default_factory=list)   # (host dir, guest dir)


def _broker_main(cfg: MachineConfig, path: str, argv: list[bytes]) -> int:
    die_with_parent()
    for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP):
        signal.signal(s, signal.SIG_IGN)      # the guest gets these; the broker reports
    phys_fd = PhysMem.create_fd()
    broker = Broker(phys_fd)
    tcfg = TaskConfig(rootfs=cfg.rootfs, strace=cfg.strace, stats=cfg.stats,
                      dump_blocks=cfg.dump_blocks, host_program=cfg.host_program,
                      inject_crash=cfg.inject_crash, binds=cfg.binds)

    def first_task(chan):
        for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP):
            signal.signal(s, signal.SIG_DFL)
        task_main(chan, PhysMem(phys_fd), tcfg, path, argv, cfg.env)

    broker.spawn(first_task)
    os.close(phys_fd)
    return wait_status_to_exit_code(broker.serve())


def run_program(cfg: MachineConfig, path: str, argv: list[bytes]) -> int:
    """Run one guest program to completion; return its exit code (128+N if killed by N)."""
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            code = _broker_main(cfg, path, argv)
        except BaseException as e:          # never let a broker bug hang the caller
            os.write(2, f"mkemu: broker failed: {e!r}\n".encode())
        finally:
            os._exit(code)
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _, status = os.waitpid(pid, 0)
    finally:
        signal.signal(signal.SIGINT, old)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)
