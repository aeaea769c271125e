"""A64 Advanced SIMD data movement: the Arm ARM's copy (DUP, INS, SMOV, UMOV and
the scalar DUP), modified immediate (MOVI, MVNI, ORR, BIC, FMOV vector
immediate), extract (EXT), table lookup (TBL, TBX) and permute (ZIP, UZP, TRN)
classes.  REV16/32/64, CNT and RBIT are in the two-register misc class
(a64_neon_misc.py); the crypto byte permutations in a64_neon_crypto.py.
"""
from __future__ import annotations

import operator
import re

from .a64_neon_expr import D_MASK, Q_MASK, narrow, ones, rep, vreg
from .a64_neon_bytesum import byte_slice, record_chunk
from .a64_neon_sink import offer
from .block import assigned_registers
from .bits import field


def _tbl(table: tuple, idx: int, default: int, nbytes: int) -> int:
    """TBL/TBX: bytes of idx index the table registers; out of range -> default's byte."""
    raw = b"".join(t.to_bytes(16, "little") for t in table)
    ib = idx.to_bytes(nbytes, "little")
    res = int.from_bytes(ib.translate(raw + bytes(256 - len(raw))), "little")
    if default:
        oor = int.from_bytes(ib.translate(bytes(len(raw)) + b"\xff" * (256 - len(raw))), "little")
        res |= default & oor
    return res


def _zip_trn_bytes(opcode: int, esize: int, q: int) -> list[int]:
    """The byte indexes into Vm:Vn (as 32 or 16 bytes) of the result of TRN1 (opcode 2),
    ZIP1 (3), TRN2 (6) or ZIP2 (7)."""
    n = (16 if q else 8) // (esize // 8)
    part = opcode >> 2
    lanes = []
    for p in range(n // 2):
        if opcode & 3 == 2:      # TRN: the even (odd) lanes of Vn and Vm, alternating
            lanes += [2 * p + part, n + 2 * p + part]
        else:                    # ZIP: the low (high) halves of Vn and Vm, interleaved
            lanes += [(n // 2) * part + p, n + (n // 2) * part + p]
    return [lane * esize // 8 + k for lane in lanes for k in range(esize // 8)]


# Every shuffle exists at import: a trace from the code cache names them without
# translating anything
_ZIP_TRN = {f"NPERM{op}_{e}_{q}": operator.itemgetter(*_zip_trn_bytes(op, e, q))
            for op in (2, 3, 6, 7) for e in (8, 16, 32, 64) for q in (0, 1) if e < 64 or q}


HELPERS: dict = {"NTBL": _tbl, "NZ240": bytes(240), **_ZIP_TRN}


def emit_copy(b, insn: int) -> None:
    q, op, imm5, imm4 = field(insn, 30, 30), field(insn, 29, 29), field(insn, 20, 16), field(insn, 14, 11)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    scalar = field(insn, 28, 28)
    if imm5 & 0xF == 0:
        return b.end_undefined()
    size = (imm5 & -imm5).bit_length() - 1
    esize = 8 << size
    index = imm5 >> (size + 1)
    emask = (1 << esize) - 1
    if scalar:                     # DUP (scalar element) = MOV Bd/Hd/Sd/Dd, Vn.T[i]
        if op or imm4:
            return b.end_undefined()
        return b.wv(rd, f"(({b.rv(rn)} >> {index * esize}) & {emask:#x})")
    nbits = 128 if q else 64
    if op:                         # INS (element)
        if not q:
            return b.end_undefined()
        src_index = imm4 >> size
        elem = f"(({b.rv(rn)} >> {src_index * esize}) & {emask:#x})"
        return b.wv(rd, f"({b.rv(rd)} & {Q_MASK ^ (emask << (index * esize)):#x}) | ({elem} << {index * esize})")
    if imm4 == 0:                  # DUP (element)
        if size == 3 and not q:
            return b.end_undefined()
        elem = f"(({b.rv(rn)} >> {index * esize}) & {emask:#x})"
        return b.wv(rd, f"{elem} * {rep(esize, nbits):#x}")
    if imm4 == 1:                  # DUP (general)
        if size == 3 and not q:
            return b.end_undefined()
        return b.wv(rd, f"({b.rx(rn)} & {emask:#x}) * {rep(esize, nbits):#x}")
    if imm4 == 3:                  # INS (general)
        if not q:
            return b.end_undefined()
        return b.wv(rd, f"({b.rv(rd)} & {Q_MASK ^ (emask << (index * esize)):#x}) | "
                        f"(({b.rx(rn)} & {emask:#x}) << {index * esize})")
    if imm4 in (5, 7):             # SMOV / UMOV
        elem = f"(({b.rv(rn)} >> {index * esize}) & {emask:#x})"
        if imm4 == 7:
            if (q and size != 3) or (not q and size == 3):
                return b.end_undefined()
            return b.wx(rd, elem, masked=True)
        if size == 3 or (size == 2 and not q):
            return b.end_undefined()
        sb = 1 << (esize - 1)
        return b.wx(rd, f"({elem} ^ {sb:#x}) - {sb:#x}", w=not q)
    b.end_undefined()


def _expand_imm(op: int, cmode: int, imm8: int) -> int | None:
    """AdvSIMDExpandImm: the 64-bit pattern."""
    c = cmode >> 1
    if c <= 3:
        v = imm8 << (8 * c)
        return v | (v << 32)
    if c <= 5:
        v = imm8 << (8 * (c & 1))
        return v * 0x0001_0001_0001_0001
    if c == 6:
        v = (imm8 << 8) | 0xFF if not cmode & 1 else (imm8 << 16) | 0xFFFF
        return v | (v << 32)
    if not cmode & 1:
        if not op:
            return imm8 * 0x0101_0101_0101_0101
        return sum(0xFF << (8 * i) for i in range(8) if (imm8 >> i) & 1)
    from .a64_fp import vfp_expand_imm
    if not op:   # FMOV (vector, immediate) single precision
        v = vfp_expand_imm(imm8, 32)
        return v | (v << 32)
    return vfp_expand_imm(imm8, 64)


def emit_modified_imm(b, insn: int) -> None:
    q, op, cmode, o2 = field(insn, 30, 30), field(insn, 29, 29), field(insn, 15, 12), field(insn, 11, 11)
    imm8 = (field(insn, 18, 16) << 5) | field(insn, 9, 5)
    rd = field(insn, 4, 0)
    if o2:
        if cmode != 15 or op:
            return b.end_undefined()
        from .a64_fp import vfp_expand_imm       # FMOV Vd.4H/8H, #imm (FEAT_FP16)
        return b.wv(rd, f"{vfp_expand_imm(imm8, 16) * rep(16, 128 if q else 64):#x}")
    if cmode == 15 and op and not q:
        return b.end_undefined()
    imm = _expand_imm(op, cmode, imm8)
    full = imm | (imm << 64) if q else imm
    reg_mask = Q_MASK if q else D_MASK
    if cmode < 12 and cmode & 1:     # ORR / BIC (vector, immediate)
        d = vreg(b, rd, q)
        if op:
            return b.wv(rd, f"{d} & {reg_mask ^ full:#x}")
        return b.wv(rd, f"{d} | {full:#x}")
    if op and cmode < 14:        # MVNI
        full = reg_mask ^ full
    b.wv(rd, f"{full:#x}")


def emit_ext(b, insn: int) -> None:
    q, rm, imm4, rn, rd = field(insn, 30, 30), field(insn, 20, 16), field(insn, 14, 11), field(insn, 9, 5), field(insn, 4, 0)
    if not q and imm4 & 8:
        return b.end_undefined()
    nbits = 128 if q else 64
    lo, hi = vreg(b, rn, q), vreg(b, rm, q)
    b.wv(rd, f"((({hi} << {nbits}) | {lo}) >> {imm4 * 8}) & {ones(nbits):#x}")


def emit_tbl(b, insn: int) -> None:
    q, rm, length, op, rn, rd = (field(insn, 30, 30), field(insn, 20, 16), field(insn, 14, 13),
                                 field(insn, 12, 12), field(insn, 9, 5), field(insn, 4, 0))
    table = ", ".join(b.rv((rn + i) % 32) for i in range(length + 1))
    nbytes = 16 if q else 8
    idx = vreg(b, rm, q)
    if not op and length == 0:        # one table register: a single translate
        b.wv(rd, f"FB(({idx}).to_bytes({nbytes}, 'little').translate({b.rv(rn)}.to_bytes(16, 'little') "
                 "+ NZ240), 'little')")
        return
    default = vreg(b, rd, q) if op else "0"
    b.wv(rd, f"NTBL(({table},), {idx}, {default}, {nbytes})")


def emit_permute(b, insn: int) -> None:
    q, size, rm, opcode, rn, rd = (field(insn, 30, 30), field(insn, 23, 22), field(insn, 20, 16),
                                   field(insn, 14, 12), field(insn, 9, 5), field(insn, 4, 0))
    if opcode in (0, 4) or (size == 3 and not q):
        return b.end_undefined()
    esize = 8 << size
    nbits = 128 if q else 64
    if opcode == 1 and q and b.depth == 0:
        return _uzp1_q(b, rd, rn, rm, esize)
    if opcode in (1, 5):             # UZP1/UZP2: the even (odd) lanes of Vm:Vn
        cat = f"(({vreg(b, rm, q)} << {nbits}) | {vreg(b, rn, q)})"
        if opcode == 5:
            cat = f"({cat} >> {esize})"
        return b.wv(rd, narrow(b, cat, esize, nbits // esize))
    g = f"NPERM{opcode}_{esize}_{q}"
    cat = f"(({vreg(b, rm, q)} << {nbits}) | {vreg(b, rn, q)}).to_bytes({nbits // 4}, 'little')"
    b.wv(rd, f"FB(bytes({g}({cat})), 'little')")


# ---- UZP1 narrowing trees -------------------------------------------------------
# Compilers narrow 64-bit lanes to bytes with a tree of UZP1s (.4s, .8h, then
# .16b), each a few shift-and-mask steps on 256-bit ints.  Every UZP1 of two Q
# registers records what its result is made of: the low `esize` bits of every
# `every`-bit element of some 256-bit concatenations of registers, held in
# temporaries assigned once.  A .16b UZP1 of two such results reads every
# (every/8)-th byte of those temporaries in one slice.  The tree's inner UZP1s
# whose results nothing can read any more (overwritten within the tree, no line
# between reading the register, no exit or faulting access between) then become
# no-ops: a trace is straight-line text at depth 0, so looking back suffices.

class _Made:
    """A register value made by a UZP1 in this trace (lines [first, end) of b.lines)."""
    __slots__ = ("reg", "esize", "every", "chunks", "parts", "first", "end")

    def __init__(self, reg, esize, every, chunks, parts, first, end):
        self.reg, self.esize, self.every, self.chunks = reg, esize, every, chunks
        self.parts, self.first, self.end = parts, first, end


_UNSAFE = ("_pc =", "return", "continue", "V[", "S.", "LD(", "ST(")   # exits, faults, state


def _current(b, made: dict, reg: int) -> _Made | None:
    """What made Vreg, if it was a UZP1 of this trace and nothing assigned Vreg since."""
    m = made.get(reg)
    if m is None:
        return None
    name = f"v{reg}"
    for text in b.lines[m.end:]:
        if name in text and name in assigned_registers(text):
            del made[reg]
            return None
    return m


def _unread(b, reg: int, start: int, stop: int) -> bool:
    """Do lines [start, stop) neither read Vreg nor leave the trace or fault?"""
    mention = re.compile(rf"(?<![\w.]){f'v{reg}'}(?!\w)")
    return not any((mention.search(t) or any(u in t for u in _UNSAFE)) and not t.lstrip().startswith("#")
                   for t in b.lines[start:stop])


def _drop(b, m: _Made) -> None:
    for i in range(m.first, m.end):
        text = b.lines[i]
        b.lines[i] = text[:len(text) - len(text.lstrip())] + "pass"


def _from_chunks(b, chunks: list, every: int, esize: int) -> str:
    """The low esize bits of every `every`-bit element of the concatenated chunks,
    packed: bytes by one slice, wider lanes by log2(count) shift-and-mask steps."""
    total = 256 * len(chunks)
    cat = " | ".join(f"({c} << {256 * i})" if i else c for i, c in enumerate(chunks))
    if esize == 8:
        return f"FB(({cat}).to_bytes({total // 8}, 'little')[::{every // 8}], 'little')"
    t = b.tmp()
    b.line(f"{t} = ({cat}) & {rep(every, total) * ones(esize):#x}")
    size, span = esize, every
    while span < total:      # pair neighbouring groups: the odd one moves down next to the even
        b.line(f"{t} = ({t} | ({t} >> {span - size})) & {rep(2 * span, total) * ones(2 * size):#x}")
        size, span = 2 * size, 2 * span
    return t


def _uzp1_q(b, rd: int, rn: int, rm: int, esize: int) -> None:
    made = b.notes.setdefault("permute.made", {})   # {reg: _Made}
    n, m = _current(b, made, rn), _current(b, made, rm)
    tree = (n is not None and m is not None and n.esize == m.esize == 2 * esize
            and n.every == m.every and n is not m)
    made.pop(rd, None)
    here = len(b.lines)
    if tree:
        # inputs this UZP1 overwrites that nothing read since: made from the sources
        # instead, they need not be computed (bytes always come from the sources)
        dead = [r for r in (n, m) if r.reg == rd and _unread(b, rd, r.end, here)]
        if dead or esize == 8:
            chunks = n.chunks + m.chunks
            b.wv(rd, _from_chunks(b, chunks, n.every, esize))
            if esize == 8 and n.every == 64:
                byte_slice(b, rd, chunks)
            made[rd] = _Made(rd, esize, n.every, chunks, (n, m), here, len(b.lines))
            offer(b, f"v{rd}", here, len(b.lines))
            for r in dead:
                _drop(b, r)
                for p in r.parts:
                    if p.reg == rd and _unread(b, rd, p.end, r.first):
                        _drop(b, p)
            return
        b.wv(rd, narrow(b, f"(({b.rv(rm)} << 128) | {b.rv(rn)})", esize, 128 // esize))
        made[rd] = _Made(rd, esize, n.every, n.chunks + m.chunks, (n, m), here, len(b.lines))
        offer(b, f"v{rd}", here, len(b.lines))
        return
    cat = b.tmp("c")
    b.line(f"{cat} = ({b.rv(rm)} << 128) | {b.rv(rn)}")
    record_chunk(b, cat, rn, rm)
    first = len(b.lines)
    offer(b, cat, first - 1, first)
    b.wv(rd, narrow(b, cat, esize, 128 // esize))
    made[rd] = _Made(rd, esize, 2 * esize, [cat], (), first, len(b.lines))
    offer(b, f"v{rd}", first, len(b.lines))
