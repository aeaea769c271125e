"""kern/sysmodules.py: the table of which module registers each handler is current
(a task imports a handler's module only at the call's first use, so a name missing
here would be ENOSYS), and a guest that makes such calls, in a first process and in
a child that calls what its parent never did, sees what it sees under qemu."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from mkemu.kern import sysmodules
from tests.support.guestrun import run_mkemu, run_qemu

SOURCE = Path(sysmodules.__file__)


def test_the_table_is_what_the_modules_register():
    text = SOURCE.read_text()
    table = text[text.index("HANDLER_MODULES = {"):]
    table = table[:table.index("\n}\n") + 3]
    assert table == sysmodules.table_source(), \
        "regenerate the table with: python -m mkemu.kern.sysmodules"


def test_importing_a_module_alone_registers_every_name_the_table_gives_it():
    # in a fresh interpreter each: not helped by what another module imported
    code = """if True:
        import sys
        from mkemu.kern import systable
        from mkemu.kern.sysmodules import HANDLER_MODULES
        module = sys.argv[1]
        before = {row.name for row in systable.SYSCALLS.values()}
        systable._load(module)
        got = {row.name for row in systable.SYSCALLS.values()}
        missing = set(HANDLER_MODULES[module].split()) - got
        print(sorted(missing))
    """
    procs = {m: subprocess.Popen([sys.executable, "-c", code, m], stdout=subprocess.PIPE,
                                 cwd=SOURCE.parents[2]) for m in sysmodules.HANDLER_MODULES}
    assert {m: p.communicate(timeout=120)[0].decode().strip() for m, p in procs.items()} == \
        {m: "[]" for m in procs}


def test_a_syscall_without_handler_loads_nothing_and_has_no_row():
    from mkemu.kern import systable
    from mkemu.kern.sysnums import SYSCALL_NAMES
    assert systable.handler_row(10_000) is None
    unhandled = [nr for nr, name in SYSCALL_NAMES.items() if sysmodules.module_of(name) is None]
    assert unhandled and all(systable.handler_row(nr) is None for nr in unhandled)
    assert systable.handler_row(next(nr for nr, n in SYSCALL_NAMES.items()
                                     if n == "socketpair")).name == "socketpair"


def test_calls_whose_handlers_load_at_first_use_answer_as_under_qemu(rootfs, guest_binary,
                                                                      tmp_path):
    prog = guest_binary("lazy_calls")
    qc, qo, qe = run_qemu([prog], rootfs=rootfs)
    assert qc == 0, qe.decode(errors="replace")
    mc, mo, me = run_mkemu([prog], rootfs=rootfs, extra=["--strace"])
    assert (mc, mo.decode()) == (qc, qo.decode()), me.decode(errors="replace")[-3000:]
    out = mo.decode()
    assert "waitpid: 1, exited 1 status 42" in out and "send 4 recv 4 ping" in out
    # the child's calls were made by it (not before the fork, in the first process)
    traced = me.decode(errors="replace")
    assert re.search(r"\[(\d+)\] epoll_create1\(0x0\) = \d", traced).group(1) != \
        re.search(r"\[(\d+)\] socketpair\(", traced).group(1), traced[-3000:]
    assert [line for line in traced.splitlines() if "ENOSYS" in line and " rseq(" not in line] == []
