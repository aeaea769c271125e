"""Controlling terminals and job control, as the broker keeps them.

The host's line discipline does the terminal's work (echo, line editing,
^C recognised as VINTR); the guest's sessions and process groups are the
broker's, so which guest processes a terminal belongs to is kept here:

* `Terminal`: one per host terminal device a guest session uses (keyed by
  st_rdev): the session it controls and its foreground process group.
* `Proc.ctty`: the controlling terminal of each process (0: none).  A session
  leader gets one with TIOCSCTTY or by opening a terminal without O_NOCTTY;
  fork keeps it, setsid drops it.
* The job-control checks of Linux's tty_check_change and job_control: a
  process of a background group that reads its controlling terminal gets
  SIGTTIN (its whole group does), one that changes it (tcsetattr,
  tcsetpgrp; a write with TOSTOP) gets SIGTTOU; EIO where the signal is
  ignored, blocked or the group is orphaned.

The task processes have no host controlling terminal at all (the first one
calls setsid), so the host never stops or signals them for terminal access:
the checks here decide.  The broker process does hold the terminal (the
user's, or the pty of `mkemu boot`), so the terminal's own signals (^C, ^Z,
^\\, a resize) reach it, and `Broker` sends them on to the foreground group.
"""
from __future__ import annotations

import errno
import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)

from ..record import record
from .proctable import Proc, ProcTable

# what a job-control check answers besides 0 and -errno: the caller's group
# was sent the signal; the caller raises it itself and its call is interrupted
SIGNALLED = 1


@record
class Terminal:
    rdev: int
    path: str            # the host device, for opening /dev/tty
    sid: int = 0         # the session it controls, 0: none
    fg: int = 0          # the foreground process group


class Terminals:
    def __init__(self, table: ProcTable, send) -> None:
        self.table = table
        self.send = send                  # send(proc, sig): the broker's signal sender
        self.by_rdev: dict[int, Terminal] = {}
        self.machine: Terminal | None = None   # the one whose signals reach the broker
        # whether mkemu itself is a background job of the host's shell on that terminal:
        # then every guest group is in the background there too
        self.host_background = lambda: False

    def _get(self, rdev: int, path: str = "") -> Terminal:
        term = self.by_rdev.get(rdev)
        if term is None:
            term = self.by_rdev[rdev] = Terminal(rdev, path)
        elif path and not term.path:
            term.path = path
        return term

    def attach_machine(self, rdev: int, path: str, leader: Proc) -> None:
        """The terminal mkemu runs on becomes the controlling terminal of the first
        process's session, with its group in the foreground."""
        term = self.machine = self._get(rdev, path)
        self._acquire(term, leader)

    def _acquire(self, term: Terminal, leader: Proc) -> None:
        term.sid, term.fg = leader.sid, leader.pgid
        for p in self.table.live():
            if p.sid == leader.sid and (p is leader or not p.ctty):
                p.ctty = term.rdev

    def _controlling(self, proc: Proc, rdev: int) -> Terminal | None:
        """The terminal rdev if it is proc's controlling terminal."""
        term = self.by_rdev.get(rdev)
        if term is None or proc.ctty != rdev or term.sid != proc.sid:
            return None
        return term

    # ---- requests from the tasks -----------------------------------------------------
    def request(self, proc: Proc, op: str, rdev: int, arg: int, path: str) -> tuple[int, str]:
        if op == "ctty":
            term = self.by_rdev.get(proc.ctty)
            if term is None or term.sid != proc.sid or not term.path:
                return -errno.ENXIO, ""
            return 0, term.path
        if op == "open":                  # arg: no O_NOCTTY, so a session leader may take it
            term = self._get(rdev, path)
            if arg and proc.pid == proc.sid and not proc.ctty and not term.sid:
                self._acquire(term, proc)
            return 0, ""
        if op == "sctty":
            return self._set_ctty(proc, self._get(rdev, path), steal=arg == 1), ""
        if op == "notty":
            return self._no_ctty(proc, rdev), ""
        term = self._controlling(proc, rdev)
        if op in ("read", "write", "setattr"):
            return self.job_check(proc, term, op, ignored=bool(arg)), ""
        if term is None:
            return -errno.ENOTTY, ""
        if op == "gpgrp":
            return term.fg, ""
        if op == "gsid":
            return term.sid, ""
        if op == "spgrp":
            return self._set_fg(proc, term, arg), ""
        return -errno.EINVAL, ""

    def _set_ctty(self, proc: Proc, term: Terminal, steal: bool) -> int:
        if proc.ctty == term.rdev and term.sid == proc.sid:
            return 0
        if proc.pid != proc.sid or proc.ctty:
            return -errno.EPERM
        if term.sid and term.sid != proc.sid:
            if not steal:
                return -errno.EPERM
            for p in self.table.live():          # the old session loses it
                if p.ctty == term.rdev:
                    p.ctty = 0
        self._acquire(term, proc)
        return 0

    def _no_ctty(self, proc: Proc, rdev: int) -> int:
        term = self._controlling(proc, rdev)
        if term is None:
            return -errno.ENOTTY
        if proc.pid == proc.sid:
            # the leader lets go: its foreground group hears the hangup, the session
            # loses the terminal (Linux's disassociate_ctty)
            for p in self._group(term.fg, term.sid):
                self.send(p, signal.SIGHUP)
                self.send(p, signal.SIGCONT)
            for p in self.table.live():
                if p.sid == proc.sid and p.ctty == rdev:
                    p.ctty = 0
            term.sid = term.fg = 0
        else:
            proc.ctty = 0
        return 0

    def _set_fg(self, proc: Proc, term: Terminal, pgrp: int) -> int:
        """tcsetpgrp (the task made the job-control check first)."""
        if pgrp < 0:
            return -errno.EINVAL
        members = [p for p in self.table.live() if p.pgid == pgrp]
        if not members:
            return -errno.ESRCH
        if all(p.sid != term.sid for p in members):
            return -errno.EPERM
        term.fg = pgrp
        return 0

    def job_check(self, proc: Proc, term: Terminal | None, op: str, ignored: bool) -> int:
        """Whether proc may read or change term now: 0, -EIO, or SIGNALLED (its group was
        sent SIGTTIN or SIGTTOU).  ignored: the caller ignores or blocks that signal."""
        if term is None or not term.sid:
            return 0
        if term.fg == proc.pgid and not (term is self.machine and self.host_background()):
            return 0
        if op != "read" and ignored:
            return 0                      # a background write or change goes ahead
        if ignored or self.table.orphaned_group(proc.pgid):
            return -errno.EIO
        sig = signal.SIGTTIN if op == "read" else signal.SIGTTOU
        for p in self._group(proc.pgid, proc.sid):
            if p is not proc:
                self.send(p, sig)
        return SIGNALLED

    def _group(self, pgid: int, sid: int) -> list[Proc]:
        return [p for p in self.table.live() if p.pgid == pgid and p.sid == sid]

    def of(self, proc: Proc) -> tuple[int, int]:
        """/proc/PID/stat's tty_nr (the controlling terminal's device number as the
        kernel encodes it) and tpgid (its foreground group, -1 without one)."""
        term = self.by_rdev.get(proc.ctty)
        if term is None or term.sid != proc.sid:
            return 0, -1
        major, minor = os.major(term.rdev), os.minor(term.rdev)
        return (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12), term.fg

    # ---- the terminal's own signals --------------------------------------------------------
    def foreground(self) -> list[Proc]:
        """The processes a signal from the machine's terminal reaches: its foreground
        group, or, when no guest session holds it, the first process's group."""
        term = self.machine
        if term is not None and term.sid:
            return self._group(term.fg, term.sid)
        init = self.table.init
        return [p for p in self.table.live() if init is not None and p.pgid == init.pgid]

    def session_ended(self, proc: Proc) -> None:
        """proc, a session leader, ended: its terminal is free (Linux sends the
        foreground group SIGHUP then)."""
        for term in self.by_rdev.values():
            if term.sid == proc.pid:
                for p in self._group(term.fg, term.sid):
                    if p is not proc:
                        self.send(p, signal.SIGHUP)
                        self.send(p, signal.SIGCONT)
                term.sid = term.fg = 0
