"""execve(2) and execveat(2): replace the calling process's guest image.

mkemu never execs on the host: the task process stays, and Task.execve loads
the new image into a fresh address space (kern/loader.py: ELF, static-PIE,
PT_INTERP, `#!` scripts) and drops the old one only once that succeeded, so
every error returns to the old image, which goes on running.

The steps and their errors follow Linux (fs/exec.c, 6.x order):
1. the path (EFAULT, ENAMETOOLONG, ENOENT when empty without AT_EMPTY_PATH),
   the flags (EINVAL);
2. the program is opened first: ENOENT, ENOTDIR, ELOOP, EACCES for anything
   but a regular file with an execute bit (a directory, a FIFO: never opened);
3. argv and envp are counted (EFAULT for a bad array) and sized against the
   stack limit (E2BIG), then their strings copied (EFAULT, E2BIG for a string
   over MAX_ARG_STRLEN or a total over the limit);
4. the loader: ENOEXEC (not ELF, not a script, not AArch64), ENOENT for a
   missing interpreter, ELOOP past five `#!` rewrites.
On success the descriptors with FD_CLOEXEC are closed (guest descriptors are
the task's host descriptors, and no host exec will do it), signal handlers
are reset, and the process name (comm) becomes the program's basename.
"""
from __future__ import annotations

import errno
import fcntl
import os
import stat

from ..fs import namei, procfs
from ..fs.namei import AT_FDCWD
from ..mm.fault import MemFault
from . import sys_fs, sys_proc
from .loader import ExecError
from .systable import syscall

AT_SYMLINK_NOFOLLOW = 0x100
AT_EMPTY_PATH = 0x1000
PAGE = 4096
MAX_ARG_STRLEN = 32 * PAGE       # one argument or environment string, with its NUL
MAX_ARG_STRINGS = 0x7FFF_FFFF
ARG_MAX = 32 * PAGE              # always allowed, however small the stack limit
STK_LIM = 8 << 20                # _STK_LIM: the strings get at most 3/4 of it
RLIMIT_STACK = 3


def _err(code: int) -> OSError:
    return OSError(code, os.strerror(code))


_MISSING = "partial: set-user-ID/set-group-ID bits are ignored; no ETXTBSY for a file open for writing"


@syscall("execve", "path", "ptr", "ptr", status=_MISSING)
def sys_execve(t, path, argv, envp):
    return _execveat(t, AT_FDCWD, path, argv, envp, 0)


@syscall("execveat", "dirfd", "path", "ptr", "ptr", "flags", status=_MISSING)
def sys_execveat(t, dirfd, path, argv, envp, flags):
    return _execveat(t, dirfd, path, argv, envp, flags & 0xFFFF_FFFF)


def _execveat(t, dirfd: int, path_addr: int, argv_addr: int, envp_addr: int, flags: int) -> int:
    path = sys_fs._path(t, path_addr)
    if not path and not flags & AT_EMPTY_PATH:
        return -errno.ENOENT
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        return -errno.EINVAL
    fd, guest_path, filename, inaccessible = _open_program(t, dirfd, path, flags)
    try:
        argv = _strings_array(t, argv_addr)
        envp = _strings_array(t, envp_addr)
        argv_s, envp_s = _copy_strings(t, filename, argv, envp)
    except BaseException:
        os.close(fd)
        raise
    try:
        t.execve(guest_path, argv_s, envp_s, fd=fd, execfn=filename,
                 comm_from_file=not path, inaccessible=inaccessible)
    except ExecError as e:
        return -(e.errno or errno.ENOEXEC)
    # the new image runs: what no host exec does for us
    _close_on_exec(t)
    t.exec_done()                 # /proc of the new image, and a vfork parent released
    return 0


# ---- the program ----------------------------------------------------------------------
def _open_program(t, dirfd: int, path: bytes, flags: int) -> tuple[int, str, bytes, bool]:
    """(host fd of the program, its guest path, the name Linux records for it (argv of a
    script, AT_EXECFN), whether that name is gone after the exec)."""
    at_cwd = namei._is_cwd(dirfd)
    if not path:                                   # AT_EMPTY_PATH: the descriptor itself
        if at_cwd:
            raise _err(errno.EACCES)               # the cwd: a directory
        fd = namei.guest_fd(t, dirfd)
        _check_file(os.fstat(fd))
        own = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
        where = namei.guest_path_of_fd(t, fd) or f"/dev/fd/{fd}".encode()
        return own, os.fsdecode(where), f"/dev/fd/{fd}".encode(), _cloexec(fd)
    if at_cwd or path.startswith(b"/"):
        filename, inaccessible = path, False
    else:
        fd = namei.guest_fd(t, dirfd)
        filename, inaccessible = b"/dev/fd/%d/%s" % (fd, path), _cloexec(fd)
    follow = not flags & AT_SYMLINK_NOFOLLOW
    where = namei.absolute(t, dirfd, path)
    if procfs.split_self(t, where) == b"/exe":
        # the running program, even when it was loaded from a host file (`mkemu run ./prog`)
        if not follow:
            raise _err(errno.ELOOP)
        guest = t.exe_path
    else:
        found = namei.resolve(t, where, follow)
        guest = os.fsdecode(where)
        if found.node is not None:
            if found.node.is_link and not follow:
                raise _err(errno.ELOOP)
            _check_file(found.node.stat(t, follow))
        else:
            if found.mode is not None:             # the walk looked at it
                _check_mode(found.mode)
            else:
                probe = t.fs.root.open_path(found.path, follow=follow)
                try:
                    _check_file(os.fstat(probe))
                finally:
                    os.close(probe)
            guest = os.fsdecode(found.path)        # symlinks followed: /proc/self/exe's name
    return t.open_exec(guest), guest, filename, inaccessible


def _check_file(st) -> None:
    """May this be executed: a regular file with an execute bit (before it is opened: a
    FIFO must not block us)."""
    _check_mode(st.st_mode if hasattr(st, "st_mode") else st.mode)


def _check_mode(mode: int) -> None:
    if stat.S_ISLNK(mode):
        raise _err(errno.ELOOP)
    if not stat.S_ISREG(mode) or not mode & 0o111:
        raise _err(errno.EACCES)


def _cloexec(fd: int) -> bool:
    return bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)


# ---- arguments and environment ------------------------------------------------------
def _strings_array(t, addr: int) -> list[int]:
    """The string pointers of a NULL-terminated array (a NULL array is empty)."""
    ptrs: list[int] = []
    while addr:
        p = t.mem.read_u64(addr)
        if not p:
            break
        if len(ptrs) >= MAX_ARG_STRINGS:
            raise _err(errno.E2BIG)
        ptrs.append(p)
        addr += 8
    return ptrs


def _copy_strings(t, filename: bytes, argv: list[int], envp: list[int]
                  ) -> tuple[list[bytes], list[bytes]]:
    """Read the strings as Linux copies them onto the new stack: the name, then the
    environment, then the arguments, each array from its end; E2BIG as soon as they
    pass the limit (a quarter of RLIMIT_STACK, within [ARG_MAX, 3/4 of _STK_LIM],
    less the pointers)."""
    rlim = sys_proc._get_limit(t, RLIMIT_STACK)[0]
    limit = max(min(STK_LIM // 4 * 3, rlim // 4), ARG_MAX)
    pointers = (max(len(argv), 1) + len(envp)) * 8
    if limit <= pointers:
        raise _err(errno.E2BIG)
    room = limit - pointers

    def take(size: int) -> None:
        nonlocal room
        if size > MAX_ARG_STRLEN:
            raise _err(errno.E2BIG)
        room -= size
        if room < 0:
            raise _err(errno.E2BIG)

    def read(addr: int) -> bytes:
        try:
            s = t.mem.read_cstring(addr, MAX_ARG_STRLEN)
        except MemFault as e:
            if e.kind == "too long":
                raise _err(errno.E2BIG) from None
            raise
        take(len(s) + 1)
        return s

    take(len(filename) + 1)
    envs = [read(p) for p in reversed(envp)][::-1]
    args = [read(p) for p in reversed(argv)][::-1]
    if not args:
        take(1)
        args = [b""]          # Linux gives argv[0] = "" rather than argc 0
    return args, envs


# ---- after the exec -------------------------------------------------------------------
def _close_on_exec(t) -> None:
    """Close every guest descriptor marked FD_CLOEXEC (mkemu's own are above fd_base)."""
    base = t.fs.root.fd_base
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= base or fd in t.reserved_fds:
            continue
        try:
            if fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC:
                os.close(fd)
        except OSError:
            pass                  # the listing's own descriptor, closed already
