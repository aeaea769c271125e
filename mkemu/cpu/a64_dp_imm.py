"""A64 data processing -- immediate (Arm ARM C4.1.86, op0 = 100x).

PC-relative addressing, add/subtract (immediate), logical (immediate),
move wide, bitfield and extract.  Each emitter writes the Python for one
instruction through the BlockBuilder.
"""
from __future__ import annotations

from .bits import decode_bit_masks, field, sign_extend

M64 = 0xFFFF_FFFF_FFFF_FFFF


def decode(insn: int):
    op1 = field(insn, 25, 23)
    if op1 <= 1:
        return emit_adr
    return {2: emit_addsub_imm, 4: emit_logic_imm, 5: emit_movewide,
            6: emit_bitfield, 7: emit_extract}.get(op1)


def emit_adr(b, insn: int) -> None:
    imm = (field(insn, 23, 5) << 2) | field(insn, 30, 29)
    if insn >> 31:   # ADRP
        value = ((b.pc & ~0xFFF) + (sign_extend(imm, 21) << 12)) & M64
    else:
        value = (b.pc + sign_extend(imm, 21)) & M64
    b.wx(field(insn, 4, 0), f"{value:#x}", masked=True)


def emit_addsub_imm(b, insn: int) -> None:
    sf, op, s = insn >> 31, (insn >> 30) & 1, (insn >> 29) & 1
    if field(insn, 23, 23):   # tagged forms (MTE) are not implemented
        return b.end_undefined()
    imm = field(insn, 21, 10) << (12 if field(insn, 22, 22) else 0)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    w = not sf
    bits = 64 if sf else 32
    if s and not op and imm:
        # ADDS/CMN #imm has exactly the flags of SUBS/CMP #(2**bits - imm) (imm is
        # never 0 or 2**(bits-1) here, where C or V would differ): kept as a
        # compare, a B.EQ after CMN #1 is `a == 0xff..ff`, not a masked sum
        op, imm = 1, (1 << bits) - imm
    if s:
        b.set_flags("sub" if op else "add", bits, b.rsp(rn, w), f"{imm:#x}")
        res = f"{b.flags[2]} - {imm:#x}" if op else f"{b.flags[2]} + {imm:#x}"
        b.wx(rd, res, w)
    elif imm == 0:      # MOV to/from SP: a copy (a W read is already masked)
        b.wsp(rd, b.rsp(rn, w), w, masked=True)
    else:               # the result's mask makes a W operand's own mask redundant
        a = b.rsp(rn)
        res = f"{a} - {imm:#x}" if op else f"{a} + {imm:#x}"
        b.wsp(rd, res, w)


def emit_logic_imm(b, insn: int) -> None:
    sf, opc, n = insn >> 31, field(insn, 30, 29), field(insn, 22, 22)
    if not sf and n:
        return b.end_undefined()
    bits = 64 if sf else 32
    masks = decode_bit_masks(n, field(insn, 15, 10), field(insn, 21, 16), True, bits)
    if masks is None:
        return b.end_undefined()
    imm = masks[0]
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    # AND with a 32-bit immediate needs no mask of a W operand
    a = b.rx(rn) if opc in (0, 3) else b.rx(rn, not sf)
    expr = {0: f"{a} & {imm:#x}", 1: f"{a} | {imm:#x}", 2: f"{a} ^ {imm:#x}",
            3: f"{a} & {imm:#x}"}[opc]
    if opc == 3:   # ANDS
        t = b.tmp()
        b.line(f"{t} = {expr}")
        b.set_flags("logic", bits, t)
        b.wx(rd, t, w=not sf, masked=True)
    else:
        b.wsp(rd, expr, w=not sf, masked=True)


def emit_movewide(b, insn: int) -> None:
    sf, opc, hw = insn >> 31, field(insn, 30, 29), field(insn, 22, 21)
    if opc == 1 or (not sf and hw >= 2):
        return b.end_undefined()
    mask = M64 if sf else 0xFFFF_FFFF
    shift = hw * 16
    imm = field(insn, 20, 5) << shift
    rd = field(insn, 4, 0)
    if opc == 0:      # MOVN
        b.wx(rd, f"{~imm & mask:#x}", masked=True)
    elif opc == 2:    # MOVZ
        b.wx(rd, f"{imm:#x}", masked=True)
    else:             # MOVK
        keep = mask & ~(0xFFFF << shift)
        b.wx(rd, f"({b.rx(rd)} & {keep:#x}) | {imm:#x}", w=not sf, masked=True)


def emit_bitfield(b, insn: int) -> None:
    sf, opc, n = insn >> 31, field(insn, 30, 29), field(insn, 22, 22)
    immr, imms = field(insn, 21, 16), field(insn, 15, 10)
    bits = 64 if sf else 32
    if opc == 3 or n != sf or (not sf and (immr >= 32 or imms >= 32)):
        return b.end_undefined()
    masks = decode_bit_masks(n, imms, immr, False, bits)
    if masks is None:
        return b.end_undefined()
    mask = (1 << bits) - 1
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    r, s = immr, imms
    # Only a W LSR (the field reaching bit 31) needs a W source masked: every
    # other form keeps bits below 32 alone, by its own field mask or its result's
    src = b.rx(rn, not sf and opc == 2 and s == bits - 1)
    if opc == 2:   # UBFM: LSL, LSR, UBFX, UBFIZ, UXTB, UXTH
        if s == bits - 1:
            expr = f"{src} >> {r}"
        elif s + 1 == r:
            expr = f"({src} << {bits - r}) & {mask:#x}"
        elif s >= r:     # UBFX; UXTB, UXTH (r = 0) need no shift
            expr = f"({src} >> {r}) & {(1 << (s - r + 1)) - 1:#x}" if r else f"{src} & {(1 << (s + 1)) - 1:#x}"
        else:      # UBFIZ: field of s+1 bits placed at bits - r
            expr = f"({src} & {(1 << (s + 1)) - 1:#x}) << {bits - r}"
        b.wx(rd, expr, w=not sf, masked=True)
    elif opc == 0:  # SBFM: ASR, SBFX, SBFIZ, SXTB, SXTH, SXTW
        b.wx(rd, _sbfm(b, rn, r, s, bits), w=not sf, masked=True)
    else:          # BFM: BFXIL (src<s:r> to the bottom), BFI (src<s:0> to bit bits - r)
        dst = b.rx(rd)      # kept bits are below `bits`: no W mask needed
        if s >= r:
            width, lsb, low = s - r + 1, 0, f"{src} >> {r}" if r else src
        else:
            width, lsb, low = s + 1, bits - r, src
        field_mask = (1 << width) - 1
        ins = f"({low}) & {field_mask:#x}"
        if lsb:
            ins = f"(({ins}) << {lsb})"
        keep = mask & ~(field_mask << lsb)
        b.wx(rd, f"({dst} & {keep:#x}) | {ins}", w=not sf, masked=True)


def _sbfm(b, rn: int, r: int, s: int, bits: int) -> str:
    """SBFM's result (ASR, SBFX, SBFIZ, SXTB, SXTH, SXTW), already in range.

    The sign-extended field is a test of its sign bit in the source choosing
    between the field with the bits above it set and the field alone: the
    usual (non-negative) value costs a test and the field's own shift and
    mask, not `((f ^ sb) - sb) & mask` (two more operations, and a 64-bit
    intermediate for a negative value).  Bit s of a W source is bit s of its
    X local, so the test needs no W mask."""
    mask = (1 << bits) - 1
    if rn == 31 or f"x{rn}" in b.consts:      # a known source: the value itself
        v = b.consts.get(f"x{rn}", 0) & mask
        if s >= r:
            width = s - r + 1
            f = (v >> r) & ((1 << width) - 1)
            res = f - ((f >> (width - 1)) << width)
        else:
            width = s + 1
            f = v & ((1 << width) - 1)
            res = (f - ((f >> s) << width)) << (bits - r)
        return f"{res & mask:#x}"
    src = b.rx(rn)
    if s >= r:       # SBFX / ASR / SXT*: sign-extend the field src<s:r>
        width = s - r + 1
        fm = (1 << width) - 1
        if s == bits - 1 and (bits == 64 or b.fits32(rn)):
            part = f"{src} >> {r}" if r else src      # ASR of a value in range: no field mask
        else:
            part = f"({src} >> {r}) & {fm:#x}" if r else f"{src} & {fm:#x}"
        hi = mask & ~fm
    else:            # SBFIZ: sign-extend src<s:0>, shift left by bits - r
        width = s + 1
        part = f"({src} & {(1 << width) - 1:#x}) << {bits - r}"
        hi = mask & ~((1 << (width + bits - r)) - 1)
    if not hi:       # the field is the whole register (ASR #0)
        return part
    return f"(({part}) | {hi:#x} if {src} & {1 << s:#x} else {part})"


def emit_extract(b, insn: int) -> None:
    sf, op21, n, o0 = insn >> 31, field(insn, 30, 29), field(insn, 22, 22), field(insn, 21, 21)
    lsb = field(insn, 15, 10)
    if op21 or o0 or n != sf or (not sf and lsb >= 32):
        return b.end_undefined()
    bits = 64 if sf else 32
    rm, rn, rd = field(insn, 20, 16), field(insn, 9, 5), field(insn, 4, 0)
    # the result's mask drops what a W hi has above bit 31
    hi, lo = b.rx(rn), b.rx(rm, not sf)
    if lsb == 0:
        b.wx(rd, lo, w=not sf, masked=True)
        return
    b.wx(rd, f"(({hi} << {bits - lsb}) | ({lo} >> {lsb}))", w=not sf)
