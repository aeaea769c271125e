"""python3's own use of the Linux surface, under mkemu beside qemu-aarch64: sockets with
selectors, an asyncio echo server, sqlite3 in a file, multiprocessing's Pool and Queue.

Each script prints only what is the same on every correct run (no ports, pids or
times), so mkemu's output must equal the reference's.
"""
from __future__ import annotations

import shutil
import uuid

import pytest

from tests.support.guestrun import run_mkemu, run_qemu

PY_TIMEOUT = 300          # python3 starts in ~11 s under mkemu, more on a loaded machine

SELECTORS_ECHO = r"""
import selectors, socket
sel = selectors.DefaultSelector()
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(); srv.setblocking(False)
sel.register(srv, selectors.EVENT_READ, "accept")
cli = socket.create_connection(srv.getsockname()); cli.setblocking(False)
sent, echoed = b"ping " * 2000, b""
cli.sendall(sent[:4096]); rest = sent[4096:]
sel.register(cli, selectors.EVENT_READ | selectors.EVENT_WRITE, "client")
while len(echoed) < len(sent):
    for key, events in sel.select(timeout=10):
        if key.data == "accept":
            conn, _ = srv.accept(); conn.setblocking(False)
            sel.register(conn, selectors.EVENT_READ, "server")
        elif key.data == "server":
            data = key.fileobj.recv(65536)
            if data:
                key.fileobj.sendall(data)
        else:
            if events & selectors.EVENT_WRITE and rest:
                n = cli.send(rest); rest = rest[n:]
                if not rest:
                    sel.modify(cli, selectors.EVENT_READ, "client")
            if events & selectors.EVENT_READ:
                echoed += cli.recv(65536)
print(type(sel).__name__, len(echoed), echoed == sent)
"""

ASYNCIO_ECHO = r"""
import asyncio
async def handle(reader, writer):
    while line := await reader.readline():
        writer.write(line.upper()); await writer.drain()
    writer.close(); await writer.wait_closed()
async def client(port, n):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got = []
    for i in range(3):
        writer.write(f"client {n} line {i}\n".encode()); await writer.drain()
        got.append((await reader.readline()).decode().strip())
    writer.close(); await writer.wait_closed()
    return got
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    results = await asyncio.gather(*(client(port, n) for n in range(3)))
    server.close(); await server.wait_closed()
    for r in results:
        print(*r, sep="; ")
    print("timeout:", await asyncio.wait_for(asyncio.sleep(0.05, "slept"), 5))
asyncio.run(main())
"""

SQLITE_FILE = r"""
import sqlite3, sys
path = sys.argv[1] + "/t.db"
db = sqlite3.connect(path)
db.execute("pragma journal_mode=wal")
db.execute("create table t (k integer primary key, v text)")
with db:
    db.executemany("insert into t (v) values (?)", [(f"row {i}",) for i in range(500)])
db.close()
db = sqlite3.connect(path)
print(db.execute("select count(*), min(v), max(k) from t").fetchone())
print(db.execute("pragma integrity_check").fetchone()[0])
"""

MULTIPROCESSING = r"""
import multiprocessing as mp
def square(x):
    return x * x
def producer(q):
    for i in range(5):
        q.put(("item", i))
    q.put(None)
if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Pool(2) as pool:
        print("pool:", sum(pool.map(square, range(100))))
    q = mp.Queue()
    p = mp.Process(target=producer, args=(q,)); p.start()
    got = []
    while (item := q.get(timeout=60)) is not None:
        got.append(item[1])
    p.join()
    print("queue:", got, "exit", p.exitcode)
    lock = mp.Lock()
    with lock:
        print("lock held")
"""


@pytest.fixture
def work_dir(full_rootfs):
    """A fresh directory under the full rootfs's /tmp: (guest path, host path)."""
    name = f"py-{uuid.uuid4().hex[:12]}"
    host = full_rootfs / "tmp" / name
    host.mkdir(parents=True)
    yield f"/tmp/{name}", host
    shutil.rmtree(host, ignore_errors=True)


def like_qemu(root, script, mkemu_args=(), qemu_args=()) -> str:
    python = root / "usr/bin/python3"
    qc, qo, qe = run_qemu([python, "-c", script, *qemu_args], rootfs=root, timeout=PY_TIMEOUT)
    assert qc == 0, f"the reference failed: {qe.decode(errors='replace')}"
    mc, mo, me = run_mkemu(["/usr/bin/python3", "-c", script, *mkemu_args], rootfs=root,
                           timeout=PY_TIMEOUT)
    assert (mc, mo.decode()) == (qc, qo.decode()), me.decode(errors="replace")[-3000:]
    return mo.decode()


@pytest.mark.slow                 # (the default run keeps asyncio's echo: the same calls and more)
@pytest.mark.timeout(2 * PY_TIMEOUT + 60)
def test_selectors_echo_over_tcp(full_rootfs):
    assert like_qemu(full_rootfs, SELECTORS_ECHO) == "EpollSelector 10000 True\n"


@pytest.mark.timeout(2 * PY_TIMEOUT + 60)
def test_asyncio_echo_server(full_rootfs):
    out = like_qemu(full_rootfs, ASYNCIO_ECHO)
    assert "CLIENT 2 LINE 2" in out and out.endswith("timeout: slept\n")


@pytest.mark.slow                 # (the default run has the sqlite3 program's WAL database)
@pytest.mark.timeout(2 * PY_TIMEOUT + 60)
def test_sqlite3_module_in_a_file(full_rootfs, work_dir):
    guest_dir, host_dir = work_dir
    (host_dir / "q").mkdir()
    out = like_qemu(full_rootfs, SQLITE_FILE, mkemu_args=[guest_dir],
                    qemu_args=[str(host_dir / "q")])
    assert out == "(500, 'row 0', 500)\nok\n"
    assert (host_dir / "t.db").stat().st_size > 0


@pytest.mark.timeout(2 * PY_TIMEOUT + 60)
def test_multiprocessing_pool_and_queue(full_rootfs):
    out = like_qemu(full_rootfs, MULTIPROCESSING)
    assert out == "pool: 328350\nqueue: [0, 1, 2, 3, 4] exit 0\nlock held\n"
