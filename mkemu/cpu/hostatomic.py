"""Read-modify-write of guest memory as one host atomic operation.

Guest memory is shared between host processes (a forked child's MAP_SHARED
pages now, sibling threads next), each running its own interpreter on its own
core, so an exclusive pair or an LSE atomic done as a Python load and store
could lose another process's update between the two.  These helpers do the
final step as a host compare-and-swap (libatomic, `lock cmpxchg` on x86_64)
on the page's host address: a store-exclusive succeeds only if memory still
holds the value its load-exclusive saw, and an LSE operation retries until
its compare-and-swap lands.
"""
from __future__ import annotations

import ctypes

_atomic = ctypes.CDLL("libatomic.so.1")
_SEQ_CST = 5
_TYPES = {1: ctypes.c_uint8, 2: ctypes.c_uint16, 4: ctypes.c_uint32, 8: ctypes.c_uint64}
_CMPXCHG = {}
for _size, _ctype in _TYPES.items():
    _f = getattr(_atomic, f"__atomic_compare_exchange_{_size}")
    _f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, _ctype, ctypes.c_bool, ctypes.c_int,
                   ctypes.c_int]
    _f.restype = ctypes.c_bool
    _CMPXCHG[_size] = _f
# 16 bytes (CASP, LDXP/STXP of two 64-bit registers): libatomic's generic entry
# point, which uses cmpxchg16b on x86_64 (every access of such a pair by another
# thread goes through here too, so it is atomic either way)
_cmpxchg_any = _atomic.__atomic_compare_exchange
_cmpxchg_any.argtypes = [ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.c_int, ctypes.c_int]
_cmpxchg_any.restype = ctypes.c_bool
_load_any = _atomic.__atomic_load
_load_any.argtypes = [ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
_load_any.restype = None
_U128 = ctypes.c_ubyte * 16


def fetch_op(op: str, size: int):
    """libatomic's __atomic_fetch_<op>_<size>(host address, value, order): the value
    before (the frame table's reference counts, the holdings bitmap's bytes)."""
    f = getattr(_atomic, f"__atomic_fetch_{op}_{size}")
    f.argtypes = [ctypes.c_void_p, _TYPES[size], ctypes.c_int]
    f.restype = _TYPES[size]
    return f


def page_address(page: memoryview) -> int:
    """The host address of a writable guest page view."""
    return ctypes.addressof(ctypes.c_char.from_buffer(page))


def compare_exchange(host: int, size: int, expected: int, new: int) -> tuple[bool, int]:
    """Atomically: if the size-byte word at host holds expected, store new.  Returns
    (stored, the value found)."""
    if size == 16:
        cell = _U128.from_buffer_copy(expected.to_bytes(16, "little"))
        want = _U128.from_buffer_copy(new.to_bytes(16, "little"))
        ok = _cmpxchg_any(16, host, ctypes.addressof(cell), ctypes.addressof(want),
                          _SEQ_CST, _SEQ_CST)
        return ok, int.from_bytes(bytes(cell), "little")
    cell = _TYPES[size](expected)
    ok = _CMPXCHG[size](host, ctypes.addressof(cell), new, False, _SEQ_CST, _SEQ_CST)
    return ok, cell.value


def load(host: int, size: int) -> int:
    if size == 16:
        cell = _U128()
        _load_any(16, host, ctypes.addressof(cell), _SEQ_CST)
        return int.from_bytes(bytes(cell), "little")
    return _TYPES[size].from_address(host).value
