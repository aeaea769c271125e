"""The system call table: one row per aarch64 syscall, the one place a syscall is named.

A handler is registered next to its concept (kern/sys_*.py) with

    @syscall("openat", "dirfd", "path", "oflags", "mode")
    def sys_openat(t, dirfd, path, flags, mode) -> int: ...

The name gives the number (kern/sysnums.py); the argument kinds tell the
tracer how to print each argument.  Handlers receive the task and the raw
64-bit argument registers, and return the result (>= 0) or -errno.  They may
instead raise OSError (its errno is returned negated) or MemFault (-EFAULT).

Argument kinds: "int", "uint", "hex", "fd", "dirfd", "path", "str" (a NUL
terminated string), "ptr", "buf" (bytes in), "obuf" (bytes out), "size",
"oflags", "mode", "flags", "signal", "clock".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .sysnums import SYSCALL_NAMES, SYSCALL_NUMBERS


@dataclass(frozen=True)
class SyscallDef:
    nr: int
    name: str
    handler: Callable[..., int]
    args: tuple[str, ...]


SYSCALLS: dict[int, SyscallDef] = {}


def syscall(name: str, *args: str):
    """Register the decorated function as the handler of syscall `name`."""
    nr = SYSCALL_NUMBERS[name]

    def register(fn: Callable[..., int]) -> Callable[..., int]:
        if nr in SYSCALLS:
            raise RuntimeError(f"syscall {name} registered twice")
        SYSCALLS[nr] = SyscallDef(nr, name, fn, args)
        return fn

    return register


def syscall_name(nr: int) -> str:
    return SYSCALL_NAMES.get(nr, f"syscall_{nr}")
