"""`mkemu run`'s options, as data: cliargs.py makes argparse's parser of them (its
help, usage and errors), and parse_run reads a plain `run [OPTIONS] [--] PROGRAM
ARGS...` itself, the same way, without argparse (whose import, with re, enum and
gettext, and parser building were ~10 ms of every start-up).  Anything else (help,
an unknown or joined option, a value that starts with '-', no program) is
argparse's to read and report."""
from __future__ import annotations


class Option:
    """One option: its spellings, the Namespace attribute it sets, how (store, set and
    unset (append ("set", v) / ("unset", v)), append, store_true, store_false), its
    default, metavar and help."""
    __slots__ = ("flags", "dest", "action", "default", "metavar", "help")

    def __init__(self, flags: tuple[str, ...], dest: str, action: str, default=None,
                 metavar: str | None = None, help: str = "") -> None:
        self.flags, self.dest, self.action = flags, dest, action
        self.default, self.metavar, self.help = default, metavar, help

    @property
    def takes_value(self) -> bool:
        return self.action not in ("store_true", "store_false")


ROOT_AS_USER = (
    Option(("--root-as-user",), "root_as_user", "store_true", None,
           help="the guest is root; chown, chmod and mknod are recorded in the "
                "rootfs's metadata store (default for a host user who is not root)"),
    Option(("--no-root-as-user",), "root_as_user", "store_false", True,
           help="the guest has the host user's ids; ownership is the host's"),
)

RUN_OPTIONS = (
    Option(("--rootfs", "-L"), "rootfs", "store", metavar="DIR",
           help="host directory that is the guest's /"),
    Option(("--env", "-E"), "env_changes", "set", metavar="NAME=VALUE",
           help="set a guest environment variable"),
    Option(("--unset-env", "-U"), "env_changes", "unset", metavar="NAME",
           help="remove a guest environment variable"),
    Option(("--inherit-env",), "inherit_env", "store_true", False,
           help="start from the host's environment (as qemu-aarch64 does), "
                "not mkemu's default (PATH, HOME=/root, TERM)"),
    Option(("--argv0", "-0"), "argv0", "store", metavar="ARGV0",
           help="argv[0] for the program (default: PROGRAM)"),
    Option(("--cpu", "-cpu"), "cpu", "store", "max", metavar="MODEL",
           help="CPU model; only 'max' (everything mkemu implements)"),
    Option(("--strace", "-strace"), "strace", "store_true", False,
           help="trace system calls to stderr"),
    Option(("--stats",), "stats", "store_true", False,
           help="print instruction and block counts, MIPS"),
    Option(("--dump-blocks",), "dump_blocks", "store_true", False,
           help="print every translated block"),
    Option(("--inject-crash",), "inject_crash", "store", metavar="SYSCALL",
           help="fault isolation: make the task's Python code fail at this syscall"),
    Option(("--tmpfs",), "tmpfs", "append", metavar="GUESTDIR",
           help="an empty directory at GUESTDIR for this run, gone after it"),
    Option(("--bind",), "bind", "append", metavar="HOSTDIR[:GUESTDIR]",
           help="show a host directory inside the guest (at GUESTDIR, default the same path)"),
    *ROOT_AS_USER,
)
_BY_FLAG = {flag: opt for opt in RUN_OPTIONS for flag in opt.flags}


def parse_run(argv: list[str]) -> dict | None:
    """The attributes argparse's `run` parser gives argv (the words after `run`),
    the program's without its leading `--`; None when argv is not plain."""
    values: dict = {}
    for opt in RUN_OPTIONS:
        values.setdefault(opt.dest, opt.default)    # (argparse: the first default of a dest)
    program = None
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            program = argv[i + 1:]
            break
        if word == "-":                 # (argparse's positional; not a program here)
            return None
        if not word.startswith("-"):
            program = argv[i:]
            break
        flag, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
        opt = _BY_FLAG.get(flag)
        if opt is None:
            return None
        if opt.takes_value:
            if not eq:
                i += 1
                if i == len(argv) or argv[i].startswith("-"):
                    return None
                value = argv[i]
            if opt.action == "store":
                values[opt.dest] = value
            else:
                item = (opt.action, value) if opt.action in ("set", "unset") else value
                values[opt.dest] = [*(values[opt.dest] or ()), item]
        elif eq:
            return None
        else:
            values[opt.dest] = opt.action == "store_true"
        i += 1
    if not program:
        return None
    values["program"] = program
    return values
