"""Sockets (kern/sys_socket.py, kern/sockaddr.py): C fixtures tests/guest/sock_*.c
compared with qemu-aarch64, and where qemu deviates from Linux (lines starting
"linux:") with the same C built for this host and run natively; then what only
mkemu has to guarantee: AF_UNIX path names made and found inside the rootfs
(also where the host's path would not fit in sun_path), abstract names private
to the machine, no socket outside the rootfs reachable by a path; and python3's
socket module in the full rootfs.

A fixture that names files gets a fresh directory: the guest path under mkemu,
the host path under qemu (qemu -L does not translate socket addresses) and
under the native build; the fixture prints names with it written as DIR.
"""
from __future__ import annotations

import os
import shutil
import socket
import stat
import uuid

import pytest

from mkemu.kern import sockaddr
from tests.support.guestbin import host_binary
from tests.support.guestrun import run_command, run_mkemu, run_qemu

SIGPIPE_STATUS = 128 + 13


def _split(out: bytes) -> tuple[bytes, bytes]:
    lines = out.splitlines(keepends=True)
    return (b"".join(x for x in lines if not x.startswith(b"linux:")),
            b"".join(x for x in lines if x.startswith(b"linux:")))


def _err(e: bytes) -> str:
    return e.decode(errors="replace")[-3000:]


def _like_qemu_and_linux(name, rootfs, guest_binary, mkemu_args=(), qemu_args=(),
                         host_args=None, extra=()):
    """Run fixture NAME under mkemu, qemu-aarch64 and natively: the same status, the
    same output as qemu but for the "linux:" lines, which are native Linux's."""
    prog = guest_binary(name)
    mc, mo, me = run_mkemu([prog, *mkemu_args], rootfs=rootfs, extra=extra)
    qc, qo, qe = run_qemu([prog, *qemu_args], rootfs=rootfs)
    hc, ho, he = run_command([str(host_binary(name)),
                              *map(str, qemu_args if host_args is None else host_args)],
                             signal_as_status=True)
    assert qc == hc, (qe + he).decode(errors="replace")
    assert mc == qc, _err(me)
    assert _split(mo)[0] == _split(qo)[0], _err(me)
    assert _split(mo)[1] == _split(ho)[1], _err(me)
    return mo.decode()


@pytest.fixture
def dirs(rootfs):
    """Fresh directories in the rootfs's /tmp for mkemu (guest path, host path) and for
    the references (a host path)."""
    made = []

    def make(tag: str = "s"):
        name = f"sock-{tag}-{uuid.uuid4().hex[:10]}"
        host = rootfs / "tmp" / name
        host.mkdir()
        made.append(host)
        return f"/tmp/{name}", host
    yield make
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


# ---- TCP and UDP ----------------------------------------------------------------------------
def test_tcp_echo_udp_nonblocking_connect_and_sigpipe_like_qemu(rootfs, guest_binary):
    out = _like_qemu_and_linux("sock_inet", rootfs, guest_binary)
    for family in ("AF_INET", "AF_INET6"):
        block = out.split(f"-- TCP {family}\n")[1].split("--")[0]
        assert "child got back 16: hello echo world\nchild then 0 (EOF)\nchild status 0" in block
        assert "waitall 16: hello echo world" in block and "peek 1 'h'" in block
        assert "accept4 ok 1 cloexec 1 nonblock 1" in block
        assert "recv with SO_RCVTIMEO = -1 Resource temporarily unavailable" in block
        assert "poll 1 revents POLLOUT 1 SO_ERROR 0" in block
        assert "blocking connect to a closed port = -1 Connection refused" in block
    assert "recvfrom 12: datagram one from a 1 len 16" in out
    assert "recvfrom MSG_TRUNC into 4 bytes = 12: data" in out
    assert "recv MSG_WAITALL = 3145728, same bytes 1, sender's send() took all 1" in out
    assert "send MSG_NOSIGNAL = -1 Broken pipe\nSIGPIPE handled 0" in out
    assert out.endswith("sendto = -1 Broken pipe\nSIGPIPE handled 2\n")


def test_a_socket_send_without_msg_nosignal_kills_with_sigpipe(rootfs, guest_binary):
    code, out, err = run_mkemu([guest_binary("sock_inet")], rootfs=rootfs)
    assert code == SIGPIPE_STATUS and b"not reached" not in out, _err(err)


# ---- AF_UNIX ----------------------------------------------------------------------------------
def _unix_run(rootfs, guest_binary, dirs, extra=(), mkemu_dir=None):
    """sock_unix under mkemu (in a rootfs directory, or mkemu_dir) and under qemu."""
    guest, host = mkemu_dir or dirs("m")
    _, qhost = dirs("q")
    token = uuid.uuid4().hex[:8]
    prog = guest_binary("sock_unix")
    mc, mo, me = run_mkemu([prog, guest, token], rootfs=rootfs, extra=extra)
    qc, qo, qe = run_qemu([prog, str(qhost), token], rootfs=rootfs)
    assert qc == 0, _err(qe)
    assert (mc, mo.decode()) == (qc, qo.decode()), _err(me)
    return mo.decode(), host


def test_unix_stream_dgram_seqpacket_and_names_like_qemu(rootfs, guest_binary, dirs):
    out, host = _unix_run(rootfs, guest_binary, dirs)
    # Linux's answers, not only qemu's: each name reads back as it was bound
    assert "listener getsockname: len 15 path 'DIR/abs.sock'" in out
    assert "client getpeername: len 11 path 'rel.sock'" in out
    assert "listener getsockname: len 13 path './dot.sock'" in out
    assert "client getpeername: len 20 path 'sub/deeper/r.sock'" in out
    assert "from: len 16 path 'DIR/client.dg'\nreply to that address = 4\nclient got 4: pong" in out
    assert "recvmsg into 5 bytes = 5: first, MSG_TRUNC 1" in out
    assert "abstract client getpeername: len 18 abstract 'mkemu-abs-TOKEN'" in out
    assert "autobound name: len 8, NUL and 5 hex digits 1\nsendto the autobound name = 4" in out
    # the socket files are in the rootfs
    for name in ("rel.sock", "abs.sock", "dot.sock", "sub/deeper/r.sock"):
        assert stat.S_ISSOCK(os.lstat(host / name).st_mode), name


def test_unix_names_where_the_host_path_is_longer_than_sun_path(rootfs, guest_binary, dirs,
                                                                  tmp_path):
    # the guest's /tmp is a host directory whose path alone nearly fills sun_path: every
    # name below it is longer than 108 bytes on the host, yet as short as ever in the guest
    mnt = tmp_path / ("long-" + "x" * 90)
    work = "w" * 40
    (mnt / work).mkdir(parents=True)
    assert len(str(mnt / work / "client.dg")) > 108
    out, _ = _unix_run(rootfs, guest_binary, dirs, extra=["--bind", f"{mnt}:/tmp"],
                       mkemu_dir=(f"/tmp/{work}", None))
    assert "listener getsockname: len 15 path 'DIR/abs.sock'" in out
    assert stat.S_ISSOCK(os.lstat(mnt / work / "abs.sock").st_mode)
    assert stat.S_ISSOCK(os.lstat(mnt / work / "sub/deeper/r.sock").st_mode)


def test_abstract_names_are_the_machines_own(rootfs, guest_binary, dirs):
    # the host holds the names the fixture binds and the one it expects nobody to have:
    # the guest binds its own, and does not reach the host's
    token = uuid.uuid4().hex[:8]
    held = []
    for name in (f"mkemu-abs-{token}", f"mkemu-abs-missing-{token}"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(b"\0" + name.encode())
        s.listen(1)
        s.setblocking(False)
        held.append(s)
    try:
        guest, _ = dirs("m")
        _, qhost = dirs("q")
        prog = guest_binary("sock_unix")
        mc, mo, me = run_mkemu([prog, guest, token], rootfs=rootfs)
        qc, qo, _ = run_qemu([prog, str(qhost), uuid.uuid4().hex[:8]], rootfs=rootfs)
        assert (mc, mo) == (qc, qo), _err(me)
        for s in held:
            with pytest.raises(BlockingIOError):
                s.accept()                      # nobody from the guest came
    finally:
        for s in held:
            s.close()


def test_unix_paths_cannot_reach_sockets_outside_the_rootfs(rootfs, guest_binary, dirs,
                                                            tmp_path):
    guest, host = dirs("esc")
    outside = tmp_path / "outside"
    outside.mkdir()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(outside / "host.sock"))
    listener.listen(4)
    listener.setblocking(False)
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(outside / "host.dg"))
    receiver.setblocking(False)
    # links in the rootfs that lead out on the host: absolute, and by "..": in the guest
    # both stay inside the rootfs, where nothing of that name exists
    (host / "abs-link").symlink_to(outside / "host.sock")
    (host / "dotdot-link").symlink_to("../" * 30 + str(outside / "host.sock").lstrip("/"))
    (host / "dir-link").symlink_to(outside)
    (host / "dg-link").symlink_to(outside / "host.dg")
    try:
        code, out, err = run_mkemu(
            [guest_binary("sock_escape"), f"c:{guest}/abs-link", f"c:{guest}/dotdot-link",
             f"c:{guest}/dir-link/host.sock", f"c:{outside}/host.sock",
             f"d:{guest}/dg-link", f"b:{guest}/dir-link/made.sock",
             f"b:{guest}/inside.sock", f"c:{guest}/inside.sock", "n:"],
            rootfs=rootfs)
        assert code == 0, _err(err)
        lines = out.decode().splitlines()
        assert all(": No such file or directory" in x for x in lines[:6]), out
        assert lines[6] == f"b:{guest}/inside.sock: ok, getsockname '{guest}/inside.sock'"
        assert lines[7] == f"c:{guest}/inside.sock: Connection refused"   # bound, not listening
        assert lines[8] == "n:: Protocol not available"       # the host's firewall: refused
        assert not (outside / "made.sock").exists()
        assert stat.S_ISSOCK(os.lstat(host / "inside.sock").st_mode)
        with pytest.raises(BlockingIOError):
            listener.accept()
        with pytest.raises(BlockingIOError):
            receiver.recv(16)
    finally:
        listener.close()
        receiver.close()


# ---- messages, credentials, signals ---------------------------------------------------------
def test_scm_rights_peercred_credentials_and_msghdr_like_linux(rootfs, guest_binary):
    out = _like_qemu_and_linux("sock_msg", rootfs, guest_binary)
    assert "read from the pipe: written by the child, cloexec 1\nchild status 0" in out
    assert "linux: too small a control buffer: fd -1 MSG_CTRUNC 1" in out
    assert "sendmsg SCM_RIGHTS of a closed fd = -1 Bad file descriptor" in out
    assert "beyond RLIMIT_NOFILE: fd -1 MSG_CTRUNC 1, nothing left open 1" in out
    assert "parent: pair peer is me 1 uid 1 gid 1 len 12" in out
    assert "accepted: peer is the child 1 uid 1" in out
    assert "child: pair peer is the parent 1 uid 1 gid 1 len 12" in out
    assert "plain: credentials len 28, pid is the child 1, uid 1, gid 1, controllen 32" in out
    assert "explicit: credentials len 28, pid is the child 1" in out
    assert "recvmsg into 4 iovecs = 10: ab|cde|f|ghij flags 0" in out
    assert "a 10-byte datagram into 5 bytes = 5: 01|234 MSG_TRUNC 1" in out
    assert "recvmmsg MSG_WAITFORONE = 3: one(3) two(3) three(5)" in out


def test_blocking_socket_calls_and_signals_like_linux(rootfs, guest_binary):
    out = _like_qemu_and_linux("sock_eintr", rootfs, guest_binary)
    assert out == (
        "accept, no SA_RESTART: Interrupted system call, handler ran 1\n"
        "accept, SA_RESTART: ok, handler ran 1\n"
        "the connection's bytes: late\n"
        "recv on an empty socket, no SA_RESTART: Interrupted system call, handler ran 1\n"
        "recv, SA_RESTART: ok, handler ran 1\n"
        "got later\n"
        "receiver full after some datagrams: 1\n"
        "send to a full receiver, no SA_RESTART: Interrupted system call, handler ran 1\n"
        "connect to a full backlog, no SA_RESTART: Interrupted system call, handler ran 1\n"
        "accept through a SIGWINCH: ok, handler ran 0\n"
        "accept through an ignored SIGUSR1: ok, handler ran 0\n")


# ---- python3 ----------------------------------------------------------------------------------
PY_SOCKETS = r'''
import os, socket, sys
work = sys.argv[1]
a, b = socket.socketpair()
a.sendall(b"over the pair")
print("socketpair:", b.recv(64).decode(), a.family == socket.AF_UNIX, flush=True)
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen()
port = srv.getsockname()[1]
pid = os.fork()
if pid == 0:
    srv.close()
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"ping from the child")
    c.shutdown(socket.SHUT_WR)
    print("child got:", c.makefile("rb").read().decode(), flush=True)
    os._exit(0)
conn, peer = srv.accept()
data = b""
while chunk := conn.recv(5):
    data += chunk
conn.sendall(data.upper())
conn.close()
print("parent echoed:", data.decode(), peer[0])
os.waitpid(pid, 0)
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
u.bind(os.path.join(work, "py.sock"))
v = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
v.sendto(b"to a path", os.path.join(work, "py.sock"))
print("unix:", u.recv(32).decode(), u.getsockname() == os.path.join(work, "py.sock"))
'''


def test_python3_socketpair_tcp_echo_and_a_unix_path(full_rootfs):
    name = f"sock-py-{uuid.uuid4().hex[:10]}"
    host = full_rootfs / "tmp" / name
    host.mkdir()
    try:
        code, out, err = run_mkemu(["/usr/bin/python3", "-c", PY_SOCKETS, f"/tmp/{name}"],
                                   rootfs=full_rootfs, timeout=300)
        assert code == 0, _err(err)
        assert out.decode() == ("socketpair: over the pair True\n"
                                "child got: PING FROM THE CHILD\n"
                                "parent echoed: ping from the child 127.0.0.1\n"
                                "unix: to a path True\n")
        assert stat.S_ISSOCK(os.lstat(host / "py.sock").st_mode)
    finally:
        shutil.rmtree(host, ignore_errors=True)


PY_NAMES = r'''
import socket
for family in (socket.AF_INET, socket.AF_INET6):
    print(sorted({a[4][0] for a in socket.getaddrinfo("localhost", 80, family, socket.SOCK_STREAM)}))
print(socket.gethostbyname("localhost"), socket.gethostbyaddr("127.0.0.1")[0])
'''


def test_python3_looks_up_localhost_like_qemu(full_rootfs):
    # glibc reads the rootfs's /etc/hosts (and nsswitch defaults): no DNS is asked
    code, out, err = run_mkemu(["/usr/bin/python3", "-c", PY_NAMES], rootfs=full_rootfs, timeout=300)
    qcode, qout, _ = run_qemu([str(full_rootfs / "usr/bin/python3"), "-c", PY_NAMES],
                              rootfs=full_rootfs, timeout=300)
    assert (code, out) == (qcode, qout), _err(err)
    assert out == b"['127.0.0.1']\n['::1']\n127.0.0.1 localhost\n"
    # and the machine's own name, which is the rootfs's /etc/hostname
    code, out, err = run_mkemu(["/usr/bin/python3", "-c",
                                "import socket; n = socket.gethostname(); print(n, socket.gethostbyname(n))"],
                               rootfs=full_rootfs, timeout=300)
    assert (code, out) == (0, b"mkemu-guest 127.0.1.1\n"), _err(err)


# ---- the name translation itself --------------------------------------------------------------
class _Root:
    def __init__(self, host: str) -> None:
        self.host = host

    def guest_path_of_host(self, path: bytes):
        prefix = self.host.encode()
        return path[len(prefix):] if path.startswith(prefix + b"/") else None


@pytest.mark.parametrize("path", [b"/tmp/s", b"/s", b"//tmp//x/./s", b"/a/../b/s",
                                  b"s", b"./s", b"d/e/s", b"d//./e/s", b"/" + b"p" * 100 + b"/s"])
def test_bound_names_read_back_as_the_guests(path):
    t = type("T", (), {"fs": type("F", (), {"root": _Root("/host/root")})()})()
    s, link = sockaddr.bind_string(path)
    assert len(s) <= sockaddr.SUN_PATH
    if len(path) < sockaddr.SUN_PATH:
        assert sockaddr.guest_path(t, s) == path
    assert sockaddr.guest_path(t, b"/host/root/run/x.sock") == b"/run/x.sock"


@pytest.mark.parametrize("path", [b"/tmp/\x01/s", b"../s", b"a/../s", b"\x01a/s",
                                  b"/" + b"q" * 106 + b"/s"])
def test_names_that_cannot_be_written_back_bind_their_last_name(path):
    s, link = sockaddr.bind_string(path)
    assert (s, link) == (path.rsplit(b"/", 1)[1], None)


def test_abstract_names_carry_the_machine_tag():
    host = sockaddr.abstract(b"name")
    assert host == b"\x01\x00\x00" + sockaddr.machine_tag() + b"name"
    t = object()
    assert sockaddr.guest_name(t, host) == b"\x01\x00\x00name"
    with pytest.raises(OSError):
        sockaddr.abstract(b"n" * 107)


# ---- the host's interfaces, read-only ------------------------------------------------------------
def _lo_has(address: str) -> bool:
    return address in open("/proc/net/fib_trie").read()


def test_interfaces_readable_like_qemu_and_never_changed(rootfs, guest_binary):
    prog = guest_binary("sock_netlink")
    qc, qo, qe = run_qemu([prog], rootfs=rootfs)
    assert qc == 0, qe.decode(errors="replace")
    code, out, err = run_mkemu([prog], rootfs=rootfs)
    assert (code, out) == (qc, qo), err.decode(errors="replace")
    text = out.decode()
    assert "getifaddrs lo inet 127.0.0.1 up 1 loopback 1" in text
    assert "if_nametoindex lo found, back to lo" in text and "lo listed 1, 40-byte" in text
    # the changes run only under mkemu: qemu (root here) would make them on this host
    code, out, err = run_mkemu([prog, "try-changes"], rootfs=rootfs)
    assert code == 0, err.decode(errors="replace")
    assert out.decode().endswith("netlink uevent socket: Protocol not supported\n"
                                 "RTM_NEWADDR by send: Operation not permitted\n"
                                 "RTM_NEWADDR by write: Operation not permitted\n"
                                 "SIOCSIFMTU: Operation not permitted\n"), out.decode()
    assert not _lo_has("127.66.77.88")


def test_read_and_write_honour_socket_timeouts_like_qemu(rootfs, guest_binary):
    prog = guest_binary("sock_timeo")
    qc, qo, qe = run_qemu([prog], rootfs=rootfs)
    assert qc == 0, qe.decode(errors="replace")
    code, out, err = run_mkemu([prog], rootfs=rootfs)
    assert (code, out) == (qc, qo), err.decode(errors="replace")
    assert out.decode().count("Resource temporarily unavailable") == 3
