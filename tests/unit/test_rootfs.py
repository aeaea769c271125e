"""Rootfs confinement on the host side: no guest path reaches outside."""
import os

import pytest

from mkemu.fs.rootfs import O_PATH, RootFS


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "inside").write_text("inside\n")
    (tmp_path / "outside").write_text("outside\n")
    os.symlink("/etc", r / "abs-etc")                        # absolute: means the rootfs /etc
    os.symlink("../../../../outside", r / "etc" / "rel-up")   # climbs past the root
    os.symlink(str(tmp_path / "outside"), r / "host-abs")     # a host absolute path
    fs = RootFS(str(r))
    yield fs, tmp_path
    os.close(fs.root_fd)


def read(fs, path: bytes) -> bytes:
    fd = fs.openat2(path, os.O_RDONLY)
    try:
        return os.read(fd, 100)
    finally:
        os.close(fd)


def test_dotdot_at_the_root_stays_there(root):
    fs, _ = root
    assert read(fs, b"/../../../../etc/inside") == b"inside\n"


def test_absolute_symlink_resolves_inside(root):
    fs, _ = root
    assert read(fs, b"/abs-etc/inside") == b"inside\n"


def test_relative_symlink_cannot_climb_out(root):
    fs, _ = root
    with pytest.raises(OSError):
        read(fs, b"/etc/rel-up")


def test_symlink_to_host_path_is_taken_inside(root):
    fs, tmp = root
    with pytest.raises(FileNotFoundError):
        read(fs, b"/host-abs")


def test_magic_links_are_refused(root):
    fs, _ = root
    with pytest.raises(OSError):
        read(fs, b"/proc/self/root/etc/passwd")


def test_guest_path_of_fd(root):
    fs, _ = root
    fd = fs.openat2(b"/etc/../etc/inside", O_PATH)
    try:
        assert fs.guest_path_of_fd(fd) == b"/etc/inside"
    finally:
        os.close(fd)
    outside = os.open("/", O_PATH)
    try:
        assert fs.guest_path_of_fd(outside) is None
    finally:
        os.close(outside)
