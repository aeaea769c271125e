"""ipc/poller.py, the broker's epoll set, answers as selectors.DefaultSelector does for
what the broker asks of it (every machine's broker serves with it: the guest tests)."""
from __future__ import annotations

import os
import selectors
import socket

import pytest

from mkemu.ipc import poller


@pytest.mark.parametrize("module", [selectors, poller])
def test_a_selector_sees_what_selectors_sees(module):
    sel = module.DefaultSelector()
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    c, d = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        sel.register(b, module.EVENT_READ, ("b", "chan"))
        sel.register(d.fileno(), module.EVENT_READ, ("d", "chan"))
        with pytest.raises(KeyError):
            sel.register(b, module.EVENT_READ, "again")
        assert sel.select(0) == [] and sel.select(0.0001) == []
        a.send(b"x")
        ready = sel.select(None)
        assert [(k.data, k.fd, ev) for k, ev in ready] == [(("b", "chan"), b.fileno(),
                                                           module.EVENT_READ)]
        sel.modify(b, module.EVENT_READ, ("b", "gone"))
        assert [k.data for k, _ in sel.select(1)] == [("b", "gone")]
        c.send(b"y")                               # two ready at once: both
        assert sorted(k.data for k, _ in sel.select(1)) == [("b", "gone"), ("d", "chan")]
        b.recv(8)
        d.recv(8)
        c.close()                                  # a hang-up is ready to read
        assert [k.data for k, _ in sel.select(1)] == [("d", "chan")]
        fd = b.fileno()
        b.close()                                  # closed first, unregistered after
        assert sel.unregister(b).fd == fd
        with pytest.raises(ValueError):            # (the broker takes KeyError and ValueError)
            sel.unregister(b)
        with pytest.raises(KeyError):
            sel.unregister(12345)
        assert sel.unregister(d).data == ("d", "chan") and sel.select(0) == []
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        pidfd = os.pidfd_open(pid)
        sel.register(pidfd, module.EVENT_READ, "exit")
        assert [k.data for k, _ in sel.select(5)] == ["exit"]
        os.waitpid(pid, 0)
        sel.unregister(pidfd)
        os.close(pidfd)
    finally:
        sel.close()
        for s in (a, b, c, d):
            s.close()
