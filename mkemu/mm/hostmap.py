"""Host mmap of a descriptor, seen from Python as a memoryview.

A writable window is MAP_SHARED (stores reach the file); a read-only one is
MAP_PRIVATE, which still reads the file's page cache but does not count as a
writable mapping to the host: a write-sealed memfd can be mapped, and a
read-only map does not stop F_SEAL_WRITE, as on Linux.

libc's mmap through ctypes, not Python's mmap module: mmap.mmap keeps a dup
of the descriptor at the lowest free number, which a task would then show the
guest as one of its own descriptors.  The price is that nothing tracks the
views: a view used after `unmap` touches unmapped host memory, so the owner
must drop every view (the TLB entries) before unmapping.

The view is made by PyMemoryView_FromMemory, not from a ctypes array of the
window's length: `c_char * length` makes a new ctypes type for each new
length (~50 us; a dynamically linked exec maps six windows), the memoryview
~5 us.
"""
from __future__ import annotations

import ctypes
import mmap
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_MAP_FAILED = ctypes.c_void_p(-1).value
_view_of = ctypes.pythonapi.PyMemoryView_FromMemory
_view_of.restype = ctypes.py_object
_view_of.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int]
_PYBUF_READ, _PYBUF_WRITE = 0x100, 0x200


def host_view(addr: int, length: int, writable: bool) -> memoryview:
    """A memoryview (format "B") of length bytes of this process's memory at addr; it
    refuses Python writes unless writable (a read-only host page would crash the process)."""
    return _view_of(addr, length, _PYBUF_WRITE if writable else _PYBUF_READ)


class HostMapping:
    """[offset, offset+length) of fd mapped into this process (shared when writable)."""

    def __init__(self, fd: int, offset: int, length: int, writable: bool) -> None:
        prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
        share = mmap.MAP_SHARED if writable else mmap.MAP_PRIVATE
        addr = _libc.mmap(None, length, prot, share, fd, offset)
        if addr in (None, _MAP_FAILED):
            err = ctypes.get_errno()
            raise OSError(err, f"host mmap: {os.strerror(err)}")
        self.addr = addr
        self.offset = offset
        self.length = length
        self.view = host_view(addr, length, writable)

    def unmap(self) -> None:
        if self.view is not None:
            self.view = None
            _libc.munmap(self.addr, self.length)
