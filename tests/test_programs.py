"""Real Debian programs under mkemu: shells, make, perl, python3, sqlite3, ps.

They run in the "full" rootfs (tests/support/rootfs.py, `full_rootfs()`): a
small installed Debian 12 arm64 system.  Most of them fork, exec and wait:
every child is a task process of the same machine.

The reference, and why it is not always qemu-aarch64
----------------------------------------------------
qemu-aarch64 -L ROOT is the reference for a guest that does not execve.  Its
execve passes the guest's path to the HOST kernel unchanged: `uname -m` in a
shell under qemu runs the host's x86_64 /usr/bin/uname and prints x86_64, and
with binfmt_misc an aarch64 file would be run by a qemu that never saw -L.
Such output is not the guest's, so:

* a workload that forks but execs nothing (shell builtins and subshells,
  perl and python forking) is compared with
  qemu-aarch64, whose run is traced (-strace) and must show no execve: the
  reference is checked to be the guest's own output;
* a workload that execs guest programs (dash or bash pipelines through
  coreutils and mawk, busybox sh, which execs itself for some applets, make's
  recipes, python's subprocess, ps) is compared
  with literal expected output: what those programs print on Debian by their
  documented behaviour (each was checked once against the same script run by
  the host's native bash/dash/make/python3 of Debian 12).
* ps reads /proc, which under qemu -L is the rootfs's empty /proc directory,
  so it is checked by structure: stable columns (pid, ppid, command name)
  against the shell's own $$ and $!.

Files a workload writes go to a fresh directory under the rootfs's /tmp; the
script gets that directory as an argument: the guest path under mkemu, the
host path under qemu (qemu -L maps only paths that already exist in ROOT).
"""
from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.support.guestrun import run_mkemu, run_qemu


PY_TIMEOUT = 300          # python3 starts in ~11 s under mkemu; importing subprocess takes ~30 s


@pytest.fixture
def work_dir(full_rootfs):
    """A fresh directory under the full rootfs's /tmp: (guest path, host path)."""
    name = f"p-{uuid.uuid4().hex[:12]}"
    host = full_rootfs / "tmp" / name
    host.mkdir(parents=True)
    yield f"/tmp/{name}", host
    shutil.rmtree(host, ignore_errors=True)


def guest(root, *args, stdin=b"", timeout=120):
    """(status, stdout, stderr) of ARGS under mkemu in ROOT."""
    return run_mkemu(list(args), rootfs=root, stdin=stdin, timeout=timeout)


_EXECVE = re.compile(rb"^\d+ execve\(", re.M)


def qemu_reference(root, *args, stdin=b"", timeout=120) -> tuple[int, bytes]:
    """(status, stdout) of ARGS under qemu-aarch64 -L ROOT, checked to have exec'd nothing.

    ARGS[0] is a guest path (its file in ROOT is what qemu loads).  The run is
    traced (-strace, into a log file: on stderr the trace would mix into what
    the guest redirects); an execve in it would have run a host file (see the
    module's docstring), so it fails the test rather than give a false reference.
    qemu's log is the guest's first free descriptor (3) and qemu does not keep
    the guest off it: a workload compared here must not dup2 onto fd 3.
    """
    prog = root / str(args[0]).lstrip("/")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "strace.log"
        code, out, _ = run_qemu([prog, *args[1:]], rootfs=root, stdin=stdin,
                                timeout=timeout, extra=["-strace", "-D", log])
        trace = log.read_bytes() if log.exists() else b""
    assert not _EXECVE.search(trace), "the reference run exec'd a program: qemu ran a host file"
    return code, out


def assert_like_qemu(root, args, qemu_args=None, stdin=b"", timeout=120) -> bytes:
    """Run ARGS under mkemu and QEMU_ARGS (default ARGS) under qemu: same status and stdout."""
    code, out, err = guest(root, *args, stdin=stdin, timeout=timeout)
    qcode, qout = qemu_reference(root, *(qemu_args or args), stdin=stdin, timeout=timeout)
    assert (code, out) == (qcode, qout), err.decode(errors="replace")[-2000:]
    return out


def assert_output(root, args, expected: bytes, status=0, timeout=120):
    code, out, err = guest(root, *args, timeout=timeout)
    assert (code, out) == (status, expected), err.decode(errors="replace")[-2000:]


# ---------------------------------------------------------------- no fork needed

def test_dash_builtins(full_rootfs):
    script = 'echo hello; x=$((6*7)); echo "$x"; for i in 1 2 3; do printf "%s-" "$i"; done; echo; ' \
             'case abc in a*) echo matched;; esac; set -- p q r; echo "$# $2"; exit 5'
    assert_like_qemu(full_rootfs, ["/bin/dash", "-c", script])


def test_bash_builtins(full_rootfs):
    script = ('a=(one two three); echo "${#a[@]} ${a[1]} ${a[*]: -1}"; s=hello-world; '
              'echo "${s^^} ${s/world/there} ${#s}"; declare -A m=([k]=v); echo "${m[k]}"; '
              'printf "%05.1f|%-4s|%x\\n" 3.14159 ab 255; [[ abc =~ ^a(b)c$ ]] && echo "${BASH_REMATCH[1]}"; '
              'echo $((2**20))')
    assert_like_qemu(full_rootfs, ["/bin/bash", "-c", script])


def test_bash_time_reports_the_child_s_cpu(full_rootfs):
    # bash's `time` reads RUSAGE_CHILDREN before and after: the child's CPU time (its
    # spinning loop) shows as user time, and no field is garbage (a getrusage that
    # failed once left bash printing negative digits)
    code, out, err = run_mkemu(["/bin/bash", "-c",
                                "time busybox sh -c 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done'"],
                               rootfs=full_rootfs, timeout=120)
    assert code == 0, err.decode(errors="replace")[-3000:]
    times = dict(re.findall(r"^(real|user|sys)\t(\d+m\d+\.\d{3}s)$", err.decode(), re.M))
    assert set(times) == {"real", "user", "sys"}, err.decode(errors="replace")[-3000:]
    seconds = {k: int(v.split("m")[0]) * 60 + float(v.split("m")[1][:-1]) for k, v in times.items()}
    assert seconds["user"] + seconds["sys"] > 0.05, times      # the child ran a while


def test_python3_print(full_rootfs):
    out = assert_like_qemu(full_rootfs, ["/usr/bin/python3", "-c",
                                         "import os, sys\nprint(1+1)\n"
                                         "print(sorted({'b': 1, 'a': 2}.items()), f'{2**100:x}')\n"
                                         "print(sys.version_info[:2], os.getpid() > 0)"],
                           timeout=PY_TIMEOUT)
    assert out.startswith(b"2\n")


def test_perl_print(full_rootfs):
    script = ('print "hi\\n"; printf("%d %s\\n", 6*7, join(",", map { $_ * 2 } 1..5)); '
              'my %h = (b => 2, a => 1); print join(" ", map {"$_=$h{$_}"} sort keys %h), "\\n"; '
              '$_ = "aarch64"; s/(\\d+)/<$1>/; print "$_\\n"; exit 4')
    assert_like_qemu(full_rootfs, ["/usr/bin/perl", "-e", script])


SQL_WAL = ("PRAGMA journal_mode=WAL; create table t(id integer primary key, name text); "
           "insert into t(name) values ('one'), ('two'), ('three'); "
           "select id, name from t order by name; select count(*), sum(id) from t;")


def test_sqlite3_wal_database_in_a_file(full_rootfs, work_dir):
    gdir, hdir = work_dir
    (hdir / "q").mkdir()
    out = assert_like_qemu(full_rootfs, ["/usr/bin/sqlite3", f"{gdir}/t.db", SQL_WAL],
                           qemu_args=["/usr/bin/sqlite3", str(hdir / "q" / "t.db"), SQL_WAL])
    assert out == b"wal\n1|one\n3|three\n2|two\n3|6\n"
    db = (hdir / "t.db").read_bytes()
    assert db[:16] == b"SQLite format 3\0" and db[18:20] == b"\x02\x02"   # WAL in the header
    assert not (hdir / "t.db-wal").exists()       # checkpointed and removed at the last close
    # a second process opens it again: still WAL, the rows are there
    assert_output(full_rootfs, ["/usr/bin/sqlite3", f"{gdir}/t.db",
                                "PRAGMA journal_mode; select name from t where id = 2;"],
                  b"wal\ntwo\n")


def test_sqlite3_in_memory(full_rootfs):
    sql = ("create table n(x); with recursive c(i) as (select 1 union all select i+1 from c where i<100) "
           "insert into n select i from c; select sum(x), avg(x), group_concat(x % 7, '') from n "
           "where x % 9 = 0; select printf('%.3f', 22.0/7), hex('ab'), upper('mkemu');")
    assert_like_qemu(full_rootfs, ["/usr/bin/sqlite3", ":memory:", sql])


# ---------------------------------------------------------------- fork: compared with qemu

BASH_FORKS = r'''
d=$1
x=$(echo inner; echo second)
echo "subst: $x" | while read -r l; do echo "[$l]"; done
( exit 3 ) || echo "subshell status $?"
v=outer; ( v=inner; cd /; echo "subshell $v $PWD" ); echo "parent $v"
echo first > "$d/out"; echo second >> "$d/out"
while read -r l; do echo "read: $l"; done < "$d/out"
exec 8> "$d/fd8"; echo "via fd 8" >&8; exec 8>&-; read -r y < "$d/fd8"; echo "$y"
{ echo a; echo b >&2; } 2>&1 | { read -r p; read -r q; echo "$q$p"; }
while read -r l; do echo "heredoc: $l"; done <<EOF
one $((1+1)) $(echo nested)
EOF
read -r w <<< "here string"; echo "$w"
( exit 7 ) & pid=$!; wait $pid; echo "waited $?"
for i in 1 2 3; do ( echo "job $i" > "$d/job$i" ) & done; wait
echo "$(< "$d/job1") $(< "$d/job2") $(< "$d/job3")"
true | false | true; echo "pipestatus ${PIPESTATUS[*]}"
'''


def test_bash_subshells_jobs_redirections(full_rootfs, work_dir):
    gdir, hdir = work_dir
    (hdir / "q").mkdir()
    out = assert_like_qemu(full_rootfs, ["/bin/bash", "-c", BASH_FORKS, "bash", gdir],
                           qemu_args=["/bin/bash", "-c", BASH_FORKS, "bash", str(hdir / "q")])
    assert b"waited 7\njob 1 job 2 job 3\npipestatus 0 1 0\n" in out


PERL_FORK_PIPE = 'pipe(R,W); if(fork){close W; print <R>; wait; print $?>>8,"\\n"} else {print W "child\\n"; exit 3}'


def test_perl_fork_and_pipe(full_rootfs):
    out = assert_like_qemu(full_rootfs, ["/usr/bin/perl", "-e", PERL_FORK_PIPE])
    assert out == b"child\n3\n"


PY_FORK = '''
import os
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r); os.write(w, b"from child\\n"); os._exit(5)
os.close(w)
data = os.read(r, 100)
_, status = os.waitpid(pid, 0)
print(data.decode().strip(), os.WEXITSTATUS(status), flush=True)
r, w = os.pipe()                 # two children joined by a pipe
a = os.fork()
if a == 0:
    os.close(r); os.write(w, b"hello through a pipe\\n"); os._exit(0)
b = os.fork()
if b == 0:
    os.close(w); print("b got:", os.read(r, 100).decode().strip(), flush=True); os._exit(0)
os.close(r); os.close(w)
print([os.WEXITSTATUS(os.waitpid(p, 0)[1]) for p in (a, b)])
'''


def test_python3_fork_waitpid_pipe(full_rootfs):
    out = assert_like_qemu(full_rootfs, ["/usr/bin/python3", "-c", PY_FORK], timeout=PY_TIMEOUT)
    assert out == b"from child 5\nb got: hello through a pipe\n[0, 0]\n"


# ---------------------------------------------------------------- fork and exec: literal expectations

PIPELINES = {
    "seq-awk": ("seq 1 10 | awk '{s+=$1} END {print s}'", b"55\n"),
    "sort-uniq": ("printf 'b\\na\\nb\\n' | sort | uniq -c", b"      1 a\n      2 b\n"),
}


@pytest.mark.parametrize("name", sorted(PIPELINES))
@pytest.mark.parametrize("shell", [["/bin/busybox", "sh"], ["/bin/dash"]], ids=["busybox-sh", "dash"])
def test_shell_pipeline(full_rootfs, shell, name):
    # dash execs coreutils' seq, sort, uniq and mawk; busybox sh runs its own
    # applets, but execs itself (/proc/self/exe) for those that are not NOEXEC (uniq)
    script, expected = PIPELINES[name]
    assert_output(full_rootfs, [*shell, "-c", script], expected)


BASH_EXECS = r'''
echo "machine $(uname -m)"
printf 'b\na\nc\n' | sort | tr '\n' ' '; echo
cat <<EOF
heredoc $((2*3)) $(echo nested | tr a-z A-Z)
EOF
sort -r <<EOF | head -n 2
alpha
gamma
beta
EOF
/bin/false; echo "false: $?"
sh -c 'exit 9' & wait $!; echo "bg sh: $?"
echo to-file > "$1/f"; wc -c < "$1/f"
'''


def test_bash_runs_programs(full_rootfs, work_dir):
    gdir, _ = work_dir
    assert_output(full_rootfs, ["/bin/bash", "-c", BASH_EXECS, "bash", gdir],
                  b"machine aarch64\na b c \nheredoc 6 NESTED\ngamma\nbeta\nfalse: 1\n"
                  b"bg sh: 9\n8\n")


MAKEFILE = """\
all: sorted.txt
\tcat sorted.txt

sorted.txt: words.txt
\tsort words.txt > sorted.txt

words.txt:
\tprintf 'pear\\napple\\nfig\\n' > words.txt
"""


def test_make_three_rules(full_rootfs, work_dir):
    gdir, hdir = work_dir
    (hdir / "Makefile").write_text(MAKEFILE)
    make = ["/usr/bin/make", "--no-print-directory", "-C", gdir]
    assert_output(full_rootfs, make,
                  b"printf 'pear\\napple\\nfig\\n' > words.txt\nsort words.txt > sorted.txt\n"
                  b"cat sorted.txt\napple\nfig\npear\n")
    assert (hdir / "sorted.txt").read_text() == "apple\nfig\npear\n"
    assert_output(full_rootfs, make, b"cat sorted.txt\napple\nfig\npear\n")   # up to date


PY_SUBPROCESS = '''
import subprocess
r = subprocess.run(["/bin/echo", "x"], capture_output=True)
print(r.returncode, r.stdout)
p1 = subprocess.Popen(["printf", "b\\\\na\\\\nb\\\\n"], stdout=subprocess.PIPE)
p2 = subprocess.Popen(["sort", "-u"], stdin=p1.stdout, stdout=subprocess.PIPE)
p1.stdout.close()
out = p2.communicate()[0]
print(out.split(), p1.wait(), p2.returncode)
print(subprocess.run(["/bin/sh", "-c", "exit 4"]).returncode)
'''


def test_python3_subprocess(full_rootfs):
    assert_output(full_rootfs, ["/usr/bin/python3", "-c", PY_SUBPROCESS],
                  b"0 b'x\\n'\n[b'a', b'b'] 0 0\n4\n", timeout=PY_TIMEOUT)


PS_SCRIPT = 'sleep 30 & ps -e -o pid=,ppid=,comm=; echo "self $$ bg $!"; kill $!; wait'


def test_ps_lists_the_shell_and_its_children(full_rootfs):
    # /proc lists every guest process and /proc/PID shows the others (the broker's)
    code, out, err = guest(full_rootfs, "/bin/bash", "-c", PS_SCRIPT)
    assert code == 0, err.decode(errors="replace")[-2000:]
    *rows, last = out.decode().splitlines()
    m = re.fullmatch(r"self (\d+) bg (\d+)", last)
    assert m, out
    me, bg = m.groups()
    table = [tuple(r.split(None, 2)) for r in rows]
    assert (me, "bash") in [(p, c) for p, _, c in table], table
    assert (bg, me, "sleep") in table, table
    assert any(pp == me and c == "ps" for _, pp, c in table), table



def test_ps_elapsed_times_and_vmstat(full_rootfs):
    # every process's start time (its own /proc/self/stat too, which ps reads for
    # itself) is this machine's, not the host's boot; vmstat reads /proc/vmstat
    code, out, err = guest(full_rootfs, "/bin/bash", "-c",
                           "sleep 30 & ps -e -o etimes=,comm=; kill $!; wait; vmstat")
    assert code == 0, err.decode(errors="replace")[-2000:]
    lines = out.decode().splitlines()
    rows = [r.split() for r in lines if r.split()[0].isdigit() and len(r.split()) == 2]
    assert {c for _, c in rows} >= {"bash", "sleep", "ps"}, lines
    assert all(int(e) < 120 for e, _ in rows), lines
    assert lines[-2].split()[:4] == ["r", "b", "swpd", "free"], lines

def test_ps_columns_from_stat_statm_status(full_rootfs):
    # procps ps's columns that read the fuller /proc/PID/stat, statm and status: thread
    # count, sizes, state, CPU time; a shell asleep in wait is S
    code, out, err = guest(full_rootfs, "/bin/bash", "-c",
                           "sleep 30 & ps -o pid=,nlwp=,vsz=,rss=,stat=,time=,comm=; "
                           "kill $!; wait")
    assert code == 0, err.decode(errors="replace")[-2000:]
    rows = {r.split()[-1]: r.split() for r in out.decode().splitlines()}
    assert {"bash", "sleep", "ps"} <= set(rows), out
    for name, (pid, nlwp, vsz, rss, stat, time, comm) in rows.items():
        assert nlwp == "1" and int(vsz) > 0 and int(rss) > 0, rows
        assert re.fullmatch(r"\d\d:\d\d:\d\d", time), rows
    assert rows["sleep"][4] == "S" and rows["ps"][4] == "R", rows


def test_top_batch_lists_the_machine(full_rootfs):
    # procps top -b -n1 (its terminal description from the rootfs's ncurses-base)
    code, out, err = run_mkemu(["/bin/bash", "-c", "sleep 30 & top -b -n1; kill $!; wait"],
                               rootfs=full_rootfs, timeout=120, guest_env={"TERM": "xterm"})
    assert code == 0, err.decode(errors="replace")[-2000:]
    lines = out.decode().splitlines()
    assert lines[0].startswith("top - "), lines
    assert re.match(r"Tasks: +3 total", lines[1]), lines
    head = next(i for i, line in enumerate(lines) if line.split()[:2] == ["PID", "USER"])
    procs = {r.split()[-1]: r.split() for r in lines[head + 1:] if r.strip()}
    assert {"bash", "sleep", "top"} <= set(procs), lines
    assert procs["sleep"][7] == "S" and procs["top"][7] == "R", lines
    assert all(int(p[4]) > 0 for p in procs.values()), lines     # VIRT


PARALLEL_MAKEFILE = """\
all: a.txt b.txt c.txt
\tcat a.txt b.txt c.txt

a.txt b.txt c.txt:
\tsleep 0.2; echo $@ > $@
"""


def test_make_j3_waits_for_parallel_jobs(full_rootfs, work_dir):
    # three jobs at once (three children alive, reaped in any order), then the last rule
    gdir, hdir = work_dir
    (hdir / "Makefile").write_text(PARALLEL_MAKEFILE)
    code, out, err = guest(full_rootfs, "/usr/bin/make", "-s", "-j3", "--no-print-directory",
                           "-C", gdir)
    assert (code, out) == (0, b"a.txt\nb.txt\nc.txt\n"), err.decode(errors="replace")[-2000:]


# ------------------------------------------------------------ signals and job control
BASH_TRAPS = r'''
trap 'echo got USR1' USR1
trap 'echo got INT; n=$((n+1))' INT
trap 'echo bye from EXIT' EXIT
n=0
kill -USR1 $$
kill -INT $$
kill -INT $$
( trap 'echo sub TERM; exit 7' TERM; kill -TERM $BASHPID; echo not reached ); echo "subshell $?"
echo "ints $n"
'''


def test_bash_traps_usr1_int_exit_like_qemu(full_rootfs):
    out = assert_like_qemu(full_rootfs, ["/bin/bash", "-c", BASH_TRAPS])
    assert out == (b"got USR1\ngot INT\ngot INT\nsub TERM\nsubshell 7\nints 2\n"
                   b"bye from EXIT\n")


PY_SIGNALS = r'''
import signal, time
seen = []
signal.signal(signal.SIGUSR1, lambda s, f: seen.append("usr1"))
signal.raise_signal(signal.SIGUSR1)
signal.signal(signal.SIGALRM, lambda s, f: seen.append("alarm"))
signal.alarm(1)
time.sleep(5)                      # PEP 475: the handler runs, the sleep goes on
signal.setitimer(signal.ITIMER_REAL, 0.2, 0.1)
while seen.count("alarm") < 4:
    signal.pause()
signal.setitimer(signal.ITIMER_REAL, 0)
print(seen[:2], seen.count("alarm"), signal.getitimer(signal.ITIMER_REAL))
try:
    signal.signal(signal.SIGKILL, signal.SIG_IGN)
except OSError as e:
    print("SIGKILL:", e.errno)
'''


def test_python3_signal_module_like_qemu(full_rootfs):
    # signal.signal, raise_signal, alarm, setitimer with an interval, pause
    out = assert_like_qemu(full_rootfs, ["/usr/bin/python3", "-c", PY_SIGNALS], timeout=PY_TIMEOUT)
    assert out == b"['usr1', 'alarm'] 4 (0.0, 0.0)\nSIGKILL: 22\n"


STOP_CONT = r'''
sleep 30 & pid=$!
kill -STOP $pid
sleep 0.3
ps -o stat= -p $pid
kill -CONT $pid
sleep 0.3
ps -o stat= -p $pid
kill $pid; wait $pid; echo "status $?"
'''


def test_kill_stop_and_cont_seen_by_ps(full_rootfs):
    # ps reads the state from /proc/PID/stat: T while stopped, S once continued
    code, out, err = guest(full_rootfs, "/bin/bash", "-c", STOP_CONT)
    assert code == 0, err.decode(errors="replace")[-2000:]
    assert [line.strip() for line in out.decode().splitlines()] == ["T", "S", "status 143"]
