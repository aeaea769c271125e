"""A guest address space: VMAs, the page map, demand paging, mmap and friends.

Every mapping is lazy: mmap only records a VMA, and a page is found the
first time it is touched (`resolve`, called by the software TLB on a miss).
That makes MAP_NORESERVE reservations of any size free.

Anonymous private pages get a frame of the guest segment.  File mappings
(and MAP_SHARED anonymous memory, a memfd) are pages of a host window on the
file (mm/filebacking.py): a shared mapping reads and writes the file itself,
a private one reads it until its first write to a page copies that page into
a frame.  Beyond the end of the file an access is a "bus" fault (SIGBUS).

The page map holds the private frames only: `vpn -> frame << 3 | prot`.  A
page of a shared or not yet written file mapping is found through its VMA.
After fork, parent and child map the same frames (each holds a reference,
mm/physmem.py) and every private page is in `cow`: its first write copies the
frame, or just takes the mark off when no one else maps it any more.
In this foundation the map is a dict owned by the one task of the process;
guest threads (separate host processes sharing the space) will keep the same
interface over a page table held in the shared segment -- see
docs/ARCHITECTURE.md.
"""
from __future__ import annotations

import bisect
import errno
import fcntl
import os

from ..record import record, replace
from .fault import MemFault
from .filebacking import FileBacking, is_dev_zero, new_epoch
from .physmem import PAGE_SIZE, FramePool, PhysMem

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_TYPE = 0x01, 0x02, 0x03, 0x0F
MAP_FIXED, MAP_ANONYMOUS = 0x10, 0x20
MAP_GROWSDOWN, MAP_NORESERVE = 0x0100, 0x4000
MAP_FIXED_NOREPLACE = 0x100000
# the flags MAP_SHARED_VALIDATE accepts (Linux's LEGACY_MAP_MASK): others are EOPNOTSUPP
MAP_VALIDATED = 0x03 | MAP_FIXED | MAP_ANONYMOUS | 0x0800 | 0x1000 | 0x400_0000 | MAP_GROWSDOWN \
    | 0x2000 | MAP_NORESERVE | 0x8000 | 0x10000 | 0x20000 | 0x40000
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2        # MREMAP_DONTUNMAP (4) is not built: EINVAL
MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4

ADDR_LIMIT = 1 << 48                     # 48-bit user address space
STACK_TOP = 0xFFFF_FFFF_F000              # just below the top of the 48-bit space
STACK_SIZE = 8 << 20                      # RLIMIT_STACK default
MMAP_BASE = STACK_TOP - STACK_SIZE - (128 << 20)


def page_up(x: int) -> int:
    return (x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


@record
class Vma:
    start: int
    end: int
    prot: int
    flags: int             # MAP_SHARED or MAP_PRIVATE (MAP_SHARED_VALIDATE is recorded as shared)
    name: str = ""
    file: FileBacking | None = None    # file mappings and shared anonymous memory
    offset: int = 0        # file offset of `start`

    def file_offset(self, addr: int) -> int:
        return self.offset + (addr - self.start)

    @property
    def shared(self) -> bool:
        return bool(self.flags & MAP_SHARED)


def _pages_in(pages, start: int, end: int) -> list[int]:
    """The vpns of [start, end) that the collection `pages` (a page table, a set) holds:
    the range looked up in it, or it filtered, whichever is shorter."""
    first, last = start >> 12, end >> 12
    if last - first <= len(pages):
        return [v for v in range(first, last) if v in pages]
    return [v for v in pages if first <= v < last]


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
        self.cow: set[int] = set()    # vpns whose frame may be shared: copy before writing
        # pages of file mappings this process has read through (their file's, not in pt:
        # RssFile, counted as Linux counts a file page mapped in)
        self.file_pages: set[int] = set()
        # VmPeak and VmHWM (/proc/PID/status): the mappings' size and the pages present
        # only fall when pages go, so their high-water marks are taken then (note_peaks)
        self.peak_bytes = 0
        self.peak_pages = 0
        self.tlbs: list = []          # SoftTLBs to shoot down on changes
        self.brk_start = self.brk_cur = 0
        self.mmap_base = MMAP_BASE
        self.reserved_fd = lambda fd: None   # called with each fd a file mapping holds
        self.file_fd_base = 1024             # file mappings hold host fds from here up
        # the name /proc/PID/maps gives a mapping of a file held open as fd: the guest's
        # path of the file, asked when the guest reads it (a file unlinked since is
        # "PATH (deleted)"); set by the task (the host's path would tell the guest where
        # its rootfs is)
        self.name_of_fd = lambda fd: ""

    # ---- lookup -------------------------------------------------------------------
    def find(self, addr: int) -> Vma | None:
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0 and self.vmas[i].end > addr:
            return self.vmas[i]
        return None

    def _first_ending_after(self, addr: int) -> Vma | None:
        """The VMA holding addr, else the first one above it."""
        i = max(bisect.bisect_right(self.starts, addr) - 1, 0)
        if i < len(self.vmas) and self.vmas[i].end <= addr:
            i += 1
        return self.vmas[i] if i < len(self.vmas) else None

    def resolve(self, vpn: int, access: str) -> memoryview:
        """The page behind guest page vpn for an access; demand-pages it in."""
        pte = self.pt.get(vpn)
        if pte is not None:
            if not _allows(pte & 7, access):
                raise MemFault(vpn << 12, access, "perm")
            if access == "w" and vpn in self.cow:
                return self._break_cow(vpn, pte)
            return self.phys.page(pte >> 3)
        addr = vpn << 12
        vma = self.find(addr)
        if vma is None:
            raise MemFault(addr, access, "unmapped")
        if not _allows(vma.prot, access):
            raise MemFault(addr, access, "perm")
        backing = vma.file
        if backing is None:
            return self._new_frame(vpn, vma.prot)           # demand-zero
        offset = vma.file_offset(addr)
        if offset >= backing.size():
            raise MemFault(addr, access, "bus")
        page = backing.page(offset)
        if access != "w" or vma.shared:
            self.file_pages.add(vpn)
            return page
        # MAP_PRIVATE: until now the page was the file's; its first write copies it
        return self._private_copy(vpn, vma.prot, page)

    def _break_cow(self, vpn: int, pte: int) -> memoryview:
        """The first write to a page shared since fork: copy it, unless no one else
        maps the frame any more (then it is ours to write)."""
        self.cow.discard(vpn)
        frame = pte >> 3
        if self.phys.ref(frame) == 1:
            return self.phys.page(frame)
        copy = self._private_copy(vpn, pte & 7, self.phys.page(frame))
        self.frames.release([frame])
        return copy

    def _private_copy(self, vpn: int, prot: int, page: memoryview) -> memoryview:
        """vpn's first write: a new frame of its own holding page's bytes."""
        self.file_pages.discard(vpn)            # the file's page is no longer what it maps
        copy = self._new_frame(vpn, prot)
        copy[:] = page
        self._shootdown(vpn << 12, (vpn + 1) << 12)          # readers must see the copy too
        return copy

    def share_for_fork(self, child_holdings, vfork: bool) -> None:
        """Give a forked child's space (whose frames are recorded in child_holdings) a
        reference to every private frame.  A fork shares them copy-on-write; a vfork
        child (CLONE_VM | CLONE_VFORK: the parent sleeps until it execs or exits)
        writes the parent's frames directly, so the parent first takes its pages
        back from earlier children (breaks their copy-on-write) and marks nothing."""
        if vfork:
            for vpn in list(self.cow):
                pte = self.pt[vpn]
                if _allows(pte & 7, "w") or self.phys.ref(pte >> 3) == 1:
                    self._break_cow(vpn, pte)
        for pte in self.pt.values():
            frame = pte >> 3
            self.frames.share(frame)
            child_holdings.add(frame)
        if not vfork:
            self.cow.update(self.pt)
            for tlb in self.tlbs:        # writes must come back to resolve() for the copy
                tlb.forget_writes()

    def frame_of(self, addr: int, access: str) -> int | None:
        """The segment frame that holds addr for an access (demand-paged in, MemFault if
        not allowed); None when it is a file page, which lives outside the segment."""
        vpn = addr >> 12
        self.resolve(vpn, access)
        pte = self.pt.get(vpn)
        return None if pte is None else pte >> 3

    def _new_frame(self, vpn: int, prot: int) -> memoryview:
        frame = self.frames.alloc()
        self.pt[vpn] = (frame << 3) | prot
        return self.phys.page(frame)

    def alias_key(self, vpn: int) -> tuple | None:
        """Which file page vpn shows, when other guest pages may show it too (a file or
        shared memory mapped twice); None for private memory.  The TLB uses it to keep
        every alias of a page holding translated code out of its write table."""
        if vpn in self.pt:
            return None
        vma = self.find(vpn << 12)
        if vma is None or vma.file is None:
            return None
        return vma.file.dev, vma.file.inode, vma.file_offset(vpn << 12) >> 12

    # ---- VMA list surgery -------------------------------------------------------
    def _insert(self, vma: Vma) -> None:
        i = bisect.bisect_left(self.starts, vma.start)
        self.vmas.insert(i, vma)
        self.starts.insert(i, vma.start)
        if vma.file:
            vma.file.retain()

    def _remove(self, indices: list[int]) -> list[Vma]:
        """Take VMAs out of the list (their file references are the caller's to release)."""
        gone = []
        for i in reversed(indices):
            gone.append(self.vmas.pop(i))
            self.starts.pop(i)
        return gone

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
        return _pages_in(self.pt, start, end)

    def _drop_file_pages(self, start: int, end: int) -> None:
        """The file pages of [start, end) are no longer mapped in (RssFile)."""
        self.file_pages.difference_update(_pages_in(self.file_pages, start, end))

    def _shootdown(self, start: int, end: int) -> None:
        """Every TLB forgets the pages of [start, end)."""
        for tlb in self.tlbs:
            tlb.flush_range(start >> 12, end >> 12)

    def note_peaks(self) -> None:
        """Take the high-water marks of the mappings' size and the pages present (before
        either falls)."""
        self.peak_pages = max(self.peak_pages, self.resident_pages())
        self.peak_bytes = max(self.peak_bytes, sum(v.end - v.start for v in self.vmas))

    def _unmap_range(self, start: int, end: int) -> None:
        self.note_peaks()
        gone = self._remove(self._range(start, end))
        self._drop_file_pages(start, end)
        present = self._pages_present(start, end)
        self.frames.release([self.pt.pop(v) >> 3 for v in present])
        self.cow.difference_update(present)
        self._shootdown(start, end)
        for vma in gone:                 # after the shootdown: no TLB holds their views
            if vma.file:
                vma.file.release()

    def _cover(self, vma: Vma) -> None:
        """Make vma's file window hold all of vma (it grew by mremap)."""
        backing = vma.file
        lo, hi = vma.file_offset(vma.start), vma.file_offset(vma.end)
        if backing is None or backing.covers(lo, hi):
            return
        for tlb in self.tlbs:            # the old window's views go with it
            tlb.flush()
        backing.rewindow(lo, hi)

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
        kind = flags & MAP_TYPE
        anonymous = flags & MAP_ANONYMOUS
        if kind not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE) \
                or anonymous and kind == MAP_SHARED_VALIDATE \
                or anonymous and kind == MAP_SHARED and flags & MAP_GROWSDOWN:
            raise OSError(errno.EINVAL, "bad mapping type")
        if kind == MAP_SHARED_VALIDATE and flags & ~MAP_VALIDATED:
            raise OSError(errno.EOPNOTSUPP, "MAP_SHARED_VALIDATE with an unknown flag")
        if length == 0 or offset & (PAGE_SIZE - 1):
            raise OSError(errno.EINVAL, "bad mmap length/offset")
        length = page_up(length)
        if length >= ADDR_LIMIT:
            raise OSError(errno.ENOMEM, "mapping too large")
        if not anonymous and offset + length >= 1 << 63:
            raise OSError(errno.EOVERFLOW, "file offset out of range")
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
        shared = kind != MAP_PRIVATE
        flags = flags & ~MAP_TYPE | (MAP_SHARED if shared else MAP_PRIVATE)
        backing = None
        st = None
        if not anonymous:
            try:
                st = os.fstat(fd)         # one look serves the checks below
            except OSError:
                st = None
        if anonymous or st is not None and is_dev_zero(fd, st):
            offset = 0
            if shared:
                backing = FileBacking.shared_anonymous(length, self._hold_fd)
        else:
            backing = FileBacking.of_fd(fd, shared, bool(prot & PROT_WRITE), offset, length,
                                        self._hold_fd, st)
        if fixed:
            self._unmap_range(addr, addr + length)
        self._insert(Vma(addr, addr + length, prot & 7, flags, name or (backing and backing.path or ""),
                         backing, offset))
        return addr

    def _hold_fd(self, fd: int) -> int:
        """A duplicate of fd above the guest's descriptors, for a mapping to keep."""
        held = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, self.file_fd_base)
        self.reserved_fd(held)
        return held

    def munmap(self, addr: int, length: int) -> None:
        # as Linux: the range must lie in the user address space (it is not clipped)
        if addr & (PAGE_SIZE - 1) or length == 0 or addr > ADDR_LIMIT or length > ADDR_LIMIT - addr:
            raise OSError(errno.EINVAL, "bad munmap")
        end = page_up(addr + length)
        self._unmap_range(addr, end)

    def mprotect(self, addr: int, length: int, prot: int) -> None:
        if addr & (PAGE_SIZE - 1):
            raise OSError(errno.EINVAL, "unaligned mprotect")
        end = page_up(addr + length)
        if end == addr:
            return
        # the whole range must be mapped, and shared file pages writable only if the file is
        a = addr
        while a < end:
            vma = self.find(a)
            if vma is None:
                raise OSError(errno.ENOMEM, "mprotect of unmapped memory")
            if prot & PROT_WRITE and vma.shared and not vma.file.writable:
                raise OSError(errno.EACCES, "shared mapping of a file not open for writing")
            a = vma.end
        for i in self._range(addr, end):
            self.vmas[i].prot = prot & 7
        for v in self._pages_present(addr, end):
            self.pt[v] = (self.pt[v] & ~7) | (prot & 7)
        self._shootdown(addr, end)

    def msync(self, addr: int, length: int, flags: int) -> None:
        """msync(2): shared file pages are the file's own, so there is nothing to write
        back; MS_SYNC waits for the data to reach the disk (fdatasync)."""
        if flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) or addr & (PAGE_SIZE - 1) \
                or flags & MS_ASYNC and flags & MS_SYNC:
            raise OSError(errno.EINVAL, "bad msync")
        end = addr + (page_up(length) & (1 << 64) - 1)    # the kernel's length wraps to 0
        if end >= 1 << 64:
            raise OSError(errno.ENOMEM, "msync range wraps")
        hole = False
        a = addr
        while a < end:
            vma = self._first_ending_after(a)
            if vma is None:
                raise OSError(errno.ENOMEM, "msync of unmapped memory")
            if vma.start > a:
                hole = True             # Linux goes on past a hole and then fails
                if flags == MS_SYNC or vma.start >= end:
                    break
            if flags & MS_SYNC and vma.shared and vma.file.fd >= 0:   # (a SysV segment: none)
                os.fdatasync(vma.file.fd)
            a = vma.end
        if hole:
            raise OSError(errno.ENOMEM, "msync over a hole")

    def attach_segment(self, addr: int, segment, prot: int, remap: bool) -> int:
        """shmat: map a SysV segment attached in this process (mm/sysvshm.py) whole, at
        addr or (0) where there is room; a mapping in the way is EINVAL without remap."""
        length = segment.length
        if not addr:
            addr = self.find_free(length)
        elif addr + length > ADDR_LIMIT:
            raise OSError(errno.EINVAL, "shmat beyond the address space")
        elif not self.is_free(addr, addr + length):
            if not remap:
                raise OSError(errno.EINVAL, "shmat over a mapping without SHM_REMAP")
            self._unmap_range(addr, addr + length)
        self._insert(Vma(addr, addr + length, prot & 7, MAP_SHARED, segment.path, segment, 0))
        return addr

    def detach_segment(self, addr: int) -> None:
        """shmdt: unmap what is left of the segment attached at addr (EINVAL if none)."""
        vma = self.find(addr)
        segment = vma.file if vma is not None else None
        if segment is None or not getattr(segment, "segment", False) or vma.start != addr \
                or vma.offset:
            raise OSError(errno.EINVAL, "no SysV segment attached here")
        for v in [v for v in self.vmas if v.file is segment and v.start - v.offset == addr]:
            self._unmap_range(v.start, v.end)

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
            self._grow_heap(old_top)
        elif new_top < old_top:
            self._unmap_range(new_top, old_top)
        self.brk_cur = new
        return new

    def _grow_heap(self, top: int) -> None:
        """The heap's new part starting at top joins the heap below it into one VMA,
        as Linux extends the brk mapping (/proc/PID/maps shows one [heap])."""
        i = bisect.bisect_left(self.starts, top)
        if i == 0 or i >= len(self.vmas):
            return
        below, grown = self.vmas[i - 1], self.vmas[i]
        if below.end == top and below.name == grown.name and below.file is None \
                and below.prot == grown.prot and below.flags == grown.flags:
            self.vmas[i - 1] = replace(below, end=grown.end)
            self._remove([i])

    def mremap(self, old: int, old_size: int, new_size: int, flags: int, new_addr: int = 0) -> int:
        if old & (PAGE_SIZE - 1) or new_size == 0 or flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED):
            raise OSError(errno.EINVAL, "bad mremap")
        old_size, new_size = page_up(old_size), page_up(new_size)
        vma = self.find(old)
        if vma is None or vma.end < old + old_size:
            raise OSError(errno.EFAULT, "mremap of unmapped memory")
        if old_size == 0 and not vma.shared:
            raise OSError(errno.EINVAL, "mremap of zero bytes duplicates shared mappings only")
        if flags & MREMAP_FIXED:
            if not flags & MREMAP_MAYMOVE or new_addr & (PAGE_SIZE - 1) \
                    or new_addr + new_size > ADDR_LIMIT \
                    or new_addr < old + old_size and old < new_addr + new_size:
                raise OSError(errno.EINVAL, "bad MREMAP_FIXED")
            return self._move(old, old_size, new_size, new_addr, vma)
        if old_size and new_size <= old_size:
            if new_size < old_size:
                self._unmap_range(old + new_size, old + old_size)
            return old
        if old_size and vma.end == old + old_size and self.is_free(vma.end, old + new_size) \
                and old + new_size <= ADDR_LIMIT:
            vma.end = old + new_size        # grow in place
            self._cover(vma)
            return old
        if not flags & MREMAP_MAYMOVE:
            raise OSError(errno.ENOMEM, "cannot grow in place")
        return self._move(old, old_size, new_size, self.find_free(new_size), vma)

    def _move(self, old: int, old_size: int, new_size: int, dest: int, vma: Vma) -> int:
        """Move the pages of [old, old+old_size) to dest (frames move, bytes do not).
        With old_size 0 (shared mappings only) the old mapping stays: a second view."""
        self._unmap_range(dest, dest + new_size)
        moved = {}
        moved_cow = set()
        for v in self._pages_present(old, old + old_size):
            moved[v - (old >> 12) + (dest >> 12)] = self.pt.pop(v)
            if v in self.cow:
                self.cow.discard(v)
                moved_cow.add(v - (old >> 12) + (dest >> 12))
        self._shootdown(old, old + old_size)
        moved_vma = replace(vma, start=dest, end=dest + new_size, offset=vma.file_offset(old))
        self._insert(moved_vma)          # first: it keeps the file open while the old VMAs go
        self._cover(moved_vma)
        if old_size:
            for gone in self._remove(self._range(old, old + old_size)):
                if gone.file:
                    gone.file.release()
        for v, pte in moved.items():
            if v < (dest + new_size) >> 12:
                self.pt[v] = pte
                if v in moved_cow:
                    self.cow.add(v)
            else:
                self.frames.release([pte >> 3])
        return dest

    def discard(self, addr: int, length: int) -> None:
        """MADV_DONTNEED: drop the private frames of a range; the VMAs stay (pages refault
        as zeros, or as the file's current bytes)."""
        end = page_up(addr + length)
        present = self._pages_present(addr, end)
        self.note_peaks()
        self._drop_file_pages(addr, end)
        self.frames.release([self.pt.pop(v) >> 3 for v in present])
        self.cow.difference_update(present)
        self._shootdown(addr, end)

    def file_shrunk(self) -> None:
        """A file may have been truncated: forget the TLB entries of file pages now
        beyond its end, so that their next access faults (SIGBUS) in resolve instead of
        touching the host window there (which would kill the task with a host SIGBUS)."""
        new_epoch()                       # sizes read earlier in this call are old
        for vma in self.vmas:
            if vma.file is None:
                continue
            eof = page_up(vma.file.size())
            first_gone = max(vma.start, vma.start + eof - vma.offset)
            if first_gone < vma.end:
                self._forget_views(first_gone, vma.end)

    def _forget_views(self, start: int, end: int) -> None:
        """Every TLB forgets the views of [start, end) (the pages themselves stay)."""
        for tlb in self.tlbs:
            tlb.forget_range(start >> 12, end >> 12)

    # ---- reporting --------------------------------------------------------------
    def maps_text(self) -> str:
        """/proc/self/maps."""
        out = []
        for v in self.vmas:
            perms = ("r" if v.prot & PROT_READ else "-") + ("w" if v.prot & PROT_WRITE else "-") \
                + ("x" if v.prot & PROT_EXEC else "-") + ("s" if v.shared else "p")
            dev = v.file.dev if v.file and v.file.dev >= 0 else 0     # (SysV: no device)
            ino = v.file.inode if v.file else 0
            line = f"{v.start:08x}-{v.end:08x} {perms} {v.offset if v.file else 0:08x} " \
                f"{os.major(dev):02x}:{os.minor(dev):02x} {ino}"
            name = self.vma_name(v)
            out.append(f"{line:<73}{name}".rstrip() if name else line)
        return "\n".join(out) + "\n"

    def vma_name(self, v: Vma) -> str:
        """What /proc/PID/maps names the mapping v: its own name ([heap], a SysV
        segment's...) or the guest's path of its file now."""
        return v.name or (self.name_of_fd(v.file.fd) if v.file and v.file.path is None else "")

    def resident_pages(self) -> int:
        """Pages present: its own frames (RssAnon) and file pages mapped in (RssFile)."""
        return len(self.pt) + len(self.file_pages)

    def peak_resident_pages(self) -> int:
        """The most pages present at once since the program started (VmHWM, ru_maxrss)."""
        return max(self.peak_pages, self.resident_pages())

    def unmap_windows(self) -> None:
        """The process ends: unmap every host window of a mapping now, since a window
        holds its open file (and a flock on it) until the host tears the process down.
        Nothing may use this space or its TLBs' views after this."""
        for vma in self.vmas:
            if vma.file is not None:
                vma.file.window.unmap()

    def close(self) -> None:
        """Drop every mapping (exit or execve)."""
        if self.vmas:
            self._unmap_range(self.vmas[0].start, self.vmas[-1].end)
        self.peak_bytes = self.peak_pages = 0       # a new program's marks start afresh
