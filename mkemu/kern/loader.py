"""Program loading: ELF images (static, static-PIE, dynamic with PT_INTERP),
shebang scripts, and the initial stack (argv, envp, auxv) the kernel builds.
"""
from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable

from ..mm.access import GuestAccess
from ..mm.physmem import PAGE_SIZE
from ..mm.space import (MAP_ANONYMOUS, MAP_FIXED, MAP_GROWSDOWN, MAP_PRIVATE, PROT_EXEC,
                        PROT_READ, PROT_WRITE, STACK_SIZE, STACK_TOP, AddressSpace, page_up)
from ..record import field, record

EM_AARCH64 = 183
ET_EXEC, ET_DYN = 2, 3
_ET_NAMES = {0: "ET_NONE", 1: "ET_REL", 4: "ET_CORE"}   # (how the error message names them)
PIE_BASE = 0xAAAA_AAAA_0000        # where an ET_DYN main program goes (as Linux's ELF_ET_DYN_BASE)
BINPRM_BUF_SIZE = 256               # how much of a program Linux reads to recognize it
PATH_MAX = 4096
MAX_REWRITES = 5                    # Linux's exec_binprm: a 6th #! in a chain is ELOOP

# auxv keys
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_MINSIGSTKSZ = 23, 25, 26, 31, 51


class ExecError(Exception):
    """execve failed before the old image was touched; errno says why."""

    def __init__(self, err: int, msg: str) -> None:
        super().__init__(msg)
        self.errno = err


@record
class Image:
    entry: int = 0               # where the first instruction runs (interpreter's if any)
    prog_entry: int = 0          # the program's own entry (AT_ENTRY)
    phdr: int = 0
    phnum: int = 0
    phent: int = 56
    interp_base: int = 0
    brk: int = 0
    argv: list[bytes] = field(default_factory=list)
    path: str = ""               # guest path of the program (after shebang resolution)
    execfn: bytes = b""          # the name execve was given (AT_EXECFN); path if empty
    env_range: tuple[int, int] = (0, 0)   # the environment strings on the stack (build_stack)


def _flags_to_prot(p_flags: int) -> int:
    return ((PROT_READ if p_flags & 4 else 0) | (PROT_WRITE if p_flags & 2 else 0)
            | (PROT_EXEC if p_flags & 1 else 0))


_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")     # Elf64_Ehdr
_PHDR = struct.Struct("<IIQQQQQQ")              # Elf64_Phdr
PT_LOAD, PT_INTERP, PT_PHDR = 1, 3, 6
MAX_PHNUM = 65536 // _PHDR.size                 # Linux's limit (binfmt_elf's elf_read_phdrs)


@record(frozen=True)
class Segment:
    p_type: int
    p_flags: int
    p_offset: int
    p_vaddr: int
    p_filesz: int
    p_memsz: int


@record(frozen=True)
class Elf:
    """What exec needs of an ELF file: its header's fields and its program headers
    (section headers play no part in loading, as in Linux)."""
    e_type: int
    e_entry: int
    e_phoff: int
    e_phnum: int
    e_phentsize: int
    segments: tuple[Segment, ...]

    def loads(self) -> list[Segment]:
        return [s for s in self.segments if s.p_type == PT_LOAD]


def _read_elf(fd: int, err: int = errno.ENOEXEC) -> Elf:
    """The ELF headers of an AArch64 program; ExecError(err) if the file is anything else
    (ENOEXEC for a program, ELIBBAD for its PT_INTERP interpreter, as Linux)."""
    head = os.pread(fd, 64, 0)
    if len(head) < 64 or head[:4] != b"\x7fELF":
        raise ExecError(err, "not an ELF file")
    if head[4] != 2 or head[5] != 1 or struct.unpack_from("<H", head, 18)[0] != EM_AARCH64:
        raise ExecError(err, "not an AArch64 ELF")
    (_, e_type, _, _, e_entry, e_phoff, _, _, _, e_phentsize, e_phnum, _, _, _) = _EHDR.unpack(head)
    if e_phentsize != _PHDR.size or not 0 < e_phnum <= MAX_PHNUM:
        raise ExecError(err, "not an ELF file: bad program header table")
    size = e_phnum * _PHDR.size
    table = os.pread(fd, size, e_phoff)
    if len(table) != size:
        raise ExecError(err, "not an ELF file: program headers beyond its end")
    segments = tuple(Segment(t, f, off, vaddr, filesz, memsz)
                     for t, f, off, vaddr, _, filesz, memsz, _ in _PHDR.iter_unpack(table))
    return Elf(e_type, e_entry, e_phoff, e_phnum, e_phentsize, segments)


def _map_elf(space: AddressSpace, mem: GuestAccess, fd: int, elf: Elf, bias: int) -> tuple[int, int]:
    """Map the PT_LOAD segments; return (lowest mapped address, end of highest segment)."""
    lowest, highest = None, 0
    for seg in elf.loads():
        if seg.p_memsz == 0:
            continue
        vaddr, off = seg.p_vaddr + bias, seg.p_offset
        filesz, memsz = seg.p_filesz, seg.p_memsz
        prot = _flags_to_prot(seg.p_flags)
        start = vaddr & ~(PAGE_SIZE - 1)
        file_end = vaddr + filesz
        mem_end = page_up(vaddr + memsz)
        if filesz:
            space.mmap(start, page_up(file_end) - start, prot, MAP_PRIVATE | MAP_FIXED,
                       fd=fd, offset=off - (vaddr - start))
            if file_end & (PAGE_SIZE - 1) and memsz > filesz:
                # the bss starts inside the last file page: clear the file bytes after filesz
                tail = page_up(file_end) - file_end
                vma_prot = prot | PROT_WRITE
                if not prot & PROT_WRITE:
                    space.mprotect(start, page_up(file_end) - start, vma_prot)
                mem.write(file_end, bytes(tail))
                if not prot & PROT_WRITE:
                    space.mprotect(start, page_up(file_end) - start, prot)
        anon_start = page_up(file_end) if filesz else start
        if mem_end > anon_start:
            space.mmap(anon_start, mem_end - anon_start, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
        lowest = start if lowest is None else min(lowest, start)
        highest = max(highest, vaddr + memsz)
    if lowest is None:
        raise ExecError(errno.ENOEXEC, "ELF has no loadable segments")
    return lowest, highest


def _elf_span(elf: Elf) -> tuple[int, int]:
    loads = elf.loads()
    if not loads:
        raise ExecError(errno.ENOEXEC, "ELF has no loadable segments")
    lo = min(s.p_vaddr for s in loads) & ~(PAGE_SIZE - 1)
    hi = max(s.p_vaddr + s.p_memsz for s in loads)
    return lo, page_up(hi)


def _spacetab(c: int) -> bool:
    return c in (0x20, 0x09)


def read_shebang(fd: int) -> tuple[bytes, bytes | None] | None:
    """(interpreter, optional argument) if the file starts with #!, else None.

    Parsed as Linux's binfmt_script does, from the first BINPRM_BUF_SIZE bytes:
    the interpreter ends at the first blank (space, tab) or NUL; what follows,
    blanks trimmed from both ends, is one argument. Only blanks are trimmed (a
    CR stays part of the line). A line with no newline in the buffer must show
    the interpreter's end there (else ENOEXEC: it could be truncated); the
    argument may be cut short.
    """
    buf = os.pread(fd, BINPRM_BUF_SIZE, 0)
    if not buf.startswith(b"#!"):
        return None
    buf = buf.ljust(BINPRM_BUF_SIZE, b"\0")
    buf_end = BINPRM_BUF_SIZE - 1
    end = buf.find(b"\n")
    if end < 0:
        start = next((i for i in range(2, buf_end) if not _spacetab(buf[i])), None)
        if start is None:
            raise ExecError(errno.ENOEXEC, "#! line of blanks")
        if not any(_spacetab(c) or c == 0 for c in buf[start:buf_end]):
            raise ExecError(errno.ENOEXEC, "#! interpreter name too long")
        end = buf_end
    while end > 2 and _spacetab(buf[end - 1]):
        end -= 1
    name = next((i for i in range(2, end) if not _spacetab(buf[i])), None)
    if name is None:
        raise ExecError(errno.ENOEXEC, "#! names no interpreter")
    sep = next((i for i in range(name, end) if _spacetab(buf[i]) or buf[i] == 0), None)
    interp = buf[name:sep if sep is not None else end]
    arg = None
    if sep is not None and buf[sep] != 0:
        start = next((i for i in range(sep, end) if not _spacetab(buf[i])), None)
        if start is not None:
            arg = buf[start:end].split(b"\0", 1)[0]
    return interp, arg


def _open_interpreter(open_exec: Callable[[str], int], path: str) -> int:
    """Open the interpreter a program names (#! or PT_INTERP); if it cannot be
    opened, the error names it, as qemu-user does: the program itself exists."""
    try:
        return open_exec(path)
    except OSError as e:
        raise ExecError(e.errno or errno.ENOEXEC,
                        f"{path}: {os.strerror(e.errno) if e.errno else e}") from None


def load_program(space: AddressSpace, mem: GuestAccess, open_exec: Callable[[str], int],
                 path: str, argv: list[bytes], fd: int | None = None, execfn: bytes | None = None,
                 inaccessible: bool = False) -> Image:
    """Map a program (following #! lines) into an empty space; return its Image.

    open_exec(guest_path) returns a host fd of the file or raises OSError/ExecError.
    fd: the program, already opened (it is closed here); execfn: the name the
    caller gave execve (a script's argument, AT_EXECFN), path if None;
    inaccessible: that name will not work after the exec (a /dev/fd/N name of a
    close-on-exec descriptor), so a script is ENOENT, as in Linux.
    """
    if execfn is None:
        execfn = path.encode(errors="surrogateescape")
    name = execfn                       # what a #! line puts in argv (bprm->interp)
    for depth in range(MAX_REWRITES + 2):
        if depth:
            fd = _open_interpreter(open_exec, path)
        elif fd is None:
            fd = open_exec(path)
        if depth > MAX_REWRITES:        # the last #! line's interpreter exists, but one more
            os.close(fd)                # rewrite is one too many
            break
        try:
            shebang = read_shebang(fd)
            if shebang is None:
                img = _load_elf(space, mem, open_exec, fd, path, argv)
                img.execfn = execfn
                return img
        finally:
            os.close(fd)
        if inaccessible:
            raise ExecError(errno.ENOENT, f"{path}: a script named through a close-on-exec fd")
        interp, arg = shebang
        argv = [interp] + ([arg] if arg is not None else []) + [name] + argv[1:]
        name = interp
        path = interp.decode(errors="surrogateescape")
    raise ExecError(errno.ELOOP, "too many #! levels")


def _load_elf(space: AddressSpace, mem: GuestAccess, open_exec, fd: int, path: str,
              argv: list[bytes]) -> Image:
    elf = _read_elf(fd)
    etype = elf.e_type
    bias = 0
    if etype == ET_DYN:
        lo, hi = _elf_span(elf)
        bias = PIE_BASE - lo
    elif etype != ET_EXEC:
        raise ExecError(errno.ENOEXEC, f"cannot execute ELF type {_ET_NAMES.get(etype, etype)}")
    interp_path = None
    phdr = 0
    for seg in elf.segments:
        if seg.p_type == PT_INTERP:
            if seg.p_filesz > PATH_MAX:
                raise ExecError(errno.ENOEXEC, "PT_INTERP longer than PATH_MAX")
            interp_path = os.pread(fd, seg.p_filesz, seg.p_offset).rstrip(b"\0") \
                .decode(errors="surrogateescape")
        elif seg.p_type == PT_PHDR:
            phdr = seg.p_vaddr + bias
    lowest, highest = _map_elf(space, mem, fd, elf, bias)
    if not phdr:
        # the headers are inside the first segment when there is no PT_PHDR
        first = min(elf.loads(), key=lambda s: s.p_vaddr)
        phdr = first.p_vaddr + bias + elf.e_phoff - first.p_offset
    img = Image(entry=elf.e_entry + bias, prog_entry=elf.e_entry + bias, phdr=phdr,
                phnum=elf.e_phnum, phent=elf.e_phentsize, brk=highest, argv=argv, path=path)
    if interp_path:
        ifd = _open_interpreter(open_exec, interp_path)
        try:
            ielf = _read_elf(ifd, errno.ELIBBAD)
            lo, hi = _elf_span(ielf)
            base = space.find_free(hi - lo)
            _map_elf(space, mem, ifd, ielf, base - lo)
            img.interp_base = base - lo + lo
            img.entry = ielf.e_entry + base - lo
        finally:
            os.close(ifd)
    space.set_brk_start(img.brk)
    return img


def build_stack(space: AddressSpace, mem: GuestAccess, img: Image, envp: list[bytes],
                hwcap: int, hwcap2: int, ids: tuple[int, int, int, int], random16: bytes) -> int:
    """Map the stack and lay out argc/argv/envp/auxv as Linux does; return SP."""
    space.mmap(STACK_TOP - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, name="[stack]")
    sp = STACK_TOP

    def push_bytes(data: bytes) -> int:
        nonlocal sp
        sp -= len(data)
        mem.write(sp, data)
        return sp

    execfn = push_bytes((img.execfn or img.path.encode(errors="surrogateescape")) + b"\0")
    env_ptrs = [push_bytes(e + b"\0") for e in reversed(envp)][::-1]
    # the strings lie end to end below execfn: /proc/PID/environ reads them there
    img.env_range = (env_ptrs[0], execfn) if env_ptrs else (0, 0)
    arg_ptrs = [push_bytes(a + b"\0") for a in reversed(img.argv)][::-1]
    platform = push_bytes(b"aarch64\0")
    sp &= ~15
    rand = push_bytes(random16)
    uid, euid, gid, egid = ids
    auxv = [
        (AT_PHDR, img.phdr), (AT_PHENT, img.phent), (AT_PHNUM, img.phnum),
        (AT_PAGESZ, PAGE_SIZE), (AT_BASE, img.interp_base), (AT_FLAGS, 0),
        (AT_ENTRY, img.prog_entry), (AT_UID, uid), (AT_EUID, euid), (AT_GID, gid),
        (AT_EGID, egid), (AT_PLATFORM, platform), (AT_HWCAP, hwcap), (AT_CLKTCK, 100),
        (AT_SECURE, 0), (AT_RANDOM, rand), (AT_HWCAP2, hwcap2), (AT_EXECFN, execfn),
        (AT_MINSIGSTKSZ, 5120), (AT_NULL, 0),
    ]
    words = [len(arg_ptrs)] + arg_ptrs + [0] + env_ptrs + [0]
    for k, v in auxv:
        words += [k, v]
    sp = (sp - 8 * len(words)) & ~15
    mem.write(sp, struct.pack(f"<{len(words)}Q", *words))
    return sp
