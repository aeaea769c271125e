"""The pty `mkemu boot` gives its guest, and the relay between it and the user.

The supervisor opens a pty pair, gives the slave the user's terminal modes
and window size, and puts the user's terminal in raw mode: every key goes
through unchanged to the pty, whose line discipline (in the host kernel)
does echo, line editing and ^C/^Z under the guest's own termios settings.
The broker makes the slave its controlling terminal, so those signals reach
it and it passes them to the guest's foreground group.  A thread copies
bytes both ways; a resize of the user's window is copied to the pty (which
signals SIGWINCH).  When the machine ends the user's modes come back.
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import termios
import tty

_WINSZ = bytes(8)


class HostPty:
    def __init__(self, user_in: int = 0, user_out: int = 1) -> None:
        self.user_in, self.user_out = user_in, user_out
        self.master, self.slave = os.openpty()
        os.set_inheritable(self.master, False)
        self.saved = termios.tcgetattr(user_in)
        termios.tcsetattr(self.slave, termios.TCSANOW, self.saved)
        self.copy_size()
        self._stop_r, self._stop_w = os.pipe2(os.O_CLOEXEC)
        self.thread = None              # the relay thread, once started

    def copy_size(self) -> None:
        """The user's window size, onto the pty (its foreground group gets SIGWINCH)."""
        try:
            size = fcntl.ioctl(self.user_in, termios.TIOCGWINSZ, _WINSZ)
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)
        except OSError:
            pass

    def start(self) -> None:
        """Raw mode on the user's terminal and the relay thread (after the broker's
        fork, which must not copy a running thread)."""
        os.close(self.slave)
        tty.setraw(self.user_in, termios.TCSANOW)
        import threading        # (here: a run without a terminal does not pay its import)
        self.thread = threading.Thread(target=self._relay, name="mkemu-pty", daemon=True)
        self.thread.start()

    def _relay(self) -> None:
        watched = [self.master, self.user_in, self._stop_r]
        while True:
            try:
                ready, _, _ = select.select(watched, [], [])
            except InterruptedError:
                continue
            if self.master in ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError as e:          # EIO: every slave descriptor is closed
                    if e.errno != errno.EIO:
                        raise
                    data = b""
                if not data:
                    return
                _write_all(self.user_out, data)
            if self.user_in in ready:
                data = os.read(self.user_in, 4096)
                if data:
                    _write_all(self.master, data)
                else:                        # the user's terminal is gone
                    watched.remove(self.user_in)
            if self._stop_r in ready:
                self._drain()
                return

    def _drain(self) -> None:
        os.set_blocking(self.master, False)
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            _write_all(self.user_out, data)

    def finish(self) -> None:
        """The machine ended: copy out what the guest wrote last, give the user's
        terminal its modes back."""
        if self.thread is not None:
            os.write(self._stop_w, b"x")
            self.thread.join(5)
        termios.tcsetattr(self.user_in, termios.TCSADRAIN, self.saved)
        for fd in (self.master, self._stop_r, self._stop_w):
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            n = os.write(fd, data)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        data = data[n:]
