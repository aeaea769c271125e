"""MKEMU_LINEPROF (cpu/lineprof.py): a guest loop's line profile names its loads and stores."""
import re

from tests.support.guestrun import run_mkemu


def _expected_sum() -> int:       # what tests/guest/lineprof_loop.c prints
    t = [i * 3 for i in range(512)]
    s = 0
    for rep in range(200):
        for i in range(1, 512):
            s += t[i]
            t[i - 1] = t[i] ^ rep
    return s


def test_line_profile_of_a_guest_loop(rootfs, guest_binary, tmp_path):
    report = tmp_path / "lp.%p.txt"
    code, out, err = run_mkemu([str(guest_binary("lineprof_loop"))], rootfs=rootfs, timeout=300,
                               env={"MKEMU_LINEPROF": str(report)})
    assert (code, out) == (0, b"%d\n" % _expected_sum()), err.decode(errors="replace")[-2000:]
    [written] = tmp_path.glob("lp.*.txt")          # %p became the task's pid
    text = written.read_text()
    total = int(re.search(r"# bytecodes run: ([\d,]+)", text).group(1).replace(",", ""))
    assert total > 200 * 511 * 5                    # the loop's trips, a few bytecodes each
    shares = dict((k.strip(), float(v)) for v, k in re.findall(r"^ *([\d.]+)%  (.+)$",
                                                             text.split("## the")[0], re.M))
    assert abs(sum(shares.values()) - 100) < 0.5
    assert shares["load"] > 5 and shares["store"] > 5
    top = text.split("costliest lines")[1].splitlines()[1:11]
    # the loop's own instructions, disassembled, head the list
    assert any(re.search(r"# 0x[0-9a-f]+: ldr ", line) for line in top), top
    assert any(re.search(r"# 0x[0-9a-f]+: str ", line) for line in top), top
