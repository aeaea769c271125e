"""A small /proc: the links and text files programs commonly read.

Links (/proc/self/exe, cwd, root, fd/N) answer readlink with guest paths and
are followed like symlinks (fd/N reopens the guest's descriptor, as Linux
does).  Text files are served as memfds holding text generated when they
are opened, so reading them is an ordinary host read.  /proc/self/fd lists
the guest's descriptors (the host's fd directory, with mkemu's own entries
filtered out by getdents64), and /proc/self/fdinfo/N the host's fdinfo of the
descriptor with its flags in the guest's bits.
"""
from __future__ import annotations

import errno
import os

from ..cpu.features import IMPLEMENTER, PART, REVISION, VARIANT, feature_names
from ..lazyre import lazy_compile
from .nodes import (FdInfo, FdLink, GuestLink, HostDir, HostProcText, NameListDir, Node, NsLink,
                    Redirect, RemoteFdLink, RemoteLink, RemoteText, Symlink, TextFile,
                    WritableText)

_PID = lazy_compile(rb"^/proc/(self|thread-self|\d+)(/.*)?$")
_FD = lazy_compile(rb"^/fd/(\d+)$")
_FDINFO = lazy_compile(rb"^/fdinfo/(\d+)$")
_NS = lazy_compile(rb"^/ns/([a-z_]+)$")
_THROUGH = lazy_compile(rb"^/(cwd|root|fd/\d+)(/.+)$")
_TASK = lazy_compile(rb"^/task/(\d+)(/.*)?$")


def _uuid4() -> str:
    """A random (version 4, RFC 4122) UUID, as Linux's random/uuid gives one per read
    (here rather than the uuid module: its import costs every start-up ~7 ms)."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def cpuinfo(t=None) -> str:
    feats = feature_names()
    return "".join(
        f"processor\t: {n}\nBogoMIPS\t: 50.00\nFeatures\t: {feats}\n"
        f"CPU implementer\t: {IMPLEMENTER:#x}\nCPU architecture: 8\nCPU variant\t: {VARIANT:#x}\n"
        f"CPU part\t: {PART:#05x}\nCPU revision\t: {REVISION}\n\n" for n in range(os.cpu_count() or 1))


def _uts_text(field: str):
    def make(t) -> str:
        return getattr(t.identity, field).decode(errors="replace") + "\n"
    return make


def _mangle(path: str) -> str:
    """A path as the kernel writes it in /proc/mounts: blanks and backslashes in octal, so
    that getmntent(3) splits the line into its six fields."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in path)


def mounts(t) -> str:
    lines = ["/dev/root / ext4 rw,relatime 0 0"]
    for m in reversed(t.fs.root.mounts[:-1] if t is not None else []):
        guest = _mangle(m.guest.decode(errors="replace"))
        lines.append(f"tmpfs {guest} tmpfs rw,nosuid,nodev 0 0" if m.tmpfs else
                     f"{_mangle(m.host)} {guest} none rw,bind 0 0")
    lines += ["proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0",
              "devtmpfs /dev devtmpfs rw,nosuid 0 0"]
    return "\n".join(lines) + "\n"


FILESYSTEMS = "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tdevpts\n\text4\n"

# the host's own, read live (nodes.HostProcText)
GLOBAL_HOST = {p: p.decode() for p in (b"/proc/meminfo", b"/proc/uptime", b"/proc/loadavg",
                                       b"/proc/stat", b"/proc/vmstat",
                                       b"/proc/sys/kernel/random/boot_id")}

GLOBAL_TEXT = {
    b"/proc/cpuinfo": cpuinfo,
    b"/proc/version": lambda t: t.identity.proc_version(),
    b"/proc/mounts": mounts,
    b"/proc/filesystems": lambda t: FILESYSTEMS,
    b"/proc/sys/kernel/osrelease": _uts_text("release"),
    b"/proc/sys/kernel/ostype": _uts_text("sysname"),
    b"/proc/sys/kernel/version": _uts_text("version"),
    b"/proc/sys/kernel/hostname": _uts_text("nodename"),
    b"/proc/sys/kernel/domainname": _uts_text("domainname"),
    b"/proc/sys/kernel/pid_max": lambda t: "4194304\n",
    b"/proc/sys/kernel/ngroups_max": lambda t: "65536\n",
    b"/proc/sys/vm/overcommit_memory": lambda t: "0\n",
    b"/proc/sys/kernel/threads-max": lambda t: "127393\n",
    b"/proc/sys/kernel/random/uuid": lambda t: _uuid4() + "\n",
    b"/proc/sys/kernel/random/entropy_avail": lambda t: "256\n",
    b"/proc/sys/kernel/random/poolsize": lambda t: "256\n",
    b"/proc/sys/fs/file-max": lambda t: "9223372036854775807\n",
    b"/proc/sys/fs/nr_open": lambda t: "1048576\n",
}

# The directories above those files (/proc/sys, /proc/sys/kernel, ...): a path walk
# passes through them.  Listed, they show the host's directory of the same name.
# the names directly under /proc (besides pids, self, thread-self, sys)
PROC_NAMES = sorted({p.split(b"/")[2].decode() for p in (*GLOBAL_TEXT, *GLOBAL_HOST)} - {"sys"})
GLOBAL_DIRS = {p[:i] for p in (*GLOBAL_TEXT, *GLOBAL_HOST) for i in range(len(b"/proc/"), len(p))
               if p[i:i + 1] == b"/"}


def _comm(t) -> str:
    """The process name: the program's basename as execve set it, or what PR_SET_NAME gave."""
    return t.comm.decode(errors="replace")


def _escaped(name: str) -> str:
    """A name as /proc/PID/status shows it: a newline and a backslash escaped."""
    return name.replace("\\", "\\\\").replace("\n", "\\n")


def _stat_line(pid: int, comm: str, state: str, ppid: int, pgid: int, sid: int,
               starttime: int, tty_nr: int = 0, tpgid: int = -1, utime: int = 0,
               stime: int = 0, threads: int = 1, vsize: int = 0, rss: int = 0,
               sigs: tuple[int, int, int, int] = (0, 0, 0, 0), nice: int = 0) -> str:
    """/proc/PID/stat, its 52 fields: times in clock ticks (100 Hz), vsize in bytes,
    rss in pages, sigs (pending, blocked, ignored, caught); the counters mkemu keeps no
    account of are 0."""
    fields = [pid, f"({comm})", state, ppid, pgid, sid, tty_nr, tpgid, 0x400000,
              0, 0, 0, 0, utime, stime, 0, 0, 20 + nice, nice, threads, 0, starttime, vsize, rss,
              2**64 - 1, 0, 0, 0, 0, 0, *sigs, 0, 0, 0, 17]
    fields += [0] * (52 - len(fields))
    return " ".join(str(f) for f in fields) + "\n"


def _nice(host_pid: int | None) -> int:
    """A guest thread's nice value: its host process's (kern/nice.py; host_pid 0: this
    one); a thread with no host process (yet, or any more) shows 0."""
    if host_pid is None:
        return 0
    try:
        return os.getpriority(os.PRIO_PROCESS, host_pid)
    except OSError:
        return 0


def _thread_nice(t, tid: int) -> int:
    """The nice value of thread tid of t's process (each thread has its own, as in
    Linux; /proc/PID/stat shows the first thread's, whichever thread reads it)."""
    if tid == getattr(t, "tid", tid):
        return _nice(0)
    ask = getattr(t, "proc_info", None)
    info = ask(tid) if ask else None
    return _nice(info.get("tid_host_pid") if info else None)


def _sig_masks(t) -> tuple[int, int, int, int]:
    """(pending, blocked, ignored, caught) of a task, as stat and status show them."""
    sig = getattr(t, "sig", None)
    if sig is None:
        return 0, 0, 0, 0
    ignored = caught = 0
    for n, act in enumerate(sig.actions[1:65], 1):
        if act.handler == 1:                     # SIG_IGN
            ignored |= 1 << (n - 1)
        elif act.handler != 0:
            caught |= 1 << (n - 1)
    return sig.pending_mask(), sig.blocked, ignored, caught


def _cpu_ticks() -> tuple[int, int]:
    """This task process's user and system CPU time in clock ticks (translation and the
    emulated calls included: the guest's time is the host process's)."""
    times = os.times()
    return int(times.user * 100), int(times.system * 100)


def _threads(t) -> list[int]:
    """The tids of t's thread group (the broker's list; just t when it has no others)."""
    if not getattr(t, "threaded", False):
        return [t.tid]
    info = t.proc_info(t.pid)
    return info["threads"] if info else [t.tid]


def _task_dir(t, path: bytes, pid: int) -> Node | None:
    """/proc/PID/task: the broker keeps one directory per thread in its listing; listed
    ascending, as Linux lists it."""
    listing = getattr(getattr(t, "config", None), "proc_listing", None)
    if not listing:
        return None
    tasks = os.path.join(listing, str(pid), "task")
    return NameListDir(path, os.path.join(listing, "self", "task"),
                       lambda t: sorted(int(n) for n in os.listdir(tasks) if n.isdigit()),
                       0o555)


def _state(t) -> str:
    # a process another one asks about is asleep in a call (or about to run): S
    return "R" if getattr(t, "introspecting", False) is False else "S"


def _status(t) -> str:
    """/proc/PID/status: Linux's keys in Linux's order (those an aarch64 kernel shows;
    what mkemu keeps no account of is 0)."""
    uid = (t.uid, t.euid, t.suid, t.euid)
    gid = (t.gid, t.egid, t.sgid, t.egid)
    state = "R (running)" if _state(t) == "R" else "S (sleeping)"
    vm = _vm_kb(t)
    pending, blocked, ignored, caught = _sig_masks(t)
    sig = getattr(t, "sig", None)
    shared = sig.shared_pending_mask() if sig is not None else 0
    ncpu = len(os.sched_getaffinity(0))
    kb = lambda key, v: f"{key}:\t{v:8d} kB\n"
    return (f"Name:\t{_escaped(_comm(t))}\nUmask:\t{t.fs.umask:04o}\nState:\t{state}\n"
            f"Tgid:\t{t.pid}\nNgid:\t0\nPid:\t{t.tid}\nPPid:\t{t.ppid}\nTracerPid:\t0\n"
            f"Uid:\t{uid[0]}\t{uid[1]}\t{uid[2]}\t{uid[3]}\n"
            f"Gid:\t{gid[0]}\t{gid[1]}\t{gid[2]}\t{gid[3]}\n"
            f"FDSize:\t64\nGroups:\t\nNStgid:\t{t.pid}\nNSpid:\t{t.tid}\n"
            + kb("VmPeak", vm["peak"]) + kb("VmSize", vm["size"]) + kb("VmLck", 0)
            + kb("VmPin", 0) + kb("VmHWM", vm["hwm"]) + kb("VmRSS", vm["rss"])
            + kb("RssAnon", vm["rss"] - vm["file"]) + kb("RssFile", vm["file"]) + kb("RssShmem", 0)
            + kb("VmData", vm["data"]) + kb("VmStk", vm["stack"]) + kb("VmExe", vm["exe"])
            + kb("VmLib", vm["lib"]) + kb("VmPTE", 0) + kb("VmSwap", 0)
            + f"CoreDumping:\t0\nThreads:\t{len(_threads(t))}\nSigQ:\t0/63000\n"
            f"SigPnd:\t{pending:016x}\nShdPnd:\t{shared:016x}\nSigBlk:\t{blocked:016x}\n"
            f"SigIgn:\t{ignored:016x}\nSigCgt:\t{caught:016x}\n"
            f"CapInh:\t{0:016x}\nCapPrm:\t{0:016x}\nCapEff:\t{0:016x}\n"
            f"CapBnd:\t{(1 << 41) - 1:016x}\nCapAmb:\t{0:016x}\nNoNewPrivs:\t0\n"
            f"Seccomp:\t0\nSeccomp_filters:\t0\n"
            f"Cpus_allowed:\t{(1 << ncpu) - 1:x}\nCpus_allowed_list:\t0-{ncpu - 1}\n"
            f"Mems_allowed:\t1\nMems_allowed_list:\t0\n"
            f"voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n")


def _vm_kb(t) -> dict[str, int]:
    """The sizes status and statm show, in kB: size (every mapping), rss (the pages
    present), file (those of them that are file pages mapped in), data (private
    writable), stack, exe (the program's executable mappings),
    lib (other executable file mappings), peak and hwm (the most size and rss had)."""
    vm = dict.fromkeys(("size", "rss", "file", "data", "stack", "exe", "lib", "peak", "hwm"), 0)
    space = getattr(t, "space", None)
    if space is None:
        return vm
    exe = getattr(t, "exe_path", "")
    exe = exe.decode(errors="surrogateescape") if isinstance(exe, bytes) else exe
    for v in space.vmas:
        n = (v.end - v.start) >> 10
        vm["size"] += n
        if v.name == "[stack]":
            vm["stack"] += n
        elif v.prot & 4:                          # PROT_EXEC
            if exe and v.file is not None and space.vma_name(v) == exe:
                vm["exe"] += n
            elif v.file is not None:
                vm["lib"] += n
        elif v.prot & 2 and not v.shared:          # PROT_WRITE, private
            vm["data"] += n
    vm["rss"] = space.resident_pages() * 4
    vm["file"] = len(space.file_pages) * 4
    vm["peak"] = max(vm["size"], space.peak_bytes >> 10)
    vm["hwm"] = space.peak_resident_pages() * 4
    return vm


def _statm(t) -> str:
    """/proc/PID/statm, in pages: size resident shared text lib(0) data dt(0)."""
    vm = _vm_kb(t)
    return f"{vm['size'] // 4} {vm['rss'] // 4} {vm['file'] // 4} {vm['exe'] // 4} 0 " \
        f"{(vm['data'] + vm['stack']) // 4} 0\n"


def _environ(t) -> bytes:
    """The environment strings as they are now in memory (Linux reads env_start..env_end)."""
    start, end = getattr(t, "env_range", (0, 0))
    if end <= start:
        return b""
    try:
        return t.mem.read(start, end - start)
    except Exception:          # MemFault: the guest unmapped its stack's top
        return b""


def _smaps_rollup(t) -> str:
    vmas = t.space.vmas
    if not vmas:
        return ""
    rss = t.space.resident_pages() * 4
    file = len(t.space.file_pages) * 4        # read through a mapping: clean
    anon = rss - file                         # its own frames: written, or zero-filled
    head = f"{vmas[0].start:08x}-{vmas[-1].end:08x} ---p 00000000 00:00 0"
    fields = [("Rss", rss), ("Pss", rss), ("Pss_Dirty", anon), ("Pss_Anon", anon),
              ("Pss_File", file), ("Pss_Shmem", 0), ("Shared_Clean", 0), ("Shared_Dirty", 0),
              ("Private_Clean", file), ("Private_Dirty", anon), ("Referenced", rss),
              ("Anonymous", anon), ("KSM", 0), ("LazyFree", 0), ("AnonHugePages", 0),
              ("ShmemPmdMapped", 0), ("FilePmdMapped", 0), ("Shared_Hugetlb", 0),
              ("Private_Hugetlb", 0), ("Swap", 0), ("SwapPss", 0), ("Locked", 0)]
    return f"{head:<73}[rollup]\n" + "".join(f"{(k + ':'):<16}{v:8d} kB\n" for k, v in fields)


_LIMITS = [("Max cpu time", "seconds", 0), ("Max file size", "bytes", 1),
           ("Max data size", "bytes", 2), ("Max stack size", "bytes", 3),
           ("Max core file size", "bytes", 4), ("Max resident set", "bytes", 5),
           ("Max processes", "processes", 6), ("Max open files", "files", 7),
           ("Max locked memory", "bytes", 8), ("Max address space", "bytes", 9),
           ("Max file locks", "locks", 10), ("Max pending signals", "signals", 11),
           ("Max msgqueue size", "bytes", 12), ("Max nice priority", "", 13),
           ("Max realtime priority", "", 14), ("Max realtime timeout", "us", 15)]


def _limits(t) -> str:
    show = lambda v: "unlimited" if v >= 2**63 else str(v)
    lines = [f"{'Limit':<26}{'Soft Limit':<21}{'Hard Limit':<21}{'Units':<10}"]
    for name, unit, res in _LIMITS:
        soft, hard = t.rlimit(res)           # the guest's limits, as prlimit64 keeps them
        lines.append(f"{name:<26}{show(soft):<21}{show(hard):<21}{unit:<10}")
    return "\n".join(lines) + "\n"


def mountinfo(t) -> str:
    """/proc/PID/mountinfo: /proc/mounts's lines with mount ids (the root's parent is 1)."""
    out = []
    for n, line in enumerate(mounts(t).splitlines()):
        src, where, fstype, opts = line.split()[:4]
        access = "ro" if "ro" in opts.split(",") else "rw"
        out.append(f"{22 + n} {1 if n == 0 else 22} 0:{22 + n} / {where} {access},relatime "
                   f"- {fstype} {src} {access}")
    return "\n".join(out) + "\n"


def _stat(t, shown: int | None = None) -> str:
    """/proc/PID/stat of this task (shown: the first field, a /proc/PID/task/TID/stat's
    tid; else the pid)."""
    # the group and session are the broker's (setpgid, setsid); without one, the pid
    ask = getattr(t, "proc_info", None)
    info = ask(t.pid) if ask else None
    vsize, rss, sigs = stat_memory(t)
    utime, stime = _cpu_ticks()
    if info is not None and getattr(t, "threaded", False):
        utime, stime = info["cpu"]          # every thread's host process (the broker's sum)
    tid = t.pid if shown is None else shown
    more = dict(utime=utime, stime=stime, threads=len(_threads(t)), vsize=vsize, rss=rss,
                sigs=sigs, nice=_thread_nice(t, tid))
    if info is None:
        return _stat_line(tid, _comm(t), _state(t), t.ppid, t.pid, t.pid, 0, **more)
    return _stat_line(tid, _comm(t), _state(t), t.ppid, info["pgid"], info["sid"],
                      int(info["started"] * 100), info.get("tty_nr", 0), info.get("tpgid", -1),
                      **more)


def _cmdline(t) -> bytes:
    argv = getattr(t, "argv", None) or []
    return b"".join((a if isinstance(a, bytes) else str(a).encode()) + b"\0" for a in argv)


def _exe(t) -> bytes:
    exe = t.exe_path
    return exe if isinstance(exe, bytes) else exe.encode(errors="surrogateescape")


SELF_TEXT = {
    b"/maps": lambda t: t.proc_maps(),
    b"/smaps_rollup": _smaps_rollup,
    b"/status": _status,
    b"/stat": _stat,
    b"/statm": _statm,
    b"/cmdline": _cmdline,
    b"/environ": _environ,
    b"/comm": lambda t: t.comm + b"\n",
    b"/mounts": mounts,
    b"/mountinfo": mountinfo,
    b"/limits": _limits,
    b"/oom_score_adj": lambda t: f"{getattr(t, 'oom_score_adj', 0)}\n",
    b"/oom_score": lambda t: "0\n",
    b"/loginuid": lambda t: "4294967295\n",
    # one cgroup v2 hierarchy, the machine at its root (container checks, systemd,
    # runtimes sizing themselves read it; Linux has it for every process)
    b"/cgroup": lambda t: "0::/\n",
}


def _set_comm(t, data: bytes) -> None:
    """A write to /proc/self/comm: its first 15 bytes are the name, a newline too (as
    Linux's comm_write copies them)."""
    t.comm = data[:15].split(b"\0", 1)[0]
    t.announce_comm()


def _set_oom_score_adj(t, data: bytes) -> None:
    try:
        value = int(data.strip() or b"x")
    except ValueError:
        return
    if -1000 <= value <= 1000:
        t.oom_score_adj = value


def _sibling_comm(tid: int):
    def apply(t, data: bytes) -> None:
        t.introspect(tid, "set_comm", data[:15].split(b"\0", 1)[0])
    return apply


WRITABLE = {b"/comm": _set_comm, b"/oom_score_adj": _set_oom_score_adj}
# what only a process allowed to ptrace the owner reads (ptrace_may_access, PTRACE_MODE_READ)
TRACED_TEXT = {b"/maps", b"/smaps_rollup", b"/environ"}
SELF_LINKS = {
    b"/exe": _exe,
    b"/cwd": lambda t: t.fs.cwd,
    b"/root": lambda t: b"/",
}


# ---- other processes: what the broker knows of them ----------------------------------
def root_dir(t) -> Node | None:
    """/proc itself: a host directory the broker keeps with one entry per guest pid
    (and the global names), so that listing /proc finds every process; None without
    one (then the rootfs's own /proc)."""
    listing = getattr(getattr(t, "config", None), "proc_listing", None)
    if not listing:
        return None
    # as Linux lists it: its own names, then the pids ascending
    return NameListDir(b"/proc", os.path.join(listing, "self", "root"),
                       lambda t: [*ROOT_NAMES, *_pids(t)], 0o555)


ROOT_NAMES = sorted({*PROC_NAMES, "self", "thread-self", "sys"})


def _pids(t) -> list[int]:
    listing = t.config.proc_listing
    return sorted(int(n) for n in os.listdir(listing) if n.isdigit())


def _other_status(info: dict) -> str:
    state = {"Z": "Z (zombie)", "S": "S (sleeping)", "T": "T (stopped)"}.get(info["state"],
                                                                         "R (running)")
    return (f"Name:\t{_escaped(info['comm'])}\nState:\t{state}\nTgid:\t{info['pid']}\nNgid:\t0\n"
            f"Pid:\t{info['pid']}\nPPid:\t{info['ppid']}\nTracerPid:\t0\n"
            f"Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\n"
            f"Threads:\t{len(info.get('threads', [1]))}\n")


def stat_memory(t) -> tuple[int, int, tuple[int, int, int, int]]:
    """The fields of /proc/PID/stat only the task knows: the vsize in bytes, the rss in
    pages, the signal masks (its own stat's, and what another process's asks of it
    through kern/introspect.py)."""
    vm = _vm_kb(t)
    return vm["size"] << 10, vm["rss"] // 4, _sig_masks(t)


def _other_stat(t, i: dict, tid: int | None = None, thread: dict | None = None) -> str:
    """/proc/PID/stat of another process (its task/TID/stat: tid first, with the nice
    value of that thread, whose broker info is thread): what the broker knows, and the
    memory sizes and signal masks its task gives (ps's VSZ and RSS); a zombie, a stopped
    process or one that cannot answer in time shows 0 there."""
    utime, stime = i.get("cpu", (0, 0))
    vsize = rss = 0
    sigs = (0, 0, 0, 0)
    if i["state"] not in ("Z", "T"):        # (a stopped one cannot answer)
        err, value, _ = t.introspect(tid or i["pid"], "stat_memory")
        if err == 0:
            vsize, rss, sigs = value
    return _stat_line(tid or i["pid"], i["comm"], i["state"], i["ppid"], i["pgid"], i["sid"],
                      int(i["started"] * 100), i.get("tty_nr", 0), i.get("tpgid", -1),
                      utime=utime, stime=stime, threads=len(i.get("threads", [1])),
                      vsize=vsize, rss=rss, sigs=tuple(sigs),
                      nice=_nice((thread or i).get("tid_host_pid") or i.get("host_pid")))


OTHER_TEXT = {
    b"/cmdline": lambda info: b"" if info["state"] == "Z" else info["cmdline"],
    b"/comm": lambda info: info["comm"] + "\n",
}


def _other(t, path: bytes) -> Node | None:
    """/proc/PID/... of another guest process: what the broker knows (stat, cmdline, comm,
    exe), the rest asked of its task (kern/introspect.py)."""
    m = _PID.match(path)
    if not m or not m.group(1).isdigit():
        return None
    ask = getattr(t, "proc_info", None)
    info = ask(int(m.group(1))) if ask else None
    if info is None:
        return None
    rest = m.group(2) or b""
    tid = info["pid"]
    task = _TASK.match(rest)
    if task:                                   # one thread's view: /proc/PID/task/TID/...
        tid = int(task.group(1))
        if tid not in info.get("threads", [info["pid"]]):
            return None
        rest = task.group(2) or b""
        if rest == b"/comm" and tid != info["pid"]:
            return TextFile(path, lambda t: t.proc_info(tid)["comm"] + "\n")
        if rest == b"/stat":
            return TextFile(path, lambda t: _other_stat(t, info, tid, t.proc_info(tid)))
    return _other_node(t, path, info, tid, rest)


def _other_node(t, path: bytes, info: dict, tid: int, rest: bytes) -> Node | None:
    zombie = info["state"] == "Z"
    if rest == b"":
        return _pid_dir(t, path, info["pid"])
    if rest == b"/task":
        return _task_dir(t, path, info["pid"])
    if rest == b"/stat":
        return TextFile(path, lambda t, info=info: _other_stat(t, info))
    make = OTHER_TEXT.get(rest)
    if make is not None:
        return TextFile(path, lambda t, make=make, info=info: make(info))
    if rest == b"/exe":
        return Symlink(path, info["exe"].encode(errors="surrogateescape")) if not zombie else None
    if rest == b"/root":
        return Symlink(path, b"/") if not zombie else None
    if rest == b"/cwd":
        return RemoteLink(path, tid, rest)
    if rest.startswith(b"/ns") and not zombie:
        return _ns_node(t, path, rest)
    if rest in SELF_TEXT or _FDINFO.match(rest):
        fallback = (lambda t, info=info: _other_status(info)) if rest == b"/status" else \
            (lambda t: b"")
        return RemoteText(path, tid, rest, fallback)
    if rest in (b"/fd", b"/fdinfo"):
        listing = getattr(getattr(t, "config", None), "proc_listing", None)
        if listing is None:
            return None
        host = os.path.join(listing, "self", os.fsdecode(rest[1:]))
        return NameListDir(path, host, lambda t: _remote_fds(t, tid))
    m = _FD.match(rest)
    if m:
        return RemoteFdLink(path, tid, int(m.group(1)))
    m = _THROUGH.match(rest)
    if m:
        link = _other_node(t, path[:len(path) - len(m.group(2))], info, tid,
                           rest[:len(rest) - len(m.group(2))])
        return _through(t, path, link, m.group(2))
    return None


PID_NAMES = sorted({n[1:].decode() for n in (*SELF_TEXT, *SELF_LINKS)} |
                   {"fd", "fdinfo", "ns", "task"})


def _pid_dir(t, path: bytes, pid: int) -> Node:
    """/proc/PID: the names mkemu serves there (kept under the broker's listing)."""
    listing = getattr(getattr(t, "config", None), "proc_listing", None)
    if listing is None:
        return HostDir(path, "/proc/self")
    return NameListDir(path, os.path.join(listing, "self", "pid"),
                       lambda t: PID_NAMES, 0o555)


def _ns_node(t, path: bytes, rest: bytes) -> Node | None:
    """/proc/PID/ns and its links (NsLink): the host's namespaces, the same for every
    guest process."""
    if rest == b"/ns":
        listing = getattr(getattr(t, "config", None), "proc_listing", None)
        if listing is None:
            return HostDir(path, "/proc/self/ns")
        return NameListDir(path, os.path.join(listing, "self", "ns"),
                           lambda t: os.listdir("/proc/self/ns"), 0o511)
    m = _NS.match(rest)
    if m and os.fsdecode(m.group(1)) in os.listdir("/proc/self/ns"):
        return NsLink(path, os.fsdecode(m.group(1)))
    return None


def _remote_fds(t, tid: int) -> list[int]:
    err, fds, _ = t.introspect(tid, "fds")
    if err == -errno.EACCES:
        raise OSError(errno.EACCES, "not permitted")
    return fds if err == 0 else []


def _through(t, path: bytes, link: Node | None, tail: bytes) -> Node | None:
    """A path through a magic link: continue from the guest path the link names (never
    a host path: /proc/PID/root/../../etc is the rootfs's /etc)."""
    if link is None:
        return None
    try:
        base = link.readlink(t)
    except OSError:
        return None
    if base.startswith(b"/"):
        return Redirect(path, base.rstrip(b"/") + tail)
    return None


def _global_dir(t, path: bytes) -> Node:
    """/proc/sys, /proc/sys/kernel, ...: the names served under it."""
    listing = getattr(getattr(t, "config", None), "proc_listing", None)
    if listing is None:
        return HostDir(path, os.fsdecode(path))
    names = sorted({p[len(path) + 1:].split(b"/")[0].decode()
                    for p in (*GLOBAL_TEXT, *GLOBAL_HOST, *GLOBAL_DIRS)
                    if p.startswith(path + b"/")})
    return NameListDir(path, os.path.join(listing, "self", "sys"), lambda t: names, 0o555)


def split_self(t, path: bytes) -> bytes | None:
    """The part after /proc/<self> if path names this process, else None.  (_PID's
    match, read without it when path has no newline (which its '.' and '$' treat
    apart): every static glibc program's start reads /proc/self/exe, and importing re
    and compiling the pattern was ~10% of a static hello's host instructions.)"""
    if b"\n" in path:
        m = _PID.match(path)
        if not m:
            return None
        who, rest = m.group(1), m.group(2) or b""
    elif path.startswith(b"/proc/"):
        who, slash, rest = path[6:].partition(b"/")
        rest = slash + rest
        if who not in (b"self", b"thread-self") and not who.isdigit():
            return None
    else:
        return None
    if who not in (b"self", b"thread-self") and int(who) not in (t.pid, t.tid):
        return None
    return rest


def lookup(t, path: bytes) -> Node | None:
    """The overlay node of a normalized guest path under /proc, or None (then: the rootfs)."""
    make = GLOBAL_TEXT.get(path)
    if make is not None:
        return TextFile(path, make)
    host = GLOBAL_HOST.get(path)
    if host is not None:
        return HostProcText(path, host)
    if path in GLOBAL_DIRS:
        return _global_dir(t, path)
    rest = split_self(t, path)
    if rest is None:
        return _other(t, path)
    if rest == b"":
        if path == b"/proc/self":
            return Symlink(path, str(t.pid).encode())
        if path == b"/proc/thread-self":
            return Symlink(path, f"{t.pid}/task/{t.tid}".encode())
        return _pid_dir(t, path, t.pid)
    if rest == b"/task":
        return _task_dir(t, path, t.pid)
    m = _TASK.match(rest) if rest.startswith(b"/task/") else None     # (re: only then)
    if m:
        # a thread of this process: what /proc/PID shows (per-thread files are the caller's)
        tid = int(m.group(1))
        if tid not in _threads(t):
            return None
        if tid != t.tid and m.group(2) == b"/comm":
            return WritableText(path, lambda t: t.proc_info(tid)["comm"] + "\n",
                                _sibling_comm(tid))
        if m.group(2) == b"/stat":            # the thread's: its tid first
            return TextFile(path, lambda t: _stat(t, tid))
        return lookup(t, b"/proc/%d%s" % (t.pid, m.group(2) or b""))
    make = SELF_TEXT.get(rest)
    if make is not None:
        apply = WRITABLE.get(rest)
        return TextFile(path, make) if apply is None else WritableText(path, make, apply)
    link = SELF_LINKS.get(rest)
    if link is not None:
        return GuestLink(path, link)
    if rest.startswith(b"/ns"):
        return _ns_node(t, path, rest)
    if rest in (b"/fd", b"/fdinfo"):
        return HostDir(path, "/proc/self" + os.fsdecode(rest))
    m = _FD.match(rest)
    if m:
        return FdLink(path, int(m.group(1)))
    m = _FDINFO.match(rest)
    if m:
        return FdInfo(path, int(m.group(1)))
    m = _THROUGH.match(rest)
    if m:
        return _through(t, path, lookup(t, path[:len(path) - len(m.group(2))]), m.group(2))
    return None
