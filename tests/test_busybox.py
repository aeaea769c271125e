"""Debian's static arm64 busybox, run under mkemu, against real expected output.

Text filters are compared with qemu-aarch64 running the same binary on the
same input (the reference); file-system applets work in a private directory
under the rootfs's /tmp and are checked against what the host sees there.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import uuid

import pytest

from tests.support.guestrun import run_mkemu, run_qemu

BB = "/bin/busybox"


@pytest.fixture
def guest_dir(rootfs):
    """A fresh directory inside the rootfs: (guest path, host path)."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    host = rootfs / "tmp" / name
    host.mkdir(parents=True)
    yield f"/tmp/{name}", host
    shutil.rmtree(host, ignore_errors=True)


def bb(rootfs, *args, stdin=b"", timeout=120):
    return run_mkemu([BB, *args], rootfs=rootfs, stdin=stdin, timeout=timeout)


def assert_same_as_qemu(rootfs, args, stdin=b""):
    code, out, err = bb(rootfs, *args, stdin=stdin)
    qcode, qout, _ = run_qemu([str(rootfs / "bin/busybox"), *args], rootfs=rootfs, stdin=stdin)
    assert (code, out) == (qcode, qout), err.decode(errors="replace")[-2000:]
    return out


TEXT = b"".join(f"{(i * 7919) % 113} line {i} {'alpha' if i % 3 else 'beta'}\n".encode()
                for i in range(400))


def test_echo(rootfs):
    code, out, err = bb(rootfs, "echo", "hello", "aarch64", "world")
    assert (code, out) == (0, b"hello aarch64 world\n"), err


def test_exit_codes_pass_through(rootfs):
    assert bb(rootfs, "false")[0] == 1
    assert bb(rootfs, "true")[0] == 0
    assert bb(rootfs, "sh", "-c", "exit 42")[0] == 42


def test_stdin_passes_through_cat(rootfs):
    data = os.urandom(200_000)
    code, out, err = bb(rootfs, "cat", stdin=data)
    assert code == 0 and out == data, err


def test_cat_file(rootfs, guest_dir):
    gpath, hpath = guest_dir
    (hpath / "f.txt").write_bytes(TEXT)
    code, out, err = bb(rootfs, "cat", f"{gpath}/f.txt")
    assert code == 0 and out == TEXT, err


def test_ls_la_root_lists_the_rootfs(rootfs):
    code, out, err = bb(rootfs, "ls", "-la", "/")
    assert code == 0, err
    names = {line.split()[-1] for line in out.decode().splitlines()[1:] if " -> " not in line}
    assert {"bin", "tmp", "etc", ".", ".."} <= names
    assert set(os.listdir(rootfs)) <= names | {n for n in os.listdir(rootfs) if os.path.islink(rootfs / n)}


@pytest.mark.parametrize("args", [
    ["wc"], ["wc", "-l"], ["sort"], ["sort", "-n", "-r"], ["uniq", "-c"],
    ["sed", "-e", "s/line/LINE/g", "-e", "/beta/d"], ["grep", "-E", "^(1|2)[0-9] line"],
    ["awk", "{ s += $1; n++ } END { printf \"%d %d %.3f\\n\", s, n, s / n }"],
    ["tr", "a-z", "A-Z"], ["cut", "-d", " ", "-f", "2,3"], ["head", "-n", "7"], ["tail", "-n", "5"],
])
def test_text_filters_match_qemu(rootfs, args):
    out = assert_same_as_qemu(rootfs, args, stdin=TEXT)
    assert out


def test_seq(rootfs):
    code, out, err = bb(rootfs, "seq", "3", "3", "30")
    assert (code, out) == (0, b"".join(f"{i}\n".encode() for i in range(3, 31, 3))), err


@pytest.mark.parametrize("tool,algo", [("md5sum", "md5"), ("sha256sum", "sha256")])
def test_checksums_of_1mb_file(rootfs, guest_dir, tool, algo):
    gpath, hpath = guest_dir
    data = os.urandom(1 << 20)
    (hpath / "big").write_bytes(data)
    code, out, err = bb(rootfs, tool, f"{gpath}/big", timeout=600)
    assert code == 0, err
    assert out.split()[0].decode() == hashlib.new(algo, data).hexdigest()


def test_gzip_gunzip_round_trip(rootfs, guest_dir):
    gpath, hpath = guest_dir
    data = TEXT * 20
    (hpath / "plain").write_bytes(data)
    code, packed, err = bb(rootfs, "gzip", "-c", f"{gpath}/plain")
    assert code == 0, err
    assert gzip.decompress(packed) == data          # a real gzip stream
    code, unpacked, err = bb(rootfs, "gunzip", "-c", stdin=packed)
    assert code == 0 and unpacked == data, err


def test_tar_create_and_extract(rootfs, guest_dir):
    gpath, hpath = guest_dir
    (hpath / "src" / "sub").mkdir(parents=True)
    (hpath / "src" / "a.txt").write_bytes(b"first file\n")
    (hpath / "src" / "sub" / "b.bin").write_bytes(os.urandom(5000))
    code, _, err = bb(rootfs, "tar", "-cf", f"{gpath}/x.tar", "-C", gpath, "src")
    assert code == 0, err
    (hpath / "out").mkdir()
    code, _, err = bb(rootfs, "tar", "-xf", f"{gpath}/x.tar", "-C", f"{gpath}/out")
    assert code == 0, err
    for rel in ("a.txt", "sub/b.bin"):
        assert (hpath / "out" / "src" / rel).read_bytes() == (hpath / "src" / rel).read_bytes()


def test_find(rootfs, guest_dir):
    gpath, hpath = guest_dir
    (hpath / "d1" / "d2").mkdir(parents=True)
    (hpath / "d1" / "f").write_text("x")
    (hpath / "d1" / "d2" / "g").write_text("y")
    code, out, err = bb(rootfs, "find", gpath)
    assert code == 0, err
    assert sorted(out.decode().split()) == sorted(
        [gpath, f"{gpath}/d1", f"{gpath}/d1/f", f"{gpath}/d1/d2", f"{gpath}/d1/d2/g"])
    code, out, err = bb(rootfs, "find", gpath, "-type", "f", "-name", "g")
    assert out.decode().split() == [f"{gpath}/d1/d2/g"], err


def test_date_from_epoch(rootfs):
    code, out, err = bb(rootfs, "date", "-u", "-d", "@1000000000")
    assert (code, out) == (0, b"Sun Sep  9 01:46:40 UTC 2001\n"), err


def test_expr(rootfs):
    assert bb(rootfs, "expr", "6", "*", "7")[:2] == (0, b"42\n")
    assert bb(rootfs, "expr", "length", "aarch64")[:2] == (0, b"7\n")
    assert bb(rootfs, "expr", "3", "-", "3")[:2] == (1, b"0\n")


def test_printf(rootfs):
    code, out, err = bb(rootfs, "printf", "%05d|%-4s|%x|%s\\n", "42", "ab", "255", "end")
    assert (code, out) == (0, b"00042|ab  |ff|end\n"), err


def test_shell_builtins_and_stdin(rootfs):
    code, out, err = bb(rootfs, "sh", "-c", 'read a b; echo "$b-$a"; echo $((6 * 7)); cd /etc && pwd',
                        stdin=b"left right\n")
    assert (code, out) == (0, b"right-left\n42\n/etc\n"), err


def test_guest_sees_only_its_own_descriptors(rootfs):
    # mkemu's own descriptors (channel, guest memory, rootfs) live above the guest's range
    # and are hidden; the guest has 0-2 and ls's directory descriptor, as under qemu
    out = assert_same_as_qemu(rootfs, ["ls", "/proc/self/fd"])
    assert out.split() == [b"0", b"1", b"2", b"3"]
    code, out, err = bb(rootfs, "sh", "-c", "exec 5</etc/passwd 6>/dev/null; ls -l /proc/self/fd")
    assert code == 0, err
    modes = {line.split()[-3]: line.split()[0] for line in out.decode().splitlines() if "->" in line}
    assert modes["5"] == "lr-x------" and modes["6"] == "l-wx------"


def test_bind_mount_shows_a_host_directory_and_stays_confined(rootfs, guest_dir, tmp_path):
    mount_point, _ = guest_dir
    shared = tmp_path / "shared"
    (shared / "sub").mkdir(parents=True)
    (shared / "sub" / "file").write_bytes(b"from the host\n")
    os.symlink("/../../../etc/hostname", shared / "up")      # absolute: stops at the mount's top
    bind = ["--bind", f"{shared}:{mount_point}"]

    def run(*args):
        return run_mkemu([BB, *args], rootfs=rootfs, extra=bind)

    assert run("cat", f"{mount_point}/sub/file")[:2] == (0, b"from the host\n")
    assert run("cp", f"{mount_point}/sub/file", f"{mount_point}/copy")[0] == 0
    assert (shared / "copy").read_bytes() == b"from the host\n"
    assert run("readlink", "-f", f"{mount_point}/sub/file")[1] == f"{mount_point}/sub/file\n".encode()
    code, out, _ = run("cat", f"{mount_point}/up")
    assert code == 1 and out == b""                             # no host /etc/hostname
    code, out, _ = run("cat", f"{mount_point}/../../etc/hostname")
    assert out == (rootfs / "etc" / "hostname").read_bytes()    # `..` goes back into the rootfs
    code, _, err = run_mkemu([BB, "true"], rootfs=rootfs, extra=["--bind", f"{shared}:/no/such/dir"])
    assert code == 2 and err.count(b"\n") == 1 and b"mount point must exist" in err
