"""The mkemu command line."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_ROOTFS = Path(os.environ.get("MKEMU_CACHE", Path.home() / ".cache" / "mkemu")) / "rootfs" / "default"


def _error(msg: str, code: int = 2) -> int:
    sys.stderr.write(f"mkemu: {msg}\n")
    return code


def _is_aarch64_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return False
    return head[:4] == b"\x7fELF" and head[18:20] == (183).to_bytes(2, "little")


def cmd_run(args) -> int:
    from .kern.machine import MachineConfig, run_program

    if not args.program:
        return _error("run: no program given")
    if args.rootfs:
        rootfs = args.rootfs
        if not os.path.isdir(rootfs):
            return _error(f"rootfs {rootfs}: not a directory")
    elif DEFAULT_ROOTFS.is_dir():
        rootfs = str(DEFAULT_ROOTFS)
    else:
        rootfs = None
    program, *rest = args.program
    host_program = None
    in_rootfs = rootfs is not None and os.path.lexists(os.path.join(rootfs, program.lstrip("/"))) \
        and program.startswith("/")
    if not in_rootfs:
        if os.path.isfile(program):
            if not _is_aarch64_elf(program) and not open(program, "rb").read(2) == b"#!":
                return _error(f"{program}: not an AArch64 ELF program", 126)
            host_program = os.path.abspath(program)
            program = "/" + os.path.basename(program) if rootfs is None or not program.startswith("/") else program
        elif rootfs is None:
            return _error(f"{program}: no such file (and no rootfs: pass --rootfs DIR)", 127)
        else:
            return _error(f"{program}: no such file in rootfs {rootfs}", 127)
    if rootfs is None:
        rootfs = str(_empty_rootfs())
    env = [b"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", b"HOME=/root"]
    if "TERM" in os.environ:
        env.append(f"TERM={os.environ['TERM']}".encode())
    for item in args.env or []:
        if "=" not in item:
            return _error(f"--env {item}: expected NAME=VALUE")
        env.append(item.encode())
    binds = []
    for item in args.bind or []:
        host, _, guest = item.partition(":")
        guest = guest or host
        if not os.path.isdir(host):
            return _error(f"--bind {item}: {host} is not a directory on this host")
        if not guest.startswith("/"):
            return _error(f"--bind {item}: the guest path must be absolute")
        if not _guest_dir_exists(rootfs, guest):
            return _error(f"--bind {item}: {guest} is not a directory in the rootfs (a mount point must exist)")
        binds.append((os.path.abspath(host), guest))
    cfg = MachineConfig(rootfs=rootfs, strace=args.strace, stats=args.stats,
                        dump_blocks=args.dump_blocks, env=env, host_program=host_program,
                        inject_crash=args.inject_crash, binds=binds)
    argv = [a.encode(errors="surrogateescape") for a in [args.program[0]] + rest]
    sys.stdout.flush()
    sys.stderr.flush()
    return run_program(cfg, program, argv)


def _guest_dir_exists(rootfs: str, guest: str) -> bool:
    """Whether guest names a directory inside rootfs, resolved as the guest would."""
    from .fs.rootfs import O_PATH, RootFS
    fs = RootFS(rootfs)
    try:
        os.close(fs.open(guest.encode(), O_PATH | os.O_DIRECTORY))
        return True
    except OSError:
        return False
    finally:
        fs.close()


def _empty_rootfs() -> Path:
    p = DEFAULT_ROOTFS.parent / "empty"
    p.mkdir(parents=True, exist_ok=True)
    return p


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="mkemu", description="Run AArch64 Linux programs on this host.")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one guest program")
    run.add_argument("--rootfs", metavar="DIR", help="host directory that is the guest's /")
    run.add_argument("--strace", action="store_true", help="trace system calls to stderr")
    run.add_argument("--stats", action="store_true", help="print instruction and block counts, MIPS")
    run.add_argument("--dump-blocks", action="store_true", help="print every translated block")
    run.add_argument("--inject-crash", metavar="SYSCALL",
                     help="fault isolation: make the task's Python code fail at this syscall")
    run.add_argument("--env", action="append", metavar="NAME=VALUE", help="add a guest environment variable")
    run.add_argument("--bind", action="append", metavar="HOSTDIR[:GUESTDIR]",
                     help="show a host directory inside the guest (at GUESTDIR, default the same path)")
    run.add_argument("program", nargs=argparse.REMAINDER, help="PROGRAM ARGS...")
    run.set_defaults(func=cmd_run)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "program", None) and args.program[0] == "--":
        args.program = args.program[1:]
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
