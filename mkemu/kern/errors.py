"""The kernel's own exceptions: how a handler leaves the normal path.

They live apart from the code that raises them (signals, syscalls, the task
loop) so that every kern module can import them at the top without an
import circle.  None of them reaches the guest as a Python error: the task
loop and the syscall dispatcher turn each into an exit or an errno.
"""
from __future__ import annotations


class TaskExit(Exception):
    """Raised by exit/exit_group and fatal signals to leave the run loop."""

    def __init__(self, code: int = 0, sig: int = 0, core: bool = False,
                 thread: bool = False) -> None:
        super().__init__(f"exit code={code} signal={sig}")
        self.code, self.sig, self.core = code, sig, core
        self.thread = thread          # exit(2) of one thread of a group


class InterruptedSyscall(Exception):
    """Raised by a host signal handler to break a blocking host call (PEP 475)."""
