"""A machine: the broker process and its tasks, seen from the process that starts it.

    status = run_program(MachineConfig(rootfs=...), "/bin/busybox", [b"busybox", b"echo", b"hi"])

The calling process is the supervisor: it forks the broker (which forks the
first task) and waits.  The broker and tasks die with their parent
(PR_SET_PDEATHSIG), and all guest memory and channels are anonymous (a memfd
and socket pairs), so nothing outlives the machine.

A signal sent to the supervisor alone (kill(1), `timeout --foreground`, a
service manager) goes on to the guest's first process, as it would reach the
native program: the supervisor passes it to the broker, which sends it to
that process's task, whose host handler makes it a guest signal.

The terminal: the task processes have no host controlling terminal (the
first calls setsid); the broker does, the user's or, with `pty` (mkemu
boot), a pty of its own (kern/hostpty.py).  The terminal's signals (^C, ^Z,
^\\, a resize, a hangup) reach the broker, which reads them from a signalfd
and sends them to the guest's foreground process group (kern/terminals.py).
When the first process stops (^Z in a guest without job control), the
supervisor stops too, so the host's shell sees its job stop; continued, it
continues the guest.
"""
from __future__ import annotations

import _thread
import fcntl
import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import termios
import time
from collections.abc import Mapping

from ..cachectl import start_collection_if_due
from ..cpu.codecache import translator_tag
from ..fs.procfs import PROC_NAMES
from ..hostdirs import make_dir, remove_tree, temp_root
from ..identity import default_root_as_user, guest_ids
from ..mm.physmem import PhysMem
from ..record import field, record, replace
from .broker import Broker, die_with_parent, wait_status_to_exit_code
from .hostpty import HostPty
from .ipcspace import IpcSpace, broker_alive, sweep as sweep_ipc
from .sigfd import open_signalfd
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


@record
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
    pty: bool = False                   # give the guest a pty of mkemu's own (mkemu boot)
    root_as_user: bool | None = None    # record ownership in the metadata store, the guest
    #                                     being root (None: the default for the host user)
    tmpfs: list[str] = field(default_factory=list)   # guest dirs that get a fresh empty dir


# The supervisor tells the broker "send signal N to the guest" with a real-time
# signal of its own per N (the broker takes N itself only from its terminal), and
# the broker tells the supervisor "the first process stopped with N" with another.
PASSED_ON = (*FORWARDED, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGCONT)
STOPS = (signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU)
_CARRIER = {sig: signal.SIGRTMIN + i for i, sig in enumerate(PASSED_ON)}
_CARRIED = {carrier: sig for sig, carrier in _CARRIER.items()}
_STOPPED = {signal.SIGRTMIN + len(PASSED_ON) + i: sig for i, sig in enumerate(STOPS)}
_STOPPED_CARRIER = {sig: carrier for carrier, sig in _STOPPED.items()}
# what a terminal sends its foreground group (si_code SI_KERNEL)
TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGWINCH,
                    signal.SIGHUP)
SI_KERNEL = 0x80        # si_code of a signal the kernel sent: a terminal's ^C, ^Z, hangup


def _host_terminal() -> tuple[int, str] | None:
    """(st_rdev, device path) of this process's controlling terminal, or None.

    (/dev/tty cannot say: fstat of it is /dev/tty's own node, 5:0.)"""
    with open("/proc/self/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    tty_nr = int(fields[4])              # field 7: the controlling terminal's device
    if not tty_nr:
        return None
    rdev = os.makedev((tty_nr >> 8) & 0xFFF, (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00))
    for std in (0, 1, 2):
        try:
            if os.isatty(std) and os.fstat(std).st_rdev == rdev:
                return rdev, os.ttyname(std)
        except OSError:
            continue
    major, minor = os.major(rdev), os.minor(rdev)
    if 136 <= major <= 143:             # Unix98 pty slaves
        return rdev, f"/dev/pts/{(major - 136) * 256 + minor}"
    return rdev, ""


def _take_pty(slave: int) -> None:
    """The broker makes mkemu's pty its controlling terminal and its stdio."""
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for std in (0, 1, 2):
        os.dup2(slave, std)
    os.close(slave)


def _broker_main(cfg: MachineConfig, path: str, argv: list[bytes], mask: set[int],
                 pty_slave: int | None) -> int:
    die_with_parent()
    if pty_slave is not None:
        _take_pty(pty_slave)
    taken = {*PASSED_ON, *_CARRIED, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, taken)
    sigfd = open_signalfd(taken)
    phys_fd = PhysMem.create_fd()
    broker = Broker(phys_fd)
    broker.init_ends_machine = True        # as a PID namespace: its first process is its init
    listing = broker.table.listing = proc_listing_dir()
    root_as_user = default_root_as_user(os.geteuid()) if cfg.root_as_user is None \
        else cfg.root_as_user
    uid, gid = guest_ids(root_as_user, os.getuid(), os.getgid())
    ipc = broker.ipc = IpcSpace.create()
    binds = list(cfg.binds)
    if not any(guest.rstrip("/") == "/dev/shm" for _, guest in binds):
        binds.insert(0, (ipc.shm_dir, "/dev/shm"))     # the machine's own /dev/shm
    scratch = [(scratch_dir("tmpfs", 0o1777), guest) for guest in cfg.tmpfs]
    terminal = _host_terminal()
    tcfg = TaskConfig(uid=uid, gid=gid, root_as_user=root_as_user,
                      rootfs=cfg.rootfs, strace=cfg.strace, stats=cfg.stats,
                      dump_blocks=cfg.dump_blocks, host_program=cfg.host_program,
                      inject_crash=cfg.inject_crash, binds=[*binds, *scratch], cwd=cfg.cwd,
                      tmpfs_dirs=(ipc.shm_dir, *(host for host, _ in scratch)),
                      program_name=cfg.program_name or path, ignored_signals=cfg.ignored_signals,
                      proc_listing=listing, console=terminal[1] if terminal else None)
    supervisor = os.getppid()

    def on_signals(records):
        for signo, code, _pid in records:
            if signo in _CARRIED:
                broker.signal_first(_CARRIED[signo])
            elif code == SI_KERNEL and signo in TERMINAL_SIGNALS:
                for p in broker.terms.foreground():
                    broker.send(p, signo)
                    if signo == signal.SIGHUP:
                        broker.send(p, signal.SIGCONT)

    def init_stopped(sig):
        if pty_slave is None:              # mkemu boot's user has no shell to resume it from
            os.kill(supervisor, _STOPPED_CARRIER[sig])

    broker.watch_signals(sigfd, on_signals)
    broker.on_init_stop = init_stopped

    def first_task(chan):
        os.close(sigfd)
        os.setsid()                       # no host terminal: the broker decides job control
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        task_main(chan, PhysMem(phys_fd), tcfg, path, argv, cfg.env)

    init = broker.spawn(first_task)
    if terminal is not None:
        broker.terms.attach_machine(*terminal, init)
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        broker.terms.host_background = lambda: os.tcgetpgrp(tty) != os.getpgrp()
    try:
        status = broker.serve()
        if cfg.stats:
            handed, held = broker.frame_counts()
            os.write(2, f"mkemu: frames-handed-out {handed}\nmkemu: frames-held-at-exit {held}\n"
                     f"mkemu: broker-cpu {time.process_time():.3f} s\n".encode())
        return wait_status_to_exit_code(status)
    finally:
        remove_tree(listing)
        ipc.close()
        for host, _ in scratch:
            remove_tree(host)


def _scratch_parent() -> str:
    """Where a machine's own host directories go: /dev/shm (tmpfs: memory, and it lists
    entries in the order they were made, so /proc lists pids ascending), else $TMPDIR."""
    return "/dev/shm" if os.access("/dev/shm", os.W_OK | os.X_OK) else temp_root()


def _sweep_listing_dirs() -> None:
    """Remove the directories (/proc listings, --tmpfs) of brokers that died without
    cleaning up (killed with SIGKILL): each is named after its broker's host pid."""
    for parent in {temp_root(), _scratch_parent()}:
        for name in os.listdir(parent):
            parts = name.split("-")
            if len(parts) < 4 or parts[0] != "mkemu" or parts[1] not in ("proc", "tmpfs") \
                    or not parts[2].isdigit():
                continue
            if not broker_alive(int(parts[2])):     # (a zombie broker is gone too)
                remove_tree(os.path.join(parent, name))


def scratch_dir(kind: str, mode: int) -> str:
    """A new host directory of this broker's (removed when it ends, swept if it was killed)."""
    return make_dir(_scratch_parent(), f"mkemu-{kind}-{os.getpid()}-", mode)


def proc_listing_dir() -> str:
    """A host directory whose entries are what listing the guest's /proc shows: the
    global files and, kept by the broker, one directory per guest pid."""
    _sweep_listing_dirs()
    where = scratch_dir("proc", 0o755)      # everyone may list /proc
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
    pty = HostPty() if cfg.pty and os.isatty(0) else None
    # Blocked from before the fork: no signal can fall between the supervisor
    # and a broker that is not listening yet.
    watched = {*PASSED_ON, *_CARRIER.values(), *_STOPPED, signal.SIGCHLD}
    translator_tag()        # hashed here once (~1 ms), not again in each task forked from here
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    try:
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                if pty is not None:
                    os.close(pty.master)
                code = _broker_main(cfg, path, argv, old_mask,
                                    pty.slave if pty is not None else None)
            except BaseException as e:          # never let a broker bug hang the caller
                os.write(2, f"mkemu: broker failed: {e!r}\n".encode())
                if os.environ.get("MKEMU_DEBUG"):
                    import traceback
                    os.write(2, traceback.format_exc().encode(errors="replace"))
            finally:
                os._exit(code)
        if pty is not None:
            pty.start()
        collector = start_collection_if_due()   # keep the code cache within its size limit
        try:
            status = _supervise(pid, watched, ignored, pty)
        finally:
            if pty is not None:
                pty.finish()
            sweep_ipc(pid)                   # what a killed broker could not remove
            if collector is not None:
                collector.join()
        while signal.sigtimedwait(watched, 0):   # the guest is gone: nothing more to pass on
            pass
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _supervise(broker_pid: int, watched: set[int], ignored: tuple[int, ...],
               pty: HostPty | None) -> int:
    """Wait for the broker, passing on the signals sent to this process; its wait status."""
    while True:
        info = signal.sigwaitinfo(watched)
        sig = info.si_signo
        if sig == signal.SIGCHLD:
            pid, status = os.waitpid(broker_pid, os.WNOHANG)
            if pid:
                return status
        elif sig in _STOPPED:
            _stop_like(_STOPPED[sig])
        elif sig == signal.SIGWINCH and pty is not None:
            pty.copy_size()                  # the pty tells the guest
        elif sig in _CARRIER and info.si_code != SI_KERNEL and sig not in ignored:
            # (a terminal's signals reached the broker, which holds the terminal too)
            os.kill(broker_pid, _CARRIER[sig])


def _stop_like(sig: int) -> None:
    """Stop this process as the guest's first process stopped: the host's shell sees
    the job stop with the same signal (SIGCONT resumes it, and is passed on)."""
    if sig == signal.SIGSTOP:
        os.kill(os.getpid(), signal.SIGSTOP)
        return
    old = signal.getsignal(sig)
    signal.signal(sig, signal.SIG_DFL)
    try:
        signal.pthread_kill(_thread.get_ident(), sig)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})   # stops here until continued
        signal.pthread_sigmask(signal.SIG_BLOCK, {sig})
    finally:
        signal.signal(sig, old)
