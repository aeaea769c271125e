"""Address-space semantics on the host: lazy mapping, protections, brk, mremap."""
import errno
import os

import pytest

from mkemu.mm.access import GuestAccess
from mkemu.mm.fault import MemFault
from mkemu.mm.physmem import FramePool, PhysMem
from mkemu.mm.space import (MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE,
                            MAP_PRIVATE, MREMAP_MAYMOVE, PROT_EXEC, PROT_READ, PROT_WRITE,
                            AddressSpace)
from mkemu.mm.tlb import SoftTLB

RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


@pytest.fixture(scope="module")
def phys():
    p = PhysMem(size=1 << 30)
    yield p


@pytest.fixture
def space(phys):
    counter = {"next": 1}

    def grant():
        first = counter["next"]
        counter["next"] += 64
        return first, 64

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
