"""Where mkemu's own descriptors live in a task process: from RESERVED_FD_BASE up.

High, but under the host's hard limit; the guest sees RLIMIT_NOFILE 1024 and
never a descriptor at or above the base (kern/task.py reserve_fd).  Threads
share one host descriptor table, so every thread's own descriptors are there.
"""
from __future__ import annotations

import resource


def _reserved_fd_base() -> int:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        return 16384
    return max(1100, min(16384, hard - 2048))


RESERVED_FD_BASE = _reserved_fd_base()
