"""The broker's wait on its channels, pidfds and signalfd: an epoll set whose entries
carry data, with the part of selectors.DefaultSelector's interface the broker uses
(register, modify, unregister, select, close; EVENT_READ only).  The selectors module,
with its abstract classes and mapping views, was ~1 ms of every machine's start-up."""
from __future__ import annotations

import select

EVENT_READ = 1          # (selectors' value)


class SelectorKey:
    __slots__ = ("fileobj", "fd", "events", "data")

    def __init__(self, fileobj, fd: int, events: int, data) -> None:
        self.fileobj, self.fd, self.events, self.data = fileobj, fd, events, data


def _fileno(fileobj) -> int:
    fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
    if fd < 0:
        raise ValueError(f"invalid file descriptor: {fd}")
    return fd


class DefaultSelector:
    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._keys: dict[int, SelectorKey] = {}

    def _lookup(self, fileobj) -> int:
        """fileobj's descriptor; a closed one (fileno -1) is found among the entries, as
        selectors does, so a channel closed before it is unregistered still can be."""
        try:
            return _fileno(fileobj)
        except ValueError:
            for key in self._keys.values():
                if key.fileobj is fileobj:
                    return key.fd
            raise

    def register(self, fileobj, events: int, data=None) -> SelectorKey:
        if events != EVENT_READ:
            raise ValueError(f"only EVENT_READ is served: {events!r}")
        fd = _fileno(fileobj)
        if fd in self._keys:
            raise KeyError(f"{fileobj!r} (FD {fd}) is already registered")
        key = SelectorKey(fileobj, fd, events, data)
        self._epoll.register(fd, select.EPOLLIN)
        self._keys[fd] = key
        return key

    def unregister(self, fileobj) -> SelectorKey:
        key = self._keys.pop(self._lookup(fileobj))       # KeyError: not registered
        try:
            self._epoll.unregister(key.fd)
        except OSError:
            pass                                          # closed already: gone from the set
        return key

    def modify(self, fileobj, events: int, data=None) -> SelectorKey:
        key = self._keys[self._lookup(fileobj)]
        if events != key.events:
            raise ValueError(f"only EVENT_READ is served: {events!r}")
        key.data = data
        return key

    def select(self, timeout: float | None = None) -> list[tuple[SelectorKey, int]]:
        """The registered entries ready to read (or hung up) within timeout seconds
        (None: no limit), as selectors does: a timeout rounded up to the millisecond,
        an interrupted wait an empty list."""
        if timeout is None:
            timeout = -1
        elif timeout <= 0:
            timeout = 0
        else:
            ms = int(timeout * 1e3)
            timeout = (ms + (ms < timeout * 1e3)) * 1e-3
        try:
            events = self._epoll.poll(timeout, max(len(self._keys), 1))
        except InterruptedError:
            return []
        keys = self._keys
        return [(keys[fd], EVENT_READ) for fd, _ in events if fd in keys]

    def close(self) -> None:
        self._epoll.close()
        self._keys.clear()
