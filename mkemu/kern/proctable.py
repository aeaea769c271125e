"""The machine's processes as the broker keeps them: the tree, groups, sessions, zombies.

One `Proc` per guest process, and one per further thread of a thread group
(its `group` is the process's record, which is also its first thread's).
Guest pids
are the machine's own numbers from FIRST_PID up, never host pids.  A process
that ended stays a zombie, its wait status kept, until its parent reaps it
with wait4/waitid; its children go to the machine's first process (its
init), as Linux reparents orphans to init.  Everything here is plain data the
broker changes one message at a time; sending and reaping are the broker's.
"""
from __future__ import annotations

import errno
import os
import time

from ..hostdirs import remove_tree
from ..record import field, record


FIRST_PID = 1000

P_ALL, P_PID, P_PGID = 0, 1, 2
WNOHANG, WUNTRACED, WEXITED, WCONTINUED = 1, 2, 4, 8
WNOWAIT = 0x0100_0000
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 5, 6
SIGCONT = 18
CONTINUED_STATUS = 0xFFFF              # wait status of a continued child (WIFCONTINUED)

# Proc.chld: how the process takes SIGCHLD, which decides what its children's
# stops and ends do (the task says so when sigaction changes it)
CHLD_NOCLDSTOP = 1                     # SA_NOCLDSTOP: no SIGCHLD for stops and continues
CHLD_AUTOREAP = 2                      # SA_NOCLDWAIT or SIG_IGN: ended children leave no zombie
CHLD_IGNORED = 4                       # SIG_IGN: no SIGCHLD at all


def si_status(code: int, status: int) -> int:
    """waitid's and SIGCHLD's si_status for a wait status: the exit code, or the
    signal that ended, stopped or continued the child."""
    if code in (CLD_EXITED, CLD_STOPPED):
        return (status >> 8) & 0xFF
    if code == CLD_CONTINUED:
        return SIGCONT
    return status & 0x7F


def stopped_status(sig: int) -> int:
    """The wait status of a child stopped by sig (WIFSTOPPED)."""
    return (sig << 8) | 0x7F


@record(eq=False)
class Proc:
    pid: int
    ppid: int
    chan: object                       # the broker's end of its Channel
    host_pid: int | None = None        # known once the child says Hello (or the parent Forked)
    pidfd: int = -1
    pgid: int = 0
    sid: int = 0
    holdings: object = None            # mm.holdings.Holdings: its frames, reclaimed at death
    comm: str = ""
    cmdline: bytes = b""
    exe: str = ""
    execed: bool = False               # setpgid on a child that exec'd is EACCES
    started: float = field(default_factory=time.monotonic)
    exit: object = None                # its ExitGroup message, if it said goodbye
    alive: bool = True                 # its host process has not been reaped
    status: int | None = None          # guest wait status once ended (a zombie until reaped)
    code: int = 0                      # waitid si_code of that status
    vfork_parent: "Proc | None" = None   # waiting for this child to exec or end
    chan_closed: bool = False
    pdeathsig: int = 0                 # sent to it when its parent ends (PR_SET_PDEATHSIG)
    gone_cpu: tuple = (0.0, 0.0)       # (user, system) s of its threads that have ended
    end_cpu: tuple = (0.0, 0.0)        # ... of the whole process, once it ended
    children_cpu: tuple = (0.0, 0.0)   # ... of its children it waited for (and theirs)
    end_maxrss: int = 0                # its peak of pages present (kB), as it ended
    children_maxrss: int = 0           # the largest of its waited-for descendants'
    stopped: int = 0                   # the signal that stopped it (job control), 0: running
    # a stop or continue its parent has not collected with WUNTRACED/WCONTINUED:
    # (wait status, si_code), or None
    change: tuple[int, int] | None = None
    chld: int = 0                      # CHLD_* bits: how it takes its children's SIGCHLD
    ctty: int = 0                      # st_rdev of its controlling terminal, 0: none
    mailbox: object = None             # socket: siginfo for the signals the broker sends it
    door: object = None                # socket: questions for its task (kern/introspect.py)
    # threads: the process's record is its first thread's; a further thread's record has
    # the process's pid, its own tid, channel, host process and mailbox, and `group`
    tid: int = 0
    group: "Proc | None" = None        # set on the records of further threads
    members: list = field(default_factory=list)   # a group's live threads (empty: one)
    group_status: int | None = None    # how a group ends once one thread decided it
    ctl: object = None                 # the shared space's MmControl (threads' blocked masks)
    slot: int = -1                     # this thread's slot in it
    shared_pending: list = field(default_factory=list)   # (sig, siginfo) every thread blocked
    # (sig, siginfo, process-directed) sent to a thread before it said Hello (no mailbox
    # yet): sent on when it does
    held: list = field(default_factory=list)
    leaving: bool = False              # a thread that said Leaving: no signal goes to it

    @property
    def grp(self) -> "Proc":
        """The process this thread belongs to."""
        return self.group or self

    def hosts(self) -> list["Proc"]:
        """The records of the host processes that run it (each thread's)."""
        if self.members:
            return [m for m in self.members if m.pidfd >= 0]
        return [self] if self.pidfd >= 0 else []

    @property
    def zombie(self) -> bool:
        return self.status is not None


class ProcTable:
    def __init__(self) -> None:
        self.procs: dict[int, Proc] = {}
        self.threads: dict[int, Proc] = {}     # tid -> record of a thread that is not the first
        self.next_pid = FIRST_PID
        self.init: Proc | None = None
        self.listing: str | None = None   # a host directory with an entry per pid (/proc's listing)

    def new(self, ppid: int, chan, parent: Proc | None = None) -> Proc:
        pid = self.next_pid
        self.next_pid += 1
        p = Proc(pid, ppid, chan, tid=pid)
        if parent is not None:
            p.pgid, p.sid = parent.pgid, parent.sid
            p.comm, p.cmdline, p.exe = parent.comm, parent.cmdline, parent.exe
            p.chld = parent.chld             # fork keeps the signal dispositions
            p.ctty = parent.ctty
        else:
            p.pgid = p.sid = pid
        self.procs[pid] = p
        if self.init is None:
            self.init = p
        if self.listing:
            _listing_add(self.listing, pid)
        return p

    def new_thread(self, group: Proc, chan) -> Proc:
        """A further thread of process `group`."""
        tid = self.next_pid
        self.next_pid += 1
        th = Proc(group.pid, group.ppid, chan, tid=tid, group=group)
        if not group.members:
            group.members.append(group)
        group.members.append(th)
        self.threads[tid] = th
        if self.listing:
            os.makedirs(os.path.join(self.listing, str(group.pid), "task", str(tid)), exist_ok=True)
        return th

    def thread_gone(self, th: Proc) -> None:
        self.threads.pop(th.tid, None)
        if self.listing:
            try:
                os.rmdir(os.path.join(self.listing, str(th.pid), "task", str(th.tid)))
            except OSError:
                pass

    def by_tid(self, tid: int) -> Proc | None:
        return self.threads.get(tid) or self.procs.get(tid)

    def children(self, p: Proc) -> list[Proc]:
        return [c for c in self.procs.values() if c.ppid == p.pid]

    def live(self) -> list[Proc]:
        return [p for p in self.procs.values() if not p.zombie]

    # ---- wait ----------------------------------------------------------------------
    def _matches(self, parent: Proc, child: Proc, idtype: int, id_: int) -> bool:
        if child.ppid != parent.pid:
            return False
        if idtype == P_PID:
            return child.pid == id_
        if idtype == P_PGID:
            return child.pgid == id_
        return True

    def find_waitable(self, parent: Proc, idtype: int, id_: int,
                      options: int = WEXITED) -> tuple[bool, Proc | None, bool]:
        """(has a matching child, one with something to report or None, whether that
        is its end (else a stop or continue, Proc.change)), for the wait options."""
        any_child = False
        for c in self.procs.values():
            if self._matches(parent, c, idtype, id_):
                any_child = True
                if c.zombie:
                    if options & WEXITED:
                        return True, c, True
                elif c.change is not None:
                    code = c.change[1]
                    if options & (WUNTRACED if code == CLD_STOPPED else WCONTINUED):
                        return True, c, False
        return any_child, None, False

    def reap(self, child: Proc) -> None:
        if self.procs.pop(child.pid, None) is not None and self.listing:
            _listing_drop(self.listing, child.pid)

    # ---- orphans ---------------------------------------------------------------------
    def reparent_children(self, p: Proc) -> list[Proc]:
        """p ended: its children become init's.  The ones that already ended are returned
        (init must hear of them)."""
        ended = []
        new_parent = self.init.pid if self.init is not None and self.init is not p else 0
        for c in self.children(p):
            c.ppid = new_parent
            if c.zombie:
                ended.append(c)
        return ended

    # ---- groups and sessions ----------------------------------------------------------
    def setpgid(self, caller: Proc, pid: int, pgid: int) -> int:
        if pgid < 0:
            return -errno.EINVAL
        target = caller if pid == 0 else self.procs.get(pid)
        if target is None or target.zombie or \
                target is not caller and target.ppid != caller.pid:
            return -errno.ESRCH
        if target is not caller and target.sid != caller.sid:
            return -errno.EPERM
        if target is not caller and target.execed:
            return -errno.EACCES
        if target.pid == target.sid:
            return -errno.EPERM              # a session leader stays in its group
        pgid = pgid or target.pid
        if pgid != target.pid and not any(p.pgid == pgid and p.sid == caller.sid
                                          for p in self.live()):
            return -errno.EPERM
        target.pgid = pgid
        return 0

    def getpgid(self, caller: Proc, pid: int) -> int:
        p = caller if pid == 0 else self.procs.get(pid)
        return -errno.ESRCH if p is None else p.pgid

    def getsid(self, caller: Proc, pid: int) -> int:
        p = caller if pid == 0 else self.procs.get(pid)
        return -errno.ESRCH if p is None else p.sid

    def setsid(self, caller: Proc) -> int:
        if any(p.pgid == caller.pid for p in self.live()):
            return -errno.EPERM              # a group leader (or its id in use) cannot
        caller.pgid = caller.sid = caller.pid
        caller.ctty = 0                      # a new session has no terminal yet
        return caller.pid

    # ---- kill targets -------------------------------------------------------------------
    def kill_targets(self, caller: Proc, pid: int) -> list[Proc] | None:
        """The processes kill(pid, ...) reaches (zombies included: they exist but ignore
        it); None: no such process or group (ESRCH)."""
        if pid > 0:
            p = self.procs.get(pid)
            return None if p is None else [p]
        if pid == -1:
            return [p for p in self.procs.values() if p is not self.init and p is not caller]
        group = caller.pgid if pid == 0 else -pid
        found = [p for p in self.procs.values() if p.pgid == group]
        return found or None

    def orphaned_group(self, pgid: int) -> bool:
        """Whether no live member of group pgid has a parent in another group of the same
        session: a terminal's stop signals are discarded there (no shell would resume it)."""
        for p in self.live():
            if p.pgid != pgid:
                continue
            if p.ppid == 0:
                return False       # the first process: its parent is mkemu, which resumes it
            parent = self.procs.get(p.ppid)
            if parent is not None and not parent.zombie and parent.pgid != pgid \
                    and parent.sid == p.sid:
                return False
        return True

    def info(self, pid: int) -> dict | None:
        """What /proc/PID shows; for a thread's tid, its process's with its own name."""
        th = self.by_tid(pid)
        if th is None:
            return None
        p = th.grp
        return {"pid": p.pid, "ppid": p.ppid, "pgid": p.pgid, "sid": p.sid, "comm": th.comm,
                "cmdline": p.cmdline, "exe": p.exe, "state": "Z" if p.zombie else "T" if p.stopped else "S",
                "host_pid": p.host_pid, "tid_host_pid": th.host_pid, "started": p.started,
                "threads": [m.tid for m in p.members] or [p.pid],
                "host_pids": [m.host_pid for m in p.members if m.host_pid is not None]
                or [p.host_pid],
                "cpu": cpu_ticks([m.host_pid for m in p.members] or [p.host_pid], p.gone_cpu),
                "gone_cpu": p.gone_cpu, "children_cpu": p.children_cpu,
                "children_maxrss": p.children_maxrss}


def cpu_ticks(host_pids, gone=(0.0, 0.0)) -> tuple[int, int]:
    """(utime, stime) in clock ticks of a guest process: its task processes' on the host
    (each thread's), as the host's /proc/PID/stat counts them, and gone (seconds) of
    its threads that have ended."""
    utime, stime = int(gone[0] * 100), int(gone[1] * 100)
    for host_pid in host_pids:
        if host_pid is None:
            continue
        try:
            with open(f"/proc/{host_pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue                          # gone meanwhile
        utime += int(fields[11])
        stime += int(fields[12])
    return utime, stime


# The /proc listing's entry of a process: PID/task/PID (its first thread).  Three mkdir
# or rmdir calls (a fork and a reap are hot; makedirs and rmtree took ten times more).
def _listing_add(listing: str, pid: int) -> None:
    top = os.path.join(listing, str(pid))
    try:
        os.mkdir(top)
        os.mkdir(os.path.join(top, "task"))
        os.mkdir(os.path.join(top, "task", str(pid)))
    except FileExistsError:
        os.makedirs(os.path.join(top, "task", str(pid)), exist_ok=True)


def _listing_drop(listing: str, pid: int) -> None:
    top = os.path.join(listing, str(pid))
    try:
        os.rmdir(os.path.join(top, "task", str(pid)))
        os.rmdir(os.path.join(top, "task"))
        os.rmdir(top)
    except OSError:                           # more in it (threads' entries): all of it
        remove_tree(top)
