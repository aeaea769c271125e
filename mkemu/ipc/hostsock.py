"""The host sockets mkemu talks over (channels, signal mailboxes, the introspection
door), from `_socket` rather than the socket module.

Importing socket turns four groups of constants into IntEnums (7.3 M host
instructions, ~2 ms of every `mkemu run`) for names mkemu never shows.  `_socket`'s
socket has everything used here (sendmsg/recvmsg, sendall, detach, timeouts; made
from a descriptor it finds its own family and type); what the socket module adds on
top that mkemu needs is the passing of descriptors, below.
"""
from __future__ import annotations

from array import array

from _socket import (AF_UNIX, CMSG_LEN, SCM_RIGHTS, SO_RCVTIMEO, SO_SNDTIMEO, SOCK_DGRAM,
                     SOCK_SEQPACKET, SOCK_STREAM, SOL_SOCKET, socket, socketpair)

__all__ = ["AF_UNIX", "SO_RCVTIMEO", "SO_SNDTIMEO", "SOCK_DGRAM", "SOCK_SEQPACKET", "SOCK_STREAM",
           "SOL_SOCKET", "socket", "socketpair", "send_fds", "recv_fds"]

_INT = array("i").itemsize


def send_fds(sock: socket, buffers: list, fds: list[int]) -> int:
    """sendmsg of buffers with fds attached (SCM_RIGHTS)."""
    return sock.sendmsg(buffers, [(SOL_SOCKET, SCM_RIGHTS, array("i", fds))])


def recv_fds(sock: socket, size: int, max_fds: int) -> tuple[bytes, list[int], int, object]:
    """recvmsg of at most size bytes and max_fds descriptors: (data, descriptors,
    flags, address)."""
    data, ancillary, flags, address = sock.recvmsg(size, CMSG_LEN(max_fds * _INT))
    fds = array("i")
    for level, kind, payload in ancillary:
        if level == SOL_SOCKET and kind == SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % _INT])
    return data, fds.tolist(), flags, address
