"""Guest signal state: dispositions, the blocked mask, pending signals.

This foundation records what rt_sigaction / rt_sigprocmask set and applies
default actions (terminate, core, ignore).  Delivery to guest handlers with
the kernel's aarch64 rt_sigframe is the next step; until then a signal that
has a handler is logged once and dropped: it never takes the default action,
which would kill a guest that asked to catch it (a shell's `trap ... WINCH`).
"""
from __future__ import annotations

import signal
from dataclasses import dataclass

from .errors import InterruptedSyscall, TaskExit

SIG_DFL, SIG_IGN = 0, 1
NSIG = 64

_IGNORE_BY_DEFAULT = {signal.SIGCHLD, signal.SIGURG, signal.SIGWINCH, signal.SIGCONT}
_STOP_BY_DEFAULT = {signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU}
_CORE_BY_DEFAULT = {signal.SIGQUIT, signal.SIGILL, signal.SIGTRAP, signal.SIGABRT, signal.SIGBUS,
                    signal.SIGFPE, signal.SIGSEGV, signal.SIGXCPU, signal.SIGXFSZ, signal.SIGSYS}
# host signals that become guest signals of the same number
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2, signal.SIGALRM, signal.SIGWINCH)

# other host signals a task turns into guest ones (another guest process sent them
# with kill, or the broker tells a parent of its child's end)
CAUGHT_IN_TASK = (signal.SIGCHLD, signal.SIGURG, signal.SIGVTALRM, signal.SIGPROF,
                  signal.SIGXCPU, signal.SIGXFSZ, signal.SIGIO, signal.SIGPWR)


@dataclass
class Action:
    handler: int = SIG_DFL
    flags: int = 0
    restorer: int = 0
    mask: int = 0


class SignalState:
    def __init__(self) -> None:
        self.actions = [Action() for _ in range(NSIG + 1)]
        self.blocked = 0
        self.pending: set[int] = set()
        self.altstack = (0, 0, 2)    # ss_sp, ss_size, ss_flags (SS_DISABLE)
        self.undelivered_logged: set[int] = set()

    def exec_reset(self) -> None:
        for a in self.actions:
            if a.handler != SIG_IGN:
                a.handler, a.flags, a.restorer, a.mask = SIG_DFL, 0, 0, 0
        self.altstack = (0, 0, 2)

    def raise_signal(self, sig: int) -> None:
        self.pending.add(sig)

    def deliver(self, task) -> None:
        """Act on pending, unblocked signals (default actions only, for now)."""
        for sig in sorted(self.pending):
            if self.blocked & (1 << (sig - 1)) and sig not in (signal.SIGKILL, signal.SIGSTOP):
                continue
            self.pending.discard(sig)
            if not self._acts(sig):
                continue
            if self.actions[sig].handler != SIG_DFL:
                self._drop_for_handler(task, sig)
            else:
                raise TaskExit(0, sig, core=sig in _CORE_BY_DEFAULT)

    def _acts(self, sig: int) -> bool:
        """Whether sig does anything when delivered: a guest handler, or a default action
        that ends the process (SIG_IGN and the ignore- and stop-by-default ones do not)."""
        handler = self.actions[sig].handler
        if handler == SIG_DFL:
            return sig not in _IGNORE_BY_DEFAULT and sig not in _STOP_BY_DEFAULT
        return handler != SIG_IGN

    def interrupting(self) -> bool:
        """Whether a pending, unblocked signal would act (a handler, or a default action
        that ends the process): what breaks a blocking call with EINTR.  An ignored one
        (SIG_IGN, or ignored or stopping by default) lets it sleep on, as Linux does."""
        return any(not self.blocked >> (sig - 1) & 1 and self._acts(sig) for sig in self.pending)

    def _drop_for_handler(self, task, sig: int) -> None:
        if sig not in self.undelivered_logged:
            self.undelivered_logged.add(sig)
            task.log(f"signal {sig} has a guest handler; handler delivery is not built yet, "
                     "the signal is dropped")


def install_host_handlers(task) -> None:
    """Host signals aimed at the task become pending guest signals."""

    def on_signal(signum, frame):
        task.sig.raise_signal(signum)
        task.cpu.pending = True
        if task.in_syscall and task.sig.interrupting():   # an ignored one lets it sleep on
            raise InterruptedSyscall()

    for s in (*FORWARDED, *CAUGHT_IN_TASK):
        signal.signal(s, on_signal)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)   # EPIPE becomes a guest SIGPIPE in the write path
