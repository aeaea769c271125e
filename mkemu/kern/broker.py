"""The broker: the machine's kernel process, a loop over typed messages.

It owns what tasks share -- the process table (kern/proctable.py: guest
pids, the tree, groups, sessions, zombies), page-frame allocation and
reclaim, and the futex queues (kern/futex.py) -- and never runs guest code.
It maps the guest memory segment (futex words, frame reference counts).  It
is the host parent of every task process (a task forks its children with
CLONE_PARENT), so it reaps them all: a task that dies without saying goodbye
(SIGKILL, a crash of the interpreter) is reported as killed by its host
signal, its frames are taken back from its holdings bitmap, and the broker
and other tasks go on.  With `init_ends_machine` (set by kern/machine.py),
when the machine's first process ends every other process is killed, as
when a PID namespace's init exits.
"""
from __future__ import annotations

import ctypes
import errno
import os
import resource
import select
import _signal as signal     # (the C module: the signal module's enums cost every start-up)

from ..ipc import hostsock
from ..ipc import poller as selectors     # (the part of the selectors module it uses)
from ..ipc import protocol as P
from ..ipc.channel import Channel, ChannelClosed
from ..mm.holdings import Holdings
from ..mm.physmem import DEFAULT_SIZE, PAGE_SIZE, FramePool, PhysMem
from ..mm.sharedmm import MmControl
from . import introspect, sigframe
from .runs import runs as frame_runs
from .signals import CARRIER
from .futex import FutexQueues
from .sigfd import read_signals
from .terminals import Terminals
from .proctable import (CHLD_AUTOREAP, CHLD_IGNORED, CHLD_NOCLDSTOP, CLD_CONTINUED,
                        CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED, CONTINUED_STATUS,
                        FIRST_PID, P_PGID, WNOHANG, WNOWAIT, Proc, ProcTable, cpu_ticks,
                        si_status, stopped_status)

PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)

__all__ = ["Broker", "FIRST_PID", "die_with_parent", "wait_status_to_exit_code"]


def die_with_parent() -> None:
    """Have the host kill this process if its parent process dies."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _oops(proc, msg, e: Exception):
    """A handler raised: log it as mkemu's internal error (the request named) and refuse
    the request, which ends the asking task with its own internal error."""
    import traceback
    text = (f"mkemu: internal error in broker serving {type(msg).__name__} of pid "
            f"{proc.pid}:\n{traceback.format_exc()}")
    try:
        os.write(2, text.encode(errors="replace"))
    except OSError:
        pass
    return P.ErrorReply(msg.TYPE, f"internal error: {e!r}")


class Broker:
    def __init__(self, phys_fd: int, nframes: int = DEFAULT_SIZE // PAGE_SIZE) -> None:
        self.sel = selectors.DefaultSelector()
        self.table = ProcTable()
        self.status: int | None = None               # wait status of the first process
        self.init_ends_machine = False               # kill every process when the first ends
        self.calls = {
            P.MsgType.HELLO: self.on_hello,
            P.MsgType.GET_PPID: self.on_get_ppid,
            P.MsgType.FRAME_REQUEST: self.on_frame_request,
            P.MsgType.FRAME_RETURN: self.on_frame_return,
            P.MsgType.EXIT_GROUP: self.on_exit_group,
            P.MsgType.FUTEX_WAIT: self.on_futex_wait,
            P.MsgType.FUTEX_CANCEL: self.on_futex_cancel,
            P.MsgType.FUTEX_WAKE: self.on_futex_wake,
            P.MsgType.FUTEX_REQUEUE: self.on_futex_requeue,
            P.MsgType.FUTEX_WAKE_OP: self.on_futex_wake_op,
            P.MsgType.FORK: self.on_fork,
            P.MsgType.FORKED: self.on_forked,
            P.MsgType.PROC_UPDATE: self.on_proc_update,
            P.MsgType.WAIT: self.on_wait,
            P.MsgType.CANCEL: self.on_cancel,
            P.MsgType.KILL: self.on_kill,
            P.MsgType.TG_KILL: self.on_tg_kill,
            P.MsgType.EXEC_ALONE: self.on_exec_alone,
            P.MsgType.TAKE_SIGNALS: self.on_take_signals,
            P.MsgType.LEAVING: self.on_leaving,
            P.MsgType.RETURN_SIGNALS: self.on_return_signals,
            P.MsgType.SET_PGID: lambda p, m: P.Value(self.table.setpgid(p.grp, m.pid, m.pgid)),
            P.MsgType.GET_PGID: lambda p, m: P.Value(self.table.getpgid(p.grp, m.pid)),
            P.MsgType.GET_SID: lambda p, m: P.Value(self.table.getsid(p.grp, m.pid)),
            P.MsgType.SET_SID: lambda p, m: P.Value(self.table.setsid(p.grp)),
            P.MsgType.PROC_LIST: lambda p, m: P.ProcListReply(sorted(self.table.procs)),
            P.MsgType.PROC_INFO: self.on_proc_info,
            P.MsgType.STOP: self.on_stop,
            P.MsgType.INTROSPECT: self.on_introspect,
            P.MsgType.TTY: lambda p, m: P.TtyReply(*self.terms.request(p.grp, m.op, m.rdev,
                                                                       m.arg, m.path)),
            P.MsgType.IPC: self.on_ipc,
        }
        self.ipc = None          # the machine's IpcSpace (kern/ipcspace.py, set by machine.py)
        self.terms = Terminals(self.table, self.send)
        # called with the signal when the machine's first process stops (kern/machine.py
        # stops mkemu itself then, so the host's shell sees its job stop)
        self.on_init_stop = None
        # the broker keeps the segment's descriptor: it punches the frames it takes back
        self.phys = PhysMem(phys_fd, nframes * PAGE_SIZE) if phys_fd >= 0 else None
        self.nframes = nframes
        self.next_frame = self.phys.first_frame if self.phys else 1
        self.free_frames: list[int] = []
        self.futex = FutexQueues(self.phys.view if self.phys else None)
        self.waiting: dict[int, tuple[Proc, P.Wait]] = {}   # tid -> (thread, its pending Wait)
        self.burying = 0         # ended processes whose host process is still going away
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:                          # three descriptors per process
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    @property
    def tasks(self) -> dict[int, Proc]:
        return self.table.procs

    # ---- task creation ------------------------------------------------------------
    def spawn(self, child_main, ppid: int = 0) -> Proc:
        """Fork a task process running child_main(channel); the broker is its parent."""
        mine, theirs = Channel.pair()
        proc = self.table.new(ppid, mine)
        host_pid = os.fork()
        if host_pid == 0:
            try:
                mine.close()
                self.sel.close()
                die_with_parent()
                child_main(theirs)
            finally:
                os._exit(70)
        theirs.close()
        self.sel.register(mine.sock, selectors.EVENT_READ, (proc, "chan"))
        self._watch(proc, host_pid)
        return proc

    def watch_signals(self, fd: int, handler) -> None:
        """Serve a signalfd too: handler gets the (signo, si_code, si_pid) read from it."""
        self.sel.register(fd, selectors.EVENT_READ, (handler, "signals"))

    def _watch(self, proc: Proc, host_pid: int) -> None:
        """Learn proc's host process: from now its death is seen through a pidfd."""
        if proc.host_pid is not None or host_pid <= 0:
            return
        proc.host_pid = host_pid
        proc.pidfd = os.pidfd_open(host_pid)
        self.sel.register(proc.pidfd, selectors.EVENT_READ, (proc, "exit"))

    # ---- the server loop ------------------------------------------------------------
    def serve(self) -> int:
        """Serve until every task has exited; return the first process's wait status."""
        while self.burying or any(p.alive for p in self.table.procs.values()):
            for key, _ in self.sel.select(self.futex.next_timeout()):
                proc, kind = key.data
                # an earlier event of this batch may have ended this process already
                if kind == "chan" and not proc.chan_closed:
                    self._serve_one(proc)
                elif kind == "exit" and proc.pidfd >= 0:
                    self._reap(proc)
                elif kind == "gone":
                    self._bury(proc, key.fd)
                elif kind == "signals":
                    proc(read_signals(key.fd))
            self.futex.expire()
        return self.status if self.status is not None else 0

    def _serve_one(self, proc: Proc) -> None:
        try:
            msg = proc.chan.recv()
        except ChannelClosed:
            self._channel_closed(proc)
            return
        except P.BadMessage as e:
            reply = P.ErrorReply(e.kind, str(e))
        else:
            handler = self.calls.get(msg.TYPE)
            if handler is None:
                reply = P.ErrorReply(msg.TYPE, f"the broker does not serve {type(msg).__name__}")
            else:
                try:
                    reply = handler(proc, msg)
                except Exception as e:           # a bug of the broker's: the asker's oops,
                    reply = _oops(proc, msg, e)  # not the whole machine's end
        for fd in proc.chan.fds:                 # descriptors no handler took
            os.close(fd)
        proc.chan.fds = []
        if reply is not None:
            _tell(proc, reply)

    def _channel_closed(self, proc: Proc) -> None:
        try:
            self.sel.unregister(proc.chan.sock)
        except (KeyError, ValueError):
            pass
        proc.chan_closed = True
        if proc.host_pid is None and proc.alive:
            # a child whose fork never happened (its parent failed or died first): the
            # parent's references to its frames are in its holdings
            parent = self.table.procs.get(proc.ppid)
            if parent is None or not parent.alive:
                self._ended(proc, signal.SIGKILL, notify=False)

    def _reap(self, proc: Proc) -> None:
        _, wstatus, usage = os.wait4(proc.host_pid, 0)
        self.sel.unregister(proc.pidfd)
        os.close(proc.pidfd)
        proc.pidfd = -1
        # drain a goodbye that raced with the exit: what it sent is there already (a
        # thread's channel does not close when it dies: its siblings share the fd table)
        try:
            while proc.exit is None and not proc.chan_closed and \
                    select.select([proc.chan.sock], [], [], 0)[0]:
                self._serve_one(proc)
        except (OSError, KeyError, ValueError):
            pass
        if proc.exit is not None:
            guest = _exit_status(proc.exit)
        elif os.WIFSIGNALED(wstatus):
            guest = os.WTERMSIG(wstatus)          # the host process was killed: same signal
        else:
            guest = signal.SIGABRT                # it vanished without a word: a crash
        group = proc.grp
        # a thread's CPU time stays the process's (kern/groupcpu.py)
        user, system = group.gone_cpu
        group.gone_cpu = (user + usage.ru_utime, system + usage.ru_stime)
        if not group.members:
            self._ended(proc, guest)
            return
        # one thread of a group: the group ends with its last thread; an exit_group, a
        # fatal signal or a death without a goodbye takes the other threads down
        self._thread_gone(proc)
        if not (proc.exit is not None and proc.exit.thread):
            self._group_ends(group, guest)
        if not group.members:
            self._ended(group, guest if group.group_status is None else group.group_status)

    def _bury(self, proc: Proc, pidfd: int) -> None:
        """The host process of a process whose end was reported at its goodbye is gone:
        reap it and take back its frames."""
        os.waitpid(proc.host_pid, 0)
        self.sel.unregister(pidfd)
        os.close(pidfd)
        self.burying -= 1
        self._release_memory(proc)

    def _group_ends(self, group: Proc, status: int, sender: Proc | None = None) -> None:
        """A thread of group decided how the process ends (exit_group, a fatal signal,
        a death without a goodbye): the first decision stands, and the other threads
        (all but the sender) are killed."""
        if group.group_status is None:
            group.group_status = status
            _signal_hosts(group, signal.SIGKILL, but=sender)

    def _release_own(self, th: Proc) -> None:
        """What a thread's host process had of its own: its channel, mailbox, futex
        wait and pending Wait."""
        if not th.chan_closed:
            try:
                self.sel.unregister(th.chan.sock)
            except (KeyError, ValueError):
                pass
        th.chan.close()
        th.chan_closed = True
        if th.mailbox is not None:
            th.mailbox.close()
            th.mailbox = None
        if th.door is not None:
            th.door.close()
            th.door = None
        self.futex.drop(th)
        self.waiting.pop(th.tid, None)

    def _thread_gone(self, th: Proc) -> None:
        """A thread's host process is gone: what was its own goes (its record stays if it
        is the process's)."""
        self._release_own(th)
        group = th.grp
        if th in group.members:
            group.members.remove(th)
        if th is not group:
            th.alive = False
            self.table.thread_gone(th)
        held, th.held = th.held, []
        for sig, info, shared in held:     # it never said Hello: another thread takes them
            if shared and group.members:
                self.send(group, sig, info)

    def _ended(self, proc: Proc, status: int, notify: bool = True,
               host_gone: bool = True) -> None:
        """proc's host process is gone: take back what it held, make it a zombie, tell
        its parent (notify False: a child that was never born, dropped silently).
        host_gone False: it is still going away (it said goodbye with its descriptors
        closed): its frames come back when _bury sees it gone."""
        self._release_own(proc)
        proc.alive = False
        proc.stopped, proc.change = 0, None
        # its CPU time, for the parent that waits for it: its reaped host processes',
        # and the one still going away (read now: its last moments are not counted)
        user, system = proc.gone_cpu
        if not host_gone and proc.host_pid is not None:
            ticks = cpu_ticks([proc.host_pid])
            user, system = user + ticks[0] / 100, system + ticks[1] / 100
        proc.end_cpu = (user, system)
        if host_gone:
            self._release_memory(proc)
        else:
            self.sel.modify(proc.pidfd, selectors.EVENT_READ, (proc, "gone"))
            proc.pidfd = -1                   # no signal goes to it any more
            self.burying += 1
        self._release_vfork_parent(proc)
        if proc.pid == proc.sid:
            self.terms.session_ended(proc)
        sig = status & 0x7F
        proc.status = status
        proc.code = CLD_EXITED if not sig else CLD_DUMPED if status & 0x80 else CLD_KILLED
        if proc is self.table.init:
            self.status = status
            for other in self.table.procs.values():    # init is gone: so is its machine
                if self.init_ends_machine and other.alive:
                    _signal_hosts(other, signal.SIGKILL)
        for child in self.table.children(proc):
            if child.host_pid is None and child.chan_closed:
                self._ended(child, signal.SIGKILL, notify=False)   # never born: it died forking
            elif child.pdeathsig and child.alive and child.hosts():
                self.send(child, child.pdeathsig,
                          sigframe.siginfo_kill(child.pdeathsig, sigframe.SI_USER, proc.pid))
        for orphan in self.table.reparent_children(proc):
            if orphan.ppid == 0:
                self.table.reap(orphan)
            else:
                self._child_ended(orphan)
        if notify:
            self._child_ended(proc)
        else:
            self.table.reap(proc)

    def _release_memory(self, proc: Proc) -> None:
        """Take back the frames of a process whose host process is gone."""
        if proc.holdings is not None:
            # a space shared with CLONE_VM processes goes when the last of them ends
            proc.holdings.users -= 1
            if proc.holdings.users <= 0:
                if self.phys is not None:
                    self.free_frames.extend(self.phys.reclaim(proc.holdings, self.next_frame))
                proc.holdings.close()
            proc.holdings = None
        if proc.ctl is not None:
            proc.ctl.close()
            proc.ctl = None

    def _child_ended(self, child: Proc) -> None:
        parent = self.table.procs.get(child.ppid)
        if parent is None or parent.zombie:
            self.table.reap(child)                   # no one will wait for it
            return
        if parent.chld & CHLD_AUTOREAP:
            self.table.reap(child)                   # SA_NOCLDWAIT / SIGCHLD ignored: no zombie
        self._tell_parent(parent, child, child.code, child.status,
                          sigchld=not parent.chld & CHLD_IGNORED)

    def _tell_parent(self, parent: Proc, child: Proc, code: int, status: int,
                     sigchld: bool) -> None:
        """Something a wait may report happened to a child of parent: answer its pending
        Wait if it now can be, and send SIGCHLD (with si_code, the child's pid and
        status, as waitid would report them)."""
        if sigchld and parent.hosts() and not self._waits_quietly(parent):
            # first: it is pending when the wait returns
            self.send(parent, signal.SIGCHLD,
                      sigframe.siginfo_chld(code, child.pid, 0, si_status(code, status)))
        for tid, (waiter, msg) in list(self.waiting.items()):
            if waiter.grp is parent:
                reply = self._try_wait(parent, msg)
                if reply is not None:
                    del self.waiting[tid]
                    _tell(waiter, reply)

    def _waits_quietly(self, parent: Proc) -> bool:
        """parent (one thread) sleeps in a Wait that said its SIGCHLD is discarded now."""
        if parent.members:
            return False
        pending = self.waiting.get(parent.tid)
        return pending is not None and pending[1].quiet

    # ---- job control ------------------------------------------------------------------
    def stop(self, proc: Proc, sig: int) -> None:
        """Stop proc's host process for the stop signal sig and tell its parent."""
        if not proc.alive or proc.stopped or not proc.hosts():
            return
        proc.stopped = sig
        proc.change = (stopped_status(sig), CLD_STOPPED)
        _signal_hosts(proc, signal.SIGSTOP)    # every thread of the group stops
        for host in proc.hosts():
            try:
                # the parent hears of the stop once it has happened, as on Linux (WNOWAIT:
                # an exit that came first stays for _reap)
                os.waitid(os.P_PIDFD, host.pidfd, os.WSTOPPED | os.WEXITED | os.WNOWAIT)
            except ChildProcessError:
                pass
        self._job_changed(proc)
        if proc is self.table.init and self.on_init_stop is not None:
            self.on_init_stop(sig)

    def cont(self, proc: Proc) -> None:
        """SIGCONT: resume proc if stopped (telling its parent), and deliver the signal
        (the task takes the host SIGCONT as the guest one)."""
        if not proc.alive or not proc.hosts():
            return
        if proc.stopped:
            proc.stopped = 0
            proc.change = (CONTINUED_STATUS, CLD_CONTINUED)
            self._job_changed(proc)
        _signal_hosts(proc, signal.SIGCONT)

    def _job_changed(self, child: Proc) -> None:
        parent = self.table.procs.get(child.ppid)
        if parent is not None and not parent.zombie:
            status, code = child.change
            self._tell_parent(parent, child, code, status,
                              sigchld=not parent.chld & (CHLD_NOCLDSTOP | CHLD_IGNORED))

    def send(self, proc: Proc, sig: int, info: bytes | None = None) -> None:
        """Send a guest signal to another process: SIGSTOP and SIGCONT act here, the
        others reach its task as the same host signal.  info, the siginfo it gets, is
        mailed first (kern/signals.py takes it when the host signal comes)."""
        proc = proc.grp
        if not proc.alive or not proc.hosts() or not sig:
            return
        if sig == signal.SIGSTOP:
            self.stop(proc, sig)
            return
        if sig == signal.SIGKILL:
            _signal_hosts(proc, sig)
            return
        info = info or sigframe.siginfo_kill(sig, sigframe.SI_USER)
        target = self._thread_for(proc, sig)
        if target is None:             # every thread blocks it: pending for the process
            entry = (sig, info)
            if sig >= 32 or all(s != sig for s, _ in proc.shared_pending):
                proc.shared_pending.append(entry)
                proc.ctl.set_shared_pending(proc.ctl.shared_pending() | 1 << (sig - 1))
                # A thread may have unblocked it (sigtimedwait) after the masks were
                # read and looked at the pending bits before they were set: it would
                # sleep on a signal nobody sends it.  The bits are set first now, so
                # reading the masks again finds that thread.
                target = self._thread_for(proc, sig)
                if target is not None:
                    proc.shared_pending.remove(entry)
                    _publish_shared_pending(proc)
            if target is None:
                if sig == signal.SIGCONT:
                    self.cont(proc)
                return
        if sig == signal.SIGCONT:
            _mail(target, info, shared=True)
            self.cont(proc)
        else:
            _signal_thread(target, sig, info, shared=True)

    def _thread_for(self, proc: Proc, sig: int) -> Proc | None:
        """The thread a process-directed signal goes to: the first (the main thread
        first) that does not block it; None when a thread group blocks it in every
        thread (it waits in the process's shared pending set, TakeSignals)."""
        hosts = proc.hosts()
        if proc.ctl is None or not proc.members:
            return hosts[0] if hosts else proc
        bit = 1 << (sig - 1)
        ctl = proc.ctl
        for th in hosts:
            # A thread that left frees its slot before the broker sees its host process
            # end, and a new thread may take the slot at once: its mask there is not the
            # leaver's, and a signal sent to the leaver would be lost.
            if th.slot >= 0 and not th.leaving and ctl.slot_holder(th.slot) == th.host_pid \
                    and not ctl.blocked(th.slot) & bit:
                return th
        return None if sig not in (signal.SIGKILL, signal.SIGSTOP) else hosts[0]

    def on_take_signals(self, proc: Proc, msg: P.TakeSignals):
        group = proc.grp
        taken = [(s, i) for s, i in group.shared_pending if msg.mask >> (s - 1) & 1]
        group.shared_pending = [e for e in group.shared_pending if e not in taken]
        if group.ctl is not None:
            _publish_shared_pending(group)
        return P.SignalsReply([i for _, i in taken])

    def on_leaving(self, proc: Proc, msg: P.Leaving):
        proc.leaving = True
        return P.Value(0)

    def on_return_signals(self, proc: Proc, msg: P.ReturnSignals):
        """A leaving thread's process-directed signals: to the process again (it no
        longer counts as a thread that lets them in: Leaving)."""
        for info in msg.infos:
            sig = int.from_bytes(info[:4], "little")
            if 0 < sig <= 64:
                self.send(proc.grp, sig, info)
        return None

    def _release_vfork_parent(self, child: Proc) -> None:
        parent, child.vfork_parent = child.vfork_parent, None
        if parent is not None and parent.alive:
            _tell(parent, P.VforkDone())

    def signal_first(self, sig: int) -> None:
        """Send the machine's first process a host signal (one sent to mkemu itself)."""
        init = self.table.init
        if init is not None:
            self.send(init, sig)

    def frame_counts(self) -> tuple[int, int]:
        """(frames ever handed out, frames not back with the broker).  When every task has
        ended the second is 0: everything a machine's processes held came back."""
        first = self.phys.first_frame if self.phys else 1
        handed = self.next_frame - first
        return handed, handed - len(self.free_frames)

    def close(self) -> None:
        """Drop the selector and the segment's mapping (a broker that returns, as in tests)."""
        self.sel.close()
        self.futex.words = None
        if self.phys is not None:
            self.phys.counts.release()
            self.phys.mapping.unmap()

    # ---- handlers -----------------------------------------------------------------------
    def on_hello(self, proc: Proc, msg: P.Hello):
        if proc.chan.fds:                                # its signal mailbox comes last
            if proc.mailbox is not None:
                proc.mailbox.close()
            proc.mailbox = hostsock.socket(fileno=proc.chan.fds.pop())
            proc.mailbox.setblocking(False)
            if proc.door is not None:
                proc.door.close()
            proc.door = introspect.take_door(proc.mailbox)   # sent over it before Hello
        if proc.chan.fds and proc.holdings is None:      # the first task's frame holdings
            proc.holdings = Holdings(proc.chan.fds.pop(), self.nframes)
        self._watch(proc, msg.host_pid)
        held, proc.held = proc.held, []
        for sig, info, shared in held:   # sent before it could take a siginfo
            _signal_thread(proc, sig, info, shared)
        return None if msg.quiet else P.Welcome(proc.pid, proc.tid, proc.grp.ppid)

    def on_get_ppid(self, proc: Proc, msg: P.GetPpid):
        return P.PpidReply(proc.grp.ppid)

    def on_frame_request(self, proc: Proc, msg: P.FrameRequest):
        return P.FrameGrant(self._grant(msg.count))

    def _grant(self, count: int) -> list:
        want = max(0, count)
        frames = self.free_frames[-want:] if want else []
        del self.free_frames[len(self.free_frames) - len(frames):]
        runs = frame_runs(frames)
        n = min(want - len(frames), self.nframes - self.next_frame)
        if n > 0:
            runs.append((self.next_frame, n))
            self.next_frame += n
        return runs

    def on_frame_return(self, proc: Proc, msg: P.FrameReturn):
        for first, n in msg.runs:
            if first >= (self.phys.first_frame if self.phys else 1) and first + n <= self.next_frame:
                self.free_frames.extend(range(first, first + n))
        return None

    def on_exit_group(self, proc: Proc, msg: P.ExitGroup):
        proc.exit = msg
        proc.grp.end_maxrss = max(proc.grp.end_maxrss, msg.maxrss)
        if proc.grp.members and not msg.thread:
            # the other threads end now, not when this one is reaped
            self._group_ends(proc.grp, _exit_status(msg), sender=proc)
        elif msg.closed and proc.group is None and not proc.members and proc.pidfd >= 0:
            # one thread with nothing left open: it has ended as far as the guest can
            # see, so its parent hears now, not after the host tears the process down
            self._ended(proc, _exit_status(msg), host_gone=False)
        return None

    def on_fork(self, proc: Proc, msg: P.Fork):
        if len(proc.chan.fds) != 1 or self.phys is None:
            return P.ErrorReply(msg.TYPE, "Fork needs the child's holdings descriptor")
        fd = proc.chan.fds.pop()
        group = proc.grp
        mine, theirs = Channel.pair()
        if msg.share == "thread":
            child = self.table.new_thread(group, mine)
            if group.ctl is None:
                group.ctl = MmControl(fd)       # the threads' blocked masks are there
            else:
                os.close(fd)
            proc.slot, child.slot = msg.slots
        else:
            child = self.table.new(group.pid, mine, parent=group)
            if msg.share == "vm":               # CLONE_VM: the caller's space, its frames
                os.close(fd)
                holdings = group.holdings
                holdings.users += 1
                child.holdings = holdings
            else:
                child.holdings = Holdings(fd, self.nframes)
        # a forked child's first write copies a page: its first frames come with the
        # reply, not in a round trip of its own
        runs = tuple(self._grant(FramePool.GRANT_MIN)) if not msg.share else ()
        self.sel.register(mine.sock, selectors.EVENT_READ, (child, "chan"))
        _tell(proc, P.ForkReply(child.tid, runs), fds=(theirs.fileno(),))
        theirs.close()
        return None

    def on_forked(self, proc: Proc, msg: P.Forked):
        child = self.table.by_tid(msg.pid)
        if child is None or not child.alive or \
                child.ppid != proc.pid and child.group is not proc.grp:
            # a thread that said Hello and ended before its creator said Forked (its
            # record is gone, or a zombie's): nothing to watch.  No ErrorReply: Forked
            # has none, and the creator would take it as the reply to its next request
            return P.VforkDone() if msg.wait else None
        if msg.host_pid < 0:                     # the host fork failed
            if child.group is not None:
                self._thread_gone(child)
                if child.group.members == [child.group]:
                    child.group.members.clear()
            else:
                self._ended(child, signal.SIGKILL, notify=False)
            return None
        self._watch(child, msg.host_pid)
        if msg.wait:
            if child.alive and not child.execed:
                child.vfork_parent = proc
                return None
            return P.VforkDone()
        return None

    def on_proc_update(self, proc: Proc, msg: P.ProcUpdate):
        if msg.comm is not None:
            proc.comm = msg.comm               # a thread's own name (the first's: the process's)
        proc = proc.grp
        if msg.cmdline is not None:
            proc.cmdline = msg.cmdline
        if msg.exe is not None:
            proc.exe = msg.exe
        if msg.pdeathsig is not None:
            proc.pdeathsig = msg.pdeathsig
        if msg.chld is not None:
            proc.chld = msg.chld
        if msg.execed:
            proc.execed = True
            self._release_vfork_parent(proc)
        return None

    def on_exec_alone(self, proc: Proc, msg: P.ExecAlone):
        """execve in a thread group: the other threads end (SIGKILL, reaped here), and
        the caller, if it was not the first thread, takes over the process's record."""
        group = proc.grp
        for th in [m for m in group.members if m is not proc]:
            if th.pidfd >= 0:
                _kill(th, signal.SIGKILL)
                try:
                    os.waitpid(th.host_pid, 0)
                except ChildProcessError:
                    pass
                self.sel.unregister(th.pidfd)
                os.close(th.pidfd)
                th.pidfd = -1
            self._thread_gone(th)
        group.members.clear()
        group.leaving = False                    # (a first thread that left: the caller is it now)
        if proc is not group:                    # the caller becomes the process's thread
            self.sel.unregister(proc.chan.sock)
            self.sel.unregister(proc.pidfd)
            self.table.thread_gone(proc)
            group.chan, group.host_pid, group.pidfd = proc.chan, proc.host_pid, proc.pidfd
            group.mailbox, group.chan_closed, group.exit = proc.mailbox, False, None
            group.door = proc.door
            self.sel.register(group.chan.sock, selectors.EVENT_READ, (group, "chan"))
            self.sel.register(group.pidfd, selectors.EVENT_READ, (group, "exit"))
            _tell(group, P.Value(0))
            return None
        return P.Value(0)

    def _try_wait(self, parent: Proc, msg: P.Wait) -> P.WaitReply | None:
        """The answer to a Wait now, or None: it has to wait."""
        idtype, id_ = msg.idtype, msg.id
        if idtype == P_PGID and id_ == 0:
            id_ = parent.pgid
        any_child, child, ended = self.table.find_waitable(parent, idtype, id_, msg.options)
        if not any_child:
            return P.WaitReply(-errno.ECHILD, 0, 0)
        if child is not None and ended:
            # its CPU time and its waited-for children's (wait4's rusage; the parent's
            # RUSAGE_CHILDREN gains them when it reaps)
            cpu = (child.end_cpu[0] + child.children_cpu[0], child.end_cpu[1] + child.children_cpu[1])
            maxrss = max(child.end_maxrss, child.children_maxrss)
            if not msg.options & WNOWAIT:
                self.table.reap(child)
                mine = parent.grp.children_cpu
                parent.grp.children_cpu = (mine[0] + cpu[0], mine[1] + cpu[1])
                parent.grp.children_maxrss = max(parent.grp.children_maxrss, maxrss)
            return P.WaitReply(child.pid, child.status, child.code, cpu, maxrss)
        if child is not None:
            (status, code), pid = child.change, child.pid
            if not msg.options & WNOWAIT:
                child.change = None
            return P.WaitReply(pid, status, code)
        if msg.options & WNOHANG:
            return P.WaitReply(0, 0, 0)
        return None

    def on_wait(self, proc: Proc, msg: P.Wait):
        reply = self._try_wait(proc.grp, msg)
        if reply is None:
            self.waiting[proc.tid] = (proc, msg)
        return reply

    def on_cancel(self, proc: Proc, msg: P.Cancel):
        return P.CancelReply(self.waiting.pop(proc.tid, None) is not None)

    def on_kill(self, proc: Proc, msg: P.Kill):
        if not 0 <= msg.sig <= 64:
            return P.KillReply(-errno.EINVAL, False)
        targets = self.table.kill_targets(proc.grp, msg.pid)
        if targets is None:
            return P.KillReply(-errno.ESRCH, False)
        me_too = False
        for t in targets:
            if t is proc.grp and not t.members:
                me_too = True
            else:
                self.send(t, msg.sig, msg.info or None)
        return P.KillReply(0, me_too)

    def on_tg_kill(self, proc: Proc, msg: P.TgKill):
        if not 0 <= msg.sig <= 64:
            return P.KillReply(-errno.EINVAL, False)
        th = self.table.by_tid(msg.tid)
        if th is None or msg.tgid and th.pid != msg.tgid or th.zombie or \
                th.grp.members and th not in th.grp.members:
            return P.KillReply(-errno.ESRCH, False)
        if th is proc:
            return P.KillReply(0, True)
        if msg.sig == 0:
            return P.KillReply(0, False)
        if msg.sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCONT):
            self.send(th.grp, msg.sig, msg.info or None)   # these act on the whole group
        elif th.alive:
            _signal_thread(th, msg.sig,
                           msg.info or sigframe.siginfo_kill(msg.sig, sigframe.SI_TKILL))
        return P.KillReply(0, False)

    def on_proc_info(self, proc: Proc, msg: P.ProcInfo):
        info = self.table.info(msg.pid)
        if info is not None:
            info["tty_nr"], info["tpgid"] = self.terms.of(self.table.by_tid(msg.pid).grp)
        return P.ProcInfoReply(info)

    def on_introspect(self, proc: Proc, msg: P.Introspect):
        """Pass a question about another task on to it (kern/introspect.py): to the
        thread named, or for a process whose first thread is gone, another of its threads."""
        fds, proc.chan.fds = proc.chan.fds, []
        try:
            if len(fds) != 1:
                return P.ErrorReply(msg.TYPE, "Introspect needs the answer's socket")
            target = self.table.by_tid(msg.tid)
            if target is None or target.zombie or not target.alive:
                return P.Value(-errno.ESRCH)
            if target.grp.stopped:
                return P.Value(-errno.EAGAIN)          # it cannot run to answer
            hosts = [h for h in (target, *target.grp.hosts())
                     if h.door is not None and h.pidfd >= 0]
            if target is target.grp and not msg.thread:
                # a question about the process: best a thread not asleep in a broker wait
                # (waitpid, a futex), which cannot make a broker call meanwhile
                hosts.sort(key=lambda h: id(h) in self.futex.waiting or h.tid in self.waiting)
            if not hosts or not introspect.pass_on(hosts[0].door, msg.request, fds[0]):
                return P.Value(-errno.ESRCH)
            try:
                signal.pidfd_send_signal(hosts[0].pidfd, CARRIER)
            except OSError:
                pass
            return P.Value(0)
        finally:
            for fd in fds:
                os.close(fd)

    def on_stop(self, proc: Proc, msg: P.Stop):
        if msg.sig != signal.SIGSTOP and self.table.orphaned_group(proc.grp.pgid):
            return P.Value(1)        # a terminal stop in an orphaned group: discarded
        self.stop(proc.grp, msg.sig)
        return P.Value(0)

    def on_ipc(self, proc: Proc, msg: P.Ipc):
        if self.ipc is None:
            return P.ErrorReply(msg.TYPE, "this broker keeps no IPC namespace")
        value, fd = self.ipc.request(msg.op, msg.kind, msg.key, msg.flags, msg.arg,
                                     proc.grp.pid)
        if fd is None:
            return P.Value(value)
        _tell(proc, P.Value(value), fds=(fd,))
        os.close(fd)
        return None

    def on_futex_wait(self, proc: Proc, msg: P.FutexWait):
        file_fd = proc.chan.fds[0] if proc.chan.fds else None    # closed after the call
        return self.futex.wait(proc, msg, file_fd)   # None: the reply comes when woken

    def on_futex_cancel(self, proc: Proc, msg: P.FutexCancel):
        return self.futex.cancel(proc)

    def on_futex_wake(self, proc: Proc, msg: P.FutexWake):
        return P.FutexCount(self.futex.wake(msg.key, msg.count, msg.bitset))

    def on_futex_requeue(self, proc: Proc, msg: P.FutexRequeue):
        return P.FutexCount(self.futex.requeue(msg))

    def on_futex_wake_op(self, proc: Proc, msg: P.FutexWakeOp):
        return P.FutexCount(self.futex.wake_op(msg))


def _tell(proc: Proc, msg, fds: tuple[int, ...] = ()) -> None:
    """Send proc a message; one that has gone meanwhile misses nothing it could use."""
    try:
        proc.chan.send(msg, fds)
    except ChannelClosed:
        pass


def _signal_hosts(proc: Proc, sig: int, but: Proc | None = None) -> None:
    """Send a host signal to every thread of proc (but one)."""
    for host in proc.hosts():
        if host is not but:
            _kill(host, sig)


def _exit_status(msg: P.ExitGroup) -> int:
    """The wait status an ExitGroup says the process ends with."""
    return (msg.code & 0xFF) << 8 if not msg.signal else msg.signal | (0x80 if msg.core else 0)


def _signal_thread(th: Proc, sig: int, info: bytes, shared: bool = False) -> None:
    """Mail sig's siginfo to one thread and send it the host signal; held until it says
    Hello when it has no mailbox yet (a real-time signal without its record is lost).
    shared: a process-directed signal (the thread hands it back if it exits first)."""
    if th.mailbox is None and th.alive and not th.chan_closed:
        th.held.append((sig, info, shared))
        return
    _mail(th, info, shared)
    _kill(th, sig)


def _mail(proc: Proc, info: bytes, shared: bool = False) -> None:
    """Put a siginfo in proc's signal mailbox (a process-directed signal's one byte
    longer: SignalState._mailed); if it is full the signal goes without."""
    if proc.mailbox is not None:
        try:
            proc.mailbox.send(info + b"\1" if shared else info)
        except OSError:
            pass


def _kill(proc: Proc, sig: int) -> None:
    # guest signals 32 and 33 (glibc's own: thread cancellation, setxid) cannot be host
    # signals of a Python process; they travel as CARRIER with their mailed siginfo
    try:
        signal.pidfd_send_signal(proc.pidfd, CARRIER if sig in (32, 33) else sig)
    except OSError:                 # it is exiting, or was reaped a moment ago
        pass


def _publish_shared_pending(group) -> None:
    """The bits of the signals in group's shared pending set, where its threads look
    before they ask for them (SignalState.claim_shared)."""
    group.ctl.set_shared_pending(sum({1 << (s - 1) for s, _ in group.shared_pending}))


def wait_status_to_exit_code(status: int) -> int:
    """A guest wait status as a shell would report it: code, or 128 + signal."""
    sig = status & 0x7F
    if sig:
        return 128 + sig
    return (status >> 8) & 0xFF
