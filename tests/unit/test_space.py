"""Address-space semantics on the host: lazy mapping, protections, brk, mremap, file mappings."""
import errno
import os

import pytest

from mkemu.mm.access import GuestAccess
from mkemu.mm.fault import MemFault
from mkemu.mm.physmem import FramePool, PhysMem
from mkemu.mm.space import (MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE,
                            MAP_PRIVATE, MAP_SHARED, MREMAP_MAYMOVE, MS_ASYNC, MS_INVALIDATE,
                            MS_SYNC, PROT_EXEC, PROT_READ, PROT_WRITE, AddressSpace)
from mkemu.mm.tlb import SoftTLB

RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


@pytest.fixture(scope="module")
def phys():
    p = PhysMem(size=1 << 30)
    yield p


@pytest.fixture
def space(phys):
    counter = {"next": phys.first_frame}

    def grant(count):
        first = counter["next"]
        counter["next"] += count
        return [(first, count)]

    sp = AddressSpace(phys, FramePool(phys, grant))
    tlb = SoftTLB(sp.resolve)
    sp.tlbs.append(tlb)
    sp.mem = GuestAccess(tlb)
    return sp


def test_anonymous_mapping_is_lazy_and_zero(space):
    a = space.mmap(0, 1 << 20, RW, ANON)
    assert space.resident_pages() == 0
    assert space.mem.read(a + 12345, 16) == bytes(16)
    space.mem.write(a + 8000, b"hello")
    assert space.mem.read(a + 8000, 5) == b"hello"
    assert space.resident_pages() == 2


def test_huge_noreserve_reservation_costs_nothing(space):
    a = space.mmap(0, 128 << 30, PROT_READ | PROT_WRITE, ANON | MAP_NORESERVE)
    space.mem.write(a + (100 << 30), b"x")
    assert space.resident_pages() == 1
    space.munmap(a, 128 << 30)
    assert space.resident_pages() == 0


def test_unmapped_and_protected_access_fault(space):
    a = space.mmap(0, 8192, PROT_READ, ANON)
    with pytest.raises(MemFault) as e:
        space.mem.write(a, b"x")
    assert e.value.kind == "perm"
    space.munmap(a, 8192)
    with pytest.raises(MemFault) as e:
        space.mem.read(a, 1)
    assert e.value.kind == "unmapped"


def test_mprotect_guard_page_and_back(space):
    a = space.mmap(0, 3 * 4096, RW, ANON)
    space.mem.write(a + 4096, b"data")
    space.mprotect(a + 4096, 4096, 0)
    with pytest.raises(MemFault):
        space.mem.read(a + 4096, 1)
    assert space.mem.read(a, 1) == b"\0"          # neighbours unaffected
    space.mprotect(a + 4096, 4096, RW)
    assert space.mem.read(a + 4096, 4) == b"data"  # contents survive


def test_fixed_and_noreplace(space):
    a = space.mmap(0, 4 * 4096, RW, ANON)
    space.mem.write(a + 4096, b"old")
    b = space.mmap(a + 4096, 4096, RW, ANON | MAP_FIXED)
    assert b == a + 4096 and space.mem.read(b, 3) == bytes(3)
    with pytest.raises(OSError) as e:
        space.mmap(a, 4096, RW, ANON | MAP_FIXED_NOREPLACE)
    assert e.value.errno == errno.EEXIST
    with pytest.raises(OSError) as e:
        space.mmap(a + 1, 4096, RW, ANON | MAP_FIXED)
    assert e.value.errno == errno.EINVAL


def test_brk_grows_and_shrinks(space):
    space.set_brk_start(0x10_0000_0000)
    base = space.brk(0)
    assert space.brk(base + 100_000) == base + 100_000
    space.mem.write(base + 99_999, b"z")
    assert space.brk(base + 10) == base + 10
    with pytest.raises(MemFault):
        space.mem.read(base + 99_999, 1)


def test_mremap_moves_frames(space):
    a = space.mmap(0, 2 * 4096, RW, ANON)
    space.mmap(a + 2 * 4096, 4096, RW, ANON | MAP_FIXED)   # block growth in place
    space.mem.write(a + 100, b"keep me")
    b = space.mremap(a, 2 * 4096, 16 * 4096, MREMAP_MAYMOVE)
    assert b != a
    assert space.mem.read(b + 100, 7) == b"keep me"
    with pytest.raises(MemFault):
        space.mem.read(a + 100, 1)


def test_file_private_mapping_reads_file_and_writes_stay_private(space, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"A" * 5000 + b"B" * 5000)
    fd = os.open(path, os.O_RDONLY)
    try:
        a = space.mmap(0, 10000, RW, MAP_PRIVATE, fd=fd, offset=4096)
    finally:
        os.close(fd)
    assert space.mem.read(a, 4) == b"AAAA"
    assert space.mem.read(a + 5000 - 4096, 2) == b"BB"
    space.mem.write(a, b"zz")
    assert path.read_bytes()[4096:4098] == b"AA"


def test_maps_text_lists_vmas(space):
    a = space.mmap(0, 4096, PROT_READ | PROT_EXEC, ANON, name="[test]")
    line = [l for l in space.maps_text().splitlines() if l.startswith(f"{a:08x}")][0]
    assert " r-xp " in line and line.endswith("[test]")


def _file(tmp_path, data: bytes, flags=os.O_RDWR) -> int:
    path = tmp_path / "f"
    path.write_bytes(data)
    return os.open(path, flags)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_shared_file_mapping_is_the_file(space, tmp_path):
    fd = _file(tmp_path, b"a" * 8192)
    try:
        a = space.mmap(0, 8192, RW, MAP_SHARED, fd=fd)
        space.mem.write(a + 4096, b"through")
        assert os.pread(fd, 7, 4096) == b"through"
        os.pwrite(fd, b"back", 10)
        assert space.mem.read(a + 10, 4) == b"back"
        assert not space.pt                         # no frame holds a copy:
        assert space.resident_pages() == 2          # the file's two pages are mapped in
    finally:
        os.close(fd)


def test_pieces_of_a_file_mapping_hold_the_file_until_the_last_goes(space, tmp_path):
    fd = _file(tmp_path, b"b" * 4 * 4096)
    before = _open_fds()
    a = space.mmap(0, 4 * 4096, RW, MAP_SHARED, fd=fd)
    os.close(fd)
    space.munmap(a + 4096, 4096)                    # three pieces, one window
    space.mprotect(a + 3 * 4096, 4096, PROT_READ)
    space.mem.write(a + 2 * 4096, b"mid")
    space.munmap(a, 2 * 4096)
    space.munmap(a + 2 * 4096, 2 * 4096)
    assert _open_fds() == before - 1                # fd itself was closed above
    assert (tmp_path / "f").read_bytes()[2 * 4096:2 * 4096 + 3] == b"mid"


def test_private_file_page_is_copied_at_its_first_write_only(space, tmp_path):
    fd = _file(tmp_path, b"c" * 8192)
    try:
        a = space.mmap(0, 8192, RW, MAP_PRIVATE, fd=fd)
        assert space.mem.read(a, 1) == b"c"
        os.pwrite(fd, b"N", 0)
        assert space.mem.read(a, 1) == b"N"          # not copied by reading
        space.mem.write(a + 1, b"p")
        assert space.resident_pages() == 1
        os.pwrite(fd, b"O", 0)
        assert space.mem.read(a, 2) == b"Np" and os.pread(fd, 2, 0) == b"Oc"
    finally:
        os.close(fd)


def test_beyond_the_end_of_the_file_is_a_bus_fault(space, tmp_path):
    fd = _file(tmp_path, b"d" * 4096)
    try:
        a = space.mmap(0, 2 * 4096, RW, MAP_SHARED, fd=fd)
        space.mem.write(a, b"x")
        with pytest.raises(MemFault) as e:
            space.mem.read(a + 4096, 1)
        assert e.value.kind == "bus"
        os.ftruncate(fd, 0)
        space.file_shrunk()
        with pytest.raises(MemFault) as e:
            space.mem.read(a, 1)                     # it was in the TLB
        assert e.value.kind == "bus"
    finally:
        os.close(fd)


def test_msync_checks_like_linux(space, tmp_path):
    fd = _file(tmp_path, b"e" * 3 * 4096)
    try:
        a = space.mmap(0, 3 * 4096, RW, MAP_SHARED, fd=fd)
    finally:
        os.close(fd)
    space.msync(a, 3 * 4096, MS_SYNC)
    space.msync(a, 0, MS_ASYNC | MS_INVALIDATE)
    for args, err in [((a + 1, 4096, MS_SYNC), errno.EINVAL), ((a, 4096, 8), errno.EINVAL),
                      ((a, 4096, MS_SYNC | MS_ASYNC), errno.EINVAL),
                      ((a, (1 << 64) - 4096 - a + 4096, MS_ASYNC), errno.ENOMEM)]:
        with pytest.raises(OSError) as e:
            space.msync(*args)
        assert e.value.errno == err, args
    space.munmap(a + 4096, 4096)
    for flags in (MS_SYNC, MS_ASYNC, 0):
        with pytest.raises(OSError) as e:
            space.msync(a, 3 * 4096, flags)
        assert e.value.errno == errno.ENOMEM


def test_a_write_through_an_alias_drops_code_read_from_the_other_view(space, tmp_path):
    fd = _file(tmp_path, b"\0" * 4096)
    try:
        w = space.mmap(0, 4096, RW, MAP_SHARED, fd=fd)
        x = space.mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd=fd)
    finally:
        os.close(fd)
    tlb = SoftTLB(space.resolve, space.alias_key)
    space.tlbs.append(tlb)
    dropped = []
    tlb.code_invalidate = dropped.append
    tlb.write(w, b"\1")                              # the writable view is in wt
    tlb.fetch(x)
    tlb.mark_code(x >> 12)                           # code translated from the other view
    assert w >> 12 not in tlb.wt
    tlb.write(w, b"\2")
    assert dropped == [x >> 12] and tlb.fetch(x) == 2
