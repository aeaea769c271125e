"""An address space that several task processes run in: guest threads (CLONE_VM).

A process's space becomes shared the first time it clones with CLONE_VM
(`SharedAddressSpace.promote`): its page map moves into a SharedPageMap and
its VMA list is published in an MmControl (mm/sharedmm.py).  Every task of
the space keeps its own replica of the VMA list (with its own host windows on
mapped files) and its own TLB; the page map itself is one table for all.

Every change is made under the control's lock, after catching up with the
changes of the others (`sync`), and is then published: the VMA list when it
changed, and the ranges whose pages changed mapping in the change ring, with
the generation counter bumped.  A sibling catches up when it next needs the
VMA list (a TLB miss it cannot serve from the page map, its own change) and
at its next block boundary after a change that took pages away: the changer
sends each sibling the host signal DOORBELL, whose handler only sets the
CPU's pending flag, which ends translated loops too.  A frame freed by a
change is not reused until every sibling has caught up with that change (the
frame pool's limbo, mm/physmem.py), so a stale TLB entry can never reach a
frame that holds something else.

A fork of a threaded process gets a private copy of the page map (`snapshot`
taken under the lock, `make_private` in the child): the child is one thread.
"""
from __future__ import annotations

import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)

from .fault import MemFault
from .filebacking import FileBacking
from .hostmap import HostMapping
from .sharedmm import (COW, KIND_ALL, KIND_CODE, KIND_FLUSH, KIND_FORGET, KIND_WRITES,
                       RESERVED_SLOT, MmControl, SharedCowView, SharedPageMap)
from .sysvshm import SYSV_DEV, SysvSegment
from .space import ADDR_LIMIT, PROT_WRITE, AddressSpace, Vma, _allows

DOORBELL = signal.SIGRTMAX            # "the address space changed" (kern/signals.py CARRIER)


class SharedAddressSpace(AddressSpace):
    ctl: MmControl
    slot: int

    # ---- becoming shared, and private again ----------------------------------------
    @classmethod
    def promote(cls, space: AddressSpace) -> "SharedAddressSpace":
        """Make a process's own space shareable (in place: tasks keep their references)."""
        if isinstance(space, SharedAddressSpace):
            return space
        pt = SharedPageMap()
        for vpn, pte in space.pt.items():
            pt.e[vpn] = pte | (COW if vpn in space.cow else 0)
        ctl = MmControl()
        pt.fd = _hold(space, pt.fd)
        ctl.fd = _hold(space, ctl.fd)
        ctl.own_lock(lambda fd: _hold(space, fd))
        space.__class__ = cls
        space.pt, space.cow, space.ctl = pt, SharedCowView(pt), ctl
        space.backings = {}
        space._changes = []
        space._retired = []
        space.seen_gen = space.seen_head = space.seen_blob = 0
        space.slot = ctl.take_slot(os.getpid())
        space.frames.gate = space
        space._rebind_tlbs()
        ctl.lock()
        try:
            space._publish()
        finally:
            ctl.unlock()
        return space

    def snapshot(self) -> tuple[dict[int, int], set[int]]:
        """The page map and copy-on-write marks as a single process keeps them (fork)."""
        pt, cow = {}, set()
        for vpn, w in self.pt.raw_items():
            pt[vpn] = w & ~COW
            if w & COW:
                cow.add(vpn)
        return pt, cow

    def make_private(self, snapshot: tuple[dict[int, int], set[int]]) -> None:
        """In a forked child: the space is this process's alone again."""
        for fd in (self.pt.fd, self.ctl.fd, self.ctl.lock_fd):
            os.close(fd)
        self.pt.close()
        self.ctl.close()
        self.__class__ = AddressSpace
        self.__dict__.pop("mm_owner", None)      # private futexes are this process's now
        self.pt, self.cow = snapshot
        self.frames.gate = None
        self.frames.limbo = []
        SharedAddressSpace._rebind_tlbs(self)

    def _rebind_tlbs(self) -> None:
        # the TLBs hold bound methods of the class the space had when they were made
        shared = isinstance(self, SharedAddressSpace)
        for tlb in self.tlbs:
            tlb.resolve, tlb.alias_key = self.resolve, self.alias_key
            tlb.code_marked = self._code_marked if shared else None
            tlb.code_written = self._code_written if shared else None
            tlb.foreign_code.clear()

    def join(self, host_pid: int, slot: int, blocked: int) -> None:
        """In a new thread's process: take the slot the parent reserved for it, with the
        blocked mask the thread inherits (never a moment with none: the broker would
        route a process-directed signal to a thread that blocks it)."""
        self.slot = slot
        self.frames.limbo = []
        self.ctl.set_slot(slot, host_pid, self.seen_gen, blocked)
        self.ctl.own_lock(lambda fd: _hold(self, fd))

    def leave(self) -> None:
        """A thread ends: its slot is free (its TLB no longer matters)."""
        self.ctl.free_slot(self.slot)
        os.close(self.ctl.lock_fd)

    def reserve_slot(self) -> int:
        self.ctl.lock()
        try:
            return self.ctl.take_slot(RESERVED_SLOT)      # claimed by the child's join
        finally:
            self.ctl.unlock()

    # ---- catching up ------------------------------------------------------------------
    def catch_up(self) -> None:
        """Catch up with the siblings' changes (a block boundary after a DOORBELL)."""
        if self.ctl.gen != self.seen_gen:
            self.ctl.lock()
            try:
                self.sync()
            finally:
                self.ctl.unlock()

    def sync(self) -> None:
        """Under the lock: apply the changes published since this replica last looked."""
        ctl = self.ctl
        gen = ctl.gen
        if gen == self.seen_gen:
            return
        changes = ctl.changes_since(self.seen_head)
        for tlb in self.tlbs:
            if changes is None:               # the ring wrapped: forget every page and code
                tlb.flush_range(0, ADDR_LIMIT >> 12)
                continue
            for start, end, kind in changes:
                if kind == KIND_FLUSH:
                    tlb.flush_range(start >> 12, end >> 12)
                elif kind == KIND_WRITES:
                    tlb.forget_writes()
                elif kind == KIND_FORGET:
                    tlb.forget_range(start >> 12, end >> 12)
                elif kind == KIND_CODE:
                    tlb.forget_code_page(start >> 12)
                else:
                    tlb.flush()
        if ctl.blob_gen() != self.seen_blob:
            self._reload(ctl.load_blob())
        self.seen_gen, self.seen_head, self.seen_blob = gen, ctl.ring_head(), ctl.blob_gen()
        ctl.seen(self.slot, gen)

    def _reload(self, blob) -> None:
        vmas, backings, self.brk_start, self.brk_cur, self.mmap_base = blob
        mine: dict[int, FileBacking] = {}
        dropped = False
        for bid, (fd, path, writable, woff, wlen, dev, ino) in backings.items():
            b = self.backings.get(bid)
            if b is None:
                attach = SysvSegment.attach if dev == SYSV_DEV else FileBacking.attach
                b = attach(fd, path, writable, woff, wlen, dev, ino)
            elif (b.window.offset, b.window.length) != (woff, wlen):
                dropped = True
                self._retired.append(b.window)
                b.window = HostMapping(fd, woff, wlen, writable)
            mine[bid] = b
        for bid, b in self.backings.items():
            if bid not in mine:
                dropped = True
                self._retired.append(b.window)
        self.backings = mine
        for b in mine.values():
            b.users = 0
        self.vmas = []
        for start, end, prot, flags, name, offset, bid in vmas:
            vma = Vma(start, end, prot, flags, name, mine.get(bid), offset)
            if vma.file is not None:
                vma.file.users += 1
            self.vmas.append(vma)
        self.starts = [v.start for v in self.vmas]
        if dropped:
            for tlb in self.tlbs:             # no view of a retired window may stay
                tlb.flush()
            self._unmap_retired()

    def _unmap_retired(self) -> None:
        for w in self._retired:
            w.unmap()
        self._retired.clear()

    # ---- code in writable pages (JITs) ---------------------------------------------------
    def _code_marked(self, vpn: int) -> None:
        """This thread translated code from vpn: if the page is writable, the others keep
        it out of their write tables (a store there must drop this code)."""
        vma = self.find(vpn << 12)
        if vma is None or not vma.prot & PROT_WRITE:
            return                    # changing it takes an mprotect: a published change
        self._change([(vpn << 12, (vpn + 1) << 12, KIND_CODE)])

    def _code_written(self, vpn: int) -> None:
        """This thread stores into a page holding another thread's code: every thread
        drops the code translated from it."""
        self._change([], flush=(vpn << 12, (vpn + 1) << 12))

    def _change(self, changes: list, flush: tuple[int, int] | None = None) -> None:
        ctl = self.ctl
        ctl.lock()
        try:
            self.sync()
            self._changes.extend(changes)
            if flush is not None:
                self._shootdown(*flush)
            self._publish(vmas=False)
        finally:
            ctl.unlock()

    # ---- publishing -------------------------------------------------------------------
    def _publish(self, vmas: bool = True) -> None:
        """Under the lock: make this replica's change the space's."""
        ctl = self.ctl
        if vmas:
            ctl.store_blob(self._serialize())
            self.seen_blob = ctl.blob_gen()
        changes, self._changes = self._changes, []
        gen = ctl.record(changes)
        self.seen_gen, self.seen_head = gen, ctl.ring_head()
        ctl.seen(self.slot, gen)
        if changes:                    # pages went away or changed: siblings must look now
            for host_pid, _ in ctl.others(self.slot):
                if 0 < host_pid < RESERVED_SLOT:
                    try:
                        os.kill(host_pid, DOORBELL)
                    except OSError:
                        pass

    def _serialize(self):
        backings = {}
        vmas = []
        for v in self.vmas:
            bid = None
            b = v.file
            if b is not None:
                bid = getattr(b, "bid", None)
                if bid is None:
                    bid = b.bid = self.ctl.new_id()
                self.backings[bid] = b
                w = b.window
                backings[bid] = (b.fd, b.path, b.writable, w.offset, w.length, b.dev, b.inode)
            vmas.append((v.start, v.end, v.prot, v.flags, v.name, v.offset, bid))
        for bid in [bid for bid in self.backings if bid not in backings]:
            del self.backings[bid]
        return vmas, backings, self.brk_start, self.brk_cur, self.mmap_base

    # ---- the frame pool's limbo ----------------------------------------------------
    def next_gen(self) -> int:
        """The generation the change being made will publish."""
        return self.ctl.gen + 1

    def horizon(self) -> int:
        """Every sibling has caught up with this generation."""
        others = [seen for _, seen in self.ctl.others(self.slot)]
        return min(others) if others else 1 << 64

    # ---- the operations, under the lock -----------------------------------------------
    def resolve(self, vpn: int, access: str):
        if vpn >= ADDR_LIMIT >> 12:       # beyond the user address space and the table
            raise MemFault(vpn << 12, access, "unmapped")
        e = self.pt.e[vpn]
        if e and _allows(e & 7, access) and not (access == "w" and e & COW):
            return self.phys.page((e & ~COW) >> 3)
        ctl = self.ctl
        ctl.lock()
        try:
            self.sync()
            page = AddressSpace.resolve(self, vpn, access)
            if self._changes:
                self._publish(vmas=False)
            return page
        finally:
            ctl.unlock()

    def _pages_present(self, start: int, end: int) -> list[int]:
        # len() of the shared table is a scan of it: look the range up directly unless
        # it is huge (a big reservation), then scan the table's populated pages
        first, last = start >> 12, end >> 12
        if last - first <= 1 << 16:
            e = self.pt.e
            return [v for v in range(first, last) if e[v]]
        return [v for v, _ in self.pt.raw_items() if first <= v < last]

    def _shootdown(self, start: int, end: int) -> None:
        AddressSpace._shootdown(self, start, end)
        self._changes.append((start, end, KIND_FLUSH))

    def _cover(self, vma: Vma) -> None:
        AddressSpace._cover(self, vma)
        self._changes.append((0, ADDR_LIMIT, KIND_ALL))

    def share_for_fork(self, child_holdings, vfork: bool) -> None:
        AddressSpace.share_for_fork(self, child_holdings, vfork)
        if not vfork:
            self._changes.append((0, ADDR_LIMIT, KIND_WRITES))

    def _forget_views(self, start: int, end: int) -> None:
        AddressSpace._forget_views(self, start, end)
        self._changes.append((start, end, KIND_FORGET))

    def maps_text(self) -> str:
        self.catch_up()
        return AddressSpace.maps_text(self)

    def alias_key(self, vpn: int):
        if self.ctl.gen != self.seen_gen and self.ctl.depth == 0:
            self.catch_up()
        return AddressSpace.alias_key(self, vpn)

    def close(self) -> None:
        """The last task of the space drops it (execve after the other threads ended)."""
        ctl = self.ctl
        ctl.lock()
        try:
            self.sync()
            AddressSpace.close(self)
        finally:
            ctl.unlock()
        self.frames.gate = None
        self.frames.free.extend(f for _, frames in self.frames.limbo for f in frames)
        self.frames.limbo = []
        for fd in (self.pt.fd, self.ctl.fd, self.ctl.lock_fd):
            os.close(fd)
        self.pt.close()
        self.ctl.close()
        self._unmap_retired()


def _locked(fn):
    """fn as a published change: under the lock, after catching up."""
    def op(self, *args, **kwargs):
        ctl = self.ctl
        ctl.lock()
        try:
            self.sync()
            return fn(self, *args, **kwargs)
        finally:
            try:
                self._publish()
            finally:
                ctl.unlock()
    op.__name__ = fn.__name__
    op.__doc__ = fn.__doc__
    return op


for _name in ("mmap", "munmap", "mprotect", "brk", "mremap", "discard", "set_brk_start",
              "share_for_fork", "file_shrunk", "attach_segment", "detach_segment"):
    setattr(SharedAddressSpace, _name, _locked(getattr(SharedAddressSpace, _name)))


def _hold(space: AddressSpace, fd: int) -> int:
    """Move one of the space's own descriptors above the guest's range."""
    held = space._hold_fd(fd)
    os.close(fd)
    return held

