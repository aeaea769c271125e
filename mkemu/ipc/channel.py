"""A message channel over one end of a SOCK_SEQPACKET Unix socket pair."""
from __future__ import annotations

import socket

from . import protocol

MAX_MESSAGE = 1 << 16


class ChannelClosed(Exception):
    """The other side has gone (its process exited or died)."""


class RequestRefused(RuntimeError):
    """The broker answered a request with ErrorReply."""


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    def pair(cls) -> tuple["Channel", "Channel"]:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        return cls(a), cls(b)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, msg) -> None:
        try:
            self.sock.sendall(protocol.encode(msg))
        except (BrokenPipeError, ConnectionResetError) as e:
            raise ChannelClosed(str(e)) from None

    def recv(self):
        try:
            data = self.sock.recv(MAX_MESSAGE)
        except ConnectionResetError as e:
            raise ChannelClosed(str(e)) from None
        if not data:
            raise ChannelClosed("peer closed")
        return protocol.decode(data)

    def call(self, msg, reply_type):
        """Send a request and wait for its reply."""
        self.send(msg)
        reply = self.recv()
        if isinstance(reply, protocol.ErrorReply):
            raise RequestRefused(f"{type(msg).__name__} refused: {reply.reason}")
        if not isinstance(reply, reply_type):
            raise RuntimeError(f"expected {reply_type.__name__}, got {type(reply).__name__}")
        return reply

    def close(self) -> None:
        self.sock.close()
