"""The host's network interfaces as the guest sees them: read-only.

A guest asks about interfaces the two ways Linux offers, and both reach the
host's stack, as its sockets do:

* NETLINK_ROUTE sockets (glibc's getifaddrs and if_nameindex, `ip`): the
  host's own netlink socket, messages pass through (nlmsghdr, ifinfomsg,
  ifaddrmsg and rtattr have one layout on both).  The host must not take a
  change from the guest (routes, addresses, links) even when mkemu runs as
  root: rtnetlink asks for CAP_NET_ADMIN in the credentials the socket was
  *opened* with as well as the sender's, so the socket is opened while this
  thread's effective set lacks CAP_NET_ADMIN, and every RTM_NEW*/DEL*/SET*
  the guest sends is then EPERM from the host kernel itself, whatever path
  (send, write, sendmmsg) carries it.  The other netlink protocols
  (uevents, audit, netfilter, ...) are EPROTONOSUPPORT.
* SIOCGIF* ioctls on any socket: struct ifreq is 40 bytes on both, passed
  through; SIOCGIFCONF's struct ifconf carries a pointer, so its buffer is
  copied.  The SIOCS* requests that change an interface are EPERM without
  reaching the host.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import struct

AF_NETLINK = 16
NETLINK_ROUTE = 0
CAP_NET_ADMIN = 12
_CAP_VERSION_3 = 0x20080522
_SYS_CAPGET, _SYS_CAPSET = 125, 126            # x86_64 numbers: the host's calls

SIOCGIFNAME, SIOCGIFCONF, SIOCGIFFLAGS = 0x8910, 0x8912, 0x8913
SIOCATMARK, SIOCGSTAMP, SIOCGSTAMPNS = 0x8905, 0x8906, 0x8907
IFREQ_SIZE = 40                                 # IFNAMSIZ + the 24-byte union, on both
_IFCONF = struct.Struct("<i4xQ")                # ifc_len, then the buffer pointer
IFCONF_MAX = 1 << 20

# interface queries whose argument is one struct ifreq (in and out)
IFREQ_GETS = frozenset((SIOCGIFNAME, SIOCGIFFLAGS, 0x8915, 0x8917, 0x8919, 0x891B, 0x891D,
                        0x8921, 0x8927, 0x8933, 0x8942, 0x8970))
# ...and those that would change one (or the routing table, ARP, ...): never the host's
CHANGES = frozenset((0x890B, 0x890C, 0x8911, 0x8914, 0x8916, 0x8918, 0x891A, 0x891C, 0x891E,
                     0x8920, 0x8922, 0x8923, 0x8924, 0x8926, 0x8931, 0x8932, 0x8934, 0x8936,
                     0x8937, 0x8941, 0x8943, 0x8946, 0x8949, 0x8953, 0x8955, 0x8960, 0x8962,
                     0x8971, 0x8980, 0x8981, 0x89A0, 0x89A1, 0x89A2, 0x89A3))
REQUESTS = IFREQ_GETS | CHANGES | {SIOCGIFCONF, SIOCATMARK, SIOCGSTAMP, SIOCGSTAMPNS}

_libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _capabilities() -> tuple[_CapHeader, ctypes.Array] | None:
    head, data = _CapHeader(_CAP_VERSION_3, 0), (_CapData * 2)()
    if _libc.syscall(_SYS_CAPGET, ctypes.byref(head), data) != 0:
        return None
    return head, data


def open_netlink(kind: int, proto: int) -> int:
    """A host NETLINK_ROUTE socket that can read but never change the host's network
    (module docstring); -errno on failure."""
    if proto != NETLINK_ROUTE:
        return -errno.EPROTONOSUPPORT
    caps = _capabilities()
    admin = caps is not None and caps[1][0].effective & (1 << CAP_NET_ADMIN)
    if admin:
        head, data = caps
        data[0].effective &= ~(1 << CAP_NET_ADMIN)
        if _libc.syscall(_SYS_CAPSET, ctypes.byref(head), data) != 0:
            return -errno.EPERM             # cannot open it safely: refuse
    try:
        fd = _libc.socket(AF_NETLINK, ctypes.c_int(kind), ctypes.c_int(proto))
        return fd if fd >= 0 else -ctypes.get_errno()
    finally:
        if admin:
            data[0].effective |= 1 << CAP_NET_ADMIN
            _libc.syscall(_SYS_CAPSET, ctypes.byref(head), data)


def ioctl(t, fd: int, req: int, arg: int) -> int:
    """The interface and socket queries of ioctl(2) on a socket descriptor."""
    if req in CHANGES:
        return -errno.EPERM
    if req in IFREQ_GETS:
        t.mem.write(arg, fcntl.ioctl(fd, req, t.mem.read(arg, IFREQ_SIZE)))
        return 0
    if req == SIOCATMARK:
        t.mem.write(arg, fcntl.ioctl(fd, req, bytes(4)))
        return 0
    if req in (SIOCGSTAMP, SIOCGSTAMPNS):      # struct timeval / timespec: 16 bytes on both
        t.mem.write(arg, fcntl.ioctl(fd, req, bytes(16)))
        return 0
    return _ifconf(t, fd, arg)


def _ifconf(t, fd: int, arg: int) -> int:
    length, buf = _IFCONF.unpack(t.mem.read(arg, _IFCONF.size))
    if not buf:                                 # a NULL buffer asks for the length needed
        host = fcntl.ioctl(fd, SIOCGIFCONF, _IFCONF.pack(0, 0))
        t.mem.write(arg, _IFCONF.pack(_IFCONF.unpack(host)[0], 0))
        return 0
    length = max(0, min(length, IFCONF_MAX))
    room = ctypes.create_string_buffer(length)
    host = fcntl.ioctl(fd, SIOCGIFCONF, _IFCONF.pack(length, ctypes.addressof(room)))
    used = _IFCONF.unpack(host)[0]
    t.mem.write(buf, room.raw[:used])
    t.mem.write(arg, _IFCONF.pack(used, buf))
    return 0
