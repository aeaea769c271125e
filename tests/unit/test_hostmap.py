"""Host windows (mm/hostmap.py): the view reads the file, a writable one writes it, and a
read-only one refuses Python's writes (a store into a read-only host page would kill
the task process)."""
import os

import pytest

from mkemu.mm.hostmap import HostMapping


@pytest.fixture
def fd(tmp_path):
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    os.write(fd, bytes(range(256)) * 48)          # three pages
    yield fd
    os.close(fd)


def test_read_only_window(fd):
    w = HostMapping(fd, 4096, 8192, writable=False)
    try:
        assert w.view.readonly and len(w.view) == 8192 and w.view.format == "B"
        assert bytes(w.view[:4]) == bytes(range(4))
        assert w.view[4095] == 255
        with pytest.raises(TypeError):
            w.view[0] = 1
        assert w.view[8:16].cast("Q")[0] == int.from_bytes(bytes(range(8, 16)), "little")
    finally:
        w.unmap()


def test_writable_window_writes_the_file(fd):
    w = HostMapping(fd, 0, 4096 * 3, writable=True)
    try:
        assert not w.view.readonly
        w.view[5000:5004] = b"abcd"
        w.view[8:16].cast("Q")[0] = 0x1122334455667788
        assert os.pread(fd, 4, 5000) == b"abcd"
        assert os.pread(fd, 8, 8) == (0x1122334455667788).to_bytes(8, "little")
    finally:
        w.unmap()
