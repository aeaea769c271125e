"""Guest signal state and delivery: dispositions, the blocked mask, pending
signals with their siginfo, handler frames, syscall restart.

A signal reaches a task three ways: a guest call aimed at itself (kill,
tgkill, rt_sigqueueinfo, a write's SIGPIPE), a host signal (another guest
process's kill routed by the broker, SIGCHLD from the broker, an itimer, the
terminal) caught by the host handler installed here, or a synchronous fault
of the guest's own code (Task.fatal).  Each becomes a pending entry; the
task's run loop calls `deliver` after every trap, which takes the default
action or builds the kernel's arm64 rt_sigframe (kern/sigframe.py) on the
guest stack or the alternate stack and points pc at the handler, as Linux's
do_signal does on the way back to user mode.  rt_sigreturn (sys_signal.py)
undoes it.

A host signal that arrives while a syscall handler blocks in a host call
raises InterruptedSyscall when the guest signal would act (a handler, or a
default action that kills); one the guest ignores lets the host call go on
(Python retries it, PEP 475), as Linux never wakes a sleeper for an ignored
signal.  An interrupted call returns -EINTR and dispatch records how Linux
would restart it (`note_interrupted`): with SA_RESTART the frame is built as
if the SVC had not run yet, so sigreturn runs the call again.
"""
from __future__ import annotations

import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import struct
import time

from ..ipc import protocol as P
from ..mm.fault import MemFault
from ..mm.space import MAP_ANONYMOUS, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE
from ..record import field, record
from . import brokercall, crash, sigframe
from .errors import InterruptedSyscall, TaskExit
from .proctable import CHLD_AUTOREAP, CHLD_IGNORED, CHLD_NOCLDSTOP

SIG_DFL, SIG_IGN = 0, 1
NSIG = 64
SIGRTMIN = 32                 # the kernel's: signals from here on queue every instance

SA_NOCLDSTOP, SA_NOCLDWAIT, SA_SIGINFO = 0x1, 0x2, 0x4
SA_RESTORER, SA_ONSTACK, SA_RESTART = 0x0400_0000, 0x0800_0000, 0x1000_0000
SA_NODEFER, SA_RESETHAND = 0x4000_0000, 0x8000_0000
SS_ONSTACK, SS_DISABLE, SS_AUTODISARM = 1, 2, 1 << 31

SIGKILL, SIGSTOP = 9, 19
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))

_IGNORE_BY_DEFAULT = {signal.SIGCHLD, signal.SIGURG, signal.SIGWINCH, signal.SIGCONT}
_STOP_BY_DEFAULT = {signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU}
CORE_BY_DEFAULT = {signal.SIGQUIT, signal.SIGILL, signal.SIGTRAP, signal.SIGABRT, signal.SIGBUS,
                   signal.SIGFPE, signal.SIGSEGV, signal.SIGXCPU, signal.SIGXFSZ, signal.SIGSYS}
# delivered before the others, as the kernel's next_signal() does
_SYNCHRONOUS = (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGTRAP, signal.SIGFPE,
                signal.SIGSYS)
# host signals that become guest signals of the same number
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2, signal.SIGALRM, signal.SIGWINCH)

# other host signals a task turns into guest ones (another guest process sent them
# with kill, the broker tells a parent of its child's end, an itimer expired)
CAUGHT_IN_TASK = (signal.SIGCHLD, signal.SIGURG, signal.SIGVTALRM, signal.SIGPROF,
                  signal.SIGXCPU, signal.SIGXFSZ, signal.SIGIO, signal.SIGPWR,
                  signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGCONT,
                  # real-time signals another process sends (32 and 33 are glibc's own
                  # on the host: they come as CARRIER, below)
                  *range(signal.SIGRTMIN, signal.SIGRTMAX + 1))
# The host signal that brings guest signals 32 and 33 (glibc's thread cancellation
# and setxid, which a host process cannot catch) from the broker, with their siginfo
# in the mailbox; it is also mm/sharedspace.py's DOORBELL.  Guest signal 64 itself
# always comes with a mailed record too, so none is mistaken for another.
CARRIER = signal.SIGRTMAX
HOST_SIGNALS = frozenset((*FORWARDED, *CAUGHT_IN_TASK))
_TIMER_SIGNALS = (signal.SIGALRM, signal.SIGVTALRM, signal.SIGPROF)

# How Linux restarts a call a signal interrupted (its -ERESTART* code):
#   "sys"    -ERESTARTSYS: again if the handler has SA_RESTART, else EINTR
#   "eintr"  -ERESTARTNOHAND / _RESTARTBLOCK / plain -EINTR: EINTR when a handler runs
#   anything else cannot sleep, so an interruption (a host signal raised in
#   mkemu's own code) must not show: it runs again ("nointr").
_RESTART_SYS = frozenset((
    "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev",
    "pwritev2", "wait4", "waitid", "openat", "openat2", "flock", "fcntl", "ioctl", "accept",
    "accept4", "connect", "recvfrom", "recvmsg", "recvmmsg", "sendto", "sendmsg", "sendmmsg",
    "sendfile", "splice", "tee", "vmsplice", "copy_file_range", "mq_timedsend",
    "mq_timedreceive"))
_RESTART_EINTR = frozenset((       # (System V IPC is never restarted, man 7 signal)
    "nanosleep", "clock_nanosleep", "ppoll", "pselect6", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "epoll_pwait", "epoll_pwait2", "semtimedop", "semop", "msgrcv",
    "msgsnd", "io_getevents", "io_pgetevents"))
_FUTEX_WAIT, _FUTEX_WAIT_BITSET = 0, 9


def restart_kind(name: str, args) -> str:
    if name == "futex":
        op = args[1] & 0x7F
        if op in (_FUTEX_WAIT, _FUTEX_WAIT_BITSET):
            return "eintr" if args[3] else "sys"      # a timed wait is a restart block
        return "nointr"
    if name in _RESTART_SYS:
        return "sys"
    if name in _RESTART_EINTR:
        return "eintr"
    return "nointr"


def bit(sig: int) -> int:
    return 1 << (sig - 1)


@record
class Action:
    handler: int = SIG_DFL
    flags: int = 0
    restorer: int = 0
    mask: int = 0


@record
class Pending:
    info: bytes                 # the 128-byte siginfo
    fault_address: int = 0      # uc_mcontext.fault_address (synchronous faults)
    esr: int = 0                # the frame's ESR record (data and instruction aborts)
    host_pid: int = field(default_factory=os.getpid)   # the task process it arrived in
    # process-directed (the broker chose this thread for it): a thread that exits before
    # taking it hands it back to the process (SignalState.hand_back)
    shared: bool = False


class PendingSignals(dict):
    """Pending signals: number -> its queued entries (one for a standard signal).

    fork's child clears them (a new process starts with none), but a signal sent to
    the child while it is still being set up has already arrived in its own host
    process and must stay: clear() keeps the entries that arrived in this process.

    `watch`, when set, runs after each change of which signals are pending (every
    mutation below goes through these methods): the guest's signalfds keep their
    readiness with it (kern/signalfd.py)."""

    watch = None

    def __setitem__(self, sig, queue) -> None:
        super().__setitem__(sig, queue)
        if self.watch is not None:
            self.watch()

    def __delitem__(self, sig) -> None:
        super().__delitem__(sig)
        if self.watch is not None:
            self.watch()

    def pop(self, sig, *default):
        queue = super().pop(sig, *default)
        if self.watch is not None:
            self.watch()
        return queue

    def setdefault(self, sig, queue):
        got = super().setdefault(sig, queue)
        if self.watch is not None:
            self.watch()
        return got

    def clear(self) -> None:
        me = os.getpid()
        for sig in list(self):
            kept = [e for e in self[sig] if e.host_pid == me]
            if kept:
                self[sig] = kept
            else:
                del self[sig]


class SignalState:
    # A thread group shares its dispositions (CLONE_SIGHAND) through the space's
    # control block (mm/sharedmm.py); each thread publishes its blocked mask there,
    # for the broker to choose the thread a process-directed signal goes to.
    _shared = None                 # the MmControl holding the dispositions, when shared
    _actions_gen = 0
    _mask_cell = None              # (MmControl, slot) the blocked mask is published in

    def __init__(self) -> None:
        self._actions = [Action() for _ in range(NSIG + 1)]
        self._blocked = 0
        self.pending = PendingSignals()
        # the alternate stack: ss_sp, ss_size (0: disabled), flag bits (SS_AUTODISARM)
        self.altstack = (0, 0, 0)
        self.saved_mask: int | None = None     # rt_sigsuspend/ppoll/pselect: mask to restore
        self.restart: tuple[str, int] | None = None   # (kind, x0) of an interrupted call
        self.trampoline: tuple[object, int] | None = None   # (address space, sigreturn stub)
        self.timers_armed: set[int] = set()    # host itimer signals the guest asked for
        # a relative sleep a stop interrupted goes on to its old deadline when restarted
        # (Linux's restart block): (clock, deadline ns) and whether this call is a restart
        self.sleep_deadline: tuple[int, int] | None = None
        self.restarted = False
        # the broker's siginfo for the host signals it sends (Task.open_signal_mailbox):
        # records read but not used yet, by signal number
        self.mailbox = None
        self.arrived: dict[int, list[tuple[bytes, bool]]] = {}
        # timer_create's timers: id -> (signal, sigev_value), for their SI_TIMER siginfo
        self.posix_timers: dict[int, tuple[int, int]] = {}

    @property
    def actions(self) -> list[Action]:
        shared = self._shared
        if shared is not None and shared.sig_gen() != self._actions_gen:
            shared.load_actions(self._actions)
            self._actions_gen = shared.sig_gen()
        return self._actions

    def publish_actions(self) -> None:
        """A disposition changed: the group's other threads see it from now."""
        if self._shared is not None:
            self._shared.store_actions(self._actions)
            self._actions_gen = self._shared.sig_gen()

    @property
    def blocked(self) -> int:
        return self._blocked

    @blocked.setter
    def blocked(self, mask: int) -> None:
        self._blocked = mask
        if self._mask_cell is not None:
            self.publish_blocked(mask)
            if self._mask_cell[0].shared_pending() & ~mask:
                self.claim_due = True          # the task loop takes them (claim_shared)

    claim_due = False
    # introspect.install: answers other processes' questions (/proc/PID/...) when CARRIER
    # rings while this task sleeps with the host signals blocked (sleep)
    on_carrier = None

    def claim_shared(self, task, mask: int | None = None) -> None:
        """Take from the broker the process-directed signals that waited while every
        thread blocked them, those this thread now lets in (mask: else its unblocked)."""
        self.claim_due = False
        if self._mask_cell is None:
            return
        mask = ~self._blocked & (1 << NSIG) - 1 if mask is None else mask
        if not self._mask_cell[0].shared_pending() & mask:
            return
        for info in brokercall.call(task, P.TakeSignals(mask), P.SignalsReply).infos:
            self.raise_signal(int.from_bytes(info[:4], "little"), info, shared=True)

    def publish_blocked(self, mask: int) -> None:
        """What the broker takes as this thread's blocked set when it picks the thread
        for a process-directed signal (sigtimedwait lets the ones it waits for in)."""
        if self._mask_cell is not None:
            ctl, slot = self._mask_cell
            ctl.set_blocked(slot, mask)

    def share_actions(self, ctl) -> None:
        """CLONE_SIGHAND: from now the dispositions are the control block's."""
        if self._shared is None:
            self._shared = ctl
            self.publish_actions()

    def watch_blocked(self, ctl, slot: int) -> None:
        self._mask_cell = (ctl, slot)
        self.publish_blocked(self._blocked)

    def new_thread(self, slot: int) -> None:
        """In a new thread: the blocked mask is inherited, the rest is its own (no
        pending signals, no alternate stack: Linux clears it for CLONE_VM)."""
        self.pending.clear()              # keeps what was sent to this new thread already
        self.posix_timers.clear()
        self.altstack = (0, 0, 0)
        self.saved_mask = None
        self.restart = None
        self.sleep_deadline = None
        if self._mask_cell is not None:
            self.watch_blocked(self._mask_cell[0], slot)

    def unshare(self) -> None:
        """The process is one thread again (a fork's child, or after execve)."""
        self._shared = None
        self._mask_cell = None

    def exec_reset(self) -> None:
        for a in self.actions:
            if a.handler != SIG_IGN:
                a.handler, a.flags, a.restorer, a.mask = SIG_DFL, 0, 0, 0
        self.altstack = (0, 0, 0)
        self.trampoline = None

    # ---- generating ---------------------------------------------------------
    def raise_signal(self, sig: int, info: bytes | None = None, shared: bool = False) -> None:
        """Make sig pending (a standard signal already pending is not queued twice).
        shared: a process-directed signal the broker routed to this thread."""
        if info is None:
            info = sigframe.siginfo_kill(sig, sigframe.SI_USER)
        # a stop signal cancels a pending SIGCONT and SIGCONT the pending stops (Linux's
        # prepare_signal): the later one wins
        if sig in _STOP_BY_DEFAULT:
            self.pending.pop(signal.SIGCONT, None)
        elif sig == signal.SIGCONT:
            for stop in _STOP_BY_DEFAULT:
                self.pending.pop(stop, None)
        if not self._acts(sig) and not self.blocked & bit(sig):
            return          # ignored and not blocked: discarded as it is sent (Linux)
        # one list, made once: a host signal's handler that queues the same signal in
        # between appends to it rather than having its entry replaced
        queue = self.pending.setdefault(sig, [])
        if not queue or sig >= SIGRTMIN:
            queue.append(Pending(info, shared=shared))

    def host_signal(self, sig: int) -> None:
        # Python runs a signal's handler inside another's: a host signal landing while
        # the records of an earlier one are taken and raised would put its own in
        # between (real-time ones out of order).  Held until this one is done.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, HOST_SIGNALS)
        try:
            self._host_signal(sig)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def _host_signal(self, sig: int) -> None:
        """A host signal arrived: with the siginfo the broker mailed before sending it
        (another guest process's kill or sigqueue, a child's SIGCHLD), else as the
        kernel's (an itimer) or an unknown sender's (si_pid 0)."""
        records = self._mailed(sig)
        if sig == CARRIER:
            for carried in (32, 33):
                for info, shared in self.arrived.pop(carried, []):
                    self.raise_signal(carried, info, shared)
        timer = next((k for k, (signo, _) in self.posix_timers.items() if signo == sig), None)
        if not records and timer is not None:
            # a POSIX timer's (the host's siginfo is out of reach: si_overrun is 0)
            records = [(sigframe.siginfo_timer(sig, timer, self.posix_timers[timer][1]), False)]
        if sig >= SIGRTMIN:
            # one per record: Python runs its handler once for several host signals of
            # a number, and every real-time signal a task gets was mailed with its info
            for info, shared in records:
                self.raise_signal(sig, info, shared)
            return
        shared = False
        if records:
            # one host signal for several sends: the first counts
            info, shared = records[0]
        else:
            code = sigframe.SI_KERNEL if sig in self.timers_armed else sigframe.SI_USER
            info = sigframe.siginfo_kill(sig, code)
        self.raise_signal(sig, info, shared)

    def _mailed(self, sig: int) -> list[tuple[bytes, bool]]:
        """The siginfo records the broker mailed for sig (taken), each with whether it is a
        process-directed signal's (a record one byte longer than a siginfo: broker._mail)."""
        if self.mailbox is not None:
            while True:
                try:
                    mail = self.mailbox.recv(sigframe.SIGINFO_SIZE + 1)
                except (BlockingIOError, OSError):
                    break
                signo = int.from_bytes(mail[:4], "little")
                self.arrived.setdefault(signo, []).append(
                    (mail[:sigframe.SIGINFO_SIZE], len(mail) > sigframe.SIGINFO_SIZE))
        return self.arrived.pop(sig, [])

    def hand_back(self) -> list[bytes]:
        """This thread is leaving and the broker routes nothing more to it (Leaving):
        the process-directed signals it has not taken, host signals and mailed records
        still on their way included, taken out, for the broker to send to the process
        again (Linux keeps them in the shared queue, for another thread)."""
        old = signal.pthread_sigmask(signal.SIG_BLOCK, HOST_SIGNALS)
        try:
            while True:
                info = signal.sigtimedwait(HOST_SIGNALS, 0)
                if info is None:
                    break
                if info.si_signo == CARRIER and self.on_carrier is not None:
                    self.on_carrier()
                self._host_signal(info.si_signo)
            infos = []
            for sig in list(self.pending):
                queue = self.pending[sig]
                kept = [e for e in queue if not e.shared]
                infos += [e.info for e in queue if e.shared]
                if len(kept) != len(queue):
                    if kept:
                        self.pending[sig] = kept
                    else:
                        del self.pending[sig]
            return infos
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def force_fault(self, sig: int, info: bytes, fault_address: int, esr: int) -> None:
        """A synchronous fault whose handler runs (Task.fatal checked it may)."""
        self.pending.setdefault(sig, []).insert(0, Pending(info, fault_address, esr))

    def catches(self, sig: int) -> bool:
        """Whether a synchronous fault sig runs a guest handler (else it kills: Linux's
        force_sig resets a blocked or ignored one to SIG_DFL)."""
        return self.actions[sig].handler not in (SIG_DFL, SIG_IGN) and not self.blocked & bit(sig)

    # ---- questions ------------------------------------------------------------
    def _acts(self, sig: int) -> bool:
        """Whether sig does anything when delivered: a guest handler, or a default action
        that ends or stops the process (SIG_IGN and the ignore-by-default ones do not)."""
        handler = self.actions[sig].handler
        if handler == SIG_DFL:
            return sig not in _IGNORE_BY_DEFAULT
        return handler != SIG_IGN

    def chld_bits(self) -> int:
        """How this process takes SIGCHLD, as the broker needs it (proctable.CHLD_*)."""
        act = self.actions[signal.SIGCHLD]
        if act.handler == SIG_IGN:
            return CHLD_AUTOREAP | CHLD_IGNORED
        return (CHLD_NOCLDSTOP if act.flags & SA_NOCLDSTOP else 0) | \
            (CHLD_AUTOREAP if act.flags & SA_NOCLDWAIT else 0)

    def _deliverable(self, sig: int) -> bool:
        return not self.blocked & bit(sig) or sig in (SIGKILL, SIGSTOP)

    def interrupting(self) -> bool:
        """Whether a pending, unblocked signal would act (a handler, or a default action
        that ends or stops the process): what breaks a blocking call (EINTR, or a restart
        after a stop).  An ignored one lets it sleep on, as Linux does."""
        return any(self._deliverable(sig) and self._acts(sig) for sig in list(self.pending))

    def pending_mask(self) -> int:
        return sum(bit(s) for s in list(self.pending))

    def shared_pending_mask(self) -> int:
        """The process-directed signals waiting while every thread blocks them."""
        return self._mask_cell[0].shared_pending() if self._mask_cell is not None else 0

    def next_signal(self, among: int) -> int | None:
        """The signal Linux would dequeue first of those pending in the mask `among`."""
        sigs = [s for s in list(self.pending) if among & bit(s)]
        if not sigs:
            return None
        sync = [s for s in sigs if s in _SYNCHRONOUS]
        return min(sync or sigs)

    def dequeue(self, sig: int) -> Pending:
        # A host signal's Python handler may run between any two steps here (one that
        # tripped before a mask could hold it off runs at the next bytecode check) and
        # queue another instance: onto this list just before the del drops it (a
        # real-time signal lost now and then under load: tests/guest/sig_thread_exit.c),
        # or into a new list.  So a list that gained entries after the del goes back.
        queue = self.pending[sig]
        entry = queue.pop(0)
        if not queue:
            del self.pending[sig]
            if queue:
                current = self.pending.setdefault(sig, queue)
                if current is not queue:
                    current[:0] = queue
        return entry

    # ---- the alternate stack -------------------------------------------------------
    def on_altstack(self, sp: int) -> bool:
        ss_sp, size, flags = self.altstack
        if flags & SS_AUTODISARM:
            return False
        return sp > ss_sp and sp - ss_sp <= size

    def altstack_flags(self, sp: int) -> int:
        """ss_flags as sigaltstack and uc_stack report them for a thread at sp."""
        ss_sp, size, flags = self.altstack
        if not size:
            return SS_DISABLE | flags
        return (SS_ONSTACK if self.on_altstack(sp) else 0) | flags

    # ---- syscall restart -------------------------------------------------------------
    def note_interrupted(self, name: str, args, x0: int) -> None:
        """dispatch: the call `name` returned -EINTR because a signal that acts came."""
        self.restart = (restart_kind(name, args), x0)

    def _restart_call(self, cpu, x0: int) -> None:
        cpu.pc = (cpu.pc - 4) & 0xFFFF_FFFF_FFFF_FFFF    # back to the SVC, its x0 again
        cpu.x[0] = x0
        self.restarted = True

    # ---- delivery ---------------------------------------------------------------------
    def deliver(self, task) -> None:
        """Act on pending, unblocked signals: default actions, or handler frames (one per
        signal, nested as Linux nests them when several are pending)."""
        while True:
            sig = self.next_signal(~self.blocked | UNBLOCKABLE)
            if sig is None:
                break
            entry = self.dequeue(sig)
            act = self.actions[sig]
            if not self._acts(sig):
                continue
            if act.handler == SIG_DFL and sig in _STOP_BY_DEFAULT:
                task.stop(sig)            # returns once continued
                continue
            if act.handler == SIG_DFL:
                raise TaskExit(0, sig, core=sig in CORE_BY_DEFAULT)
            self._run_handler(task, sig, entry, act)
        if self.restart is not None:          # no handler ran: the call goes on
            _, x0 = self.restart
            self.restart = None
            self._restart_call(task.cpu, x0)
        self.restore_mask()

    def wait_mask(self, task, new: int) -> None:
        """The mask a sigsuspend-like wait (sigsuspend, ppoll, pselect, epoll_pwait) runs
        with; the old one comes back with the handler's sigreturn (the frame's
        uc_sigmask) or, when no handler runs, from restore_mask.  A process-directed
        signal it lets in that waited while every thread blocked it is taken now, so
        the call sees it pending and does not sleep."""
        self.saved_mask, self.blocked = self.blocked, new & ~UNBLOCKABLE
        if self.claim_due:
            self.claim_shared(task)

    def restore_mask(self) -> None:
        if self.saved_mask is not None:
            self.blocked, self.saved_mask = self.saved_mask, None

    def _run_handler(self, task, sig: int, entry: Pending, act: Action) -> None:
        cpu = task.cpu
        flags = act.flags
        if self.restart is not None:
            kind, x0 = self.restart
            self.restart = None
            if kind == "nointr" or kind == "sys" and flags & SA_RESTART:
                self._restart_call(cpu, x0)
        old_mask = self.blocked if self.saved_mask is None else self.saved_mask
        self.saved_mask = None
        sp = cpu.x[31]
        ss_sp, ss_size, ss_bits = self.altstack
        top = sp
        if flags & SA_ONSTACK and ss_size and not self.on_altstack(sp):
            top = ss_sp + ss_size
        record = (top - sigframe.FRAME_RECORD_SIZE) & ~15
        frame = record - sigframe.FRAME_SIZE
        data = sigframe.build(cpu, entry.info if flags & SA_SIGINFO else None, old_mask,
                              (ss_sp, self.altstack_flags(sp), ss_size),
                              entry.fault_address, entry.esr)
        try:
            restorer = act.restorer if flags & SA_RESTORER else self._trampoline(task)
            task.mem.write(frame, bytes(data))
            task.mem.write(record, struct.pack("<QQ", cpu.x[29], cpu.x[30]))
        except (MemFault, OSError):
            # no room for the frame (a stack overflow without an alternate stack):
            # Linux's force_sigsegv, the end of the process
            crash.report(task, signal.SIGSEGV,
                         f"cannot write the frame of signal {sig} at {frame:#x}")
            raise TaskExit(0, signal.SIGSEGV, core=True) from None
        if ss_bits & SS_AUTODISARM:
            self.altstack = (0, 0, 0)
        cpu.x[0] = sig
        if flags & SA_SIGINFO:
            cpu.x[1] = frame
            cpu.x[2] = frame + sigframe.UC
        cpu.x[29] = record
        cpu.x[30] = restorer
        cpu.x[31] = frame
        cpu.pc = act.handler
        self.blocked |= act.mask | (0 if flags & SA_NODEFER else bit(sig))
        self.blocked &= ~UNBLOCKABLE
        if flags & SA_RESETHAND:
            act.handler = SIG_DFL
            self.publish_actions()

    def _trampoline(self, task) -> int:
        """The return address of a handler without SA_RESTORER: Linux's is in the vDSO;
        mkemu has none, so one read-only executable page holds `mov x8, #139; svc #0`.
        It goes where a vDSO would, above the mmap area (not into a hole the guest left:
        a guest that reads a page it unmapped must fault), once per address space (the
        threads of a process find the one another made)."""
        if self.trampoline is not None and self.trampoline[0] is task.space:
            return self.trampoline[1]
        space = task.space
        vma = space.find(space.mmap_base)
        if vma is not None and vma.name == "[sigreturn]":
            addr = vma.start
        else:
            addr = space.mmap(space.mmap_base if vma is None else 0, 4096,
                              PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                              name="[sigreturn]")
            vma = None
        if vma is None or not vma.prot & PROT_EXEC:
            # made here, or by another thread that may not have filled it yet (two
            # threads' first handlers at once): each fills it and makes it
            # executable; the same bytes, and a write that faults found it done
            try:
                task.mem.write(addr, struct.pack("<II", 0xD2801168, 0xD4000001))
            except MemFault:
                pass
            space.mprotect(addr, 4096, PROT_READ | PROT_EXEC)
        self.trampoline = (space, addr)
        return addr

    # ---- sleeping until a signal -----------------------------------------------------
    def sleep(self, task, ready, deadline_ns: int | None = None) -> bool:
        """Sleep until ready() (checked first, and after each host signal) or until the
        CLOCK_MONOTONIC deadline; True when ready.  The host signals are blocked and
        taken with sigtimedwait, so none can slip in between the check and the sleep."""
        was, task.in_syscall = task.in_syscall, False
        old = signal.pthread_sigmask(signal.SIG_BLOCK, HOST_SIGNALS)
        try:
            while not ready():
                if deadline_ns is None:
                    info = signal.sigwaitinfo(HOST_SIGNALS)
                else:
                    left = deadline_ns - time.monotonic_ns()
                    if left <= 0:
                        return False
                    info = signal.sigtimedwait(HOST_SIGNALS, min(left, 1 << 50) / 1e9)   # (a chunk)
                    if info is None:
                        continue
                if info.si_signo == CARRIER and self.on_carrier is not None:
                    self.on_carrier()     # (a ring of the door: its handler cannot run)
                self.host_signal(info.si_signo)
                task.cpu.pending = True
            return True
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
            task.in_syscall = was


def install_host_handlers(task) -> None:
    """Host signals aimed at the task become pending guest signals."""

    def on_signal(signum, frame):
        task.sig.host_signal(signum)
        task.cpu.pending = True
        if task.in_syscall and task.sig.interrupting():
            task.in_syscall = False     # once: a second signal must not hit the EINTR path
            raise InterruptedSyscall()

    for s in HOST_SIGNALS:
        signal.signal(s, on_signal)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)   # EPIPE becomes a guest SIGPIPE in the write path
