"""/proc of other processes, process_vm_readv/writev, /proc's global files, /dev, and
--tmpfs (fs/procfs.py, fs/devfs.py, kern/introspect.py, kern/sys_procvm.py).

qemu-aarch64 passes /proc/PID of another process through to the host (it shows
qemu's own maps, descriptors and environment), so tests/guest/proc_peek.c is
compared with the same C source built for this host and run natively: what
Linux itself shows.
"""
from __future__ import annotations

import os
import shutil
import stat
import uuid

import pytest

from tests.support.guestbin import host_binary
from tests.support.guestrun import run_command, run_mkemu
from tests.support.scratch import rootfs_tmpdir

MARK = {"PEEK_MARK": "peek 42"}


@pytest.fixture
def peek_dir(rootfs):
    name = f"peek-{uuid.uuid4().hex[:10]}"
    host = rootfs / "tmp" / name
    host.mkdir(parents=True)
    yield name, host
    shutil.rmtree(host, ignore_errors=True)


def test_another_process_proc_and_memory_like_linux(rootfs, guest_binary, peek_dir, tmp_path):
    name, host = peek_dir
    code, out, err = run_mkemu([guest_binary("proc_peek"), f"/tmp/{name}"], rootfs=rootfs,
                               guest_env=MARK)
    native = tmp_path / "native"
    native.mkdir()
    hc, ho, he = run_command([str(host_binary("proc_peek")), str(native)],
                             env={**os.environ, **MARK})
    assert hc == 0, he.decode(errors="replace")
    assert code == 0, err.decode(errors="replace")[-3000:]
    assert out == ho, err.decode(errors="replace")[-3000:]
    # what the fixture checks holds on Linux, not just the same under both
    for line in (b"maps: mapped.dat 1, [stack] 1", b"environ: has PEEK_MARK 1",
                 b"cwd: is DIR 1", b"fd: 0 1 2 3 4 5 6 7", b"fd/7: is DIR/open.txt 1",
                 b"fdinfo/7: pos:\t3", b"readv: 64 \"the child's own text\"",
                 b"readv past the end: 4096", b"readv with a bad second: 4",
                 b"readv bad: -1 Bad address", b"readv no such pid: -1 No such process",
                 b"writev two: 1, the parent's own two[0] x",
                 b"child: secret now \"the parent wrote\", two[0] y",
                 b"after reaping: No such file or directory"):
        assert line in out, out.decode(errors="replace")


def test_no_escape_through_another_process_root_or_cwd(rootfs, guest_binary, peek_dir):
    name, host = peek_dir
    want = (rootfs / "etc" / "hostname").read_bytes().splitlines()[0]
    code, out, err = run_mkemu([guest_binary("proc_peek"), f"/tmp/{name}", "escape"],
                               rootfs=rootfs)
    assert code == 0, err.decode(errors="replace")[-3000:]
    lines = [line for line in out.splitlines() if b"/etc/hostname: " in line]
    assert len(lines) == 3, out
    for line in lines:
        assert line.split(b": ", 1)[1] == want, out


BB = "/bin/busybox"


def test_ps_lists_processes_in_pid_order_with_their_names(rootfs):
    # (the children are listed once both have exec'd: before, they show the shell's
    # command line or busybox's re-exec through /proc/self/exe, as on Linux; the sleeps
    # outlast the polling loop on a loaded machine, where 3 s may end one before ps runs)
    code, out, err = run_mkemu([BB, "sh", "-c", "busybox sleep 30 & busybox sleep 30 & "
                                "until [ \"$(busybox ps -o args | grep -cx 'busybox sleep 30')\" "
                                "= 2 ]; do :; done; "
                                "busybox ps -o pid,comm,args; kill %1 %2"], rootfs=rootfs)
    assert code == 0, err
    rows = [line.split(None, 2) for line in out.decode().splitlines()[1:]]
    pids = [int(r[0]) for r in rows]
    assert pids == sorted(pids) and len(pids) == 4, out
    assert [r[2] for r in rows[1:3]] == ["busybox sleep 30"] * 2, out
    assert rows[-1][2] == "busybox ps -o pid,comm,args", out


def test_another_process_stat_has_its_memory_sizes(rootfs):
    # /proc/PID/stat of another process had vsize and rss 0 (the broker, which serves
    # it, does not hold the process's memory): ps showed VSZ and RSS 0 for every process
    # but itself.  Its task now gives them: the sizes its /proc/PID/status shows (the
    # sleep's, read twice around status: it is asleep, nothing changes), and ps's
    code, out, err = run_mkemu([BB, "sh", "-c", "busybox sleep 30 & p=$!; "
                                "until [ \"$(tr '\\0' ' ' < /proc/$p/cmdline)\" = "
                                "'busybox sleep 30 ' ]; do :; done; busybox usleep 200000; "
                                "cut -d' ' -f23,24 /proc/$p/stat; "
                                "grep -E '^(VmSize|VmRSS):' /proc/$p/status; "
                                "cut -d' ' -f23,24 /proc/$p/stat; "
                                "busybox ps -o pid,vsz,rss | grep \"^ *$p \"; kill $p"],
                               rootfs=rootfs)
    assert code == 0, err
    lines = out.decode().splitlines()
    assert len(lines) == 5, out
    vsize, rss = map(int, lines[0].split())
    assert lines[3] == lines[0], out
    size_kb = int(lines[1].split()[1])
    rss_kb = int(lines[2].split()[1])
    assert size_kb > 1000 and rss_kb > 0, out
    assert (vsize, rss * 4) == (size_kb * 1024, rss_kb), out
    _, vsz, ps_rss = lines[4].split()
    assert ps_rss == str(rss_kb), out
    # (busybox shows 10,000 kB and more in MiB, one decimal, rounded down)
    assert vsz in (str(size_kb), f"{size_kb // 1024}.{size_kb * 10 // 1024 % 10}m"), out


def test_global_proc_files(rootfs):
    code, out, err = run_mkemu([BB, "sh", "-c", "cat /proc/uptime /proc/loadavg "
                                "/proc/sys/kernel/ostype /proc/sys/kernel/random/boot_id "
                                "/proc/sys/kernel/random/uuid /proc/sys/kernel/random/uuid; "
                                "ls /proc"], rootfs=rootfs)
    assert code == 0, err
    lines = out.decode().splitlines()
    up = lines[0].split()
    assert len(up) == 2 and all(float(x) >= 0 for x in up), lines[0]
    load = lines[1].split()
    assert len(load) == 5 and "/" in load[3], lines[1]
    assert lines[2] == "Linux"
    assert len(lines[3]) == 36 and lines[4] != lines[5] and len(lines[4]) == 36
    listed = lines[6:]
    assert "self" in listed and "uptime" in listed and "1000" in listed, listed


def test_dev_fd_and_stdout(rootfs):
    code, out, err = run_mkemu([BB, "sh", "-c", "echo one > /dev/stdout; echo two > /dev/fd/1; "
                                "echo three 1>&2 2>/dev/stderr; readlink /dev/stdin; "
                                "exec 5</etc/hostname; cat /dev/fd/5"], rootfs=rootfs)
    assert code == 0, err
    assert out.decode().splitlines() == ["one", "two", "/proc/self/fd/0", "mkemu-guest"], out
    assert err.endswith(b"three\n"), err


def test_tmpfs_is_empty_private_and_gone_after_the_run(rootfs):
    before = set(os.listdir("/dev/shm"))
    code, out, err = run_mkemu([BB, "sh", "-c", "ls -a /tmp; echo kept > /tmp/f; cat /tmp/f; "
                                "grep -c ' /tmp ' /proc/mounts"],
                               rootfs=rootfs, extra=["--tmpfs", "/tmp"])
    assert code == 0, err
    assert out == b".\n..\nkept\n1\n", out
    assert not (rootfs / "tmp" / "f").exists()
    # (other machines of a parallel run may come and go: a leftover is one whose broker is gone)
    left = [n for n in set(os.listdir("/dev/shm")) - before
            if n.startswith(("mkemu-tmpfs-", "mkemu-proc-")) and not _alive(int(n.split("-")[2]))]
    assert not left


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_threaded_process_seen_from_another_like_linux(rootfs, guest_binary):
    # the child's main thread sleeps in pthread_join (a broker wait): the broker asks
    # one of its other threads, asleep in read()
    code, out, err = run_mkemu([guest_binary("proc_threads")], rootfs=rootfs)
    hc, ho, he = run_command([str(host_binary("proc_threads"))])
    assert hc == 0, he
    assert code == 0, err.decode(errors="replace")[-3000:]
    assert out == ho, err.decode(errors="replace")[-3000:]
    assert b"task: 3 threads: boss worker-1 worker-2\n" in out and b"Threads:\t3" in out, out
    assert b"readv: 32 \"written by a thread\"" in out and b"own name now renamed" in out


def test_stopped_process_does_not_hang_its_asker(rootfs):
    # a stopped process cannot run to answer: what the broker knows shows at once
    code, out, err = run_mkemu([BB, "sh", "-c", "busybox sleep 5 & p=$!; "
                                "until tr '\\0' ' ' < /proc/$p/cmdline | grep -q '^busybox sleep'; "
                                "do :; done; kill -STOP $p; "
                                "grep State /proc/$p/status; cat /proc/$p/cmdline | tr '\\0' ' '; "
                                "echo; readlink /proc/$p/exe; kill -CONT $p; kill $p"],
                               rootfs=rootfs, timeout=60)
    assert code == 0, err
    assert out.decode().splitlines() == ["State:\tT (stopped)", "busybox sleep 5 ",
                                         "/bin/busybox"], out


def test_comm_is_writable_by_the_process(rootfs):
    code, out, err = run_mkemu([BB, "sh", "-c", "echo -n newname > /proc/self/comm; "
                                "cat /proc/$$/comm; echo -n other > /proc/$$/task/$$/comm; "
                                "cat /proc/$$/comm; echo 500 > /proc/self/oom_score_adj; "
                                "cat /proc/self/oom_score_adj"], rootfs=rootfs)
    assert code == 0, err
    # the child `cat` inherits oom_score_adj over fork, as on Linux
    assert out == b"newname\nother\n500\n", out


def test_a_killed_machine_tmpfs_is_swept_by_the_next(rootfs):
    # a broker killed with SIGKILL leaves its directories; they are named after its
    # host pid, and the next machine removes those whose broker is gone
    import subprocess
    gone = subprocess.Popen(["true"])
    gone.wait()
    left = f"/dev/shm/mkemu-tmpfs-{gone.pid}-leftover"
    os.makedirs(left)
    try:
        code, _, err = run_mkemu([BB, "true"], rootfs=rootfs)
        assert code == 0, err
        assert not os.path.exists(left)
    finally:
        shutil.rmtree(left, ignore_errors=True)


def test_stat_statm_status_fields_like_linux(rootfs, guest_binary):
    # the fields of /proc/self/stat, statm and status (names, order, shape; the masks
    # of a blocked, an ignored and a caught signal), a thread's task/TID/stat, the
    # task listing's order, another process asleep in sigsuspend answering for its
    # status, and PR_GET/SET_DUMPABLE: as the same source shows them natively
    hc, ho, he = run_command([str(host_binary("proc_fields"))])
    assert hc == 0, he.decode(errors="replace")
    mc, mo, me = run_mkemu([guest_binary("proc_fields")], rootfs=rootfs)
    assert (mc, mo.decode()) == (hc, ho.decode()), me.decode(errors="replace")[-3000:]
    assert "stat: num_threads 1, exit_signal 17\n" in mo.decode()
    assert "status: SigBlk: 16 hex 0000000000000200\n" in mo.decode()
    assert "sleeping child: State:\tS (sleeping), has SigCgt: yes\n" in mo.decode()


def test_cpu_times_of_threads_and_children_and_peaks_like_linux(rootfs, guest_binary):
    # each guest thread is a host process: times(), getrusage(RUSAGE_SELF),
    # CLOCK_PROCESS_CPUTIME_ID and /proc/self/stat sum the process's threads (a second
    # thread's 0.3 s of spinning shows in them, not in RUSAGE_THREAD, and stays there
    # after the thread is joined); a child's 0.3 s shows in wait4's rusage, then in
    # RUSAGE_CHILDREN and times()'s cutime; and VmPeak and
    # VmHWM keep an unmapped 8 MiB mapping's size and pages: as natively
    _all_yes_as_natively("proc_group_cpu", rootfs, guest_binary)


def test_host_proc_files_kept_open_are_live(rootfs, guest_binary):
    # /proc/stat and /proc/uptime read again from their start (lseek 0, pread 0) show
    # the host's counters now, as vmstat, top and free -s expect: as natively
    _all_yes_as_natively("proc_live", rootfs, guest_binary)


def test_maps_names_files_by_their_guest_paths(glibc_rootfs, guest_binary):
    # /proc/self/maps names a file mapping by the path the guest opens it by (it gave
    # the host's path of the rootfs file), with its device; a deleted file, a memfd
    # and a heap grown by brk read as Linux shows them: as natively, static and
    # dynamic, each run from inside the rootfs
    native = run_command([str(host_binary("proc_maps_names"))])
    assert native[0] == 0 and "no" not in native[1].decode(), native
    with rootfs_tmpdir(glibc_rootfs, "maps") as (host_dir, guest_dir):
        for kind in ("static", "dynamic"):
            shutil.copy(guest_binary("proc_maps_names", kind), host_dir / kind)
            code, out, err = run_mkemu([f"{guest_dir}/{kind}"], rootfs=glibc_rootfs)
            assert (code, out) == native[:2], err.decode(errors="replace")[-3000:]


def test_exe_link_and_maxrss_are_the_guest_s(rootfs, guest_binary, tmp_path):
    # run through a symlink, /proc/self/exe names the program's own file (it named the
    # link: VmExe was 0 and Python's prefix search saw the link); ru_maxrss is the
    # guest's peak of pages present, VmHWM (it was the emulator's host process's,
    # ~240 MB), and a waited-for child's is in wait4's and RUSAGE_CHILDREN's (they
    # were 0): as natively, run through a symlink too
    os.symlink(host_binary("proc_exe_rss"), tmp_path / "link")
    native = run_command([str(tmp_path / "link")])
    assert native[0] == 0 and "no" not in native[1].decode(), native
    with rootfs_tmpdir(rootfs, "exe") as (host_dir, guest_dir):
        shutil.copy(guest_binary("proc_exe_rss"), host_dir / "prog")
        os.symlink("prog", host_dir / "link")
        code, out, err = run_mkemu([f"{guest_dir}/link"], rootfs=rootfs)
    assert (code, out) == native[:2], err.decode(errors="replace")[-3000:]


def test_maps_names_a_host_program_as_its_exe_link(rootfs, guest_binary):
    # a program loaded from a host file outside the rootfs: its mapping has the name
    # /proc/self/exe gives, not the name of another host path
    code, out, err = run_mkemu([guest_binary("proc_maps_names")], rootfs=rootfs)
    assert code == 0, err
    assert "the code's mapping is named by /proc/self/exe: yes" in out.decode()


def test_cpu_time_clocks_of_processes_and_threads_as_natively(rootfs, guest_binary):
    # clock_getcpuclockid was ESRCH even for the caller's own pid, and the clock
    # pthread_getcpuclockid gives was EINVAL in clock_gettime: a CPU-time clock id
    # names a process or thread, whose task processes' host clocks it sums
    _all_yes_as_natively("proc_cpuclocks", rootfs, guest_binary)


def _all_yes_as_natively(name: str, rootfs, guest_binary) -> None:
    """tests/guest/NAME.c prints comparisons: natively every one is "yes", and mkemu
    prints the same lines."""
    hc, ho, he = run_command([str(host_binary(name))])
    assert hc == 0, he.decode(errors="replace")
    assert "no" not in ho.decode(), ho.decode()
    mc, mo, me = run_mkemu([guest_binary(name)], rootfs=rootfs, timeout=120)
    assert (mc, mo.decode()) == (hc, ho.decode()), me.decode(errors="replace")[-3000:]


def test_namespace_links_as_natively(rootfs, guest_binary):
    # /proc/PID/ns was missing (lsns, nsenter, container checks read it): mkemu makes no
    # namespace, so each link is the host namespace the guest runs in
    _all_yes_as_natively("proc_ns", rootfs, guest_binary)


def test_host_proc_files_cannot_be_changed(rootfs):
    # the guest's /proc/stat is the host's own file, opened directly: chmod, chown and
    # touch, by path, through a descriptor's /proc/self/fd link, or on the descriptor,
    # are refused and leave it as it was (root on the host could change its mode)
    before = os.stat("/proc/stat")
    try:
        code, out, err = run_mkemu([BB, "sh", "-c",
                                    "exec 3</proc/stat; for f in /proc/stat /proc/self/fd/3; do "
                                    "chmod 600 $f || echo no chmod; chown 1:1 $f || echo no chown; "
                                    "touch -c -d 2001-01-01 $f || echo no touch; done; head -c 3 <&3"],
                                   rootfs=rootfs)
        after = os.stat("/proc/stat")
    finally:
        os.chmod("/proc/stat", stat.S_IMODE(before.st_mode))
        os.chown("/proc/stat", before.st_uid, before.st_gid)
        os.utime("/proc/stat", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (after.st_mode, after.st_uid, after.st_gid) == (before.st_mode, before.st_uid, before.st_gid)
    assert out.decode().split("\n") == ["no chmod", "no chown", "no touch"] * 2 + ["cpu"], err


def test_cgroup_file_of_self_and_others(rootfs):
    # /proc/PID/cgroup (missing: container checks and runtimes read it): one cgroup v2
    # hierarchy with the machine at its root, for this process and another
    code, out, err = run_mkemu([BB, "sh", "-c", "cat /proc/self/cgroup; sleep 1 & cat /proc/$!/cgroup"],
                               rootfs=rootfs)
    assert (code, out) == (0, b"0::/\n0::/\n"), err


def test_rss_counts_file_pages_mapped_in(rootfs, guest_binary):
    # RssFile was 0 (file pages read through a mapping are not in the process's page
    # table), so VmRSS, statm and ps's RSS showed only private pages (bash: 252 kB):
    # as natively, a 1 MiB file mapping read through adds ~1 MiB, and munmap removes it
    _all_yes_as_natively("proc_rss_file", rootfs, guest_binary)
