"""A guest address space: VMAs, the page map, demand paging, mmap and friends.

Every mapping is lazy: mmap only records a VMA, and a page gets a frame the
first time it is touched (`resolve`, called by the software TLB on a miss).
That makes MAP_NORESERVE reservations of any size free, and file-backed
private mappings read their file a page at a time.

The page map is `vpn -> frame << 3 | prot`.  In this foundation it is a dict
owned by the one task of the process; guest threads (separate host processes
sharing the space) will keep the same interface over a page table held in the
shared segment -- see docs/ARCHITECTURE.md.
"""
from __future__ import annotations

import bisect
import errno
import os
from dataclasses import dataclass, replace

from .fault import MemFault
from .physmem import PAGE_SIZE, FramePool, PhysMem

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_SHARED, MAP_PRIVATE = 0x01, 0x02
MAP_FIXED, MAP_ANONYMOUS = 0x10, 0x20
MAP_GROWSDOWN, MAP_NORESERVE = 0x0100, 0x4000
MAP_FIXED_NOREPLACE = 0x100000
MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4

ADDR_LIMIT = 1 << 48                     # 48-bit user address space
STACK_TOP = 0xFFFF_FFFF_F000              # just below the top of the 48-bit space
STACK_SIZE = 8 << 20                      # RLIMIT_STACK default
MMAP_BASE = STACK_TOP - STACK_SIZE - (128 << 20)


def page_up(x: int) -> int:
    return (x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


class FileBacking:
    """A host fd kept open (out of the guest's fd range) for a file mapping."""

    def __init__(self, fd: int, path: str, inode: int, dev: int) -> None:
        self.fd = fd
        self.path = path
        self.inode = inode
        self.dev = dev
        self.users = 0

    def retain(self) -> "FileBacking":
        self.users += 1
        return self

    def release(self) -> None:
        self.users -= 1
        if self.users <= 0 and self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass
class Vma:
    start: int
    end: int
    prot: int
    flags: int
    name: str = ""
    file: FileBacking | None = None
    offset: int = 0        # file offset of `start`

    def file_offset(self, addr: int) -> int:
        return self.offset + (addr - self.start)


def _allows(prot: int, access: str) -> bool:
    if access == "w":
        return bool(prot & PROT_WRITE)
    if access == "x":
        return bool(prot & PROT_EXEC)
    return bool(prot & (PROT_READ | PROT_WRITE | PROT_EXEC))


class AddressSpace:
    def __init__(self, phys: PhysMem, frames: FramePool) -> None:
        self.phys = phys
        self.frames = frames
        self.vmas: list[Vma] = []
        self.starts: list[int] = []
        self.pt: dict[int, int] = {}
        self.tlbs: list = []          # SoftTLBs to shoot down on changes
        self.brk_start = self.brk_cur = 0
        self.mmap_base = MMAP_BASE
        self.generation = 0
        self.reserved_fd = lambda fd: None   # called with each fd a file mapping holds
        self.file_fd_base = 1024             # file mappings hold host fds from here up

    # ---- lookup -------------------------------------------------------------------
    def find(self, addr: int) -> Vma | None:
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0 and self.vmas[i].end > addr:
            return self.vmas[i]
        return None

    def resolve(self, vpn: int, access: str) -> memoryview:
        """The frame behind guest page vpn for an access; demand-pages it in."""
        pte = self.pt.get(vpn)
        if pte is not None:
            if _allows(pte & 7, access):
                return self.phys.page(pte >> 3)
            raise MemFault(vpn << 12, access, "perm")
        addr = vpn << 12
        vma = self.find(addr)
        if vma is None:
            raise MemFault(addr, access, "unmapped")
        if not _allows(vma.prot, access):
            raise MemFault(addr, access, "perm")
        frame = self.frames.alloc()
        page = self.phys.page(frame)
        if vma.file is not None:
            data = os.pread(vma.file.fd, PAGE_SIZE, vma.file_offset(addr))
            page[:len(data)] = data
        self.pt[vpn] = (frame << 3) | vma.prot
        return page

    # ---- VMA list surgery -------------------------------------------------------
    def _insert(self, vma: Vma) -> None:
        i = bisect.bisect_left(self.starts, vma.start)
        self.vmas.insert(i, vma)
        self.starts.insert(i, vma.start)
        if vma.file:
            vma.file.retain()

    def _split_at(self, addr: int) -> None:
        """Make addr a VMA boundary if it falls inside one."""
        vma = self.find(addr)
        if vma is None or vma.start == addr:
            return
        tail = replace(vma, start=addr, offset=vma.file_offset(addr))
        vma.end = addr
        self._insert(tail)

    def _range(self, start: int, end: int) -> list[int]:
        """Indices of the VMAs inside [start, end) after splitting at both ends."""
        self._split_at(start)
        self._split_at(end)
        lo = bisect.bisect_left(self.starts, start)
        hi = bisect.bisect_left(self.starts, end)
        return list(range(lo, hi))

    def _pages_present(self, start: int, end: int) -> list[int]:
        n = (end - start) >> 12
        if n <= len(self.pt):
            return [v for v in range(start >> 12, end >> 12) if v in self.pt]
        return [v for v in self.pt if start >> 12 <= v < end >> 12]

    def _shootdown(self, vpns) -> None:
        self.generation += 1
        for tlb in self.tlbs:
            for v in vpns:
                tlb.flush_page(v)

    def _unmap_range(self, start: int, end: int) -> None:
        idx = self._range(start, end)
        for i in reversed(idx):
            vma = self.vmas.pop(i)
            self.starts.pop(i)
            if vma.file:
                vma.file.release()
        present = self._pages_present(start, end)
        frames = [self.pt.pop(v) >> 3 for v in present]
        self.frames.release(frames)
        self._shootdown(present)
        # pages with translated code but never made present (none) need no flush

    def is_free(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, end) - 1
        return i < 0 or self.vmas[i].end <= start

    def find_free(self, length: int, below: int | None = None) -> int:
        """Highest free range of length bytes below `below` (top-down like Linux)."""
        top = self.mmap_base if below is None else below
        i = bisect.bisect_left(self.starts, top) - 1
        while True:
            gap_end = top
            if i >= 0 and self.vmas[i].end > gap_end - length:
                top = min(top, self.vmas[i].start)
                i -= 1
                continue
            start = gap_end - length
            if start < 0x10000:
                raise OSError(errno.ENOMEM, "out of address space")
            return start

    # ---- the syscalls' concepts -------------------------------------------------
    def mmap(self, addr: int, length: int, prot: int, flags: int,
             fd: int = -1, offset: int = 0, name: str = "") -> int:
        if length == 0 or offset & (PAGE_SIZE - 1):
            raise OSError(errno.EINVAL, "bad mmap length/offset")
        length = page_up(length)
        if length >= ADDR_LIMIT:
            raise OSError(errno.ENOMEM, "mapping too large")
        fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)
        if fixed:
            if addr & (PAGE_SIZE - 1):
                raise OSError(errno.EINVAL, "unaligned MAP_FIXED")
            if addr + length > ADDR_LIMIT:
                raise OSError(errno.ENOMEM, "beyond the address space")
            if flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED:
                if not self.is_free(addr, addr + length):
                    raise OSError(errno.EEXIST, "MAP_FIXED_NOREPLACE over a mapping")
        elif addr:
            addr = page_up(addr)
            if addr + length > ADDR_LIMIT or not self.is_free(addr, addr + length):
                addr = self.find_free(length)
        else:
            addr = self.find_free(length)
        backing = None
        if not flags & MAP_ANONYMOUS:
            backing = self._file_backing(fd)
        if fixed:
            self._unmap_range(addr, addr + length)
        self._insert(Vma(addr, addr + length, prot & 7, flags, name or (backing.path if backing else ""),
                         backing, offset))
        return addr

    def _file_backing(self, fd: int) -> FileBacking:
        try:
            st = os.fstat(fd)
        except OSError:
            raise OSError(errno.EBADF, "mmap of a bad fd") from None
        import stat as _stat
        if _stat.S_ISDIR(st.st_mode):
            raise OSError(errno.ENODEV, "mmap of a directory")
        import fcntl
        held = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, self.file_fd_base)
        self.reserved_fd(held)
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            path = ""
        return FileBacking(held, path, st.st_ino, st.st_dev)

    def munmap(self, addr: int, length: int) -> None:
        if addr & (PAGE_SIZE - 1) or length == 0:
            raise OSError(errno.EINVAL, "bad munmap")
        end = min(page_up(addr + length), ADDR_LIMIT)
        self._unmap_range(addr, end)

    def mprotect(self, addr: int, length: int, prot: int) -> None:
        if addr & (PAGE_SIZE - 1):
            raise OSError(errno.EINVAL, "unaligned mprotect")
        end = page_up(addr + length)
        if end == addr:
            return
        # the whole range must be mapped
        a = addr
        while a < end:
            vma = self.find(a)
            if vma is None:
                raise OSError(errno.ENOMEM, "mprotect of unmapped memory")
            a = vma.end
        for i in self._range(addr, end):
            self.vmas[i].prot = prot & 7
        present = self._pages_present(addr, end)
        for v in present:
            self.pt[v] = (self.pt[v] & ~7) | (prot & 7)
        self._shootdown(present)

    def set_brk_start(self, addr: int) -> None:
        self.brk_start = self.brk_cur = page_up(addr)

    def brk(self, new: int) -> int:
        if new < self.brk_start:
            return self.brk_cur
        old_top, new_top = page_up(self.brk_cur), page_up(new)
        if new_top > old_top:
            if not self.is_free(old_top, new_top):
                return self.brk_cur
            self.mmap(old_top, new_top - old_top, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, name="[heap]")
        elif new_top < old_top:
            self._unmap_range(new_top, old_top)
        self.brk_cur = new
        return new

    def mremap(self, old: int, old_size: int, new_size: int, flags: int, new_addr: int = 0) -> int:
        if old & (PAGE_SIZE - 1) or new_size == 0:
            raise OSError(errno.EINVAL, "bad mremap")
        old_size, new_size = page_up(old_size), page_up(new_size)
        vma = self.find(old)
        if vma is None or vma.end < old + old_size:
            raise OSError(errno.EFAULT, "mremap of unmapped memory")
        if flags & MREMAP_FIXED:
            if not flags & MREMAP_MAYMOVE:
                raise OSError(errno.EINVAL, "MREMAP_FIXED without MAYMOVE")
            return self._move(old, old_size, new_size, new_addr, vma)
        if new_size <= old_size:
            if new_size < old_size:
                self._unmap_range(old + new_size, old + old_size)
            return old
        if vma.end == old + old_size and self.is_free(vma.end, old + new_size) \
                and old + new_size <= ADDR_LIMIT:
            vma.end = old + new_size        # grow in place
            return old
        if not flags & MREMAP_MAYMOVE:
            raise OSError(errno.ENOMEM, "cannot grow in place")
        return self._move(old, old_size, new_size, self.find_free(new_size), vma)

    def _move(self, old: int, old_size: int, new_size: int, dest: int, vma: Vma) -> int:
        """Move the pages of [old, old+old_size) to dest (frames move, bytes do not)."""
        self._unmap_range(dest, dest + new_size)
        moved = {}
        present = self._pages_present(old, old + old_size)
        for v in present:
            moved[v - (old >> 12) + (dest >> 12)] = self.pt.pop(v)
        self._shootdown(present)
        template = replace(vma, start=dest, end=dest + new_size, offset=vma.file_offset(old))
        # remove the old VMAs without freeing frames (they moved)
        for i in reversed(self._range(old, old + old_size)):
            gone = self.vmas.pop(i)
            self.starts.pop(i)
            if gone.file:
                gone.file.release()
        self._insert(template)
        for v, pte in moved.items():
            if v < (dest + new_size) >> 12:
                self.pt[v] = pte
            else:
                self.frames.release([pte >> 3])
        return dest

    # ---- reporting --------------------------------------------------------------
    def maps_text(self) -> str:
        """/proc/self/maps."""
        out = []
        for v in self.vmas:
            perms = ("r" if v.prot & PROT_READ else "-") + ("w" if v.prot & PROT_WRITE else "-") \
                + ("x" if v.prot & PROT_EXEC else "-") + ("s" if v.flags & MAP_SHARED else "p")
            ino = v.file.inode if v.file else 0
            line = f"{v.start:08x}-{v.end:08x} {perms} {v.offset if v.file else 0:08x} 00:00 {ino}"
            out.append(f"{line:<73}{v.name}".rstrip() if v.name else line)
        return "\n".join(out) + "\n"

    def resident_pages(self) -> int:
        return len(self.pt)

    def close(self) -> None:
        """Drop every mapping (exit or execve)."""
        if self.vmas:
            self._unmap_range(self.vmas[0].start, self.vmas[-1].end)


def _discard(self: AddressSpace, addr: int, length: int) -> None:
    """MADV_DONTNEED: drop the frames of a range; the VMAs stay (pages refault fresh)."""
    end = page_up(addr + length)
    present = self._pages_present(addr, end)
    self.frames.release([self.pt.pop(v) >> 3 for v in present])
    self._shootdown(present)


AddressSpace.discard = _discard
