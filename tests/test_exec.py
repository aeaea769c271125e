"""execve and execveat: real aarch64 programs that exec others.

qemu-aarch64 passes a guest's execve to the host kernel, so it can only be
the reference where nothing would run: tests/guest/exec_errors.c makes every
kind of failing exec and prints the errno, under qemu (the host Linux's
answers) and under mkemu. qemu 7.2 has no execveat (ENOSYS); for those
lines the reference is the same source built for the host and run natively.

A successful exec is compared with qemu running the exec'd program directly
with the argv Linux builds for it (for a script: interpreter, its optional
argument, the script's name, the arguments after argv[0]) and the same
environment: the "arg"/"env" lines must be equal. What only an exec sets
(close-on-exec descriptors, signal dispositions, /proc/self/exe, comm) is
checked against execve(2)'s rules, stated in tests/guest/exec_chain.c.
"""
from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from tests.support.guestbin import guest_source
from tests.support.guestrun import GUEST_ENV, run_command, run_mkemu
from tests.support.scratch import rootfs_tmpdir

EXEC_ENV = {"EXEC_A": "1", "EXEC_B": "two words"}
# execve(2): descriptors 3 and 5 had FD_CLOEXEC, 4 and 6 not, 7 was never opened
FDS_AFTER_EXEC = ["fd 3: closed", "fd 4: open", "fd 5: closed", "fd 6: open", "fd 7: closed"]
SIGS_AFTER_EXEC = ["sig USR1: default", "sig USR2: ignored"]


@pytest.fixture
def exec_dir(glibc_rootfs):
    """A fresh directory in the rootfs's /tmp: (host path, guest path)."""
    with rootfs_tmpdir(glibc_rootfs, "exec") as made:
        yield made


def _install(guest_binary, host_dir, kinds=("static", "static-pie", "dynamic")):
    for kind in kinds:
        shutil.copy(guest_binary("exec_chain", kind=kind), host_dir / f"chain-{kind}")


def _qemu_direct(rootfs, prog, argv):
    """qemu-aarch64 running prog itself with exactly argv and EXEC_ENV (no exec involved)."""
    cmd = ["qemu-aarch64", "-L", str(rootfs), "-0", argv[0], str(prog), *argv[1:]]
    return run_command(cmd, env={**GUEST_ENV, **EXEC_ENV})


def _part(out: bytes, *prefixes: str) -> list[str]:
    return [line for line in out.decode().splitlines() if line.startswith(prefixes)]


def _given(out: bytes) -> tuple[list[str], list[str]]:
    """What the program was given: its arguments in order, its EXEC_* variables (qemu-user
    hands the environment over in an order of its own)."""
    return _part(out, "arg"), sorted(_part(out, "env "))


def _field(out: bytes, name: str) -> str:
    return next(line.split(": ", 1)[1] for line in out.decode().splitlines()
                if line.startswith(name + ": "))


def _check_exec_effects(out: bytes, *, fd7: str = "closed") -> None:
    assert _part(out, "fd ") == FDS_AFTER_EXEC[:4] + [f"fd 7: {fd7}"]
    assert _part(out, "sig ") == SIGS_AFTER_EXEC


def _check_names(out: bytes, exe: str, comm: str, execfn: str) -> None:
    assert _field(out, "exe") == exe
    for where in ("comm", "name", "status", "stat"):
        assert _field(out, where) == comm[:15], where
    assert _field(out, "execfn") == execfn


# ---- successful execs ----------------------------------------------------------------------
@pytest.mark.parametrize("caller,target", [("static", "static"), ("static", "static-pie"),
                                           ("static", "dynamic"), ("dynamic", "static")])
def test_exec_program_of_each_kind(glibc_rootfs, guest_binary, exec_dir, caller, target):
    host, guest = exec_dir
    _install(guest_binary, host)
    argv = ["target-argv0", "one", "two words", ""]
    code, out, err = run_mkemu([f"{guest}/chain-{caller}", "run", guest, f"./chain-{target}", *argv],
                               rootfs=glibc_rootfs)
    assert code == 0, err.decode()[-2000:]
    qcode, qout, qerr = _qemu_direct(glibc_rootfs, host / f"chain-{target}", argv)
    assert qcode == 0, qerr
    assert _given(out) == _given(qout)
    _check_exec_effects(out)
    _check_names(out, exe=f"{guest}/chain-{target}", comm=f"chain-{target}",
                 execfn=f"./chain-{target}")


def test_reexec_of_proc_self_exe(glibc_rootfs, guest_binary, exec_dir):
    host, guest = exec_dir
    _install(guest_binary, host, ["static-pie"])
    argv = ["again", "--flag"]
    code, out, err = run_mkemu([f"{guest}/chain-static-pie", "run", guest, "/proc/self/exe", *argv],
                               rootfs=glibc_rootfs)
    assert code == 0, err.decode()[-2000:]
    qout = _qemu_direct(glibc_rootfs, host / "chain-static-pie", argv)[1]
    assert _given(out) == _given(qout)
    _check_exec_effects(out)
    # the link names the program itself; the name is the basename of what execve was given
    _check_names(out, exe=f"{guest}/chain-static-pie", comm="exe", execfn="/proc/self/exe")


def test_reexec_of_a_program_loaded_from_a_host_file(glibc_rootfs, guest_binary, exec_dir):
    # `mkemu run ./prog` loads prog from the host: /proc/self/exe still re-runs it
    host, guest = exec_dir
    prog = guest_binary("exec_chain")
    code, out, err = run_mkemu([prog, "run", guest, "/proc/self/exe", "again"], rootfs=glibc_rootfs)
    assert code == 0, err.decode()[-2000:]
    qout = _qemu_direct(glibc_rootfs, prog, ["again"])[1]
    assert _given(out) == _given(qout)
    _check_exec_effects(out)


@pytest.mark.parametrize("how", ["path", "rdonly"])
def test_fexecve_with_at_empty_path(glibc_rootfs, guest_binary, exec_dir, how):
    host, guest = exec_dir
    _install(guest_binary, host, ["static", "dynamic"])
    argv = ["via-fd", "x"]
    code, out, err = run_mkemu([f"{guest}/chain-static", "fexec", guest, "chain-dynamic", how, *argv],
                               rootfs=glibc_rootfs)
    assert code == 0, err.decode()[-2000:]
    qout = _qemu_direct(glibc_rootfs, host / "chain-dynamic", argv)[1]
    assert _given(out) == _given(qout)
    _check_exec_effects(out, fd7="open")        # the program's own fd, opened without O_CLOEXEC
    # with AT_EMPTY_PATH the name is the file's own (Linux 6.13+), AT_EXECFN is /dev/fd/N
    _check_names(out, exe=f"{guest}/chain-dynamic", comm="chain-dynamic", execfn="/dev/fd/7")


@pytest.mark.parametrize("line,interp_argv", [
    ("#!{guest}/chain-static\n", ["{guest}/chain-static"]),
    ("#!  {guest}/chain-static   an  optional\targument \t\n",
     ["{guest}/chain-static", "an  optional\targument"]),
])
def test_script_runs_its_interpreter(glibc_rootfs, guest_binary, exec_dir, line, interp_argv):
    host, guest = exec_dir
    _install(guest_binary, host, ["static"])
    (host / "script").write_text(line.format(guest=guest) + "not read by the interpreter\n")
    (host / "script").chmod(0o755)
    code, out, err = run_mkemu([f"{guest}/chain-static", "run", guest, "./script", "old0", "a", "b c"],
                               rootfs=glibc_rootfs)
    assert code == 0, err.decode()[-2000:]
    # Linux: argv[0] is dropped; interpreter, its argument, the name given, then argv[1:]
    argv = [a.format(guest=guest) for a in interp_argv] + ["./script", "a", "b c"]
    qout = _qemu_direct(glibc_rootfs, host / "chain-static", argv)[1]
    assert _given(out) == _given(qout)
    _check_exec_effects(out)
    _check_names(out, exe=f"{guest}/chain-static", comm="script", execfn="./script")


def test_nested_scripts(glibc_rootfs, guest_binary, exec_dir):
    host, guest = exec_dir
    _install(guest_binary, host, ["static"])
    (host / "inner").write_text(f"#!{guest}/chain-static opt\n")
    (host / "outer").write_text("#!./inner\n")
    for name in ("inner", "outer"):
        (host / name).chmod(0o755)
    code, out, err = run_mkemu([f"{guest}/chain-static", "run", guest, "./outer", "x", "y"],
                               rootfs=glibc_rootfs)
    assert code == 0, err.decode()[-2000:]
    argv = [f"{guest}/chain-static", "opt", "./inner", "./outer", "y"]
    qout = _qemu_direct(glibc_rootfs, host / "chain-static", argv)[1]
    assert _given(out) == _given(qout)
    _check_names(out, exe=f"{guest}/chain-static", comm="outer", execfn="./outer")


def test_busybox_script_interpreter(glibc_rootfs):
    rootfs = glibc_rootfs            # (the busybox tree is copied by other tests: left alone)
    guest = f"/tmp/exec-sh-{uuid.uuid4().hex[:10]}"
    host = rootfs / guest.lstrip("/")
    host.mkdir()
    try:
        body = 'echo "0=$0 n=$# 1=$1 2=$2"; case $- in *e*) echo errexit on;; *) echo errexit off;; esac\n'
        # the interpreter's one argument is the applet; "sh -e" would be one argument too
        (host / "plain.sh").write_text("#!/bin/busybox sh\n" + body)
        (host / "spaced.sh").write_text("#! \t/bin/busybox \t sh \t \n" + body)
        (host / "dash-e.sh").write_text("#!/bin/busybox sh -e\n" + body)
        for s in ("plain.sh", "spaced.sh", "dash-e.sh"):
            (host / s).chmod(0o755)
        for s in ("plain.sh", "spaced.sh"):
            code, out, err = run_mkemu(["/bin/busybox", "sh", "-c", f'exec {guest}/{s} "a b" c'],
                                       rootfs=rootfs)
            assert code == 0, err
            # the same shell run directly with the argv Linux gives the interpreter
            # (busybox sh reads the script by its guest path: under qemu through -L)
            q = run_command(["qemu-aarch64", "-L", str(rootfs), "-0", "/bin/busybox",
                             str(rootfs / "bin/busybox"), "sh", f"{guest}/{s}", "a b", "c"],
                            env=GUEST_ENV)
            assert (code, out) == q[:2]
            assert out == f"0={guest}/{s} n=2 1=a b 2=c\nerrexit off\n".encode()
        # "sh -e" is one argument: busybox has no applet of that name, as under Linux
        code, out, err = run_mkemu(["/bin/busybox", "sh", "-c", f"exec {guest}/dash-e.sh"],
                                   rootfs=rootfs)
        q = run_command(["qemu-aarch64", "-L", str(rootfs), "-0", "/bin/busybox",
                         str(rootfs / "bin/busybox"), "sh -e", f"{guest}/dash-e.sh"], env=GUEST_ENV)
        assert (code, out, err) == q and code == 127 and b"applet not found" in err
    finally:
        shutil.rmtree(host, ignore_errors=True)


def test_shell_exec_replaces_the_shell(glibc_rootfs):
    rootfs = glibc_rootfs
    code, out, err = run_mkemu(["/bin/busybox", "sh", "-c", "exec /bin/busybox echo hi; echo not reached"],
                               rootfs=rootfs)
    q = run_command(["qemu-aarch64", "-L", str(rootfs), "-0", "/bin/busybox",
                     str(rootfs / "bin/busybox"), "echo", "hi"], env=GUEST_ENV)
    assert (code, out) == (q[0], q[1]) == (0, b"hi\n"), err


# ---- failing execs --------------------------------------------------------------------------
def _errors_under_mkemu(rootfs, guest_binary, tmp_path):
    # a host directory mounted on the guest's /tmp: the FIFO and the rest never enter the
    # shared rootfs tree (another test copies it)
    mnt = tmp_path / "guest-tmp"
    mnt.mkdir()
    code, out, err = run_mkemu([guest_binary("exec_errors"), "/tmp/d"], rootfs=rootfs,
                               extra=["--bind", f"{mnt}:/tmp"])
    assert code == 0, err.decode()[-2000:]
    return out


def _is_execveat(line: str) -> bool:
    return line.startswith("execveat")


def test_failed_execs_match_qemu_and_the_program_goes_on(rootfs, guest_binary, tmp_path):
    out = _errors_under_mkemu(rootfs, guest_binary, tmp_path)
    qcode, qout, qerr = run_command(["qemu-aarch64", "-L", str(rootfs), str(guest_binary("exec_errors")),
                                     str(tmp_path / "d")], env=GUEST_ENV)
    assert qcode == 0, qerr
    mine = [line for line in out.decode().splitlines() if not _is_execveat(line)]
    theirs = [line for line in qout.decode().splitlines() if not _is_execveat(line)]
    assert mine == theirs
    assert mine[-1].startswith("still running after ")
    for expected in ("missing: ENOENT", "directory: EACCES", "text file: ENOEXEC",
                     "6 scripts in a row: ELOOP", "argument over MAX_ARG_STRLEN: E2BIG",
                     "bad argv string: EFAULT", "name too long: ENAMETOOLONG"):
        assert expected in mine              # the kinds of error the cases are there for


def test_failed_execveat_match_native_linux(rootfs, guest_binary, tmp_path):
    # qemu-aarch64 7.2 has no execveat: the same program built for this host is the reference
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no host C compiler for the native reference")
    native = tmp_path / "exec_errors_native"
    subprocess.run([cc, "-O2", "-o", str(native), str(guest_source("exec_errors"))],
                   check=True, capture_output=True)
    ncode, nout, nerr = run_command([str(native), str(tmp_path / "d")], env=GUEST_ENV)
    assert ncode == 0, nerr
    out = _errors_under_mkemu(rootfs, guest_binary, tmp_path)
    assert out.decode().splitlines() == nout.decode().splitlines()
    assert "execveat, AT_EMPTY_PATH, script on a close-on-exec fd: ENOENT" in out.decode()
