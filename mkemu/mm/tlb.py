"""The software TLB: the memory port a CPU engine reads and writes through.

Translated code looks a guest page number up in `rt` (readable pages) or `wt`
(writable pages) and gets a memoryview of exactly that page's 4 KiB inside the
shared guest-memory segment, so the fast path is one dict lookup and one
struct call.  `wq` and `wl` hold the same writable pages cast to 8- and 4-byte
words: an aligned store of that size is one item assignment (a fixed-size copy,
so still single-copy atomic), where the byte view needs the value as bytes and
a slice assignment first.  They only ever hold what `wt` holds (`_drop_write`,
`_clear_writes`).  Anything else -- a miss, an access that crosses a page, a
write to a page holding translated code, a fault -- lands in the slow path
here, which asks the address space (`resolve`) and refills the TLB.

Pages holding translated code are kept out of `wt`: a store to one comes here,
tells the engine to drop that page's blocks (self-modifying code, JITs), and
only then writes.  A page of a file or of shared memory can be mapped at two
guest addresses (a JIT writes code through one and runs it through the
other): the address space names the file page behind such a page
(`alias_key`), and every alias of a page holding code is kept out of `wt` too.
"""
from __future__ import annotations

from collections.abc import Callable

from .fault import MemFault

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = PAGE_SIZE - 1
M64 = 0xFFFF_FFFF_FFFF_FFFF
TLB_MAX = 16384      # entries per direction before the TLB is flushed wholesale

# resolve(vpn, access) -> memoryview of the page; access is "r", "w" or "x".
# Raises MemFault.  It may do demand paging and copy-on-write.
Resolver = Callable[[int, str], memoryview]
# alias_key(vpn) -> what names the host page behind vpn if other guest pages may
# show it too (a file page), else None.
AliasKey = Callable[[int], object]


def _no_aliases(vpn: int) -> None:
    return None


class SoftTLB:
    def __init__(self, resolve: Resolver, alias_key: AliasKey = _no_aliases) -> None:
        self.resolve = resolve
        self.alias_key = alias_key
        self.rt: dict[int, memoryview] = {}
        self.wt: dict[int, memoryview] = {}
        self.wq: dict[int, memoryview] = {}     # wt's pages as 8-byte words
        self.wl: dict[int, memoryview] = {}     # and as 4-byte words
        self.wd: dict[int, memoryview] = {}     # and as doubles (cpu/a64_fp_twin's stores)
        self.wh: dict[int, int] = {}            # wt's pages' host addresses (atomics), as asked
        self.xt: dict[int, memoryview] = {}
        self.code_pages: set[int] = set()
        self.code_invalidate: Callable[[int], None] = lambda vpn: None
        self.code_aliases: dict[object, set[int]] = {}   # file page holding code -> its code vpns
        self.write_aliases: dict[int, object] = {}       # vpn in wt showing a file page -> that page
        # threads (mm/sharedspace.py): a writable page holding another thread's translated
        # code is kept out of wt too; a write to one tells the others to drop that code
        self.foreign_code: set[int] = set()
        self.code_marked: Callable[[int], None] | None = None
        self.code_written: Callable[[int], None] | None = None

    # ---- lookups -------------------------------------------------------------------
    def _page(self, vpn: int, access: str, addr: int) -> memoryview:
        table = self.wt if access == "w" else self.rt if access == "r" else self.xt
        mv = table.get(vpn)
        if mv is not None:
            return mv
        if access == "w":
            self._drop_code(vpn)
            if vpn in self.foreign_code:
                self.foreign_code.discard(vpn)
                self.code_written(vpn)
        try:
            mv = self.resolve(vpn, access)
        except MemFault as e:
            e.addr = max(addr, vpn << PAGE_SHIFT)   # the first faulting byte, for si_addr
            raise
        if len(table) >= TLB_MAX:
            if access == "w":
                self._clear_writes()
            else:
                table.clear()
        if access == "w":
            key = self.alias_key(vpn)
            if key is not None:
                for code_vpn in self.code_aliases.pop(key, ()):   # the page is code elsewhere
                    self._drop_code(code_vpn)
                self.write_aliases[vpn] = key
            self.wq[vpn] = mv.cast("Q")
            self.wl[vpn] = mv.cast("I")
            self.wd[vpn] = mv.cast("d")
        table[vpn] = mv
        return mv

    def _drop_write(self, vpn: int) -> None:
        """Forget that vpn is writable (its next write comes back to _page)."""
        self.wt.pop(vpn, None)
        self.wq.pop(vpn, None)
        self.wl.pop(vpn, None)
        self.wd.pop(vpn, None)
        self.wh.pop(vpn, None)
        self.write_aliases.pop(vpn, None)

    def _clear_writes(self) -> None:
        self.wt.clear()
        self.wq.clear()
        self.wl.clear()
        self.wd.clear()
        self.wh.clear()
        self.write_aliases.clear()

    def forget_code_page(self, vpn: int) -> None:
        """Another thread translated code from vpn: its writes take the slow path."""
        self._drop_write(vpn)
        self.foreign_code.add(vpn)

    def writable_page(self, addr: int) -> memoryview:
        """The view of the page holding addr, for a write (faults as a store would)."""
        return self._page(addr >> PAGE_SHIFT, "w", addr)

    def host_page(self, addr: int, address_of: Callable[[memoryview], int]) -> int:
        """The host address of the writable page holding addr (faults as a store
        would), kept beside wt's entry: an atomic's second on a page costs a dict
        lookup.  address_of raises TypeError for a view it cannot address."""
        vpn = addr >> PAGE_SHIFT
        host = self.wh.get(vpn)
        if host is None or vpn not in self.wt:
            host = address_of(self._page(vpn, "w", addr))
            self.wh[vpn] = host
        return host

    def page_view(self, vpn: int, access: str, addr: int) -> memoryview:
        """The memoryview of a whole guest page (for hashing code pages)."""
        return self._page(vpn, access, addr)

    def fetch(self, addr: int) -> int:
        addr &= M64
        if addr & 3:
            raise MemFault(addr, "x", "align")
        mv = self._page(addr >> PAGE_SHIFT, "x", addr)
        off = addr & PAGE_MASK
        return int.from_bytes(mv[off:off + 4], "little")

    def load(self, addr: int, size: int) -> int:
        """Slow-path load of size bytes, zero-extended (size up to 16)."""
        return int.from_bytes(self.read(addr, size), "little")

    def store(self, addr: int, size: int, value: int) -> None:
        self.write(addr, (value & ((1 << (size * 8)) - 1)).to_bytes(size, "little"))

    def read(self, addr: int, size: int) -> bytes:
        """Bytes at a guest address, across pages if need be (raises MemFault)."""
        addr &= M64
        off = addr & PAGE_MASK
        if 0 < size <= PAGE_SIZE - off:     # within one page: most syscall buffers
            vpn = addr >> PAGE_SHIFT
            mv = self.rt.get(vpn)
            if mv is None:
                mv = self._page(vpn, "r", addr)
            return bytes(mv[off:off + size])
        out = bytearray()
        while size:
            off = addr & PAGE_MASK
            n = min(size, PAGE_SIZE - off)
            mv = self._page(addr >> PAGE_SHIFT, "r", addr)
            out += mv[off:off + n]
            addr = (addr + n) & M64
            size -= n
        return bytes(out)

    def write(self, addr: int, data: bytes) -> None:
        """Store bytes at a guest address; checks every page before writing any."""
        addr &= M64
        size = len(data)
        off = addr & PAGE_MASK
        if 0 < size <= PAGE_SIZE - off:     # within one page
            vpn = addr >> PAGE_SHIFT
            mv = self.wt.get(vpn)
            if mv is None:
                mv = self._page(vpn, "w", addr)
            mv[off:off + size] = data
            return
        pages = []
        a, left = addr, size
        while left:
            off = a & PAGE_MASK
            n = min(left, PAGE_SIZE - off)
            pages.append((self._page(a >> PAGE_SHIFT, "w", a), off, n))
            a = (a + n) & M64
            left -= n
        pos = 0
        for mv, off, n in pages:
            mv[off:off + n] = data[pos:pos + n]
            pos += n

    # ---- code pages and flushes ----------------------------------------------------
    def mark_code(self, vpn: int) -> None:
        """vpn holds translated code: route its writes, and those of its aliases,
        through the slow path."""
        if vpn in self.code_pages and self.code_marked is None:
            return      # marked already: a write since would have dropped it (_page)
        self.code_pages.add(vpn)
        self._drop_write(vpn)
        if self.code_marked is not None:
            self.code_marked(vpn)
        key = self.alias_key(vpn)
        if key is not None:
            self.code_aliases.setdefault(key, set()).add(vpn)
            for alias in [v for v, k in self.write_aliases.items() if k == key]:
                self._drop_write(alias)

    def _drop_code(self, vpn: int) -> None:
        if vpn in self.code_pages:
            self.code_pages.discard(vpn)
            self.code_invalidate(vpn)

    def flush(self) -> None:
        """Forget every page (translated code stays valid: its pages are unchanged)."""
        self.rt.clear()
        self.xt.clear()
        self._clear_writes()

    def retire(self) -> None:
        """This TLB and its engine go with their address space (execve): forget every
        page, and every code mark without telling the engine (it runs nothing more)."""
        self.code_pages.clear()
        self.code_aliases.clear()
        self.foreign_code.clear()
        self.flush()

    def forget_writes(self) -> None:
        """Forget every writable page (fork made them copy-on-write: the next write must
        come back to resolve())."""
        self._clear_writes()

    def forget_range(self, first: int, end: int) -> None:
        """Forget the pages first..end-1 (page numbers); their contents are unchanged."""
        tables = (self.rt, self.wt, self.wq, self.wl, self.wd, self.wh, self.xt, self.write_aliases)
        if end - first <= sum(map(len, tables)):
            for v in range(first, end):
                for table in tables:
                    table.pop(v, None)
        else:
            for table in tables:
                for v in [v for v in table if first <= v < end]:
                    del table[v]

    def flush_range(self, first: int, end: int) -> None:
        """The pages first..end-1 changed mapping: forget them and drop the translated
        code read from them."""
        self.forget_range(first, end)
        if end - first <= len(self.code_pages):
            gone = [v for v in range(first, end) if v in self.code_pages]
        else:
            gone = [v for v in self.code_pages if first <= v < end]
        for v in gone:
            self._drop_code(v)
