"""Program loading: ELF images (static, static-PIE, dynamic with PT_INTERP),
shebang scripts, and the initial stack (argv, envp, auxv) the kernel builds.
"""
from __future__ import annotations

import errno
import os
import struct
from dataclasses import dataclass, field
from typing import Callable

from elftools.elf.elffile import ELFFile
from elftools.common.exceptions import ELFError

from ..mm.access import GuestAccess
from ..mm.physmem import PAGE_SIZE
from ..mm.space import (MAP_ANONYMOUS, MAP_FIXED, MAP_GROWSDOWN, MAP_PRIVATE, PROT_EXEC,
                        PROT_READ, PROT_WRITE, STACK_SIZE, STACK_TOP, AddressSpace, page_up)

EM_AARCH64 = 183
ET_EXEC, ET_DYN = 2, 3
PIE_BASE = 0xAAAA_AAAA_0000        # where an ET_DYN main program goes (as Linux's ELF_ET_DYN_BASE)
MAX_SHEBANG_DEPTH = 4

# auxv keys
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_MINSIGSTKSZ = 23, 25, 26, 31, 51


class ExecError(Exception):
    """execve failed before the old image was touched; errno says why."""

    def __init__(self, err: int, msg: str) -> None:
        super().__init__(msg)
        self.errno = err


@dataclass
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


def _flags_to_prot(p_flags: int) -> int:
    return ((PROT_READ if p_flags & 4 else 0) | (PROT_WRITE if p_flags & 2 else 0)
            | (PROT_EXEC if p_flags & 1 else 0))


def _read_elf(fd: int) -> ELFFile:
    f = os.fdopen(os.dup(fd), "rb")
    try:
        elf = ELFFile(f)
    except ELFError as e:
        f.close()
        raise ExecError(errno.ENOEXEC, f"not an ELF file: {e}") from None
    if elf.elfclass != 64 or not elf.little_endian or elf["e_machine"] != "EM_AARCH64":
        f.close()
        raise ExecError(errno.ENOEXEC, "not an AArch64 ELF")
    return elf


def _map_elf(space: AddressSpace, mem: GuestAccess, fd: int, elf: ELFFile, bias: int) -> tuple[int, int]:
    """Map the PT_LOAD segments; return (lowest mapped address, end of highest segment)."""
    lowest, highest = None, 0
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_LOAD" or seg["p_memsz"] == 0:
            continue
        vaddr, off = seg["p_vaddr"] + bias, seg["p_offset"]
        filesz, memsz = seg["p_filesz"], seg["p_memsz"]
        prot = _flags_to_prot(seg["p_flags"])
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


def _elf_span(elf: ELFFile) -> tuple[int, int]:
    loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    lo = min(s["p_vaddr"] for s in loads) & ~(PAGE_SIZE - 1)
    hi = max(s["p_vaddr"] + s["p_memsz"] for s in loads)
    return lo, page_up(hi)


def read_shebang(fd: int) -> tuple[bytes, bytes | None] | None:
    """(interpreter, optional argument) if the file starts with #!, else None."""
    head = os.pread(fd, 256, 0)
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].strip(b" \t\r")
    if not line:
        raise ExecError(errno.ENOEXEC, "empty #! line")
    parts = line.split(None, 1)
    return parts[0], (parts[1].strip() if len(parts) > 1 else None)


def _open_interpreter(open_exec: Callable[[str], int], path: str) -> int:
    """Open the interpreter a program names (#! or PT_INTERP); if it cannot be
    opened, the error names it, as qemu-user does: the program itself exists."""
    try:
        return open_exec(path)
    except OSError as e:
        raise ExecError(e.errno or errno.ENOEXEC,
                        f"{path}: {os.strerror(e.errno) if e.errno else e}") from None


def load_program(space: AddressSpace, mem: GuestAccess, open_exec: Callable[[str], int],
                 path: str, argv: list[bytes]) -> Image:
    """Map a program (following #! lines) into an empty space; return its Image.

    open_exec(guest_path) returns a host fd of the file or raises OSError/ExecError.
    """
    for depth in range(MAX_SHEBANG_DEPTH):
        fd = _open_interpreter(open_exec, path) if depth else open_exec(path)
        try:
            shebang = read_shebang(fd)
            if shebang is None:
                return _load_elf(space, mem, open_exec, fd, path, argv)
        finally:
            os.close(fd)
        interp, arg = shebang
        argv = [interp] + ([arg] if arg else []) + [path.encode()] + argv[1:]
        path = interp.decode(errors="surrogateescape")
    raise ExecError(errno.ELOOP, "too many #! levels")


def _load_elf(space: AddressSpace, mem: GuestAccess, open_exec, fd: int, path: str,
              argv: list[bytes]) -> Image:
    elf = _read_elf(fd)
    try:
        etype = elf["e_type"]
        bias = 0
        if etype == "ET_DYN":
            lo, hi = _elf_span(elf)
            bias = PIE_BASE - lo
        elif etype != "ET_EXEC":
            raise ExecError(errno.ENOEXEC, f"cannot execute ELF type {etype}")
        interp_path = None
        phdr = 0
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_INTERP":
                interp_path = seg.data().rstrip(b"\0").decode(errors="surrogateescape")
            elif seg["p_type"] == "PT_PHDR":
                phdr = seg["p_vaddr"] + bias
        lowest, highest = _map_elf(space, mem, fd, elf, bias)
        if not phdr:
            # the headers are inside the first segment when there is no PT_PHDR
            first = min((s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"),
                        key=lambda s: s["p_vaddr"])
            phdr = first["p_vaddr"] + bias + elf["e_phoff"] - first["p_offset"]
        img = Image(entry=elf["e_entry"] + bias, prog_entry=elf["e_entry"] + bias, phdr=phdr,
                    phnum=elf["e_phnum"], phent=elf["e_phentsize"], brk=highest, argv=argv, path=path)
    finally:
        elf.stream.close()
    if interp_path:
        ifd = _open_interpreter(open_exec, interp_path)
        try:
            ielf = _read_elf(ifd)
            try:
                lo, hi = _elf_span(ielf)
                base = space.find_free(hi - lo)
                _map_elf(space, mem, ifd, ielf, base - lo)
                img.interp_base = base - lo + lo
                img.entry = ielf["e_entry"] + base - lo
            finally:
                ielf.stream.close()
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

    execfn = push_bytes(img.path.encode(errors="surrogateescape") + b"\0")
    env_ptrs = [push_bytes(e + b"\0") for e in reversed(envp)][::-1]
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
