"""Memory syscalls: thin wrappers over mm/space.py's AddressSpace."""
from __future__ import annotations

import errno

from ..mm.space import MAP_ANONYMOUS, PROT_EXEC, PROT_READ, PROT_WRITE
from .systable import s32, syscall

_PROT_ALL = PROT_READ | PROT_WRITE | PROT_EXEC
MADV_DONTNEED, MADV_FREE = 4, 8


@syscall("brk", "hex")
def sys_brk(t, addr):
    return t.space.brk(addr)


@syscall("mmap", "hex", "size", "hex", "hex", "fd", "hex",
         status="partial: a file shrunk by another process under a mapping kills the task, not SIGBUS")
def sys_mmap(t, addr, length, prot, flags, fd, offset):
    if prot & ~(_PROT_ALL | 0x0100_0000 | 0x0200_0000):   # PROT_GROWSDOWN/UP accepted
        return -errno.EINVAL
    fd = s32(fd)                        # the kernel reads the fd as an unsigned int
    if not flags & MAP_ANONYMOUS and (fd < 0 or fd in t.reserved_fds):
        return -errno.EBADF
    return t.space.mmap(addr, length, prot, flags, fd, offset)


@syscall("munmap", "hex", "size")
def sys_munmap(t, addr, length):
    t.space.munmap(addr, length)
    return 0


@syscall("mprotect", "hex", "size", "hex")
def sys_mprotect(t, addr, length, prot):
    if prot & ~(_PROT_ALL | 0x0100_0000 | 0x0200_0000):
        return -errno.EINVAL
    t.space.mprotect(addr, length, prot & _PROT_ALL)
    return 0


@syscall("mremap", "hex", "size", "size", "flags", "hex",
         status="partial: MREMAP_DONTUNMAP is EINVAL")
def sys_mremap(t, old, old_size, new_size, flags, new_addr):
    return t.space.mremap(old, old_size, new_size, flags, new_addr)


@syscall("madvise", "hex", "size", "int",
         status="partial: MADV_DONTNEED and MADV_FREE act; other advice is accepted and ignored")
def sys_madvise(t, addr, length, advice):
    if addr & 0xFFF:
        return -errno.EINVAL
    if advice in (MADV_DONTNEED, MADV_FREE):
        t.space.discard(addr, length)     # private pages read back as zero (or file data)
    return 0


@syscall("msync", "hex", "size", "flags")
def sys_msync(t, addr, length, flags):
    t.space.msync(addr, length, flags)
    return 0
