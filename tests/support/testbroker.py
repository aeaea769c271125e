"""Ending a Broker a unit test ran in its own process."""
from __future__ import annotations

import os
import signal


def shut_down(broker, recs, segment_fd: int) -> None:
    """Kill and reap any task still alive (the broker failed: leave none behind), then
    drop the broker and the guest memory segment's descriptor."""
    for rec in recs:
        if rec.alive:
            os.kill(rec.host_pid, signal.SIGKILL)
            os.waitpid(rec.host_pid, 0)
    broker.close()
    os.close(segment_fd)
