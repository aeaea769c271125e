"""Fresh directories inside a test rootfs, for guest programs that make files."""
from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def rootfs_tmpdir(rootfs: Path, tag: str) -> Iterator[tuple[Path, str]]:
    """A new directory /tmp/TAG-<random> in the rootfs: (host path, guest path),
    removed with whatever the guest left in it."""
    guest = f"/tmp/{tag}-{uuid.uuid4().hex[:10]}"
    host = rootfs / guest.lstrip("/")
    host.mkdir(parents=True)
    try:
        yield host, guest
    finally:
        shutil.rmtree(host, ignore_errors=True)
