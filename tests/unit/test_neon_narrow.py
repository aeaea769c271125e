"""UZP1 trees narrowing 64-bit lanes to bytes (a64_neon_permute: the last
.16b UZP1 reads the tree's sources in one slice, and inner results nothing
reads again are not computed): the guest program has the compiler's own tree
(a byte store from 64-bit counters), explicit trees whose inner results are
dead, read again, or narrowed twice; mkemu prints what qemu prints, translated
fresh and from the code cache."""
from tests.support.guestrun import run_mkemu, run_qemu


def test_narrowing_trees_like_qemu(rootfs, guest_binary, tmp_path):
    prog = guest_binary("neon_narrow")
    want = run_qemu([prog], rootfs=rootfs)
    assert want[0] == 0 and b"tree_live: " in want[1] and b"fill 2: " in want[1]
    env = {"MKEMU_CACHE": str(tmp_path)}
    for run in ("fresh", "from cache"):
        code, out, err = run_mkemu([prog], rootfs=rootfs, env=env)
        assert (code, out) == want[:2], f"{run} run: {err.decode(errors='replace')[-2000:]}"
