"""The broker <-> task protocol: every message type, declared once.

Transport: one SOCK_SEQPACKET Unix socket pair per task (ipc/channel.py), so
messages keep their boundaries, descriptors can travel with SCM_RIGHTS, and
nothing is left in /dev/mqueue or /dev/shm if a process dies.  A message is
a 2-byte type followed by the pickled tuple of its fields.  A task sends a
request and waits for the reply of the matching type; the broker (a MINIX
style server loop, kern/broker.py) looks the request type up in its call
table.  Requests marked "no reply" are notifications.

| request        | fields                        | reply                       |
|----------------|-------------------------------|-----------------------------|
| Hello          | host_pid                      | Welcome(pid, tid, ppid)     |
| GetPpid        |                               | PpidReply(ppid)             |
| FrameRequest   | count                         | FrameGrant(first, count)    |
| ExitGroup      | code, signal, core            | (no reply; the task exits)  |
| Log            | text                          | (no reply)                  |
"""
from __future__ import annotations

import pickle
import struct
from dataclasses import astuple, dataclass, fields
from enum import IntEnum


class MsgType(IntEnum):
    HELLO = 1
    WELCOME = 2
    GET_PPID = 3
    PPID_REPLY = 4
    FRAME_REQUEST = 5
    FRAME_GRANT = 6
    EXIT_GROUP = 7
    LOG = 8


@dataclass
class Hello:
    TYPE = MsgType.HELLO
    host_pid: int


@dataclass
class Welcome:
    TYPE = MsgType.WELCOME
    pid: int
    tid: int
    ppid: int


@dataclass
class GetPpid:
    TYPE = MsgType.GET_PPID


@dataclass
class PpidReply:
    TYPE = MsgType.PPID_REPLY
    ppid: int


@dataclass
class FrameRequest:
    TYPE = MsgType.FRAME_REQUEST
    count: int


@dataclass
class FrameGrant:
    TYPE = MsgType.FRAME_GRANT
    first: int
    count: int


@dataclass
class ExitGroup:
    """The guest thread group ends: exit(code) when signal == 0, else killed by signal."""
    TYPE = MsgType.EXIT_GROUP
    code: int
    signal: int
    core: bool


@dataclass
class Log:
    TYPE = MsgType.LOG
    text: str


MESSAGES = {cls.TYPE: cls for cls in (Hello, Welcome, GetPpid, PpidReply, FrameRequest,
                                      FrameGrant, ExitGroup, Log)}
_HEADER = struct.Struct("<H")


def encode(msg) -> bytes:
    return _HEADER.pack(msg.TYPE) + pickle.dumps(astuple(msg), protocol=pickle.HIGHEST_PROTOCOL)


def decode(data: bytes):
    (kind,) = _HEADER.unpack_from(data)
    cls = MESSAGES[MsgType(kind)]
    values = pickle.loads(data[_HEADER.size:])
    if len(values) != len(fields(cls)):
        raise ValueError(f"malformed {cls.__name__} message")
    return cls(*values)
