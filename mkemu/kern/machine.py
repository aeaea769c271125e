"""A machine: the broker process and its tasks, seen from the process that starts it.

    status = run_program(MachineConfig(rootfs=...), "/bin/busybox", [b"busybox", b"echo", b"hi"])

The calling process is the supervisor: it forks the broker (which forks the
first task) and waits.  The broker and tasks die with their parent
(PR_SET_PDEATHSIG), and all guest memory and channels are anonymous (a memfd
and socket pairs), so nothing outlives the machine.

A signal sent to the supervisor alone (kill(1), `timeout --foreground`, a
service manager) goes on to the guest's first process, as it would reach the
native program: the supervisor passes it to the broker, which sends it to
that process's task, whose host handler makes it a guest signal.  A signal a
terminal sends (^C, ^\\, hangup) already reached the whole process group,
the tasks included, so it is not passed on a second time.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ..fs.procfs import PROC_NAMES
from ..mm.physmem import PhysMem
from .broker import Broker, die_with_parent, wait_status_to_exit_code
from .signals import FORWARDED
from .task import TaskConfig, task_main

GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def default_guest_env(host_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a guest starts with unless told otherwise (the one definition).

    Not the host's: its PATH and HOME name host directories.  TERM is the
    host's, because the guest writes to the host's terminal.
    """
    host_env = os.environ if host_env is None else host_env
    env = {"PATH": GUEST_PATH, "HOME": "/root"}
    if "TERM" in host_env:
        env["TERM"] = host_env["TERM"]
    return env


def env_entries(env: Mapping[str, str]) -> list[bytes]:
    """NAME=VALUE strings as the guest's envp holds them."""
    return [f"{k}={v}".encode(errors="surrogateescape") for k, v in env.items()]


@dataclass
class MachineConfig:
    rootfs: str
    strace: bool = False
    stats: bool = False
    dump_blocks: bool = False
    env: list[bytes] = field(default_factory=lambda: env_entries(default_guest_env()))
    host_program: str | None = None     # load PROGRAM from this host file
    inject_crash: str | None = None     # fault injection (see TaskConfig)
    binds: list[tuple[str, str]] = field(default_factory=list)   # (host dir, guest dir)
    cwd: str = "/"                      # the guest's first working directory
    program_name: str | None = None     # PROGRAM as the user typed it, for messages
    ignored_signals: tuple[int, ...] = ()   # ignored in the supervisor: the guest starts so too


# The supervisor tells the broker "send signal N to the guest" with a real-time
# signal of its own per N: the broker ignores N itself (a terminal's N reaches
# the tasks directly), so N cannot carry the request.
_CARRIER = {sig: signal.SIGRTMIN + i for i, sig in enumerate(FORWARDED)}
_CARRIED = {carrier: sig for sig, carrier in _CARRIER.items()}
SI_KERNEL = 0x80        # si_code of a signal the kernel sent: a terminal's ^C, ^\, hangup


def _broker_main(cfg: MachineConfig, path: str, argv: list[bytes], mask: set[int]) -> int:
    die_with_parent()
    for s in (*FORWARDED, signal.SIGTSTP):
        signal.signal(s, signal.SIG_IGN)      # the guest gets these; the broker reports
    phys_fd = PhysMem.create_fd()
    broker = Broker(phys_fd)
    broker.init_ends_machine = True        # as a PID namespace: its first process is its init
    listing = broker.table.listing = proc_listing_dir()
    tcfg = TaskConfig(rootfs=cfg.rootfs, strace=cfg.strace, stats=cfg.stats,
                      dump_blocks=cfg.dump_blocks, host_program=cfg.host_program,
                      inject_crash=cfg.inject_crash, binds=cfg.binds, cwd=cfg.cwd,
                      program_name=cfg.program_name or path, ignored_signals=cfg.ignored_signals,
                      proc_listing=listing)

    def to_first_process(carrier, frame):
        broker.signal_first(_CARRIED[carrier])

    for carrier in _CARRIER.values():
        signal.signal(carrier, to_first_process)

    def first_task(chan):
        for s in (*FORWARDED, signal.SIGTSTP):
            signal.signal(s, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        task_main(chan, PhysMem(phys_fd), tcfg, path, argv, cfg.env)

    broker.spawn(first_task)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)   # requests held since the fork arrive now
    try:
        status = broker.serve()
        if cfg.stats:
            handed, held = broker.frame_counts()
            os.write(2, f"mkemu: frames-handed-out {handed}\nmkemu: frames-held-at-exit {held}\n"
                     .encode())
        return wait_status_to_exit_code(status)
    finally:
        shutil.rmtree(listing, ignore_errors=True)


def _sweep_listing_dirs() -> None:
    """Remove the listing directories of brokers that died without cleaning up
    (killed with SIGKILL): each is named after its broker's host pid."""
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):
        parts = name.split("-")
        if len(parts) < 4 or parts[:2] != ["mkemu", "proc"] or not parts[2].isdigit():
            continue
        try:
            os.kill(int(parts[2]), 0)
            continue                        # its broker still runs
        except ProcessLookupError:
            shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)
        except OSError:
            continue


def proc_listing_dir() -> str:
    """A host directory whose entries are what listing the guest's /proc shows: the
    global files and, kept by the broker, one directory per guest pid."""
    _sweep_listing_dirs()
    where = tempfile.mkdtemp(prefix=f"mkemu-proc-{os.getpid()}-")
    os.chmod(where, 0o755)                  # everyone may list /proc
    for name in PROC_NAMES:
        open(os.path.join(where, name), "w").close()
    for name in ("sys", "self", "thread-self"):
        os.mkdir(os.path.join(where, name))
    return where


def run_program(cfg: MachineConfig, path: str, argv: list[bytes]) -> int:
    """Run one guest program to completion; return its exit code (128+N if killed by N)."""
    # A signal this process ignores (nohup, `cmd &` in a script) is ignored by
    # the guest from its start, as execve keeps SIG_IGN, and not passed on.
    ignored = tuple(s for s in FORWARDED if signal.getsignal(s) == signal.SIG_IGN)
    cfg = replace(cfg, ignored_signals=tuple({*cfg.ignored_signals, *ignored}))
    # Blocked from before the fork: no signal can fall between the supervisor
    # and a broker that is not listening yet.
    watched = {*FORWARDED, *_CARRIER.values(), signal.SIGCHLD}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    try:
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                code = _broker_main(cfg, path, argv, old_mask)
            except BaseException as e:          # never let a broker bug hang the caller
                os.write(2, f"mkemu: broker failed: {e!r}\n".encode())
                if os.environ.get("MKEMU_DEBUG"):
                    os.write(2, traceback.format_exc().encode(errors="replace"))
            finally:
                os._exit(code)
        status = _supervise(pid, watched, ignored)
        while signal.sigtimedwait(watched, 0):   # the guest is gone: nothing more to pass on
            pass
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _supervise(broker_pid: int, watched: set[int], ignored: tuple[int, ...]) -> int:
    """Wait for the broker, passing on the signals sent to this process; its wait status."""
    while True:
        info = signal.sigwaitinfo(watched)
        if info.si_signo == signal.SIGCHLD:
            pid, status = os.waitpid(broker_pid, os.WNOHANG)
            if pid:
                return status
        elif info.si_signo in _CARRIER and info.si_code != SI_KERNEL and info.si_signo not in ignored:
            os.kill(broker_pid, _CARRIER[info.si_signo])
