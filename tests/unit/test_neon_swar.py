"""Lane-wise add/sub of whole registers (a64_neon_expr.swar_add) against a
per-lane reference, with lanes whose top bits are clear (the one-add fast
path of 32/64-bit lanes) and set (the SWAR form), and single-lane sums."""
import random

import pytest

from mkemu.cpu.a64_neon_expr import swar_add


class _Builder:
    """What swar_add uses of BlockBuilder (a64_neon_topbits writes its tests as lines)."""
    depth = 0

    def __init__(self):
        self.lines, self.n, self.finishers, self.notes = [], 0, [], {}

    def tmp(self, stem="t"):
        self.n += 1
        return f"_{stem}{self.n}"

    def line(self, text):
        self.lines.append(text)


def _lanes(v, e, nbits):
    return [(v >> i) & ((1 << e) - 1) for i in range(0, nbits, e)]


def _value(rng, e, nbits, top):
    """A value whose lanes have their top bit clear (top=False), random (None) or set (True)."""
    v = 0
    for i in range(0, nbits, e):
        lane = rng.getrandbits(e)
        if top is False:
            lane &= (1 << (e - 1)) - 1
        elif top is True:
            lane |= 1 << (e - 1)
        v |= lane << i
    return v


@pytest.mark.parametrize("nbits", [64, 128])
@pytest.mark.parametrize("e", [8, 16, 32, 64])
@pytest.mark.parametrize("sub", [False, True])
def test_swar_add_matches_lanes(e, nbits, sub):
    rng = random.Random(e * 1000 + nbits + sub)
    b = _Builder()
    # operands as the NEON emitters pass them: V registers (128 bits) or a low half
    x, y = ("v1", "v2") if nbits == 128 else ("(v1 & 0xffffffffffffffff)", "(v2 & 0xffffffffffffffff)")
    expr = swar_add(b, x, y, e, nbits, sub)
    code = compile("\n".join(b.lines + [f"r = {expr}"]), "<swar>", "exec")
    for tops in [(False, False), (False, None), (None, False), (True, True), (None, None)] * 40:
        v1 = _value(rng, e, 128, tops[0])
        v2 = _value(rng, e, 128, tops[1])
        env = {"v1": v1, "v2": v2}
        exec(code, env)
        want = 0
        for i, (a, c) in enumerate(zip(_lanes(v1, e, nbits), _lanes(v2, e, nbits))):
            want |= ((a - c if sub else a + c) % (1 << e)) << (i * e)
        assert env["r"] == want, (hex(v1), hex(v2))


@pytest.mark.parametrize("sub", [False, True])
def test_single_lane_is_masked(sub):
    b = _Builder()
    expr = swar_add(b, "(v1 & 0xffffffffffffffff)", "(v2 & 0xffffffffffffffff)", 64, 64, sub)
    rng = random.Random(7)
    for _ in range(200):
        v1, v2 = rng.getrandbits(128), rng.getrandbits(128)
        r = eval(expr, {"v1": v1, "v2": v2})
        lo = (1 << 64) - 1
        assert r == (((v1 & lo) - (v2 & lo)) if sub else ((v1 & lo) + (v2 & lo))) & lo
