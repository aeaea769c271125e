"""Guest threads (clone with CLONE_VM|CLONE_THREAD...): the tests/guest/thr_*.c
fixtures and python3's threading, under mkemu beside a reference.

Every fixture prints only results worked out after its threads are joined
(totals, checksums, yes/NO), never anything that depends on how the threads
interleaved, so its whole output is known in advance: each test checks that
mkemu's status and output equal the reference's AND equal the expected text
written here (two equally wrong runs cannot pass).

The reference is qemu-aarch64 except where qemu-user is not Linux; there it
is the same C source built for this host and run natively (host_binary):
- thr_robust: qemu answers set_robust_list with ENOSYS, so no owner-died
  marking happens at thread exit and its run hangs in pthread_mutex_lock;
- thr_clone_vm: qemu refuses clone(CLONE_VM) without CLONE_THREAD (EINVAL) and
  turns CLONE_VM|CLONE_VFORK into a plain fork (the child's write is lost);
- thr_exec: qemu hands execve to the host kernel, which cannot run an aarch64
  file here (ENOEXEC), and its /proc/self/status counts qemu's own extra
  thread (Threads: 5 for 4 guest threads);
- thr_sched's "tasks" mode: qemu's /proc/self/task lists that extra thread too.

Each run has a timeout, so a deadlocked guest fails its test rather than hang
the suite.  test_contention_stress (-m slow) repeats the contention fixtures
50 times each, checking the exact totals every time.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.support.guestbin import host_binary
from tests.support.guestrun import (children, kill_tree, mkemu_command, run_command,
                                    run_mkemu, run_qemu)

THREAD_TIMEOUT = 240      # seconds per guest run: a hang fails, never stalls the suite
PY_TIMEOUT = 300          # python3 starts in ~11 s under mkemu (as in tests/test_programs.py)
STRESS_RUNS = 50

ARMV8_0 = ("-march=armv8-a",)      # exclusives: LDXR/STXR, LDXP/STXP
ARMV8_1 = ("-march=armv8.1-a",)    # LSE: LDADD, CAS, SWP, CASP


def yes_lines(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


# ---- expected outputs of the contention fixtures, for any count --------------------------
def mutex_out(n: int) -> str:
    return f"threads 4 x {n}: total {4 * n} (expected {4 * n}), per-thread sum {4 * n}\nmutex ok\n"


def prodcons_out(per_producer: int) -> str:
    items = range(4 * per_producer)          # producer p makes p * per_producer + i
    return (f"items {len(items)} sum {sum(items)} sumsq {sum(v * v for v in items) % 2**64}\n"
            "each item consumed once: yes\nprodcons ok\n")


def atomic_out(n: int) -> str:
    total, spins = 4 * n, 4 * ((n + 15) // 16)
    return (f"fetch_add relaxed {total} seq_cst {total}, 32-bit {3 * total % 2**32}\n"
            f"cas loop {total}\nexchange conserved: yes\n"
            f"spinlock-guarded {spins} of {spins}\natomics ok\n")


def casp_out(n: int) -> str:
    pair = (2**64 - 1001 + sum(n * (1 + (k << 64)) for k in range(1, 5))) % 2**128
    return f"pair hi {pair >> 64:#018x} lo {pair & (2**64 - 1):#018x}\ncasp ok\n"


# name, fixture, cflags, arguments, expected output (the fixtures' default counts)
CONTENTION = [
    ("mutex", "thr_mutex", (), (), mutex_out(100000)),
    # (5,000 items a producer: at 20,000 this was a minute of the default run; the slow
    # run repeats it 50 times, test_contention_stress)
    ("prodcons", "thr_prodcons", (), ("5000",), prodcons_out(5000)),
    ("atomic-v8.0", "thr_atomic", ARMV8_0, (), atomic_out(100000)),
    ("atomic-v8.1", "thr_atomic", ARMV8_1, (), atomic_out(100000)),
    ("casp-v8.0", "thr_casp", ARMV8_0, (), casp_out(50000)),
    ("casp-v8.1", "thr_casp", ARMV8_1, (), casp_out(50000)),
]

BEHAVIOUR = [
    ("tls", yes_lines(
        "threads start from the TLS image: yes",
        "each thread keeps its own TLS values: yes",
        "main thread's TLS untouched: yes",
        "pthread_self, gettid and TLS address distinct: yes",
        "pthread_self is what pthread_create returned: yes",
        "threads share getpid, their gettid differs from it: yes",
        "main thread gettid == getpid: yes",
        "tls ok")),
    ("sigaltstack", yes_lines(
        *(f"thread {i}: started with SS_DISABLE, handler ran 1 time(s), "
          "on its own alternate stack: yes, SS_ONSTACK: yes" for i in (0, 1)),
        "main: handler ran 1 time(s), on its own alternate stack: yes, SS_ONSTACK: yes",
        "sigaltstack ok")),
    ("cancel", yes_lines(
        *(f"{what}: join 0, PTHREAD_CANCELED, cleanup ran"
          for what in ("read", "cond_wait", "nanosleep", "async spin", "disabled then testcancel")),
        "mutex free after cond_wait's cleanup: yes",
        "cancel ok")),
    ("exitwait", yes_lines(
        "joiner got the exited thread's value: 42",
        "cond waiter woken by main: 1",
        "late join of a long-finished thread: 7",
        "detached thread ran",
        "exitwait ok")),
    ("mmap", yes_lines(
        "B reads A's new mapping: same bytes",
        "B reads page 0: ok",
        "B reads the page A unmapped: SIGSEGV SEGV_MAPERR, at the address: yes",
        "B writes the page A made read-only: SIGSEGV SEGV_ACCERR, at the address: yes",
        "B reads the read-only page: ok",
        "B writes page 3: ok",
        "B sees and frees A's malloc: yes",
        "main reads the page A unmapped: SIGSEGV SEGV_MAPERR, at the address: yes",
        "main reads page 3 (B's write): ok, value 1")),
    ("signals", yes_lines(
        "pthread_kill to worker 1: handled there: yes",
        "tgkill to worker 1: handled there: yes",
        "to worker 0, which blocks it: left pending: yes",
        "worker 0 saw it pending: yes, handled there once unblocked: yes",
        "kill() while only one thread takes it: handled there: yes",
        "kill() after a sibling started just before ended, 16 rounds: handled there: yes",
        "kill() while all block it: taken by sigtimedwait: yes",
        "exit(3) in a worker: process exited 3",
        "SIGTERM to a worker: process killed by TERM",
        "main pthread_exit, then worker _exit(5): process exited 5")),
    ("sigwaits", yes_lines(
        *(line for call in ("sigsuspend", "ppoll", "pselect", "epoll_pwait")
                     for line in (
            f"{call}, sent before (pending: yes): EINTR: yes, handled in the caller: yes, "
            "mask back: yes, alarm: no",
            f"{call}, sent while it sleeps: EINTR: yes, handled in the caller: yes, "
            "mask back: yes, alarm: no")),
        "sigwaits ok")),
    ("jit", yes_lines(
        "rwx page, rewritten by another thread: 20 of 20 rounds ran the new code",
        "W^X page, rewritten by another thread: 20 of 20 rounds ran the new code")),
    ("sched", yes_lines(
        "main reads each thread's own name: yes",
        "main: yield, affinity, getcpu, SCHED_OTHER: yes",
        *(f"thread {i}: yield, affinity, getcpu, SCHED_OTHER, its name: yes" for i in (0, 1)),
        "sched ok")),
]


def like_qemu(rootfs, prog, args=(), timeout=THREAD_TIMEOUT) -> str:
    """mkemu's output of prog, checked to be qemu's (status and stdout)."""
    qc, qo, qe = run_qemu([prog, *args], rootfs=rootfs, timeout=timeout)
    assert qc == 0, f"the reference failed: {qe.decode(errors='replace')}"
    mc, mo, me = run_mkemu([prog, *args], rootfs=rootfs, timeout=timeout)
    assert (mc, mo.decode()) == (qc, qo.decode()), me.decode(errors="replace")[-3000:]
    return mo.decode()


def like_linux(rootfs, guest_binary, name, args=(), timeout=THREAD_TIMEOUT) -> str:
    """mkemu's output of fixture NAME, checked to be the native host run's."""
    hc, ho, he = run_command([str(host_binary(name)), *args], timeout=timeout,
                             signal_as_status=True)
    assert hc == 0, f"the native reference failed: {he.decode(errors='replace')}"
    mc, mo, me = run_mkemu([guest_binary(name), *args], rootfs=rootfs, timeout=timeout)
    assert (mc, mo.decode()) == (hc, ho.decode()), me.decode(errors="replace")[-3000:]
    return mo.decode()


# ---- compared with qemu ----------------------------------------------------------------------
@pytest.mark.parametrize("fixture,cflags,args,expected",
                         [c[1:] for c in CONTENTION], ids=[c[0] for c in CONTENTION])
def test_contention_totals_like_qemu(rootfs, guest_binary, fixture, cflags, args, expected):
    out = like_qemu(rootfs, guest_binary(fixture, cflags=cflags), args)
    assert out == expected


@pytest.mark.parametrize("name,expected", BEHAVIOUR, ids=[b[0] for b in BEHAVIOUR])
def test_thread_behaviour_like_qemu(rootfs, guest_binary, name, expected):
    out = like_qemu(rootfs, guest_binary(f"thr_{name}"))
    assert out == expected


# ---- compared with native Linux (qemu-user is wrong here: see the module's docstring) ------
def test_robust_mutex_of_an_exited_owner_like_linux(rootfs, guest_binary):
    out = like_linux(rootfs, guest_binary, "thr_robust")
    assert out == ("1. owner exited before the lock\n"
                   "  lock: EOWNERDEAD\n  consistent: 0\n  unlock: 0\n  lock again: 0\n  unlock: 0\n"
                   "2. owner exits while main waits in the lock\n"
                   "  lock: EOWNERDEAD\n  consistent: 0\n  unlock: 0\n"
                   "3. not made consistent\n"
                   "  lock: EOWNERDEAD\n  unlock: 0\n  lock again: ENOTRECOVERABLE\n")


def test_clone_vm_child_process_like_linux(rootfs, guest_binary):
    out = like_linux(rootfs, guest_binary, "thr_clone_vm")
    assert out == yes_lines(
        "CLONE_VM: waitpid ok, exit status 7, shared 42",
        "CLONE_VM: child pid is clone's result: yes, its parent is us: yes, not our pid: yes",
        "CLONE_VM: SIGCHLD 1",
        "CLONE_VM|CLONE_VFORK: waitpid ok, exit status 7, shared 100",
        "CLONE_VM|CLONE_VFORK: child pid is clone's result: yes, its parent is us: yes, "
        "not our pid: yes",
        "CLONE_VM|CLONE_VFORK: SIGCHLD 1",
        "CLONE_VM|CLONE_VFORK: write seen before waitpid: yes")


def test_exec_ends_the_other_threads_like_linux(rootfs, guest_binary):
    out = like_linux(rootfs, guest_binary, "thr_exec")
    same = "pid same as the first image: yes, gettid == getpid: yes"
    assert out == yes_lines(
        f"image 1, 3 threads started: {same}, Threads: 4",
        f"image 2 (exec'd from the main thread): {same}, Threads: 1",
        f"image 2, 3 threads started: {same}, Threads: 4",
        f"image 3 (exec'd from a worker thread): {same}, Threads: 1")


def test_process_signals_outlive_the_thread_they_went_to_like_linux(rootfs, guest_binary):
    # 200 sigqueue values to a process whose threads start and exit all the while: a
    # value the broker routed to a thread that then exited used to be lost (14-87 of
    # 200); Linux keeps it for another thread, and so must mkemu
    out = like_linux(rootfs, guest_binary, "sig_thread_exit")
    assert out == yes_lines("threads started: some",
                            "received 200 of 200, sum 20100 (expected 20100), "
                            "duplicates or bad values 0",
                            "sent 200, child exit 0")


def test_proc_self_task_lists_the_threads_like_linux(rootfs, guest_binary):
    out = like_linux(rootfs, guest_binary, "thr_sched", ["tasks"])
    assert "/proc/self/task entries with 3 threads: 3\n" in out
    assert out.endswith("sched ok\n")


# ---- the builds are what they claim ------------------------------------------------------------
def _mnemonics(prog, function: str = "work") -> set[str]:
    dump = subprocess.run(["aarch64-linux-gnu-objdump", "-d", f"--disassemble={function}",
                           str(prog)], capture_output=True, text=True, check=True).stdout
    return {parts[2].split()[0] for line in dump.splitlines()
            if len(parts := line.split("\t")) >= 3 and parts[2].strip()}


EXCLUSIVE = ("ldxr", "ldaxr", "stxr", "stlxr", "ldxp", "ldaxp", "stxp", "stlxp")
LSE = ("ldadd", "cas", "swp")


def _uses(mnemonics: set[str], prefixes) -> set[str]:
    return {m for m in mnemonics if m.startswith(tuple(prefixes))}


@pytest.mark.parametrize("fixture", ["thr_atomic", "thr_casp"])
def test_atomic_builds_use_exclusives_or_lse(guest_binary, fixture):
    # the v8.0 build must loop on load/store-exclusive, the v8.1 one use LSE, both
    # inline in the threads' function (not outline helpers chosen at run time)
    v80 = _mnemonics(guest_binary(fixture, cflags=ARMV8_0))
    v81 = _mnemonics(guest_binary(fixture, cflags=ARMV8_1))
    assert not _uses(v80, LSE), v80
    assert not _uses(v81, EXCLUSIVE), v81
    if fixture == "thr_atomic":
        assert {"ldxr", "stxr"} <= v80 and _uses(v80, ["ldaxr"]) and _uses(v80, ["stlxr"]), v80
        assert all(_uses(v81, [p]) for p in LSE), v81       # LDADD*, CAS*, SWP*
    else:
        assert _uses(v80, ["ldxp", "ldaxp"]) and _uses(v80, ["stxp", "stlxp"]), v80
        assert _uses(v81, ["casp"]), v81


# ---- python3's threading -------------------------------------------------------------------------
# Two scripts build a queue and a pool on threading.Condition (the interpreter's own
# locks), the third is the standard library's queue.Queue and ThreadPoolExecutor.
PY_QUEUE = '''
import threading
items, cond, stop = [], threading.Condition(), object()
def put(x):
    with cond:
        cond.wait_for(lambda: len(items) < 8)
        items.append(x)
        cond.notify_all()
def get():
    with cond:
        cond.wait_for(lambda: items)
        x = items.pop(0)
        cond.notify_all()
        return x
sums, lock = [], threading.Lock()
def worker():
    s = 0
    while (x := get()) is not stop:
        s += x
    with lock:
        sums.append(s)
threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads:
    t.start()
for i in range(1, 2001):
    put(i)
for _ in threads:
    put(stop)
for t in threads:
    t.join()
print("sum", sum(sums), "workers", len(sums), "alive", sum(t.is_alive() for t in threads),
      "active", threading.active_count())
'''

PY_POOL = '''
import threading
def pool_map(fn, args, workers=4):
    args, results, lock = list(args), {}, threading.Lock()
    todo = iter(range(len(args)))
    def run():
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            results[i] = fn(args[i])
    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [results[i] for i in range(len(args))]
main, local = threading.get_ident(), threading.local()
def square(x):
    local.calls = getattr(local, "calls", 0) + 1
    return x * x, threading.get_ident(), local.calls
results = pool_map(square, range(200))
calls = {}
for _, ident, n in results:
    calls[ident] = max(calls.get(ident, 0), n)
print("squares", sum(r[0] for r in results), "first", [r[0] for r in results[:5]],
      "off the main thread", main not in calls, "at most 4 threads", len(calls) <= 4,
      "thread-local counts add up", sum(calls.values()) == len(results))
barrier, seen = threading.Barrier(4), []
def meet():
    seen.append(barrier.wait() >= 0)
ts = [threading.Thread(target=meet) for _ in range(3)]
for t in ts:
    t.start()
meet()
for t in ts:
    t.join()
print("barrier", len(seen), all(seen))
'''

PY_STDLIB = '''
import queue, threading
from concurrent.futures import ThreadPoolExecutor
q, out = queue.Queue(maxsize=16), queue.Queue()
def worker():
    s = 0
    while (x := q.get()) is not None:
        s += x
        q.task_done()
    q.task_done()
    out.put(s)
ts = [threading.Thread(target=worker) for _ in range(4)]
for t in ts:
    t.start()
for i in range(1, 1001):
    q.put(i)
for _ in ts:
    q.put(None)
q.join()
for t in ts:
    t.join()
print("queue.Queue sum", sum(out.get() for _ in ts))
with ThreadPoolExecutor(max_workers=4) as pool:
    cubes = list(pool.map(lambda x: x ** 3, range(100)))
    futs = [pool.submit(pow, 2, k) for k in range(16)]
print("executor", sum(cubes), cubes[:4], sum(f.result() for f in futs) == 2 ** 16 - 1)
'''

PYTHON_THREADS = [
    ("stdlib", PY_STDLIB, "queue.Queue sum 500500\nexecutor 24502500 [0, 1, 8, 27] True\n"),
    ("queue", PY_QUEUE, "sum 2001000 workers 4 alive 0 active 1\n"),
    ("pool", PY_POOL, "squares 2646700 first [0, 1, 4, 9, 16] off the main thread True "
                      "at most 4 threads True thread-local counts add up True\n"
                      "barrier 4 True\n"),
]


@pytest.mark.timeout(2 * PY_TIMEOUT + 60)
# queue's Condition.wait_for and notify_all are what stdlib's queue.Queue runs on: it
# is in the slow run (a minute of the default one)
@pytest.mark.parametrize("script,expected", [
    pytest.param(*p[1:], id=p[0], marks=[pytest.mark.slow] if p[0] == "queue" else [])
    for p in PYTHON_THREADS])
def test_python3_threading_like_qemu(full_rootfs, script, expected):
    # nothing here execs, so qemu -L runs the guest's own python3 throughout
    out = like_qemu(full_rootfs, full_rootfs / "usr/bin/python3", ["-c", script],
                    timeout=PY_TIMEOUT)
    assert out == expected


# ---- stress -----------------------------------------------------------------------------------------
# smaller counts than the default runs: 50 runs of each must stay affordable
STRESS = [
    ("mutex", "thr_mutex", (), "20000", mutex_out(20000)),
    ("prodcons", "thr_prodcons", (), "2000", prodcons_out(2000)),
    ("atomic-v8.0", "thr_atomic", ARMV8_0, "20000", atomic_out(20000)),
    ("atomic-v8.1", "thr_atomic", ARMV8_1, "20000", atomic_out(20000)),
    ("casp-v8.0", "thr_casp", ARMV8_0, "20000", casp_out(20000)),
    ("casp-v8.1", "thr_casp", ARMV8_1, "20000", casp_out(20000)),
]


@pytest.mark.slow
@pytest.mark.timeout(STRESS_RUNS * THREAD_TIMEOUT)   # each run has its own timeout besides
@pytest.mark.parametrize("fixture,cflags,count,expected", [s[1:] for s in STRESS],
                         ids=[s[0] for s in STRESS])
def test_contention_stress(rootfs, guest_binary, fixture, cflags, count, expected):
    prog = guest_binary(fixture, cflags=cflags)
    for run in range(STRESS_RUNS):
        code, out, err = run_mkemu([prog, count], rootfs=rootfs, timeout=THREAD_TIMEOUT)
        assert (code, out.decode()) == (0, expected), \
            f"run {run + 1} of {STRESS_RUNS}: " + err.decode(errors="replace")[-3000:]


# ---- a thread's host process dies --------------------------------------------------------------
def _task_processes(supervisor: int) -> list[int]:
    """The task processes of the machine under mkemu's supervisor: the broker's children."""
    return sorted(p for broker in children(supervisor) for p in children(broker))


def test_a_killed_thread_takes_its_group_down_with_its_signal(rootfs, guest_binary):
    # 4 threads that contend for a long time; SIGKILL one of their host processes: the
    # guest process is killed by SIGKILL as a whole, and nothing is left behind
    prog = guest_binary("thr_mutex")
    proc = subprocess.Popen(mkemu_command([prog, "50000000"], rootfs), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        tasks = []
        while time.monotonic() < deadline and len(tasks) < 5 and proc.poll() is None:
            time.sleep(0.2)
            tasks = _task_processes(proc.pid)
        assert len(tasks) == 5, f"expected the main thread and 4 workers, saw {tasks}"
        os.kill(tasks[-1], signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            kill_tree(proc)
            proc.wait()
    assert proc.returncode == 128 + signal.SIGKILL, err.decode(errors="replace")[-2000:]
    assert b"mutex ok" not in out
    assert all(not os.path.exists(f"/proc/{p}") or _zombie(p) for p in tasks)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


def test_a_python_error_in_a_thread_takes_its_group_down_with_sigabrt(rootfs, guest_binary):
    # only worker threads call exit(2) (main returns through exit_group, after joining
    # every worker): a bug of mkemu in one thread's task ends the whole guest process as
    # a crash, and nothing hangs (the join of the crashed thread would wait forever)
    code, out, err = run_mkemu([guest_binary("thr_mutex"), "1000"], rootfs=rootfs,
                               extra=["--inject-crash", "exit"], timeout=THREAD_TIMEOUT)
    assert code == 128 + signal.SIGABRT, err.decode(errors="replace")[-2000:]
    assert b"internal error" in err and b"injected crash at exit" in err
    assert b"mutex ok" not in out
