"""A task: one host process running one guest thread.

The task owns its CPU state, its engine (translated blocks), its software
TLB and -- in this foundation, one thread per process -- its address space.
It runs guest code until a trap, handles syscalls that touch only its own
state itself, and asks the broker (over its Channel) for shared state:
pids, page-frame grants, exit status.

Guest file descriptors are host descriptors of this process.  Every
descriptor mkemu itself needs (the broker channel, guest memory, the log,
file mappings) is moved up to RESERVED_FD_BASE and listed in reserved_fds, so
the guest can neither see nor close them.
"""
from __future__ import annotations

import fcntl
import gc
import os
import resource
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import stat
import sys
import time

from ..ipc import hostsock
from ..cpu.codecache import CodeCache, default_dir
from ..cpu.engine import Engine
from ..cpu.features import HWCAP, HWCAP2
from ..cpu.lineprof import LineProfile
from ..cpu.state import (TRAP_BRK, TRAP_FAULT, TRAP_FETCH, TRAP_SIGNAL, TRAP_SVC, TRAP_SVC_DEFERRED,
                         TRAP_SVC_DONE, TRAP_UNDEF, CpuState)
from ..fs import namei
from ..fs.context import FsContext
from ..fs.rootfs import RootFS
from ..identity import Identity, hostname_from_file
from ..ipc import protocol as P
from ..ipc.channel import Channel
from ..mm.access import GuestAccess
from ..mm.filebacking import new_epoch
from ..mm.holdings import Holdings
from ..mm.physmem import FramePool, PhysMem
from ..mm.space import AddressSpace
from ..mm.tlb import SoftTLB
from ..mm.fault import MemFault
from ..record import field, record
from . import (brokercall, crash, futex, introspect, robust, sigframe, signals, sys_fs, sys_proc,
               sys_timer, sys_tty, syscalls)
from .errors import TaskExit
from .loader import ExecError, build_stack, load_program
from .reserved import RESERVED_FD_BASE
from .runs import runs
from .sysnums import SYSCALL_NUMBERS

# the calls the run loop runs itself, not the engine's on_svc (Task._syscall_in_engine)
_SVC_IN_RUN_LOOP = frozenset(SYSCALL_NUMBERS[name] for name in (
    "clone", "clone3", "execve", "execveat", "exit", "exit_group", "rt_sigreturn"))


@record
class TaskConfig:
    rootfs: str
    strace: bool = False
    stats: bool = False
    dump_blocks: bool = False
    uid: int = 0
    gid: int = 0
    host_program: str | None = None   # the first program comes from this host file
    inject_crash: str | None = None   # fault injection: raise in mkemu at this syscall
    binds: list[tuple[str, str]] = field(default_factory=list)   # (host dir, guest dir) mounts
    tmpfs_dirs: tuple[str, ...] = ()  # the host dirs of binds that are the machine's own tmpfs
    cwd: str = "/"                    # the first working directory (a guest path)
    program_name: str = ""            # the program as the user named it, for exec failures
    ignored_signals: tuple[int, ...] = ()   # ignored when mkemu started: the guest inherits that
    proc_listing: str | None = None   # the broker's host directory listing /proc (fs/procfs.py)
    root_as_user: bool = False        # ownership is recorded in the metadata store (fs/metastore.py)
    console: str | None = None        # the machine's terminal (/dev/console), a host device


class Task:
    def __init__(self, chan: Channel, phys: PhysMem, config: TaskConfig) -> None:
        self.config = config
        self.reserved_fds: set[int] = set()
        self.log_fd = self.reserve_fd(os.dup(2))
        self.chan = chan
        self._move_channel_high()
        phys_fd = self.reserve_fd(phys.fd)
        phys.fd = phys_fd
        self.phys = phys
        holdings = Holdings.create(phys.nframes)
        holdings.fd = self.reserve_fd(holdings.fd)
        # kern/introspect.py: other tasks' questions and the writable /proc files
        self.broker_busy = False            # no broker call may be made now
        self.door = None                    # where the questions come (made with the mailbox)
        self.introspect_queue: list = []    # questions kept for the run loop's top
        self.introspect_due = self.introspect_rang = self.introspecting = False
        self.proc_writers: dict = {}        # read end of a /proc file's pipe -> apply(t, data)
        self.sig = signals.SignalState()
        mailbox = self.open_signal_mailbox()
        hello = chan.call(P.Hello(os.getpid()), P.Welcome, fds=(holdings.fd, mailbox))
        os.close(mailbox)
        self.pid, self.tid, self.ppid = hello.pid, hello.tid, hello.ppid
        self.is_child = False             # a forked process (not the machine's first)
        # a fork child until its first execve: where the image it drops then goes,
        # unfreed, as it is the parent's objects (kern/fork.py `inherited`)
        self.inherited: list | None = None
        self.frames = FramePool(phys, self._request_frames, holdings)
        self.cpu = CpuState()
        self.space, self.tlb, self.mem = self._new_address_space()
        dump = (lambda src: os.write(self.log_fd, src.encode() + b"\n")) if config.dump_blocks else None
        self.code_cache = CodeCache(default_dir())
        self.engine = Engine(self.cpu, self.tlb, dump=dump, code_cache=self.code_cache,
                             on_svc=self._syscall_in_engine)
        self.fs = FsContext(RootFS(config.rootfs, fd_base=RESERVED_FD_BASE,
                                   records_owners=config.root_as_user))
        self.fs.root.meta.reserve = self.reserved_fds.add
        for host_dir, guest_dir in config.binds:
            self.fs.root.bind(guest_dir.encode(), host_dir, host_dir in config.tmpfs_dirs)
        try:
            self.fs.chdir(config.cwd.encode(errors="surrogateescape"))
        except OSError:
            pass                      # gone since `mkemu run` looked: start at /
        for fd in getattr(self.fs.root, "reserved_fds", ()):
            self.reserved_fds.add(fd)
        self.identity = _boot_identity(self.fs.root)
        self.exe_path = ""
        # the most pages present under the images before this one's execve (Linux keeps
        # the peak across exec: ru_maxrss, not VmHWM)
        self.maxrss_carried = 0
        self.comm = b""                     # the process name (16 bytes with NUL), set by execve
        self.pdeathsig = 0                  # prctl(PR_SET_PDEATHSIG): the broker sends it
        self.dumpable = 1                   # prctl(PR_SET_DUMPABLE); execve sets it again
        self.uid = self.euid = self.suid = config.uid
        self.gid = self.egid = self.sgid = config.gid
        self.clear_child_tid = 0
        self.robust_list = (0, 0)
        self.threaded = False               # the space is shared with other tasks (CLONE_VM)
        self.shares_fds = False             # ... and the host descriptor table (CLONE_FILES)
        self.fd_kinds: dict[int, int] = {}  # what read/write know of a descriptor (fdkinds.py)
        self.enosys_logged: set[int] = set()
        self.in_syscall = False
        # host state only the host process's exit releases (SysV semaphore undo, shm
        # attachments): its end is then reported once the host process is gone
        self.host_exit_work = False
        self.started = time.monotonic()
        self.profiler = None                # MKEMU_PROFILE's cProfile (a fork's child clears it)
        # MKEMU_GC_STATS: --stats says how many objects the collector never scans as the
        # process begins (a fork child's: all its parent had); -1: not asked
        self.gc_frozen = -1

    def count_gc_frozen(self) -> None:
        """gc_frozen as this process begins, when MKEMU_GC_STATS asks (the count walks
        the collector's whole permanent generation: ~1-3 ms, so only when asked)."""
        if "MKEMU_GC_STATS" in os.environ:
            self.gc_frozen = gc.get_freeze_count()

    def _new_address_space(self) -> tuple[AddressSpace, SoftTLB, GuestAccess]:
        """An empty address space with its TLB and accessor (a new task, or execve's image)."""
        space = AddressSpace(self.phys, self.frames)
        space.reserved_fd = self.reserved_fds.add
        space.file_fd_base = RESERVED_FD_BASE
        space.name_of_fd = self._mapped_file_name
        tlb = SoftTLB(space.resolve, space.alias_key)
        space.tlbs.append(tlb)
        return space, tlb, GuestAccess(tlb)

    def peak_rss_kb(self) -> int:
        """ru_maxrss: the process's most pages present, in kB, under this image or the
        ones it replaced (Linux carries the peak across execve)."""
        return max(self.maxrss_carried, self.space.peak_resident_pages()) * 4

    def _mapped_file_name(self, fd: int) -> str:
        """How /proc/PID/maps names a mapping of guest descriptor fd, as Linux does: the
        file's path as the guest sees it (" (deleted)" after an unlink), a memfd's
        "/memfd:NAME (deleted)", the first program's name when it came from a host file
        outside the rootfs (mkemu run PATH); another file the guest cannot reach goes
        unnamed."""
        path = namei.guest_path_of_fd(self, fd)
        if path is not None:
            return os.fsdecode(path)
        try:
            host = os.readlink(f"/proc/self/fd/{fd}")
            if host.startswith("/memfd:"):
                return host
            if self.config.host_program and os.path.samestat(os.fstat(fd),
                                                             os.stat(self.config.host_program)):
                return self.first_path          # a program from the host: as /proc/self/exe
        except OSError:
            pass
        return ""

    # ---- descriptors ----------------------------------------------------------
    def reserve_fd(self, fd: int) -> int:
        """Move an emulator descriptor out of the guest's range and record it."""
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, RESERVED_FD_BASE)
        os.close(fd)
        self.reserved_fds.add(high)
        return high

    def open_signal_mailbox(self, keep_old: bool = False) -> int:
        """A datagram pair for the siginfo of the signals the broker sends this process
        (who sent it, a sigqueue value, a child's status): the read end is kept in
        SignalState, the write end returned, for Hello to carry to the broker.
        keep_old: the old one is another thread's (a shared descriptor table)."""
        if self.sig.mailbox is not None:
            if keep_old:
                self.sig.mailbox.detach()
            else:
                self.reserved_fds.discard(self.sig.mailbox.fileno())
                self.sig.mailbox.close()
        mine, theirs = hostsock.socketpair(hostsock.AF_UNIX, hostsock.SOCK_DGRAM)
        high = self.reserve_fd(os.dup(mine.fileno()))
        introspect.new_door(self, mine, keep_old)     # other tasks' questions come there
        mine.close()
        self.sig.mailbox = hostsock.socket(hostsock.AF_UNIX, hostsock.SOCK_DGRAM, 0, high)
        self.sig.mailbox.setblocking(False)
        self.sig.arrived.clear()
        return theirs.detach()

    def _move_channel_high(self) -> None:
        old = self.chan.sock
        high = fcntl.fcntl(old.fileno(), fcntl.F_DUPFD_CLOEXEC, RESERVED_FD_BASE)
        self.chan.sock = hostsock.socket(old.family, old.type, old.proto, high)
        old.close()
        self.reserved_fds.add(high)

    def log(self, text: str) -> None:
        os.write(self.log_fd, f"mkemu: {text}\n".encode(errors="replace"))

    def _request_frames(self, count: int) -> list[tuple[int, int]]:
        self.broker_call_allowed()
        return brokercall.call(self, P.FrameRequest(count), P.FrameGrant).runs

    def broker_call_allowed(self) -> None:
        """Raise introspect.Deferred when answering another process from a signal handler
        that interrupted a broker wait (a call now would take that wait's reply)."""
        if self.broker_busy:
            raise introspect.Deferred()

    def rlimit(self, res: int) -> tuple[int, int]:
        """(soft, hard) of one of the guest's resource limits (as prlimit64 keeps them)."""
        return sys_proc._get_limit(self, res)

    def proc_info(self, pid: int) -> dict | None:
        """What /proc/PID shows of another guest process (None: there is none)."""
        self.broker_call_allowed()
        return brokercall.call(self, P.ProcInfo(pid), P.ProcInfoReply).info

    def introspect(self, tid: int, op: str, args=None):
        """Ask another task what only it knows (kern/introspect.py): (0 or -errno, value,
        a descriptor it passed or None)."""
        self.broker_call_allowed()
        return introspect.ask(self, tid, op, args)

    def proc_writer(self, apply) -> int:
        """A descriptor whose writes go to apply(self, data) (a writable /proc file)."""
        return introspect.open_writer(self, apply)

    def exec_done(self) -> None:
        """Tell the broker what /proc shows of the new image (and release a vfork parent)."""
        self.announce(execed=True)

    def announce_comm(self) -> None:
        """Tell the broker this thread's new name (PR_SET_NAME, a write to /proc/self/comm)."""
        brokercall.send(self, P.ProcUpdate(self.comm.decode(errors="replace"), None, None,
                                           False, None, None))

    def announce(self, execed: bool = False) -> None:
        brokercall.send(self, P.ProcUpdate(self.comm.decode(errors="replace"),
                                           b"\0".join(self.argv) + b"\0", self.exe_path,
                                           execed, None, self.sig.chld_bits()))

    def exec_alone(self) -> None:
        """execve in a thread group: the other threads end first, and this one becomes
        the process's (its tid is the pid from now)."""
        brokercall.call(self, P.ExecAlone(), P.Value)
        self.tid = self.pid

    def end_thread(self) -> None:
        """This thread's part of leaving (exit, or a group exit): the futex wake of
        CLONE_CHILD_CLEARTID and robust mutexes marked as their owner dead.  First the
        thread tells the broker it blocks every signal: a process-directed signal sent
        after a pthread_join has returned must go to a thread that stays (Linux skips an
        exiting thread), not to this one, whose exit the broker may not have seen yet."""
        self.sig.publish_blocked((1 << signals.NSIG) - 1)
        self.hand_back_signals()
        robust.release_all(self)
        if self.clear_child_tid:
            addr, self.clear_child_tid = self.clear_child_tid, 0
            try:
                self.mem.write_u32(addr, 0)
                futex.wake_word(self, addr)
            except (MemFault, OSError):
                pass

    def hand_back_signals(self) -> None:
        """A leaving thread's process-directed signals go back to the process, as Linux
        keeps them in the process's queue for any thread: the broker routes none to this
        one from Leaving's reply on, so after it every one sent here is in hand (a host
        signal and its mailed record arrive before the broker serves the next request).
        One round trip per thread exit."""
        brokercall.call(self, P.Leaving(), P.Value)
        infos = self.sig.hand_back()
        if infos:
            brokercall.send(self, P.ReturnSignals(infos))

    def controlling_terminal(self) -> str | None:
        """The host device of this process's controlling terminal (for /dev/tty)."""
        return sys_tty.controlling_terminal(self)

    def stop(self, sig: int) -> None:
        """A stop signal's default action: the broker stops this host process and tells
        the parent; the call returns once something sent SIGCONT (or at once when the
        stop was discarded: a terminal's stop signal in an orphaned group)."""
        brokercall.call(self, P.Stop(sig), P.Value)

    def open_exec(self, path: str) -> int:
        """A host fd of the guest file `path`, for loading it as a program."""
        if self.config.host_program and path == self.first_path:
            return os.open(self.config.host_program, os.O_RDONLY | os.O_CLOEXEC)
        return sys_fs.open_exec(self, path)

    def proc_maps(self) -> str:
        return self.space.maps_text()

    # ---- program start -----------------------------------------------------------
    def execve(self, path: str, argv: list[bytes], envp: list[bytes], fd: int | None = None,
               execfn: bytes | None = None, comm_from_file: bool = False,
               inaccessible: bool = False) -> None:
        """Replace the guest image (the old one is dropped only once the new one loads).

        fd: the program, already opened (consumed); execfn: the name execve was given
        (path if None): a script's argument, AT_EXECFN and the new comm's basename, or
        with comm_from_file (execveat's AT_EMPTY_PATH) comm is the loaded file's name.
        On an error nothing of the old image has changed.
        """
        old_space = self.space
        inherited = self.inherited if not self.threaded else None
        if self.threaded:
            self.exec_alone()
            self.sig.unshare()
            self.fs.unshare()
        new_space, new_tlb, new_mem = self._new_address_space()
        try:
            img = load_program(new_space, new_mem, self.open_exec, path, argv, fd=fd,
                               execfn=execfn, inaccessible=inaccessible)
            sp = build_stack(new_space, new_mem, img, envp, HWCAP, HWCAP2,
                             (self.uid, self.euid, self.gid, self.egid), os.urandom(16))
        except BaseException:
            new_space.close()
            raise
        self.code_cache.end_start()         # the machine's first image, if it was, is over
        old_engine = self.engine
        self.inherited = None
        if inherited is not None and self.tlb in old_space.tlbs:
            # The parent's TLB and engine: clearing the TLB would free each of its
            # page views (~1,100 copy-on-write faults under a python3 parent).  Kept
            # whole and unreachable instead, out of the space's shootdowns.
            old_space.tlbs.remove(self.tlb)
            inherited.append((self.tlb, old_engine))
        else:
            self.tlb.retire()               # the old engine is dropped: no code to invalidate
        self.maxrss_carried = max(self.maxrss_carried, old_space.peak_resident_pages())
        old_space.close()
        self.space, self.tlb, self.mem = new_space, new_tlb, new_mem
        self.engine = Engine(self.cpu, new_tlb, dump=old_engine.dump, code_cache=self.code_cache,
                             after=old_engine, on_svc=self._syscall_in_engine)
        self.cpu.__init__()
        self.cpu.x[31] = sp
        self.cpu.pc = img.entry
        self.exe_path = _image_path(new_space, img)
        self.argv = img.argv
        self.env_range = img.env_range
        named = img.path.encode(errors="surrogateescape") if comm_from_file else img.execfn
        self.comm = named.rsplit(b"/", 1)[-1][:15]       # kbasename, TASK_COMM_LEN - 1
        self.clear_child_tid = 0            # the old image's thread bookkeeping is gone
        self.dumpable = 1                   # (Linux: unless the new image is setuid)
        self.robust_list = (0, 0)
        self.threaded = False
        self.sig.exec_reset()
        sys_timer.delete_all(self)          # timer_create's timers end with the image

    # ---- running ----------------------------------------------------------------
    def run(self) -> None:
        """Run the guest until it exits; raises TaskExit."""
        cpu = self.cpu
        sig = self.sig
        while True:
            if self.threaded:
                self.space.catch_up()         # a sibling changed the space (DOORBELL)
            new_epoch()                       # file sizes are read again (mm/filebacking.py)
            trap = self.engine.run()
            new_epoch()
            if trap == TRAP_SVC or trap == TRAP_SVC_DEFERRED:
                syscalls.dispatch(self)
            elif trap == TRAP_SVC_DONE:
                pass                          # the engine ran it (_syscall_in_engine)
            elif trap == TRAP_SIGNAL:
                cpu.pending = False
            elif trap == TRAP_UNDEF:
                self.fatal(signal.SIGILL, f"undefined instruction {cpu.undef_insn:#010x}",
                           sigframe.ILL_ILLOPC, cpu.pc)
            elif trap == TRAP_FAULT and cpu.fault_kind == "align":
                self.fatal(signal.SIGBUS, f"bus error: unaligned atomic access at {cpu.fault_addr:#x}",
                           sigframe.BUS_ADRALN, cpu.fault_addr, cpu.fault_addr,
                           sigframe.fault_esr("align", cpu.fault_write, False))
            elif trap in (TRAP_FAULT, TRAP_FETCH) and cpu.fault_kind == "bus":
                self.fatal(signal.SIGBUS, f"bus error: beyond the end of a mapped file at {cpu.fault_addr:#x}",
                           sigframe.BUS_ADRERR, cpu.fault_addr, cpu.fault_addr,
                           sigframe.fault_esr("unmapped", cpu.fault_write, trap == TRAP_FETCH))
            elif trap in (TRAP_FAULT, TRAP_FETCH):
                kind = "write to" if cpu.fault_write else "read of" if trap == TRAP_FAULT else "execution at"
                code = sigframe.SEGV_ACCERR if cpu.fault_kind == "perm" else sigframe.SEGV_MAPERR
                self.fatal(signal.SIGSEGV, f"segmentation fault: {kind} {cpu.fault_addr:#x}",
                           code, cpu.fault_addr, cpu.fault_addr,
                           sigframe.fault_esr(cpu.fault_kind, cpu.fault_write, trap == TRAP_FETCH))
            elif trap == TRAP_BRK:
                self.fatal(signal.SIGTRAP, "breakpoint (BRK)", sigframe.TRAP_BRKPT, cpu.pc)
            else:
                self.fatal(signal.SIGABRT, f"unknown trap {trap}")
            cpu.excl_addr = -1      # an exception return clears the local exclusive monitor
            if self.introspect_due:
                introspect.serve(self)
            if sig.claim_due:
                sig.claim_shared(self)
            if sig.pending or sig.saved_mask is not None:
                sig.deliver(self)

    def _syscall_in_engine(self) -> int:
        """An SVC, run from the engine's dispatch loop (Engine.on_svc): the pc to go on
        at, or -TRAP_SVC_DONE when the run loop has work before the guest goes on (a
        signal to deliver, a thread's view of the space, a debugger's request).  The
        calls that make a process or a thread, replace the image (the only calls that
        make a new engine) or every register, or end a thread are left to the run loop
        (-TRAP_SVC_DEFERRED): a fork must not copy the dispatch loop's frame, with its
        counts, nor may it outlive its image.  A region calls it from its case too."""
        cpu = self.cpu
        if cpu.x[8] in _SVC_IN_RUN_LOOP:
            return -TRAP_SVC_DEFERRED
        syscalls.dispatch(self)
        new_epoch()             # file sizes are read again after the call (mm/filebacking.py)
        cpu.excl_addr = -1      # an exception return clears the local exclusive monitor
        sig = self.sig
        if self.threaded or self.introspect_due or sig.claim_due or sig.pending or \
                sig.saved_mask is not None:
            return -TRAP_SVC_DONE
        return cpu.pc

    def fatal(self, sig: int, reason: str, code: int = 0, addr: int = 0,
              fault_address: int = 0, esr: int = 0) -> None:
        """A synchronous fault: run the guest's handler for it with the faulting state
        (the pc of the instruction, si_addr, si_code), or, when it has none or blocks
        it, report and kill the thread group."""
        if self.sig.catches(sig):
            if os.environ.get("MKEMU_REPORT_HANDLED"):    # a developer aid: see faults handlers hide
                crash.report(self, sig, reason + " (the guest's handler runs)")
            self.sig.force_fault(sig, sigframe.siginfo_fault(sig, code, addr), fault_address, esr)
            return
        crash.report(self, sig, reason)
        raise TaskExit(0, sig, core=sig in (signal.SIGSEGV, signal.SIGILL, signal.SIGABRT,
                                             signal.SIGTRAP, signal.SIGBUS, signal.SIGFPE))

    def stats_lines(self) -> list[str]:
        wall = time.monotonic() - self.started
        n = self.cpu.icount
        return [f"mkemu: instructions {n}", f"mkemu: blocks {self.engine.blocks_translated}",
                f"mkemu: blocks-from-cache {self.engine.blocks_from_cache}",
                f"mkemu: block-runs {self.engine.block_runs}",
                f"mkemu: tiered-up {self.engine.tiered_up}",      # first-tier traces made in full
                f"mkemu: wall {wall:.3f} s", f"mkemu: mips {n / wall / 1e6 if wall else 0:.2f}",
                f"mkemu: cpu {time.process_time():.3f} s",     # this process's user+system
                # its host minor page faults (a fork child's from the fork: copy-on-write)
                f"mkemu: host-faults {resource.getrusage(resource.RUSAGE_SELF).ru_minflt}"] + \
            ([f"mkemu: gc-frozen {self.gc_frozen}"] if self.gc_frozen >= 0 else [])


def _boot_identity(root: RootFS) -> Identity:
    """The machine's identity, named as the rootfs's /etc/hostname says (as init would set it)."""
    identity = Identity()
    try:
        fd = root.open(b"/etc/hostname", os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return identity
    try:
        # only a regular file: a FIFO or device planted in the rootfs is never read
        data = os.read(fd, 256) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    finally:
        os.close(fd)
    identity.nodename = hostname_from_file(data) or identity.nodename
    return identity


def task_main(chan: Channel, phys: PhysMem, config: TaskConfig, path: str,
              argv: list[bytes], envp: list[bytes]) -> None:
    """Entry point of a task host process (after fork); never returns."""
    code, sig, core, thread_only = 0, 0, False, False
    task = None
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _raise_fd_limit()
        task = Task(chan, phys, config)
        task.first_path = path
        signals.install_host_handlers(task)
        introspect.install(task)
        for s in config.ignored_signals:    # as execve keeps SIG_IGN (nohup, `cmd &` in a script)
            task.sig.actions[s].handler = signals.SIG_IGN
        lineprof_to = os.environ.get("MKEMU_LINEPROF")
        if lineprof_to:                     # developer aid: cpu/lineprof.py
            lineprof, profiled_pid = LineProfile(), os.getpid()
            task.engine.dump = lineprof.keep_source
        try:
            task.execve(path, argv, envp)
            if not config.dump_blocks and not lineprof_to:  # (every block translated anew)
                task.code_cache.start_kit(config.rootfs, task.exe_path, task.engine.globals)
        except (ExecError, OSError) as e:
            err = getattr(e, "errno", 0) or 0
            if os.environ.get("MKEMU_DEBUG"):
                import traceback
                task.log(traceback.format_exc())
            name = config.program_name or path
            if isinstance(e, ExecError):     # its message names what failed (an interpreter, ...)
                task.log(f"{name}: {e}")
            else:
                task.log(f"{name}: cannot execute: {os.strerror(err) if err else e}")
            raise TaskExit(126 if err not in (2,) else 127)
        task.announce()
        task.count_gc_frozen()
        profile_to = os.environ.get("MKEMU_PROFILE")
        if lineprof_to:
            try:
                lineprof.runcall(task.run)
            finally:
                if os.getpid() == profiled_pid:     # (not a fork child)
                    lineprof.write(lineprof_to.replace("%p", str(os.getpid())))
        elif profile_to:                    # developer aid: cProfile of the task's run loop
            import cProfile
            prof = task.profiler = cProfile.Profile()
            try:
                prof.runcall(task.run)
            finally:
                prof.dump_stats(profile_to.replace("%p", str(os.getpid())))   # %p: per process
        else:
            task.run()
    except TaskExit as e:
        code, sig, core, thread_only = e.code, e.sig, e.core, e.thread
    except BaseException:
        # A bug in mkemu: report it like a crash of the guest (SIGABRT), never hang.
        import traceback
        msg = "mkemu: internal error in task:\n" + traceback.format_exc()
        try:
            os.write(task.log_fd if task else 2, msg.encode(errors="replace"))
        except OSError:
            pass
        code, sig, core = 0, signal.SIGABRT, False
    try:
        if task is not None:
            task.code_cache.flush()
        if task is not None and config.stats:
            lines = task.stats_lines()
            if task.is_child:             # each process reports; children say which they are
                lines = [line.replace("mkemu:", f"mkemu[{task.pid}]:", 1) for line in lines]
            os.write(task.log_fd, ("\n".join(lines) + "\n").encode())
        if task is not None and task.threaded and thread_only:
            task.end_thread()
            chan.send(P.FrameReturn(runs(task.frames.give_back())))
        # A process alone with its descriptor table closes everything now (descriptors,
        # and file windows, which hold their files), as exit(2) does before the parent
        # can see the end: the broker may then report the end at once, without waiting
        # for the host to tear this process down.
        closed = task is not None and not (task.threaded or task.shares_fds or
                                           task.host_exit_work)
        if closed:
            try:
                task.space.unmap_windows()
                _close_all_but(chan.sock.fileno())
            except Exception:
                closed = False            # the end is then reported when the host's is
        chan.send(P.ExitGroup(code, sig, core, thread_only, closed,
                              task.peak_rss_kb() if task is not None else 0))
        if task is not None and task.threaded:
            task.space.leave()
            if task.shares_fds:           # the table outlives this process: close its own
                task.sig.mailbox.close()
                chan.close()
    except Exception:
        pass
    sys.stdout.flush = lambda: None     # the guest owns fd 1: never let Python flush into it
    os._exit(0)


def _close_all_but(keep: int) -> None:
    """Close every descriptor of this process but `keep`: those /proc/self/fd lists (a
    close_range walks every slot of the table, ~16,400 here: ~0.25 ms on a child's
    exit, which its parent's wait waits for; the listing and ~20 closes take ~60 us)."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        os.closerange(0, keep)
        os.closerange(keep + 1, (1 << 31) - 1)
        return
    for name in names:
        fd = int(name)
        if fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass                      # the listing's own descriptor, closed already


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = RESERVED_FD_BASE + 2048
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def _image_path(space: AddressSpace, img) -> str:
    """/proc/self/exe: the guest's path of the file the program was loaded from (where
    a symlink leads: /usr/bin/python3 runs /usr/bin/python3.11, and Python finds its
    prefix from it), else the path it was found by."""
    vma = space.find(img.phdr)
    name = space.vma_name(vma) if vma is not None and vma.file is not None else ""
    return name or img.path
