"""Socket syscalls: a guest socket is a host socket descriptor of the task, as a
guest file is a host file descriptor.

Layouts: the SOL_SOCKET option numbers (asm-generic/socket.h on both), the
MSG_* and SOCK_* flags, struct msghdr (56 bytes), mmsghdr (64), cmsghdr
(16), ucred, linger, timeval and sockaddr_in/in6 are the same on aarch64
and x86_64, so buffers pass through.  What is translated: AF_UNIX names
(kern/sockaddr.py: rootfs paths, per-machine abstract names), pids, uids
and gids in SO_PEERCRED and SCM_CREDENTIALS (guest ids both ways), the
descriptors of SCM_RIGHTS (checked to be the guest's on the way out, kept
below the guest's descriptor limit on the way in), and the one option that
carries a guest pointer (SO_ATTACH_FILTER's program).

Sleeping is read()'s (sys_fs._wait_ready): a transfer is tried without
blocking (MSG_DONTWAIT) with host signals held, and the call sleeps in
poll() between tries, where a guest signal that acts breaks in with EINTR
(restarted by delivery under SA_RESTART): no bytes are moved by a call that
then reports EINTR.  A partial transfer that a signal or a timeout
(SO_RCVTIMEO / SO_SNDTIMEO, read from the host socket) cuts short returns
its count, as Linux does.  Where poll() says ready and the try still finds
nothing (a unix datagram to a full receiver, another process took the
data) and for connect, the host call itself sleeps with signals held: a
signal ends it with EINTR before anything moved, and then the same check
decides.

Families: AF_UNIX, AF_INET and AF_INET6 on the host's own stack, AF_NETLINK's
NETLINK_ROUTE read-only (kern/netdev.py); any other (AF_PACKET, ...) is
EAFNOSUPPORT.  Options that would change the
host's firewall (the netfilter ranges of IPPROTO_IP/IPV6) are refused.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import math
import os
import select
import _signal as signal     # (the C module: the signal module's enums cost every start-up)
import struct
import time

from . import netdev, sockaddr, timespec
from .errors import InterruptedSyscall
from .guestpids import guest_pid_of_host
from .sigframe import SI_USER, siginfo_kill
from .sockaddr import AF_INET, AF_INET6, AF_UNIX, SOCKADDR_MAX
from .sys_fs import (MAX_IO, UIO_MAXIOV, _err, _fd, _gather, _new_fd, _scatter, fd_limit,
                     install_pair, socket_timeval)
from .sys_fs import _iovecs as _fs_iovecs
from .sys_fs import _total as _room
from .systable import s32, syscall

M32 = 0xFFFF_FFFF
SOCK_STREAM = 1
SOCK_NONBLOCK, SOCK_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC     # 0o4000, 0o2000000 on both
SOL_SOCKET, IPPROTO_IP, IPPROTO_TCP, IPPROTO_IPV6 = 1, 0, 6, 41
SO_TYPE, SO_PASSCRED, SO_PEERCRED, SO_RCVTIMEO, SO_SNDTIMEO = 3, 16, 17, 20, 21
SO_ATTACH_FILTER, SO_PEERNAME, SO_PROTOCOL, SO_DOMAIN = 26, 28, 38, 39
SO_ATTACH_REUSEPORT_CBPF, SO_PEERGROUPS, SO_PASSPIDFD, SO_PEERPIDFD = 51, 59, 76, 77
TCP_ZEROCOPY_RECEIVE = 35
SO_ORIGINAL_DST = 80              # netfilter's, readable: a transparent proxy asks it
SCM_RIGHTS, SCM_CREDENTIALS = 1, 2
MSG_OOB, MSG_PEEK, MSG_CTRUNC, MSG_TRUNC = 0x1, 0x2, 0x8, 0x20
MSG_DONTWAIT, MSG_WAITALL, MSG_ERRQUEUE, MSG_NOSIGNAL = 0x40, 0x100, 0x2000, 0x4000
MSG_WAITFORONE = 0x10000

OPT_MAX = 1 << 16                 # the biggest option value passed (none is near it)
CONTROL_MAX = 1 << 20             # the kernel's optmem limit is far below
OVERFLOW_ID = 65534               # an id the guest has no name for (Linux's overflowuid)
_FAMILIES = (AF_UNIX, AF_INET, AF_INET6)

_MSGHDR = struct.Struct("<QI4xQQQQi4x")        # struct (user_)msghdr, 56 bytes on both
_MMSGHDR_SIZE = 64                              # msghdr + unsigned msg_len + padding
_CMSGHDR = struct.Struct("<Qii")                # cmsg_len (size_t), level, type
_UCRED = struct.Struct("<iII")
_FPROG = struct.Struct("<H6xQ")                 # struct sock_fprog: len, filter pointer

# ---- the host's calls -----------------------------------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)
_vp, _int, _u32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32


class _IoVec(ctypes.Structure):
    _fields_ = [("base", _vp), ("len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [("name", _vp), ("namelen", _u32), ("iov", ctypes.POINTER(_IoVec)),
                ("iovlen", ctypes.c_size_t), ("control", _vp), ("controllen", ctypes.c_size_t),
                ("flags", _int)]


for _name, _args, _res in (
        ("socket", [_int, _int, _int], _int),
        ("socketpair", [_int, _int, _int, ctypes.POINTER(_int)], _int),
        ("bind", [_int, _vp, _u32], _int),
        ("connect", [_int, _vp, _u32], _int),
        ("listen", [_int, _int], _int),
        ("accept4", [_int, _vp, ctypes.POINTER(_u32), _int], _int),
        ("getsockname", [_int, _vp, ctypes.POINTER(_u32)], _int),
        ("getpeername", [_int, _vp, ctypes.POINTER(_u32)], _int),
        ("shutdown", [_int, _int], _int),
        ("sendmsg", [_int, ctypes.POINTER(_MsgHdr), _int], ctypes.c_ssize_t),
        ("recvmsg", [_int, ctypes.POINTER(_MsgHdr), _int], ctypes.c_ssize_t),
        ("setsockopt", [_int, _int, _int, _vp, _u32], _int),
        ("getsockopt", [_int, _int, _int, _vp, ctypes.POINTER(_u32)], _int)):
    _fn = getattr(_libc, _name)
    _fn.argtypes, _fn.restype = _args, _res


def _ok(r: int) -> int:
    if r < 0:
        raise _err(ctypes.get_errno())
    return r


def _buf(data: bytes):
    return ctypes.create_string_buffer(data, max(len(data), 1))


def _host_bind(fd: int, addr: bytes) -> None:
    _ok(_libc.bind(fd, _buf(addr), len(addr)))


def _host_name(fn, fd: int) -> bytes:
    out = ctypes.create_string_buffer(SOCKADDR_MAX)
    n = _u32(SOCKADDR_MAX)
    _ok(fn(fd, out, ctypes.byref(n)))
    return out.raw[:min(n.value, SOCKADDR_MAX)]


def _getsockopt(fd: int, level: int, name: int, size: int) -> bytes:
    out = ctypes.create_string_buffer(max(size, 1))
    n = _u32(size)
    _ok(_libc.getsockopt(fd, level, name, out, ctypes.byref(n)))
    return out.raw[:min(n.value, size)]


def _sockopt_int(fd: int, level: int, name: int) -> int:
    return struct.unpack("<i", _getsockopt(fd, level, name, 4))[0]


def _setsockopt(fd: int, level: int, name: int, value: bytes) -> None:
    _ok(_libc.setsockopt(fd, level, name, _buf(value), len(value)))


def _host_sendmsg(fd: int, data, addr: bytes | None, control: bytes, flags: int) -> int:
    buf = (ctypes.c_char * max(len(data), 1)).from_buffer_copy(bytes(data) or b"\0")
    iov = _IoVec(ctypes.addressof(buf), len(data))
    name = _buf(addr) if addr else None
    ctl = _buf(control) if control else None
    msg = _MsgHdr(ctypes.addressof(name) if name is not None else None, len(addr or b""),
                  ctypes.pointer(iov), 1, ctypes.addressof(ctl) if ctl is not None else None,
                  len(control), 0)
    return _ok(_libc.sendmsg(fd, ctypes.byref(msg), flags))


class _Received:
    """What one host recvmsg gave: the count (more than data holds with MSG_TRUNC), the
    bytes, the sender's host address, the control bytes and msg_flags."""

    def __init__(self, n: int, data: bytes, name: bytes, control: bytes, flags: int) -> None:
        self.n, self.data, self.name, self.control, self.flags = n, data, name, control, flags


def _host_recvmsg(fd: int, size: int, control_size: int, flags: int) -> _Received:
    buf = ctypes.create_string_buffer(max(size, 1))
    iov = _IoVec(ctypes.addressof(buf), size)
    name = ctypes.create_string_buffer(SOCKADDR_MAX)
    ctl = ctypes.create_string_buffer(control_size) if control_size else None
    msg = _MsgHdr(ctypes.addressof(name), SOCKADDR_MAX, ctypes.pointer(iov), 1,
                  ctypes.addressof(ctl) if ctl is not None else None, control_size, 0)
    n = _ok(_libc.recvmsg(fd, ctypes.byref(msg), flags))
    control = ctl.raw[:min(msg.controllen, control_size)] if ctl is not None else b""
    return _Received(n, buf.raw[:min(n, size)], name.raw[:min(msg.namelen, SOCKADDR_MAX)],
                     control, msg.flags)


# ---- sleeping -----------------------------------------------------------------------------
def _hold(t) -> bool:
    """Hold host signals off (they stay pending) for the handler's own work; returns whether
    the call may be interrupted where it sleeps."""
    may, t.in_syscall = t.in_syscall, False
    return may


def _acts(t) -> bool:
    sig = getattr(t, "sig", None)
    return sig is not None and sig.interrupting()


def _sleep(t, may: bool, fd: int, events: int, seconds: float) -> bool:
    """Sleep in poll() until fd is ready (True) or the time is up (False); a guest signal
    that acts breaks in (InterruptedSyscall), also one that came while signals were held."""
    p = select.poll()
    p.register(fd, events)
    t.in_syscall = may
    try:
        if may and _acts(t):
            raise InterruptedSyscall()
        return bool(p.poll(None if seconds == math.inf else max(1, math.ceil(seconds * 1000))))
    finally:
        t.in_syscall = False


def _blocking(fd: int, flags: int) -> bool:
    return not flags & MSG_DONTWAIT and not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK


def _timeout(fd: int, opt: int) -> float:
    sec, usec = socket_timeval(fd, opt)
    return math.inf if sec == usec == 0 else sec + usec / 1e6


def _retry(t, may: bool, fd: int, events: int, attempt, blocking: bool, timeo_opt: int,
           block: bool = False):
    """attempt(block) until it does not find the socket unready: attempt(False) must not
    sleep (BlockingIOError); attempt(True) is the host call that sleeps itself."""
    deadline = None
    woke = False
    while True:
        try:
            return attempt(block)
        except BlockingIOError:
            if not blocking or block:      # non-blocking, or the host's own timeout ran out
                raise
            if woke:
                block = True               # ready, yet nothing: let the host call sleep
                continue
        except InterruptedError:
            block = False                  # the host call slept and a signal came: does it act?
        if deadline is None:
            deadline = time.monotonic() + _timeout(fd, timeo_opt)
        left = deadline - time.monotonic()
        woke = left > 0 and _sleep(t, may, fd, events, left)
        if not woke:
            raise _err(errno.EAGAIN)


def _stream(fd: int) -> bool:
    return _sockopt_int(fd, SOL_SOCKET, SO_TYPE) == SOCK_STREAM


# ---- ids ------------------------------------------------------------------------------------
def _guest_id(host_id: int, mine: tuple[int, ...], guest: int) -> int:
    """A host uid/gid as the guest sees it: this machine's host user is the guest's own id
    (every guest process runs as it; which guest id the peer had is not known here, so
    the reader's effective one stands for it), -1 stays -1, any other is the overflow id."""
    if host_id == M32:
        return host_id
    return guest if host_id in mine else OVERFLOW_ID


def _guest_ucred(t, raw: bytes) -> bytes:
    pid, uid, gid = _UCRED.unpack(raw)
    return _UCRED.pack(guest_pid_of_host(t, pid),
                       _guest_id(uid, (os.getuid(), os.geteuid()), t.euid),
                       _guest_id(gid, (os.getgid(), os.getegid()), t.egid))


def _host_ucred(t, raw: bytes) -> bytes:
    """SCM_CREDENTIALS a guest sends: its own pid and ids become the host's.  Guest root
    may name another process (Linux: CAP_SYS_ADMIN), which the host then checks with its
    own pid: mkemu's user may not have the right (EPERM), a pid of no process is ESRCH;
    root's other ids are sent as its own (the receiver cannot be told them)."""
    pid, uid, gid = _UCRED.unpack(raw)
    root = t.euid == 0
    if not root and (uid not in (t.uid, t.euid, t.suid) or gid not in (t.gid, t.egid, t.sgid)):
        raise _err(errno.EPERM)
    if pid == t.pid:
        host = os.getpid()
    elif not root:
        raise _err(errno.EPERM)
    else:
        info = t.proc_info(pid) if pid > 0 else None
        host = info.get("host_pid") if info is not None else None
        if not host:
            raise _err(errno.ESRCH)
    return _UCRED.pack(host, os.getuid(), os.getgid())


# ---- control messages -------------------------------------------------------------------------
def _cmsgs(buf: bytes):
    """(offset, cmsg_len, level, type) of each well-formed control message."""
    pos = 0
    while pos + _CMSGHDR.size <= len(buf):
        length, level, kind = _CMSGHDR.unpack_from(buf, pos)
        if length < _CMSGHDR.size or pos + length > len(buf):
            return
        yield pos, length, level, kind
        pos += (length + 7) & ~7


def _control_out(t, raw: bytes) -> bytes:
    """The guest's control messages as the host takes them (a malformed one the host
    refuses itself, as Linux would)."""
    out = bytearray(raw)
    limit = fd_limit(t)
    for pos, length, level, kind in _cmsgs(raw):
        if level != SOL_SOCKET:
            continue
        body = pos + _CMSGHDR.size
        if kind == SCM_RIGHTS:
            for i in range((length - _CMSGHDR.size) // 4):
                (fd,) = struct.unpack_from("<i", raw, body + 4 * i)
                if fd < 0 or fd >= limit or fd in t.reserved_fds:
                    raise _err(errno.EBADF)
        elif kind == SCM_CREDENTIALS and length >= _CMSGHDR.size + _UCRED.size:
            out[body:body + _UCRED.size] = _host_ucred(t, raw[body:body + _UCRED.size])
    return bytes(out)


def _control_in(t, raw: bytes) -> tuple[bytes, int]:
    """Control messages from the host as the guest sees them, and msg_flags to add:
    descriptors that arrived at or above the guest's limit are closed and dropped
    (MSG_CTRUNC, as Linux when the receiver has no room for them)."""
    out = bytearray()
    extra = 0
    limit = fd_limit(t)
    end = 0
    for pos, length, level, kind in _cmsgs(raw):
        end = pos + ((length + 7) & ~7)
        body = raw[pos + _CMSGHDR.size:pos + length]
        if level == SOL_SOCKET and kind == SCM_RIGHTS:
            fds = [f for (f,) in struct.iter_unpack("<i", body[:len(body) // 4 * 4])]
            kept = [f for f in fds if f < limit]
            if len(kept) != len(fds):
                for f in fds:
                    if f >= limit:
                        os.close(f)
                extra |= MSG_CTRUNC
                if not kept:
                    continue
                body = b"".join(struct.pack("<i", f) for f in kept)
        elif level == SOL_SOCKET and kind == SCM_CREDENTIALS and len(body) >= _UCRED.size:
            body = _guest_ucred(t, body[:_UCRED.size]) + body[_UCRED.size:]
        cmsg = _CMSGHDR.pack(_CMSGHDR.size + len(body), level, kind) + body
        out += cmsg.ljust((len(cmsg) + 7) & ~7, b"\0")
    out += raw[end:]          # a last message the host cut short (MSG_CTRUNC): as it came
    # as long as the host's (its last message's padding counts only where there was room)
    return bytes(out[:len(raw)]), extra


def _close_received(raw: bytes) -> None:
    """Descriptors a receive installed that the guest will never see (a fault writing its
    buffers): closed, as the kernel does not hand them out either."""
    for pos, length, level, kind in _cmsgs(raw):
        if level == SOL_SOCKET and kind == SCM_RIGHTS:
            body = raw[pos + _CMSGHDR.size:pos + length]
            for (f,) in struct.iter_unpack("<i", body[:len(body) // 4 * 4]):
                try:
                    os.close(f)
                except OSError:
                    pass


# ---- guest buffers ----------------------------------------------------------------------------
def _read_addr(t, addr: int, length: int) -> bytes | None:
    length = s32(length)
    if not addr or length == 0:
        return None
    if length < 0 or length > SOCKADDR_MAX:
        raise _err(errno.EINVAL)
    return t.mem.read(addr, length)


def _socket_and_address(t, fd: int, addr: int, addrlen: int) -> tuple[int, bytes]:
    """bind's and connect's arguments: the host descriptor and the address (EINVAL
    without one)."""
    _hold(t)
    fd = _fd(t, fd)
    raw = _read_addr(t, addr, addrlen)
    if raw is None:
        raise _err(errno.EINVAL)
    return fd, raw


def _addr_room(t, len_ptr: int) -> int:
    """The room the guest gives for an address (read before the call acts)."""
    room = s32(t.mem.read_u32(len_ptr))
    if room < 0:
        raise _err(errno.EINVAL)
    return room


def _put_addr(t, host: bytes, addr: int, len_ptr: int, room: int) -> None:
    """Write a host address back as the guest's (truncated to its room, the full length
    stored, as move_addr_to_user does)."""
    if room < 0:
        return
    guest = sockaddr.guest_name(t, host)
    if room and guest:
        t.mem.write(addr, guest[:room])
    t.mem.write_u32(len_ptr, len(guest))


def _iovecs(t, iov: int, n: int) -> list[tuple[int, int]]:
    """A msghdr's iovecs: more than UIO_MAXIOV is EMSGSIZE here (readv's EINVAL)."""
    if n > UIO_MAXIOV:
        raise _err(errno.EMSGSIZE)
    return _fs_iovecs(t, iov, n)


# ---- sending and receiving ----------------------------------------------------------------------
def _send(t, may: bool, fd: int, data: bytes, flags: int, addr: bytes | None,
          control: bytes) -> int:
    """Send as Linux's blocking send does: a stream socket takes everything (in as many
    tries as the host's buffer needs), a datagram is one try.  A signal or a timeout after
    some bytes went returns their count."""
    blocking = _blocking(fd, flags)
    view = memoryview(data)
    sent = 0
    stream = None
    while True:
        def attempt(block, off=sent, ctl=control if sent == 0 else b""):
            return _host_sendmsg(fd, view[off:], addr, ctl,
                                 flags | (0 if block else MSG_DONTWAIT))
        try:
            n = _retry(t, may, fd, select.POLLOUT, attempt, blocking, SO_SNDTIMEO)
        except (InterruptedSyscall, OSError):
            if sent:
                return sent
            raise
        sent += n
        if sent >= len(data) or not blocking:
            return sent
        if stream is None:
            stream = _stream(fd)
        if not stream:
            return sent


def _recv(t, may: bool, fd: int, size: int, flags: int, control_size: int) -> _Received:
    """Receive as Linux does: one try's worth, or with MSG_WAITALL on a stream socket the
    full size unless the peer ends, an error, a signal or the timeout comes first (then
    what came so far).  The error queue and urgent data are never waited for."""
    blocking = _blocking(fd, flags) and not flags & (MSG_ERRQUEUE | MSG_OOB)

    def attempt(block, want=size, ctl=control_size):
        return _host_recvmsg(fd, want, ctl, flags | (0 if block else MSG_DONTWAIT))
    peek_all = blocking and flags & MSG_PEEK and flags & MSG_WAITALL
    got = _retry(t, may, fd, select.POLLIN, attempt, blocking, SO_RCVTIMEO,
                 block=bool(peek_all))
    if flags & MSG_TRUNC and _sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_TCP:
        got.data = b""                      # TCP drops the bytes instead of copying them
        return got
    if not (flags & MSG_WAITALL and blocking and not flags & MSG_PEEK) or got.control \
            or not 0 < got.n < size or not _stream(fd):
        return got
    parts, total = [got.data], got.n
    more = flags & ~MSG_WAITALL
    while total < size:
        def rest(block, want=size - total):
            return _host_recvmsg(fd, want, 0, more | (0 if block else MSG_DONTWAIT))
        try:
            r = _retry(t, may, fd, select.POLLIN, rest, blocking, SO_RCVTIMEO)
        except (InterruptedSyscall, OSError):
            break
        if r.n == 0:
            break
        parts.append(r.data)
        total += r.n
    got.data, got.n = b"".join(parts), total
    return got


def _sigpipe(t, e: OSError, flags: int) -> None:
    """EPIPE from a send without MSG_NOSIGNAL raises SIGPIPE, as write's does (dispatch
    cannot: it does not see the flags)."""
    if e.errno == errno.EPIPE and not flags & MSG_NOSIGNAL:
        t.sig.raise_signal(signal.SIGPIPE, siginfo_kill(signal.SIGPIPE, SI_USER, t.pid, t.uid))


def _autobind_for_creds(t, fd: int) -> None:
    """Linux autobinds an unbound AF_UNIX socket with SO_PASSCRED before it sends or
    connects; the host would pick a name without the machine's tag, so do it here."""
    if _sockopt_int(fd, SOL_SOCKET, SO_DOMAIN) != AF_UNIX:
        return
    if not _sockopt_int(fd, SOL_SOCKET, SO_PASSCRED):
        return
    if len(_host_name(_libc.getsockname, fd)) > 2:
        return
    sockaddr.autobind(lambda host: _host_bind(fd, host))


# ---- the syscalls ---------------------------------------------------------------------------
_TIMEO = ("with SO_RCVTIMEO/SO_SNDTIMEO set, a call a signal interrupts is restarted under "
          "SA_RESTART (Linux: EINTR)")
_CREDS = ("SCM_CREDENTIALS ids: the peer's pid as a guest pid (0 outside the machine), and "
          "this machine's host user as the reader's own effective uid/gid (not the sender's)")
_NAMES = "an AF_UNIX path bound with byte 0x01 or '..' in it reads back as its last name"


def _check_family(domain: int) -> None:
    if domain not in _FAMILIES:
        raise _err(errno.EAFNOSUPPORT)


@syscall("socket", "int", "hex", "int",
         status="partial: AF_UNIX, AF_INET and AF_INET6 (the host's stack), AF_NETLINK's "
                "NETLINK_ROUTE (read-only); AF_PACKET and the other families are EAFNOSUPPORT")
def sys_socket(t, domain, kind, proto):
    _hold(t)
    if s32(domain) == netdev.AF_NETLINK:
        fd = netdev.open_netlink(s32(kind), s32(proto))
        return fd if fd < 0 else _new_fd(t, fd)
    _check_family(s32(domain))
    return _new_fd(t, _ok(_libc.socket(s32(domain), s32(kind), s32(proto))))


@syscall("socketpair", "int", "hex", "int", "ptr",
         status="partial: AF_UNIX (the families socket() refuses are EAFNOSUPPORT here too)")
def sys_socketpair(t, domain, kind, proto, sv):
    _hold(t)
    _check_family(s32(domain))
    pair = (_int * 2)()
    _ok(_libc.socketpair(s32(domain), s32(kind), s32(proto), pair))
    install_pair(t, pair[0], pair[1], sv)
    return 0


@syscall("bind", "fd", "ptr", "int",
         status=f"partial: {_NAMES}; abstract names carry a per-machine tag, so the longest "
                "is about 12 bytes shorter than Linux's 107")
def sys_bind(t, fd, addr, addrlen):
    fd, raw = _socket_and_address(t, fd, addr, addrlen)
    if sockaddr.family(raw) == AF_UNIX:
        sockaddr.bind_unix(t, raw, lambda host: _host_bind(fd, host))
    else:
        _host_bind(fd, raw)
    return 0


@syscall("listen", "fd", "int")
def sys_listen(t, fd, backlog):
    _hold(t)
    _ok(_libc.listen(_fd(t, fd), s32(backlog)))
    return 0


@syscall("connect", "fd", "ptr", "int", status=f"partial: {_TIMEO}")
def sys_connect(t, fd, addr, addrlen):
    fd, raw = _socket_and_address(t, fd, addr, addrlen)
    if sockaddr.family(raw) == AF_UNIX:
        _autobind_for_creds(t, fd)
    with sockaddr.host_address(t, raw) as host:
        buf = _buf(host)
        # the host's connect sleeps itself (a handshake, a full backlog) with signals held:
        # a signal breaks it with EINTR and the connection goes on, as in Linux; a call
        # restarted (SA_RESTART) or made again waits for it (EALREADY, EISCONN as Linux)
        while True:
            try:
                return _ok(_libc.connect(fd, buf, len(host)))
            except InterruptedError:
                if _acts(t):
                    raise InterruptedSyscall() from None


def _accept(t, fd, addr, len_ptr, flags):
    may = _hold(t)
    fd = _fd(t, fd)
    flags = s32(flags)
    if flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC):
        return -errno.EINVAL
    room = _addr_room(t, len_ptr) if addr else -1
    blocking = _blocking(fd, 0)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    name = ctypes.create_string_buffer(SOCKADDR_MAX)
    size = _u32()

    def attempt(block):
        if blocking and not block and not poller.poll(0):
            raise BlockingIOError(errno.EAGAIN, "no connection yet")
        size.value = SOCKADDR_MAX
        return _ok(_libc.accept4(fd, name, ctypes.byref(size), flags))
    new = _retry(t, may, fd, select.POLLIN, attempt, blocking, SO_RCVTIMEO)
    try:
        new = _new_fd(t, new)
        if room >= 0:
            _put_addr(t, name.raw[:min(size.value, SOCKADDR_MAX)], addr, len_ptr, room)
    except BaseException:
        try:
            os.close(new)
        except OSError:
            pass
        raise
    return new


@syscall("accept", "fd", "ptr", "ptr", status=f"partial: {_TIMEO}")
def sys_accept(t, fd, addr, len_ptr):
    return _accept(t, fd, addr, len_ptr, 0)


@syscall("accept4", "fd", "ptr", "ptr", "hex", status=f"partial: {_TIMEO}")
def sys_accept4(t, fd, addr, len_ptr, flags):
    return _accept(t, fd, addr, len_ptr, flags)


def _name_call(t, fn, fd, addr, len_ptr) -> int:
    _hold(t)
    fd = _fd(t, fd)
    room = _addr_room(t, len_ptr)
    host = _host_name(fn, fd)
    _put_addr(t, host, addr, len_ptr, room)
    return 0


@syscall("getsockname", "fd", "ptr", "ptr", status=f"partial: {_NAMES}")
def sys_getsockname(t, fd, addr, len_ptr):
    return _name_call(t, _libc.getsockname, fd, addr, len_ptr)


@syscall("getpeername", "fd", "ptr", "ptr", status=f"partial: {_NAMES}")
def sys_getpeername(t, fd, addr, len_ptr):
    return _name_call(t, _libc.getpeername, fd, addr, len_ptr)


@syscall("shutdown", "fd", "int")
def sys_shutdown(t, fd, how):
    _hold(t)
    _ok(_libc.shutdown(_fd(t, fd), s32(how)))
    return 0


def _sendmsg_parts(t, fd: int, name: bytes | None, data: bytes, control: bytes, flags: int,
                   may: bool) -> int:
    if name is not None and sockaddr.family(name) == AF_UNIX or control:
        _autobind_for_creds(t, fd)
    ctl = _control_out(t, control) if control else b""
    try:
        if name is None:
            return _send(t, may, fd, data, flags, None, ctl)
        with sockaddr.host_address(t, name) as host:
            return _send(t, may, fd, data, flags, host, ctl)
    except OSError as e:
        _sigpipe(t, e, flags)
        raise


@syscall("sendto", "fd", "buf", "size", "flags", "ptr", "int", status=f"partial: {_TIMEO}")
def sys_sendto(t, fd, buf, length, flags, addr, addrlen):
    may = _hold(t)
    fd = _fd(t, fd)
    flags &= M32
    name = _read_addr(t, addr, addrlen)
    data = t.mem.read(buf, min(length, MAX_IO)) if length else b""
    return _sendmsg_parts(t, fd, name, data, b"", flags, may)


@syscall("recvfrom", "fd", "obuf", "size", "flags", "ptr", "ptr", status=f"partial: {_TIMEO}")
def sys_recvfrom(t, fd, buf, length, flags, addr, len_ptr):
    may = _hold(t)
    fd = _fd(t, fd)
    flags &= M32
    room = _addr_room(t, len_ptr) if addr else -1
    got = _recv(t, may, fd, min(length, MAX_IO), flags, 0)
    if got.data:
        t.mem.write(buf, got.data)
    if room >= 0:
        _put_addr(t, got.name, addr, len_ptr, room)
    return got.n


def _read_msghdr(t, ptr: int):
    """A guest msghdr with Linux's checks (copy_msghdr_from_user): a negative name length
    is EINVAL, a longer one than sockaddr_storage is cut to it."""
    name_p, namelen, iov, iovlen, ctl_p, ctl_len, flags = _MSGHDR.unpack(
        t.mem.read(ptr, _MSGHDR.size))
    namelen = s32(namelen)
    if not name_p:
        namelen = 0
    elif namelen < 0:
        raise _err(errno.EINVAL)
    return name_p, min(namelen, SOCKADDR_MAX), iov, iovlen, ctl_p, ctl_len, flags


def _sendmsg(t, may: bool, fd: int, ptr: int, flags: int) -> int:
    name_p, namelen, iov, iovlen, ctl_p, ctl_len, _ = _read_msghdr(t, ptr)
    name = _read_addr(t, name_p, namelen)
    vecs = _iovecs(t, iov, iovlen)
    if ctl_len > CONTROL_MAX:
        raise _err(errno.ENOBUFS)
    control = t.mem.read(ctl_p, ctl_len) if ctl_len else b""
    return _sendmsg_parts(t, fd, name, _gather(t, vecs), control, flags, may)


def _recvmsg(t, may: bool, fd: int, ptr: int, flags: int) -> int:
    name_p, namelen, iov, iovlen, ctl_p, ctl_len, _ = _read_msghdr(t, ptr)
    vecs = _iovecs(t, iov, iovlen)
    room = namelen if name_p else -1
    if ctl_len > CONTROL_MAX:
        ctl_len = CONTROL_MAX
    got = _recv(t, may, fd, _room(vecs), flags, ctl_len if ctl_p else 0)
    try:
        control, extra = _control_in(t, got.control) if got.control else (b"", 0)
        _scatter(t, vecs, got.data)
        guest_name = sockaddr.guest_name(t, got.name) if room >= 0 else b""
        if room > 0 and guest_name:
            t.mem.write(name_p, guest_name[:room])
        if control:
            t.mem.write(ctl_p, control)
        # msg_namelen, msg_controllen, msg_flags back in the guest's msghdr
        if room >= 0:
            t.mem.write_u32(ptr + 8, len(guest_name))
        t.mem.write_u64(ptr + 40, len(control))
        t.mem.write_u32(ptr + 48, (got.flags | extra) & M32)
    except BaseException:
        _close_received(got.control)
        raise
    return got.n


@syscall("sendmsg", "fd", "ptr", "flags",
         status=f"partial: {_TIMEO}; SCM_CREDENTIALS in which guest root names uids/gids "
                "other than its own are sent with mkemu's host user's")
def sys_sendmsg(t, fd, msg, flags):
    may = _hold(t)
    return _sendmsg(t, may, _fd(t, fd), msg, flags & M32)


@syscall("recvmsg", "fd", "ptr", "flags", status=f"partial: {_TIMEO}; {_CREDS}")
def sys_recvmsg(t, fd, msg, flags):
    may = _hold(t)
    return _recvmsg(t, may, _fd(t, fd), msg, flags & M32)


@syscall("sendmmsg", "fd", "ptr", "uint", "flags", status=f"partial: as sendmsg; {_TIMEO}")
def sys_sendmmsg(t, fd, vec, vlen, flags):
    may = _hold(t)
    fd = _fd(t, fd)
    flags &= M32
    done = 0
    for i in range(min(vlen & M32, UIO_MAXIOV)):
        ptr = vec + _MMSGHDR_SIZE * i
        try:
            n = _sendmsg(t, may, fd, ptr, flags)
        except (InterruptedSyscall, OSError):
            if done:
                break          # the count so far; the error shows on the next call
            raise
        t.mem.write_u32(ptr + _MSGHDR.size, n)
        done += 1
    return done


@syscall("recvmmsg", "fd", "ptr", "uint", "flags", "ptr",
         status=f"partial: as recvmsg; {_TIMEO}")
def sys_recvmmsg(t, fd, vec, vlen, flags, tmo):
    may = _hold(t)
    fd = _fd(t, fd)
    flags &= M32
    deadline = None
    if tmo:
        deadline = time.monotonic_ns() + timespec.read_ns(t, tmo)
    done = 0
    for i in range(min(vlen & M32, UIO_MAXIOV)):
        ptr = vec + _MMSGHDR_SIZE * i
        try:
            n = _recvmsg(t, may, fd, ptr, flags | (MSG_DONTWAIT if done and
                                                    flags & MSG_WAITFORONE else 0))
        except (InterruptedSyscall, OSError):
            if done:
                break
            raise
        t.mem.write_u32(ptr + _MSGHDR.size, n)
        done += 1
        if deadline is not None and time.monotonic_ns() >= deadline:
            break
    if deadline is not None:
        left = max(0, deadline - time.monotonic_ns())
        t.mem.write(tmo, timespec.TIMESPEC.pack(left // timespec.NS, left % timespec.NS))
    return done


# ---- options ----------------------------------------------------------------------------------
def _refused(level: int, name: int, setting: bool) -> bool:
    """Options mkemu does not pass to the host: the netfilter tables and multicast routing
    (IPPROTO_IP from 64, IPPROTO_IPV6 64-71 and from 200: a guest must not read or change
    the host's firewall or routes), pidfds of host processes, zero-copy receive (guest
    addresses in the host's structure)."""
    if level == IPPROTO_IP and name >= 64 and not (name == SO_ORIGINAL_DST and not setting):
        return True
    if level == IPPROTO_IPV6 and (64 <= name <= 71 or name >= 200):
        return True
    if level == SOL_SOCKET and name in (SO_PASSPIDFD, SO_PEERPIDFD):
        return True
    return level == IPPROTO_TCP and name == TCP_ZEROCOPY_RECEIVE


@syscall("setsockopt", "fd", "int", "int", "ptr", "int",
         status="partial: netfilter tables, SO_PASSPIDFD and TCP_ZEROCOPY_RECEIVE are refused")
def sys_setsockopt(t, fd, level, name, val, optlen):
    _hold(t)
    fd = _fd(t, fd)
    level, name, optlen = s32(level), s32(name), s32(optlen)
    if optlen < 0:
        return -errno.EINVAL
    if _refused(level, name, True):
        return -errno.ENOPROTOOPT
    value = t.mem.read(val, min(optlen, OPT_MAX)) if optlen else b""
    if level == SOL_SOCKET and name in (SO_ATTACH_FILTER, SO_ATTACH_REUSEPORT_CBPF):
        return _attach_filter(t, fd, name, value)
    _setsockopt(fd, level, name, value)
    return 0


def _attach_filter(t, fd: int, name: int, value: bytes) -> int:
    """struct sock_fprog points at the program in guest memory: copy it to the host."""
    if len(value) < _FPROG.size:
        return -errno.EINVAL
    count, ptr = _FPROG.unpack_from(value)
    prog = ctypes.create_string_buffer(t.mem.read(ptr, 8 * count), max(8 * count, 1))
    host = struct.pack("<H6xQ", count, ctypes.addressof(prog))
    _setsockopt(fd, SOL_SOCKET, name, host)
    return 0


@syscall("getsockopt", "fd", "int", "int", "ptr", "ptr",
         status="partial: SO_PEERCRED's pid is a guest pid (0 outside the machine) and its "
                "uid/gid, like SO_PEERGROUPS's, the reader's own for this machine's host user; "
                "netfilter tables, SO_PEERPIDFD and TCP_ZEROCOPY_RECEIVE are refused")
def sys_getsockopt(t, fd, level, name, val, len_ptr):
    _hold(t)
    fd = _fd(t, fd)
    level, name = s32(level), s32(name)
    room = s32(t.mem.read_u32(len_ptr))
    if room < 0:
        return -errno.EINVAL
    if _refused(level, name, False):
        return -errno.ENOPROTOOPT
    if level == SOL_SOCKET and name == SO_PEERCRED:
        data = _guest_ucred(t, _getsockopt(fd, level, name, _UCRED.size))[:room]
    elif level == SOL_SOCKET and name == SO_PEERNAME:
        data = sockaddr.guest_name(t, _getsockopt(fd, level, name, SOCKADDR_MAX))
        if len(data) > room:
            return -errno.EINVAL
    elif level == SOL_SOCKET and name == SO_PEERGROUPS:
        data = _peer_groups(t, fd, room, len_ptr)
        if data is None:
            return -errno.ERANGE
    else:
        size = min(room, OPT_MAX)
        out = ctypes.create_string_buffer(max(size, 1))
        n = _u32(size)
        if _libc.getsockopt(fd, level, name, out, ctypes.byref(n)) < 0:
            code = ctypes.get_errno()
            if code == errno.ERANGE:          # the length it needs, as Linux tells it
                t.mem.write_u32(len_ptr, n.value)
            return -code
        data = out.raw[:min(n.value, size)]
    t.mem.write(val, data)
    t.mem.write_u32(len_ptr, len(data))
    return 0


def _peer_groups(t, fd: int, room: int, len_ptr: int) -> bytes | None:
    size = _u32(OPT_MAX)
    out = ctypes.create_string_buffer(OPT_MAX)
    _ok(_libc.getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, out, ctypes.byref(size)))
    gids = [g for (g,) in struct.iter_unpack("<I", out.raw[:size.value // 4 * 4])]
    mine = (os.getgid(), os.getegid())
    data = b"".join(struct.pack("<I", _guest_id(g, mine, t.egid)) for g in gids)
    if len(data) > room:
        t.mem.write_u32(len_ptr, len(data))
        return None
    return data
