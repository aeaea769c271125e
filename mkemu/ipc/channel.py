"""A message channel over one end of a SOCK_SEQPACKET Unix socket pair."""
from __future__ import annotations


from . import hostsock
from . import protocol

MAX_MESSAGE = 1 << 16
MAX_FDS = 4


class ChannelClosed(Exception):
    """The other side has gone (its process exited or died)."""


class RequestRefused(RuntimeError):
    """The broker answered a request with ErrorReply."""


class Channel:
    def __init__(self, sock: hostsock.socket) -> None:
        self.sock = sock
        self.fds: list[int] = []       # descriptors that came with the last message received

    @classmethod
    def pair(cls) -> tuple["Channel", "Channel"]:
        a, b = hostsock.socketpair(hostsock.AF_UNIX, hostsock.SOCK_SEQPACKET)
        return cls(a), cls(b)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, msg, fds: tuple[int, ...] = ()) -> None:
        """Send msg, with descriptors passed over SCM_RIGHTS when fds is given."""
        try:
            if fds:
                hostsock.send_fds(self.sock, [protocol.encode(msg)], list(fds))
            else:
                self.sock.sendall(protocol.encode(msg))
        except (BrokenPipeError, ConnectionResetError) as e:
            raise ChannelClosed(str(e)) from None

    def recv(self):
        """The next message; descriptors that came with it are in self.fds (the
        receiver's to close), none otherwise."""
        try:
            data, fds, _, _ = hostsock.recv_fds(self.sock, MAX_MESSAGE, MAX_FDS)
        except ConnectionResetError as e:
            raise ChannelClosed(str(e)) from None
        self.fds = fds
        if not data:
            raise ChannelClosed("peer closed")
        return protocol.decode(data)

    def call(self, msg, reply_type, fds: tuple[int, ...] = ()):
        """Send a request and wait for its reply."""
        self.send(msg, fds)
        reply = self.recv()
        if isinstance(reply, protocol.ErrorReply):
            raise RequestRefused(f"{type(msg).__name__} refused: {reply.reason}")
        if not isinstance(reply, reply_type):
            raise RuntimeError(f"expected {reply_type.__name__}, got {type(reply).__name__}")
        return reply

    def close(self) -> None:
        self.sock.close()
