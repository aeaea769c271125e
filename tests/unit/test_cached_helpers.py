"""A trace loaded from the on-disk code cache names the same runtime helpers as
a fresh translation: every such name must exist without translating anything.

The guest program uses the instructions whose generated code names a helper
chosen by an immediate (saturating shifts and narrowing shifts by immediate) and
the byte shuffles; it runs twice with a private cache, the second time from the
cache, and both runs print what qemu prints.
"""
from tests.support.guestrun import run_mkemu, run_qemu


def _stat(err: bytes, key: str) -> int:
    return int(next(l.split()[2] for l in err.decode().splitlines() if l.startswith(f"mkemu: {key} ")))


def test_second_run_from_the_code_cache_gives_qemus_output(rootfs, guest_binary, tmp_path):
    prog = guest_binary("neon_saturating_shifts")
    want = run_qemu([prog], rootfs=rootfs)
    assert want[0] == 0 and b"sqshrn2" in want[1]
    env = {"MKEMU_CACHE": str(tmp_path)}
    for run in ("fresh", "from cache"):
        code, out, err = run_mkemu([prog], rootfs=rootfs, extra=["--stats"], env=env)
        assert (code, out) == want[:2], f"{run} run: {err.decode(errors='replace')[-2000:]}"
    assert _stat(err, "blocks-from-cache") > 0     # (traces that follow a hot side exit are retranslated)
