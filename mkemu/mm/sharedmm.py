"""The shared half of an address space that several task processes run in (threads).

A guest thread is a host process of its own, so what its siblings must see of
the address space lives in shared memory, not in Python objects:

* `SharedPageMap`: the page map `vpn -> frame << 3 | prot` as one flat table of
  2**36 eight-byte entries in a sparse memfd (only the host pages of entries in
  use cost memory: 4 KiB per 2 MiB of guest address space touched).  Entry 0
  is "no frame"; bit 63 is the copy-on-write mark (`SharedCowView` shows it
  as the set AddressSpace.cow is in a single process).  A lookup is one index
  into a memoryview, so the TLB's miss path stays cheap.
* `MmControl`: a second small memfd: the lock every change to the space is made
  under (a POSIX record lock: per host process, and released by the kernel if
  the holder dies), the generation counter a change bumps, a ring of the
  ranges each change touched (siblings flush exactly those from their TLBs),
  the VMA list as the last change left it (pickled), one slot per thread (host
  pid, the generation it has caught up with), the signal dispositions a
  thread group shares (CLONE_SIGHAND) and its working directory (CLONE_FS).

Entries are written only under the lock; an aligned 8-byte store is atomic on
the host, so a sibling reading without the lock sees the old or the new entry.
"""
from __future__ import annotations

import fcntl
import os
import _pickle as pickle    # (pickle's own dumps/loads: importing pickle imports re, ~4 ms)
import struct

from .hostmap import HostMapping

COW = 1 << 63
VPN_BITS = 36                       # 48-bit addresses, 4 KiB pages
TABLE_BYTES = (1 << VPN_BITS) * 8
_CHUNK = 4096                       # one host page of entries: 512 vpns

# MmControl layout (byte offsets)
_GEN, _RING_HEAD, _NEXT_ID, _BLOB_GEN, _BLOB_LEN, _SIG_GEN, _FS_GEN = 0, 8, 16, 24, 32, 40, 48
_SHARED_PENDING = 56                # written by the broker: signals every thread blocked
MAX_THREADS = 256
RESERVED_SLOT = 1 << 32             # the pid of a slot taken for a thread not yet started
_SLOTS = 256                        # per thread: host pid, generation seen, blocked signals
_SLOT_WORDS = 3
RING = 256
_RING = _SLOTS + MAX_THREADS * _SLOT_WORDS * 8
_RING_ENTRY = struct.Struct("<QQQ")  # start, end, kind
_SIGS = _RING + RING * _RING_ENTRY.size
_SIG_ENTRY = struct.Struct("<QQQQ")  # handler, flags, restorer, mask
_FS = _SIGS + 65 * _SIG_ENTRY.size
_FS_MAX = 4096 + 16
_BLOB = 32768
CONTROL_BYTES = 64 << 20            # sparse: the VMA blob may grow

_WRLCK = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 1, 0)   # struct flock
_UNLCK = struct.pack("hhqqi4x", fcntl.F_UNLCK, os.SEEK_SET, 0, 1, 0)
KIND_FLUSH = 0                      # the range changed mapping: forget it, drop its code
KIND_WRITES = 1                     # every page became copy-on-write: forget writable views
KIND_ALL = 2                        # forget everything (the ring overflowed)
KIND_FORGET = 3                     # forget the views of a range (a file shrank)
KIND_CODE = 4                       # a writable page now holds a thread's translated code


class SharedPageMap:
    """The page map of a shared space, with the dict interface AddressSpace uses."""

    def __init__(self, fd: int | None = None) -> None:
        if fd is None:
            fd = os.memfd_create("mkemu-page-map", os.MFD_CLOEXEC)
            os.ftruncate(fd, TABLE_BYTES)
        self.fd = fd
        self.mapping = HostMapping(fd, 0, TABLE_BYTES, writable=True)
        self.e = self.mapping.view.cast("Q")

    def close(self) -> None:
        self.e = None
        self.mapping.unmap()

    # ---- the dict interface (values without the COW bit) ----------------------------
    def get(self, vpn: int, default=None):
        v = self.e[vpn]
        return v & ~COW if v else default

    def __getitem__(self, vpn: int) -> int:
        v = self.e[vpn]
        if not v:
            raise KeyError(vpn)
        return v & ~COW

    def __setitem__(self, vpn: int, pte: int) -> None:
        self.e[vpn] = pte | (self.e[vpn] & COW)

    def __contains__(self, vpn: int) -> bool:
        return self.e[vpn] != 0

    def pop(self, vpn: int, *default):
        v = self.e[vpn]
        if not v:
            if default:
                return default[0]
            raise KeyError(vpn)
        self.e[vpn] = 0
        return v & ~COW

    def raw_items(self):
        """(vpn, entry with its COW bit) for every present entry, in vpn order: the
        table's host pages that hold data, found with SEEK_DATA, scanned 512 at a time."""
        fd, pos = self.fd, 0
        unpack = struct.Struct(f"<{_CHUNK // 8}Q").unpack_from
        view = self.mapping.view
        while True:
            try:
                pos = os.lseek(fd, pos, os.SEEK_DATA)
                end = os.lseek(fd, pos, os.SEEK_HOLE)
            except OSError:           # ENXIO: no data after pos
                return
            for chunk in range(pos - pos % _CHUNK, end, _CHUNK):
                words = unpack(view, chunk)
                if any(words):
                    base = chunk // 8
                    for i, w in enumerate(words):
                        if w:
                            yield base + i, w
            pos = end

    def __iter__(self):
        return (vpn for vpn, _ in self.raw_items())

    def values(self):
        return [w & ~COW for _, w in self.raw_items()]

    def items(self):
        return [(vpn, w & ~COW) for vpn, w in self.raw_items()]

    def __len__(self) -> int:
        return sum(1 for _ in self.raw_items())

    def update(self, other: dict) -> None:
        for vpn, pte in other.items():
            self[vpn] = pte


class SharedCowView:
    """The copy-on-write marks of a SharedPageMap, as the set AddressSpace.cow is."""

    def __init__(self, pt: SharedPageMap) -> None:
        self.pt = pt

    def __contains__(self, vpn: int) -> bool:
        return bool(self.pt.e[vpn] & COW)

    def add(self, vpn: int) -> None:
        e = self.pt.e
        if e[vpn]:
            e[vpn] |= COW

    def discard(self, vpn: int) -> None:
        e = self.pt.e
        if e[vpn] & COW:
            e[vpn] &= ~COW

    def update(self, vpns) -> None:
        for v in vpns:
            self.add(v)

    def difference_update(self, vpns) -> None:
        for v in vpns:
            self.discard(v)

    def __iter__(self):
        return (vpn for vpn, w in self.pt.raw_items() if w & COW)


class MmControl:
    """The lock, generation, change ring, VMA list and thread slots of a shared space."""

    def __init__(self, fd: int | None = None) -> None:
        if fd is None:
            fd = os.memfd_create("mkemu-mm-control", os.MFD_CLOEXEC)
            os.ftruncate(fd, CONTROL_BYTES)
        self.fd = fd
        self.mapping = HostMapping(fd, 0, CONTROL_BYTES, writable=True)
        self.view = self.mapping.view
        # the header and the thread slots as 8-byte words: each field is written as one
        # word (never pack_into, which zero-fills first): the broker and the siblings
        # read them without the lock
        self.words = self.view[:_RING].cast("Q")
        self.depth = 0                 # nested lock() calls of this process

    def close(self) -> None:
        self.words = self.view = None
        self.mapping.unmap()

    # ---- the lock --------------------------------------------------------------------
    # An open file description lock on a description of the control file that is this
    # process's own (own_lock): POSIX record locks belong to the descriptor table, which
    # threads share (CLONE_FILES), so they would not keep threads apart.
    def own_lock(self, hold) -> None:
        """Open this process's own description of the control file to lock with; hold(fd)
        moves it out of the guest's descriptor range."""
        self.lock_fd = hold(os.open(f"/proc/self/fd/{self.fd}", os.O_RDWR | os.O_CLOEXEC))
        self.depth = 0

    def lock(self) -> None:
        if self.depth == 0:
            fcntl.fcntl(self.lock_fd, fcntl.F_OFD_SETLKW, _WRLCK)
        self.depth += 1

    def unlock(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            fcntl.fcntl(self.lock_fd, fcntl.F_OFD_SETLK, _UNLCK)

    # ---- generation and the change ring -----------------------------------------------
    @property
    def gen(self) -> int:
        return self.words[_GEN // 8]

    def ring_head(self) -> int:
        return self.words[_RING_HEAD // 8]

    def record(self, ranges: list[tuple[int, int, int]]) -> int:
        """Publish one change (under the lock): its ranges into the ring, then the new
        generation.  Returns it."""
        w = self.words
        head = w[_RING_HEAD // 8]
        for start, end, kind in ranges:
            _RING_ENTRY.pack_into(self.view, _RING + (head % RING) * _RING_ENTRY.size,
                                  start, end, kind)
            head += 1
        w[_RING_HEAD // 8] = head
        w[_GEN // 8] += 1
        return w[_GEN // 8]

    def changes_since(self, seen_head: int) -> list[tuple[int, int, int]] | None:
        """The ranges recorded after ring position seen_head; None if the ring has
        wrapped past it (the reader must forget everything)."""
        head = self.ring_head()
        if head - seen_head > RING:
            return None
        return [_RING_ENTRY.unpack_from(self.view, _RING + (i % RING) * _RING_ENTRY.size)
                for i in range(seen_head, head)]

    def new_id(self) -> int:
        self.words[_NEXT_ID // 8] += 1
        return self.words[_NEXT_ID // 8]

    # ---- the VMA list ---------------------------------------------------------------
    def blob_gen(self) -> int:
        return self.words[_BLOB_GEN // 8]

    def store_blob(self, obj) -> None:
        data = pickle.dumps(obj, protocol=-1)
        self.view[_BLOB:_BLOB + len(data)] = data
        self.words[_BLOB_LEN // 8] = len(data)
        self.words[_BLOB_GEN // 8] += 1

    def load_blob(self):
        n = self.words[_BLOB_LEN // 8]
        return pickle.loads(self.view[_BLOB:_BLOB + n])

    # ---- thread slots -------------------------------------------------------------------
    def take_slot(self, host_pid: int) -> int:
        """A free slot for a thread (under the lock), or the one host_pid holds already;
        -1 if there is none.  A slot reserved for a thread not yet started is not free:
        two threads in one slot would each free it as they end, the second time under
        a newer thread that took it in between."""
        for i in range(MAX_THREADS):
            pid = self.words[self._slot_word(i, 0)]
            if pid == 0 or pid == host_pid != RESERVED_SLOT:
                self.set_slot(i, host_pid, self.gen)
                return i
        return -1

    @staticmethod
    def _slot_word(slot: int, field: int) -> int:
        """The index in `words` of a slot's field (0 host pid, 1 seen, 2 blocked)."""
        return _SLOTS // 8 + slot * _SLOT_WORDS + field

    def set_slot(self, slot: int, host_pid: int, seen: int, blocked: int = 0) -> None:
        w, i = self.words, self._slot_word(slot, 0)
        w[i + 1], w[i + 2], w[i] = seen, blocked, host_pid

    def slot_holder(self, slot: int) -> int:
        """The host pid that holds a slot (0: free, RESERVED_SLOT: a thread not yet
        started)."""
        return self.words[self._slot_word(slot, 0)]

    def free_slot(self, slot: int) -> None:
        self.words[self._slot_word(slot, 0)] = 0

    def set_blocked(self, slot: int, mask: int) -> None:
        """A thread's blocked signals, which the broker reads to pick the thread a
        process-directed signal goes to."""
        self.words[self._slot_word(slot, 2)] = mask

    def shared_pending(self) -> int:
        return self.words[_SHARED_PENDING // 8]

    def set_shared_pending(self, mask: int) -> None:
        self.words[_SHARED_PENDING // 8] = mask

    def blocked(self, slot: int) -> int:
        return self.words[self._slot_word(slot, 2)]

    def seen(self, slot: int, gen: int) -> None:
        self.words[self._slot_word(slot, 1)] = gen

    def others(self, slot: int) -> list[tuple[int, int]]:
        """(host pid, generation seen) of every other live slot."""
        out = []
        w = self.words
        for i in range(MAX_THREADS):
            if i != slot:
                at = self._slot_word(i, 0)
                if w[at]:
                    out.append((w[at], w[at + 1]))
        return out

    # ---- signal dispositions (CLONE_SIGHAND) ---------------------------------------------
    def sig_gen(self) -> int:
        return self.words[_SIG_GEN // 8]

    def store_actions(self, actions) -> None:
        for sig, a in enumerate(actions):
            _SIG_ENTRY.pack_into(self.view, _SIGS + sig * _SIG_ENTRY.size,
                                 a.handler, a.flags, a.restorer, a.mask)
        self.words[_SIG_GEN // 8] += 1

    def load_actions(self, actions) -> None:
        for sig, a in enumerate(actions):
            a.handler, a.flags, a.restorer, a.mask = _SIG_ENTRY.unpack_from(
                self.view, _SIGS + sig * _SIG_ENTRY.size)

    # ---- working directory and umask (CLONE_FS) ---------------------------------------
    def fs_gen(self) -> int:
        return self.words[_FS_GEN // 8]

    def store_fs(self, cwd: bytes, umask: int) -> None:
        struct.pack_into("<II", self.view, _FS, len(cwd), umask)
        self.view[_FS + 8:_FS + 8 + len(cwd)] = cwd
        self.words[_FS_GEN // 8] += 1

    def load_fs(self) -> tuple[bytes, int]:
        n, umask = struct.unpack_from("<II", self.view, _FS)
        return bytes(self.view[_FS + 8:_FS + 8 + n]), umask


assert _FS + _FS_MAX < _BLOB
