"""The bytes a UZP1 tree narrows lane sums to, from the sums' operands.

The low byte of a 64-bit lane sum is the sum of the operands' low bytes, mod
256.  gcc vectorises `a[i] = (char)(i * k + c)` with i counted in 64-bit lanes:
eight registers X + step_j (X the counter, the steps loop-invariant) narrowed
to bytes by a UZP1 tree, whose last UZP1 reads the tree's sources in one slice
of a 1024-bit concatenation (a64_neon_permute).  When every element of that
slice is the low byte of a lane of such a sum with one common X (or of X
itself), and the trace is a loop that never assigns the other operands, the
slice is a byte-wise add of X's two low bytes, repeated, and the steps' bytes,
gathered once before the loop.  The sums and the tree's concatenations are
then read by nothing in the trip, so a64_neon_sink moves them to the exits.

The facts are recorded while emitting (which register is which sum, which
concatenation holds which registers) and checked on the complete trace text,
as the text then is (lines the tree dropped no longer assign anything).
"""
from __future__ import annotations


from .a64_neon_expr import rep
from .a64_neon_sink import before_sinking
from .block import assigned_registers


_LOW = rep(8, 128) * 0x7F          # the low 7 bits of every byte
_TOP = rep(8, 128) << 7            # the top bit of every byte
_PAIRS = rep(16, 128)              # one in every 16-bit lane


def record_sum(b, rd: int, rn: int, rm: int) -> None:
    """The line just emitted is Vd = Vn + Vm in 64-bit lanes."""
    if b.depth or rd in (rn, rm):
        return
    b.notes.setdefault("bytesum.sums", {})[f"v{rd}"] = (f"v{rn}", f"v{rm}", len(b.lines) - 1)


def record_chunk(b, temp: str, lo: int, hi: int) -> None:
    """The line just emitted is temp = (Vhi << 128) | Vlo."""
    if not b.depth:
        b.notes.setdefault("bytesum.chunks", {})[temp] = (f"v{lo}", f"v{hi}", len(b.lines) - 1)


def byte_slice(b, rd: int, chunks: list[str]) -> None:
    """The line just emitted is Vd = the low byte of every 64-bit element of the
    four 256-bit chunks, concatenated."""
    if b.depth or len(chunks) != 4:
        return
    line = len(b.lines) - 1
    before_sinking(b, lambda b: _rewrite(b, rd, list(chunks), line))


def _changed(b, name: str, start: int, stop: int) -> bool:
    """Does a line in (start, stop) assign the register local `name`?"""
    return any(name in t and name in assigned_registers(t) for t in b.lines[start + 1:stop])


def _leaf(b, reg: str, at: int):
    """(x, y or None, the line x is read from) with reg = x + y at line `at`, lane-wise."""
    known = b.notes.get("bytesum.sums", {}).get(reg)
    if known is not None:
        x, y, line = known
        if line < at and not any(_changed(b, n, line, at) for n in (reg, x, y)):
            return x, y, line
    return reg, None, at


def _rewrite(b, rd: int, chunks: list[str], f: int) -> None:
    lines = b.lines
    if not b.loop or not lines[f].startswith(f"v{rd} = FB("):
        return
    leaves = []
    for c in chunks:
        known = b.notes.get("bytesum.chunks", {}).get(c)
        if known is None:
            return
        lo, hi, line = known
        leaves += [_leaf(b, lo, line), _leaf(b, hi, line)]
    xs = {x for x, _, _ in leaves}
    if len(xs) != 1:
        return
    x = xs.pop()
    if _changed(b, x, min(line for _, _, line in leaves), f):
        return
    assigned = {n for t in lines if "=" in t for n in assigned_registers(t)}
    ys = [y for _, y, _ in leaves]
    if any(y in assigned or y == x for y in ys if y):
        return
    g = b.tmp("g")
    cat = " | ".join(f"({y} << {128 * i})" if i else y for i, y in enumerate(ys) if y) or "0"
    b.head_lines += [f"{g} = FB(({cat}).to_bytes(128, 'little')[::8], 'little')",
                     f"{g}l = {g} & {_LOW:#x}; {g}h = {g} & {_TOP:#x}"]
    gx = b.tmp("g")
    lines[f] = (f"{gx} = (({x} & 0xff) | (({x} >> 56) & 0xff00)) * {_PAIRS:#x}; "
                f"v{rd} = ((({gx} & {_LOW:#x}) + {g}l) ^ (({gx} & {_TOP:#x}) ^ {g}h))")

