"""`mkemu`'s argparse parsers: help, usage, errors, and every command line that
runargs.parse_run does not read itself (cli.py imports this only then)."""
from __future__ import annotations

import argparse
import os
import sys

from .cachectl import add_cache_command
from .runargs import ROOT_AS_USER, RUN_OPTIONS

COMMANDS = ("run", "boot", "rootfs", "cache")


class _VersionAction(argparse.Action):
    """--version: the package's version, looked up only when asked (the lookup costs
    every start-up ~20 ms)."""

    def __call__(self, parser, namespace, values, option_string=None):
        sys.stdout.write(f"mkemu {_version()}\n")      # (as argparse's "version" action)
        parser.exit()


def _version() -> str:
    from importlib import metadata      # (only here: its import costs start-up ~10 ms)
    try:
        return metadata.version("mkemu")
    except metadata.PackageNotFoundError:
        return "(not installed: run scripts/setup.sh)"


def _add_options(parser: argparse.ArgumentParser, options) -> None:
    """runargs.py's Option rows as argparse arguments."""
    for opt in options:
        kwargs: dict = {"dest": opt.dest, "default": opt.default, "help": opt.help}
        if opt.action in ("set", "unset"):
            kwargs.update(action="append", type=_TAGGED[opt.action])
        else:
            kwargs["action"] = opt.action
        if opt.metavar is not None:
            kwargs["metavar"] = opt.metavar
        parser.add_argument(*opt.flags, **kwargs)


_TAGGED = {"set": lambda s: ("set", s), "unset": lambda s: ("unset", s)}


def _add_owner_options(parser: argparse.ArgumentParser) -> None:
    _add_options(parser, ROOT_AS_USER)


def _add_import_meta(rootfs_parser: argparse.ArgumentParser, funcs: dict) -> None:
    # `mkemu rootfs` is rootfs_cmd's command; import-meta is one more action of it
    actions = next(a for a in rootfs_parser._actions if isinstance(a, argparse._SubParsersAction))
    imp = actions.add_parser("import-meta", help="record a tree's ownership, modes and device "
                                                 "nodes in its metadata store",
                             description="Record the host's owners and modes of every file in DIR, "
                                         "and its device nodes (each replaced by a plain file), in "
                                         "its metadata store (DIR.meta/ beside it), so the guest "
                                         "sees them when the tree is "
                                         "later used by a user who is not root.")
    imp.add_argument("dir", metavar="DIR")
    imp.set_defaults(func=funcs["import-meta"])


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's, told the width so that it does not import shutil to ask: add_argument
    makes a formatter for every argument (to check its metavar), and argparse's first
    one imported shutil and through it bz2, lzma and fnmatch (~8 M host instructions of
    every `mkemu run`) for help that is never printed."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        if width is None:
            width = _terminal_columns() - 2         # (argparse's own margin)
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    """shutil.get_terminal_size's columns: $COLUMNS, else stdout's terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose help uses _HelpFormatter; add_subparsers makes the
    commands' parsers of this class too."""

    def __init__(self, *args, formatter_class=_HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def build_parser(funcs: dict, only: str | None = None
                 ) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and each command's own (which reports its own usage errors);
    funcs: the function of each command (run, boot, import-meta) that cli.py runs.

    only: that command's parser alone, for a command line that names it first (a word
    that is no command: all of them).  Its
    parse, usage and help are the same (a command's parser knows nothing of the
    others); it saves building the rest (`mkemu run`: argparse's parsers and their
    gettext look-ups were ~10 ms of start-up)."""
    ap = _ArgumentParser(prog="mkemu", description="Run AArch64 Linux programs on this host.",
                        allow_abbrev=False)
    ap.add_argument("--version", action=_VersionAction, nargs=0, help="show program's version "
                    "number and exit")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    makers = {"run": _add_run, "boot": _add_boot, "rootfs": _add_rootfs,
              "cache": lambda sub, funcs: add_cache_command(sub)}
    if only not in COMMANDS:
        only = None
    return ap, {name: makers[name](sub, funcs) for name in COMMANDS if only in (None, name)}


def _add_run(sub, funcs: dict) -> argparse.ArgumentParser:
    run = sub.add_parser("run", help="run one guest program", allow_abbrev=False,
                         description="Run PROGRAM (a path in the rootfs, a name on the guest PATH, "
                                     "or a host file) under mkemu.")
    _add_options(run, RUN_OPTIONS)      # (runargs.py: parse_run reads the same options)
    run.add_argument("program", nargs=argparse.REMAINDER, help="PROGRAM ARGS...")
    run.set_defaults(func=funcs["run"])
    return run


def _add_boot(sub, funcs: dict) -> argparse.ArgumentParser:
    boot = sub.add_parser("boot", help="an interactive login shell inside a rootfs",
                          allow_abbrev=False,
                          description="Start root's login shell of ROOTFS (default: the Debian "
                                      "system `mkemu rootfs build` makes, built on first use) "
                                      "on a terminal of mkemu's own: "
                                      "job control, window size, and mkemu exits with the "
                                      "shell's status.")
    boot.add_argument("rootfs", nargs="?", metavar="ROOTFS", help="host directory that is the guest's /")
    boot.add_argument("--env", "-E", dest="env_changes", action="append", metavar="NAME=VALUE",
                      type=lambda s: ("set", s), help="set a guest environment variable")
    boot.add_argument("--unset-env", "-U", dest="env_changes", action="append", metavar="NAME",
                      type=lambda s: ("unset", s), help="remove a guest environment variable")
    boot.add_argument("--tmpfs", action="append", metavar="GUESTDIR",
                     help="an empty directory at GUESTDIR for this run, gone after it")
    boot.add_argument("--bind", action="append", metavar="HOSTDIR[:GUESTDIR]",
                      help="show a host directory inside the guest")
    boot.add_argument("--strace", action="store_true", help="trace system calls to stderr")
    boot.add_argument("--stats", action="store_true", help="print instruction counts at exit")
    _add_owner_options(boot)
    boot.set_defaults(func=funcs["boot"])
    return boot


def _add_rootfs(sub, funcs: dict) -> argparse.ArgumentParser:
    from .rootfs_cmd import add_rootfs_command
    rootfs = add_rootfs_command(sub)
    _add_import_meta(rootfs, funcs)
    return rootfs
