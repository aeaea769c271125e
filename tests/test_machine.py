"""The process model, crashes and the CLI, with real aarch64 programs.

Each test starts a whole machine (supervisor, broker, task processes) and
the session check in conftest.py fails the run if any of them, or any
segment or queue, is left behind.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support.guestrun import children, run_mkemu, run_qemu


def test_hello_matches_qemu(rootfs, guest_binary):
    prog = guest_binary("hello")
    code, out, err = run_mkemu([str(prog)], rootfs=rootfs)
    qcode, qout, _ = run_qemu([str(prog)], rootfs=rootfs)
    assert (code, out) == (qcode, qout), err


@pytest.mark.parametrize("kind", ["static", "static-pie"])
def test_args_env_auxv(rootfs, guest_binary, kind):
    prog = guest_binary("args_env", kind=kind)
    code, out, err = run_mkemu([str(prog), "one", "two words"], rootfs=rootfs)
    assert code == 0, err
    text = out.decode()
    assert "argc=3" in text and "two words" in text
    assert "AT_PAGESZ=4096" in text


def test_exit_code_passes_through(rootfs, guest_binary):
    code, _, err = run_mkemu([str(guest_binary("exitcode")), "77"], rootfs=rootfs)
    assert code == 77, err


def test_null_dereference_is_sigsegv_with_crash_report(rootfs, guest_binary):
    code, _, err = run_mkemu([str(guest_binary("nullderef"))], rootfs=rootfs)
    assert code == 128 + signal.SIGSEGV
    report = err.decode()
    assert "SIGSEGV" in report and "fault address 0x0" in report
    assert "=>" in report and "pc 0x" in report           # disassembly around pc
    assert "x0 " in report and "backtrace" in report


def test_undefined_instruction_is_sigill(rootfs, guest_binary):
    code, _, err = run_mkemu([str(guest_binary("undef"))], rootfs=rootfs)
    assert code == 128 + signal.SIGILL
    assert b"SIGILL" in err and b"undefined instruction" in err


def test_stats_report_instructions_and_mips(rootfs, guest_binary):
    code, _, err = run_mkemu([str(guest_binary("hello"))], rootfs=rootfs, extra=["--stats"])
    assert code == 0
    stats = _stats(err)
    assert int(stats["instructions"]) > 1000
    assert int(stats["blocks"]) > 10
    assert float(stats["mips"]) > 0


def _stats(err: bytes) -> dict[str, str]:
    return dict(line.split()[1:3] for line in err.decode().splitlines()
                if line.startswith("mkemu: ") and len(line.split()) >= 3)


def test_hot_loop_runs_inside_translated_code(rootfs, guest_binary):
    # a trace that branches back to its start loops inside its Python function;
    # only the loop's rarer side path goes back through the dispatcher
    prog = str(guest_binary("hot_loop"))
    small, big = (run_mkemu([prog, n], rootfs=rootfs, extra=["--stats"]) for n in ("1000", "100000"))
    for n, (code, out, _) in zip(("1000", "100000"), (small, big)):
        assert (code, out) == run_qemu([prog, n], rootfs=rootfs)[:2]
    s, b = _stats(small[2]), _stats(big[2])
    insns = int(b["instructions"]) - int(s["instructions"])
    runs = int(b["block-runs"]) - int(s["block-runs"])
    assert insns > 1_000_000
    assert runs < insns / 20, (runs, insns)


def test_python_failure_in_task_ends_guest_with_sigabrt(rootfs, guest_binary):
    code, out, err = run_mkemu([str(guest_binary("hello"))], rootfs=rootfs,
                               extra=["--inject-crash", "write"])
    assert code == 128 + signal.SIGABRT
    assert b"internal error" in err and b"injected crash" in err


def test_sigkill_of_task_process_kills_guest_and_broker_exits(rootfs):
    proc = subprocess.Popen([sys.executable, "-m", "mkemu", "run", "--rootfs", str(rootfs), "--",
                             "/bin/busybox", "sleep", "30"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        task = None
        deadline = time.time() + 30
        while time.time() < deadline and task is None:
            brokers = children(proc.pid)
            tasks = children(brokers[0]) if brokers else []
            task = tasks[0] if tasks else None
            time.sleep(0.05)
        assert task is not None, "no task process appeared"
        broker = children(proc.pid)[0]
        time.sleep(0.3)
        os.kill(task, signal.SIGKILL)
        code = proc.wait(timeout=30)
        assert code == 128 + signal.SIGKILL
        assert not os.path.exists(f"/proc/{broker}") or open(f"/proc/{broker}/stat").read().split()[2] == "Z"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_cli_missing_binary_is_one_line(rootfs):
    code, out, err = run_mkemu(["/no/such/program"], rootfs=rootfs)
    assert code == 127
    assert err.count(b"\n") == 1 and b"Traceback" not in err


def test_cli_missing_rootfs_is_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mkemu", "run", "--rootfs", str(tmp_path / "nope"),
                        "--", "/bin/true"], capture_output=True, timeout=60)
    assert r.returncode != 0
    assert r.stderr.count(b"\n") == 1 and b"Traceback" not in r.stderr


def test_rootfs_escape_attempts_stay_inside(rootfs, guest_binary):
    code, out, err = run_mkemu([str(guest_binary("escape"))], rootfs=rootfs)
    host_name = open("/etc/hostname", "rb").read().strip()
    assert host_name not in out, out
    assert b"ESCAPED" not in out, out


def test_second_run_starts_from_the_translation_cache(rootfs, guest_binary, tmp_path):
    env = {"MKEMU_CACHE": str(tmp_path)}
    prog = str(guest_binary("hello"))
    runs = [run_mkemu([prog], rootfs=rootfs, extra=["--stats"], env=env) for _ in range(2)]
    (c1, out1, err1), (c2, out2, err2) = runs
    assert c1 == c2 == 0 and out1 == out2

    def stat(err, key):
        return int(next(l.split()[2] for l in err.decode().splitlines() if l.startswith(f"mkemu: {key} ")))

    assert stat(err1, "blocks-from-cache") == 0
    assert stat(err2, "blocks-from-cache") == stat(err2, "blocks") > 100


def test_dump_blocks_prints_python_with_disassembly(rootfs, guest_binary):
    code, _, err = run_mkemu([str(guest_binary("exitcode")), "3"], rootfs=rootfs, extra=["--dump-blocks"])
    assert code == 3
    text = err.decode()
    assert "def blk_" in text and "# 0x" in text and "svc" in text


def test_strace_names_syscalls_and_arguments(rootfs):
    code, out, err = run_mkemu(["/bin/busybox", "cat", "/etc/hostname"], rootfs=rootfs, extra=["--strace"])
    assert code == 0 and out == b"mkemu-guest\n"
    assert b"openat(AT_FDCWD, '/etc/hostname'" in err
    assert b"exit_group(0) = ?" in err


def test_strace_shows_the_path_an_execve_ran(rootfs):
    # the path is read before the call: after it, the new image is in that memory
    code, out, err = run_mkemu(["/bin/busybox", "sh", "-c", "exec /bin/busybox echo hi"],
                               rootfs=rootfs, extra=["--strace"])
    assert code == 0 and out == b"hi\n"
    assert b"execve('/bin/busybox', " in err and b") = 0" in err.split(b"execve(", 1)[1].split(b"\n")[0]


def test_advertised_cpu_features_work_like_qemu(rootfs, guest_binary):
    # every AT_HWCAP feature mkemu advertises runs and gives qemu's result; none is missing
    prog = guest_binary("cpu_features")
    code, out, err = run_mkemu([str(prog)], rootfs=rootfs)
    qcode, qout, _ = run_qemu([str(prog)], rootfs=rootfs)
    assert (code, out) == (qcode, qout), err
    assert b"missing" not in out and out.count(b"\n") >= 25


def test_fenv_rounding_modes_and_exception_flags_like_qemu(rootfs, guest_binary):
    # fesetround / fetestexcept: FPCR.RMode changes every result's rounding and
    # FPSR collects inexact, underflow, overflow, divide-by-zero and invalid
    prog = guest_binary("fenv_modes")
    code, out, err = run_mkemu([str(prog)], rootfs=rootfs)
    qcode, qout, _ = run_qemu([str(prog)], rootfs=rootfs)
    assert (code, out) == (qcode, qout), err
    assert b"inexact underflow" in out and b"upward: get 1" in out


def test_bad_syscalls_fail_like_linux_and_unknown_ones_are_logged_once(rootfs, guest_binary):
    prog = guest_binary("bad_calls")
    code, out, err = run_mkemu([str(prog)], rootfs=rootfs, stdin=b"data")
    qcode, qout, _ = run_qemu([str(prog)], rootfs=rootfs, stdin=b"data")
    assert (code, out) == (qcode, qout), err
    assert out.count(b"-1 ENOSYS") == 6 and out.count(b"-1 Bad address") == 4
    log = err.decode()
    assert log.count("unimplemented syscall") == 2, log
    assert log.count("(999)") == 1 and log.count("io_uring_setup (425)") == 1
