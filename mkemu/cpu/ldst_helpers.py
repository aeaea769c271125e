"""The run-time half of the load/store family (a64_ldst.py, memgroup.py): the
functions and struct methods its traces call (its HELPERS).  Apart from the
decoder so that traces from the code cache run without importing it
(familyhelpers.py puts these in every block globals dict from the start)."""
from __future__ import annotations

import struct

from ..mm.fault import MemFault
from . import hostatomic

M64 = 0xFFFF_FFFF_FFFF_FFFF


# ---- exclusive monitor and atomics (runtime helpers) --------------------------------
def _check_aligned(addr: int, size: int, access: str = "r") -> None:
    """Exclusives and LSE atomics need natural alignment (else SIGBUS).

    LDAR/STLR and the RCPC forms do not check: unicorn (QEMU's max CPU) and
    current cores allow them unaligned, and so does mkemu.
    """
    if addr & (size - 1):
        raise MemFault(addr & M64, access, "align")


def _load_exclusive(S, LD, addr: int, size: int) -> int:
    _check_aligned(addr, size)
    value = LD(addr, size)
    S.excl_addr, S.excl_size, S.excl_value = addr & M64, size, value
    return value


def _host_word(ST, addr: int, size: int) -> int | None:
    """The host address of an aligned guest word, for a host atomic; None when the
    page is not host memory the CPU can address (then a plain load and store is
    as atomic as anything can be there)."""
    if size not in (1, 2, 4, 8, 16):
        return None
    try:
        host_page = ST.__self__.host_page
    except AttributeError:           # a bare store function (unit tests)
        return None
    try:
        return host_page(addr, hostatomic.page_address) + (addr & 4095)
    except TypeError:                # a read-only view cannot be addressed for writing
        return None


def _store_exclusive(S, LD, ST, addr: int, size: int, value: int) -> int:
    """Store if the monitor still covers addr and memory still holds what the load
    saw (one host compare-and-swap); 0 on success."""
    addr &= M64
    _check_aligned(addr, size, "w")    # checked before the monitor (ExclusiveMonitorsPass)
    ok = S.excl_addr == addr and S.excl_size == size
    S.excl_addr = -1
    if not ok:
        return 1
    host = _host_word(ST, addr, size)
    if host is None:
        if LD(addr, size) != S.excl_value:
            return 1
        ST(addr, size, value)
        return 0
    return 0 if hostatomic.compare_exchange(host, size, S.excl_value, value)[0] else 1


def _rmw(op: int, old: int, value: int, bits: int) -> int:
    mask = (1 << bits) - 1
    v = value & mask
    if op == 0:
        return (old + v) & mask
    if op == 1:
        return old & ~v
    if op == 2:
        return old ^ v
    if op == 3:
        return old | v
    if op in (4, 5):
        top = 1 << (bits - 1)
        so, sv = (old ^ top) - top, (v ^ top) - top
        return old if (so >= sv) == (op == 4) else v
    if op == 6:
        return max(old, v)
    if op == 7:
        return min(old, v)
    return v


def _atomic(LD, ST, addr: int, size: int, op: int, value: int) -> int:
    """LSE read-modify-write: return the old value (op: Arm ARM opc, 8 = SWP)."""
    _check_aligned(addr, size, "w")
    host = _host_word(ST, addr, size)
    if host is None:
        old = LD(addr, size)
        ST(addr, size, _rmw(op, old, value, size * 8))
        return old
    old = hostatomic.load(host, size)
    while True:
        done, found = hostatomic.compare_exchange(host, size, old, _rmw(op, old, value, size * 8))
        if done:
            return old
        old = found


def _cas(LD, ST, addr: int, size: int, expected: int, new: int) -> int:
    """CAS/CASP: store new if memory holds expected; return the old value."""
    _check_aligned(addr, size, "w")
    expected &= (1 << (size * 8)) - 1
    host = _host_word(ST, addr, size)
    if host is None:
        old = LD(addr, size)
        if old == expected:
            ST(addr, size, new)
        return old
    return hostatomic.compare_exchange(host, size, expected, new)[1]


# ---- Advanced SIMD structures (runtime helpers) -------------------------------------
def _ld_multi(RD, addr: int, nregs: int, selem: int, esize: int, regbytes: int) -> list[int]:
    data = RD(addr, nregs * regbytes)
    if selem == 1:
        return [int.from_bytes(data[i * regbytes:(i + 1) * regbytes], "little") for i in range(nregs)]
    eb = esize // 8
    nelem = regbytes // eb
    out = [bytearray(regbytes) for _ in range(selem)]
    for e in range(nelem):
        for r in range(selem):
            src = (e * selem + r) * eb
            out[r][e * eb:(e + 1) * eb] = data[src:src + eb]
    return [int.from_bytes(o, "little") for o in out]


def _st_multi(WR, addr: int, regs: list[int], selem: int, esize: int, regbytes: int) -> None:
    if selem == 1:
        WR(addr, b"".join(r.to_bytes(16, "little")[:regbytes] for r in regs))
        return
    eb = esize // 8
    nelem = regbytes // eb
    out = bytearray(len(regs) * regbytes)
    raw = [r.to_bytes(16, "little") for r in regs]
    for e in range(nelem):
        for r in range(selem):
            dst = (e * selem + r) * eb
            out[dst:dst + eb] = raw[r][e * eb:(e + 1) * eb]
    WR(addr, bytes(out))


_PAIR2 = {4: struct.Struct("<II"), 8: struct.Struct("<QQ")}


def _group_across(RD, fmt: str, addr: int) -> tuple:
    """A run of loads (memgroup.py) whose bytes cross a page's end: read through
    the slow path, whole (a fault raises MemFault, and the run's own lines then
    find which load faults)."""
    return struct.unpack(fmt, RD(addr, struct.calcsize(fmt)))


class _Structs(dict):
    """format -> a bound method of its struct.Struct, made on first use (a
    trace loaded from the code cache names formats no translation made here)."""

    def __init__(self, method: str) -> None:
        super().__init__()
        self.method = method

    def __missing__(self, fmt: str):
        fn = getattr(struct.Struct(fmt), self.method)
        self[fmt] = fn
        return fn


HELPERS = {"LDX": _load_exclusive, "STX": _store_exclusive, "ATOMIC": _atomic, "CAS": _cas,
           "LDMULTI": _ld_multi, "STMULTI": _st_multi,
           # for BlockBuilder.load_pair: two elements in one struct call
           "U2L": _PAIR2[4].unpack_from, "U2Q": _PAIR2[8].unpack_from,
           # memgroup.py: a run of loads or stores as one struct call
           "GU": _Structs("unpack_from"), "GI": _Structs("pack_into"), "GX": _group_across,
           # DC ZVA (a64_branch_sys): the 64 zero bytes of its block, one slice copy
           "ZERO64": bytes(64)}
