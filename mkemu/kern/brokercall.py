"""Requests from a task to the broker, made safe against host signals.

While a syscall handler runs, the task's host signal handler raises
InterruptedSyscall (so a blocking host call returns EINTR).  A request to the
broker must never be cut between its send and its reply, or the channel
would be out of step: `call` holds that off for the whole exchange (the
signal stays pending).  `wait` is for requests whose reply comes when
something happens (a child ends, a futex is woken): it sleeps in poll(),
where a signal may break in; if the signal acts (kern/signals.py), it sends
the request's cancel message and reads until the broker says whether the
answer had already been sent.
"""
from __future__ import annotations

import select

from .errors import InterruptedSyscall


def call(t, msg, reply_type, fds: tuple[int, ...] = ()):
    """Send msg and return its reply; no signal interrupts the exchange."""
    was, t.in_syscall = t.in_syscall, False
    try:
        return t.chan.call(msg, reply_type, fds)
    finally:
        t.in_syscall = was


def send(t, msg) -> None:
    """A notification (no reply)."""
    was, t.in_syscall = t.in_syscall, False
    try:
        t.chan.send(msg)
    finally:
        t.in_syscall = was


def _signal_acts(t) -> bool:
    sig = getattr(t, "sig", None)
    return sig is not None and sig.interrupting()


def _poller(chan) -> select.poll:
    p = select.poll()                     # not select(): the channel sits above fd 1024
    p.register(chan.sock, select.POLLIN)
    return p


def wait(t, msg, reply_type, cancel, cancel_reply_type, fds: tuple[int, ...] = ()):
    """Send msg and sleep until its reply; a guest signal that acts cancels it.  Returns
    the reply, or None when the broker dropped the request (the caller's -EINTR).

    Once a reply is read the call has happened (a child was reaped, a futex woken):
    the caller stays uninterruptible (in_syscall False) until the syscall returns, so
    a signal arriving now waits for that return instead of raising InterruptedSyscall
    in the caller and losing the reply (a waitpid that returned EINTR for a child
    the broker had already reaped)."""
    was = t.in_syscall
    t.in_syscall = False                  # a signal now stays pending: the send completes
    answered = False
    try:
        t.chan.send(msg, fds)
        while True:
            ready = False
            try:
                t.in_syscall = True
                if not _signal_acts(t):   # one that came before acts at once
                    ready = bool(_poller(t.chan).poll())
                t.in_syscall = False
            except InterruptedSyscall:
                t.in_syscall = False
                if getattr(t, "sig", None) is None:
                    break                 # a task without guest signal state (tests)
                continue                  # an ignored signal sleeps on; one that acts ends it
            if not ready:
                break
            reply = _recv(t, reply_type)
            answered = True
            return reply
        t.chan.send(cancel)
        result = None
        while True:
            reply = t.chan.recv()
            if isinstance(reply, reply_type):
                result = reply            # answered before the cancel arrived
                answered = True
            elif isinstance(reply, cancel_reply_type):
                return result
            else:
                raise RuntimeError(f"broker: unexpected {type(reply).__name__}")
    finally:
        if not answered:
            t.in_syscall = was


def _recv(t, want):
    msg = t.chan.recv()
    if not isinstance(msg, want):
        raise RuntimeError(f"broker: expected {want.__name__}, got {type(msg).__name__}")
    return msg
