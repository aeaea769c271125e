"""The mkemu command line.

`mkemu run` follows qemu-aarch64's habits where they make sense: `-L DIR`
is `--rootfs`, `-E`/`-U` set and unset guest environment variables in
command-line order, `-0` sets argv[0], `-cpu max` and `-strace` are
accepted.  A program name without a slash is looked up on the guest's PATH
inside the rootfs, and the guest starts in the host's current directory when
that lies inside the rootfs (or a --bind directory), else at `/`.
"""
from __future__ import annotations

import os
import stat
import sys
from types import SimpleNamespace

from .fs.metastore import db_path, import_tree
from .fs.rootfs import O_PATH, RootFS
from .kern.machine import MachineConfig, default_guest_env, env_entries, run_program
from .runargs import parse_run

EXECVP_DEFAULT_PATH = "/bin:/usr/bin"       # what execvp searches when PATH is unset
CPU_MODELS = ("max",)                        # mkemu emulates one CPU: everything it has


class UsageError(Exception):
    """A command line mkemu cannot run: one line on stderr and an exit status."""

    def __init__(self, msg: str, code: int = 2) -> None:
        super().__init__(msg)
        self.code = code


def _is_aarch64_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return False
    return head[:4] == b"\x7fELF" and head[18:20] == (183).to_bytes(2, "little")


def _is_script(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


# ---- the guest's environment --------------------------------------------------------

def guest_environment(args) -> dict[str, str]:
    """mkemu's default (or the host's, --inherit-env), then -E/-U in command-line order."""
    env = dict(os.environ) if args.inherit_env else default_guest_env()
    return apply_env_changes(env, args.env_changes)


def apply_env_changes(env: dict[str, str], changes) -> dict[str, str]:
    for op, item in changes or []:
        if op == "unset":
            env.pop(item, None)
            continue
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"-E/--env {item}: expected NAME=VALUE")
        env[name] = value
    return env


# ---- where the program and the working directory are -----------------------------------

def _rootfs_dir(args) -> str | None:
    if args.rootfs:
        if not os.path.isdir(args.rootfs):
            raise UsageError(f"rootfs {args.rootfs}: not a directory")
        return args.rootfs
    from .rootfs_stamp import default_rootfs_path   # (pathlib: not a cost of --rootfs runs)
    if default_rootfs_path().is_dir():
        return str(default_rootfs_path())
    return None


def guest_cwd(rootfs: str, binds: list[tuple[str, str]]) -> str | None:
    """The guest path of the host's current directory, or None if the guest cannot see it."""
    try:
        here = os.path.realpath(os.getcwd())
    except OSError:
        return None
    mounts = [(os.path.realpath(host), guest) for host, guest in binds] + [(os.path.realpath(rootfs), "/")]
    for host, guest in mounts:
        if here == host or here.startswith(host.rstrip("/") + "/"):
            rest = here[len(host):].lstrip("/")
            return (guest.rstrip("/") + "/" + rest) if rest else guest
    return None


def _guest_file(fs: RootFS, path: str) -> os.stat_result | None:
    """stat of the guest file `path` (an absolute guest path), resolved as the guest would."""
    try:
        fd = fs.open(path.encode(errors="surrogateescape"), O_PATH | os.O_CLOEXEC)
    except (OSError, ValueError):        # ValueError: a NUL in the name
        return None
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def _guest_dir_exists(fs: RootFS, guest: str) -> bool:
    st = _guest_file(fs, guest)
    return st is not None and stat.S_ISDIR(st.st_mode)


def _on_guest_path(fs: RootFS, name: str, env: dict[str, str], cwd: str) -> str | None:
    """Where a shell would find `name` on the guest's PATH: an executable regular file."""
    for d in env.get("PATH", EXECVP_DEFAULT_PATH).split(":"):
        d = d or "."                               # an empty entry means the cwd, as in execvp
        full = os.path.join(cwd, d, name)
        st = _guest_file(fs, full)
        if st is not None and stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
            return full
    return None


def find_program(typed: str, rootfs: str | None, fs: RootFS | None, env: dict[str, str],
                 cwd: str | None) -> tuple[str, str | None]:
    """(guest path, host file to load it from or None) for the program the user named.

    cwd is the guest path of the host's current directory (None if outside the
    rootfs): a relative name is found there, as the user sees it.
    """
    if "/" not in typed:
        if fs is None:
            raise UsageError(f"{typed}: no rootfs to look it up in (pass --rootfs DIR)", 127)
        found = _on_guest_path(fs, typed, env, cwd or "/")
        if found is None:
            raise UsageError(f"{typed}: not found on the guest PATH ({env.get('PATH', '')}) "
                             f"in rootfs {rootfs}", 127)
        return found, None
    if fs is not None and (typed.startswith("/") or cwd is not None):
        guest = os.path.join(cwd or "/", typed)
        if _guest_file(fs, guest):
            return guest, None
    if os.path.isfile(typed):
        # a host file: loaded from the host, run inside the rootfs
        if not _is_aarch64_elf(typed) and not _is_script(typed):
            where = f"not in rootfs {rootfs}, and the host's file" if fs is not None else "the host's file"
            raise UsageError(f"{typed}: {where} is not an AArch64 ELF program", 126)
        shown = "/" + os.path.basename(typed) if fs is None or not typed.startswith("/") else typed
        return shown, os.path.abspath(typed)
    if fs is None:
        raise UsageError(f"{typed}: no such file (and no rootfs: pass --rootfs DIR)", 127)
    raise UsageError(f"{typed}: no such file in rootfs {rootfs}", 127)


def _tmpfs(args, fs: RootFS | None) -> list[str]:
    """--tmpfs GUESTDIR: a fresh empty directory there for this run (kern/machine.py)."""
    for guest in args.tmpfs or []:
        if not guest.startswith("/") or fs is None or not _guest_dir_exists(fs, guest):
            raise UsageError(f"--tmpfs {guest}: not a directory in the rootfs")
    return list(args.tmpfs or [])


def _binds(args, fs: RootFS | None) -> list[tuple[str, str]]:
    binds = []
    for item in args.bind or []:
        host, _, guest = item.partition(":")
        guest = guest or host
        if not os.path.isdir(host):
            raise UsageError(f"--bind {item}: {host} is not a directory on this host")
        if not guest.startswith("/"):
            raise UsageError(f"--bind {item}: the guest path must be absolute")
        if fs is None or not _guest_dir_exists(fs, guest):
            raise UsageError(f"--bind {item}: {guest} is not a directory in the rootfs "
                             "(a mount point must exist)")
        binds.append((os.path.abspath(host), guest))
        fs.bind(guest.encode(errors="surrogateescape"), host)   # the program may be in it
    return binds


def check_meta_store(rootfs: str) -> None:
    """A metadata store this user cannot write would make the guest's every stat fail (EIO):
    say so before the machine starts."""
    path = db_path(rootfs)
    where = os.path.dirname(path)
    if os.path.exists(path) and not (os.access(path, os.R_OK | os.W_OK)
                                     and os.access(where, os.W_OK | os.X_OK)):
        raise UsageError(f"the metadata store {where} of rootfs {rootfs} is not writable by "
                         "you (give it to this user as the tree: chown -R)")


def _empty_rootfs() -> str:
    from .rootfs_stamp import default_rootfs_path
    p = default_rootfs_path().parent / "empty"
    p.mkdir(parents=True, exist_ok=True)
    return str(p)


# ---- commands -----------------------------------------------------------------------

def cmd_run(args) -> int:
    if not args.program:
        raise UsageError("run: no program given")
    if args.cpu not in CPU_MODELS:
        raise UsageError(f"-cpu {args.cpu}: mkemu emulates one CPU model, 'max' "
                         "(every feature it implements)")
    rootfs = _rootfs_dir(args)
    env = guest_environment(args)
    typed, *rest = args.program
    fs = RootFS(rootfs) if rootfs else None
    try:
        binds, tmpfs = _binds(args, fs), _tmpfs(args, fs)
        cwd = guest_cwd(rootfs, binds) if rootfs else None
        program, host_program = find_program(typed, rootfs, fs, env, cwd)
    finally:
        if fs is not None:
            fs.close()
    if rootfs:
        check_meta_store(rootfs)
    cfg = MachineConfig(rootfs=rootfs or str(_empty_rootfs()), strace=args.strace,
                        stats=args.stats, dump_blocks=args.dump_blocks, env=env_entries(env),
                        host_program=host_program, inject_crash=args.inject_crash,
                        binds=binds, cwd=cwd or "/", program_name=typed,
                        root_as_user=args.root_as_user, tmpfs=tmpfs)
    argv0 = typed if args.argv0 is None else args.argv0
    argv = [a.encode(errors="surrogateescape") for a in [argv0] + rest]
    sys.stdout.flush()
    sys.stderr.flush()
    return run_program(cfg, program, argv)


def login_account(fs: RootFS, rootfs: str) -> tuple[str, str]:
    """(home, shell) of root in the rootfs's /etc/passwd, each checked to exist there;
    else /root (or /) and the first of /bin/bash, /bin/sh, /bin/busybox that does (a
    rootfs of busybox alone, as setup.sh makes, has no link to its shell)."""
    home, shell = "/root", ""
    try:
        with open(os.path.join(rootfs, "etc", "passwd"), errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 7 and parts[0] == "root":
                    home, shell = parts[5] or "/", parts[6]
                    break
    except OSError:
        pass
    if not _guest_dir_exists(fs, home):
        home = "/"
    for candidate in (shell, "/bin/bash", "/bin/sh", "/bin/busybox"):
        st = _guest_file(fs, candidate) if candidate else None
        if st is not None and stat.S_ISREG(st.st_mode):
            return home, candidate
    raise UsageError(f"boot: rootfs {rootfs} has no shell (no /bin/bash, /bin/sh or "
                     "/bin/busybox)", 127)


def cmd_boot(args) -> int:
    rootfs = args.rootfs
    if rootfs is None:
        # the default system, built on first use (Debian's packages, configured under mkemu)
        from .rootfs_build import ensure_default_rootfs
        from .rootfs_stamp import RootfsBuildError
        try:
            rootfs = str(ensure_default_rootfs())
        except RootfsBuildError as e:
            raise UsageError(f"boot: {e}", e.code) from None
    if not os.path.isdir(rootfs):
        raise UsageError(f"boot: rootfs {rootfs}: not a directory")
    fs = RootFS(rootfs)
    try:
        home, shell = login_account(fs, rootfs)
        binds, tmpfs = _binds(args, fs), _tmpfs(args, fs)
    finally:
        fs.close()
    check_meta_store(rootfs)
    env = default_guest_env()
    env.update(HOME=home, SHELL=shell, USER="root", LOGNAME="root",
               TERM=os.environ.get("TERM", "xterm"))
    apply_env_changes(env, args.env_changes)
    cfg = MachineConfig(rootfs=rootfs, env=env_entries(env), binds=binds, cwd=home,
                        tmpfs=tmpfs, program_name=shell, stats=args.stats, strace=args.strace,
                        pty=True, root_as_user=args.root_as_user)
    # argv[0] "-bash": a login shell (busybox picks its applet by that name: "-sh")
    name = os.path.basename(shell)
    login = "-" + ("sh" if name == "busybox" else name)
    sys.stdout.flush()
    sys.stderr.flush()
    return run_program(cfg, shell, [login.encode(errors="surrogateescape")])


def cmd_import_meta(args) -> int:
    if not os.path.isdir(args.dir):
        raise UsageError(f"rootfs import-meta: {args.dir}: not a directory")
    try:
        files, devices = import_tree(args.dir)
    except OSError as e:
        raise UsageError(f"rootfs import-meta: {e.filename or args.dir}: {e.strerror or e}", 1)
    print(f"mkemu: {files} files recorded in {db_path(args.dir)}"
          + (f", {devices} device nodes made plain files" if devices else ""))
    return 0


def build_parser(only: str | None = None):
    """cliargs.build_parser: argparse's parsers of the commands (or of `only`, if it is one)."""
    from . import cliargs       # (argparse: only for what parse_run does not read)
    return cliargs.build_parser({"run": cmd_run, "boot": cmd_boot, "import-meta": cmd_import_meta},
                                only)


def parse_args(argv: list[str] | None = None):
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "run":
        values = parse_run(argv[1:])        # a plain `run` line: the same, without argparse
        if values is not None:
            return SimpleNamespace(version=None, command="run", func=cmd_run, **values)
    ap, commands = build_parser(argv[0] if argv else None)
    args, unknown = ap.parse_known_args(argv)
    if unknown:          # an option the command does not know: that command's usage, not mkemu's
        commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    if getattr(args, "program", None) and args.program[0] == "--":
        args.program = args.program[1:]
    return args


def run_command(args) -> int:
    try:
        return args.func(args)
    except UsageError as e:
        sys.stderr.write(f"mkemu: {e}\n")
        return e.code
    except KeyboardInterrupt:
        return 130


def main(argv: list[str] | None = None) -> int:
    return run_command(parse_args(argv))


def entry() -> None:
    """`mkemu` as a program (python -m mkemu): main, then out; never returns.

    After a machine ran, out without the interpreter's teardown: freeing the
    emulator's every module and object cost a short run ~20% of its time, and a
    run leaves nothing to clean up in this process (no atexit work, no open file,
    the machine gone).  The other commands (rootfs, cache) leave the ordinary way."""
    args = parse_args()
    code = run_command(args)
    if args.command in ("run", "boot"):
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            sys.exit(code)      # (a closed pipe: Python reports it as usual)
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
