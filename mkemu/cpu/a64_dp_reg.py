"""A64 data processing -- register (Arm ARM C4.1.95, op0 = x101).

Logical and add/subtract with shifted or extended registers, add/subtract
with carry, conditional compare and select, data-processing with one, two
and three sources (bit reversal, byte reversal, CLZ/CLS, division, variable
shifts, CRC32, multiply-add and high multiplies).
"""
from __future__ import annotations

from . import dp_helpers
from .bits import field

M64 = 0xFFFF_FFFF_FFFF_FFFF


HELPERS = dp_helpers.HELPERS    # (the run-time half of this family: dp_helpers.py)


def decode(insn: int):
    op1 = field(insn, 28, 28)
    op2 = field(insn, 24, 21)
    if not op1:
        if not op2 & 0b1000:
            return emit_logic_shifted
        return emit_addsub_extended if op2 & 1 else emit_addsub_shifted
    if op2 == 0b0000:
        return emit_adc if field(insn, 15, 10) == 0 else None
    if op2 == 0b0010:
        return emit_ccmp if not field(insn, 10, 10) and not field(insn, 4, 4) else None
    if op2 == 0b0100:
        return emit_csel
    if op2 == 0b0110:
        return emit_dp1 if field(insn, 30, 30) else emit_dp2
    if op2 & 0b1000:
        return emit_dp3
    return None


# ---- operand helpers -----------------------------------------------------------
def shifted(b, rm: int, shift: int, amount: int, sf: int, wrapped: bool = False) -> str | None:
    """Expression for Rm shifted (LSL, LSR, ASR, ROR); None if the amount is invalid.

    wrapped: the caller's result is reduced modulo 2**bits and depends only on
    the operand's low bits (ADD, SUB, AND with an operand in range), so LSL and
    ASR need no mask of their own and an LSL or unshifted W operand none either."""
    bits = 64 if sf else 32
    if amount >= bits:
        return None
    mask = (1 << bits) - 1
    if wrapped and shift == 0:
        r = b.rx(rm)
        return f"({r} << {amount})" if amount else r
    r = b.rx(rm, not sf)
    if amount == 0:
        return r
    if shift == 0:
        return f"(({r} << {amount}) & {mask:#x})"
    if shift == 1:
        return f"({r} >> {amount})"
    if shift == 2:
        sb = 1 << (bits - 1)
        asr = f"((({r} ^ {sb:#x}) - {sb:#x}) >> {amount})"
        return asr if wrapped else f"({asr} & {mask:#x})"
    return f"((({r} >> {amount}) | ({r} << {bits - amount})) & {mask:#x})"


def extended(b, rm: int, option: int, amount: int, sf: int) -> str:
    size = 8 << (option & 3)
    # the low `size` bits of Rm (rx(.., w=True) drops the mask of a value known to fit)
    low = b.rx(rm, True) if size == 32 else b.rx(rm) if size == 64 else \
        f"({b.rx(rm)} & {(1 << size) - 1:#x})"
    if option & 4 and size < 64 and rm != 31:   # signed extend
        # Rm's sign bit chooses: the usual non-negative value is the field alone
        # (a test, not `(low ^ sb) - sb`), a negative one the field less 2**size
        e = f"({low} - {1 << size:#x} if {b.rx(rm)} & {1 << (size - 1):#x} else {low})"
    else:
        e = low
    return f"({e} << {amount})" if amount else e


# ---- emitters ----------------------------------------------------------------------
def emit_logic_shifted(b, insn: int) -> None:
    sf, opc, shift, n = insn >> 31, field(insn, 30, 29), field(insn, 23, 22), field(insn, 21, 21)
    rm, imm6, rn, rd = field(insn, 20, 16), field(insn, 15, 10), field(insn, 9, 5), field(insn, 4, 0)
    bits = 64 if sf else 32
    mask = (1 << bits) - 1
    a = b.rx(rn, not sf)
    # AND with Rn in range: the shifted operand's bits above `bits` fall away
    op2 = shifted(b, rm, shift, imm6, sf, wrapped=opc in (0, 3) and not n)
    if op2 is None:
        return b.end_undefined()
    if n:
        op2 = f"({op2} ^ {mask:#x})"
    if opc in (0, 3):
        expr = f"{a} & {op2}"
    elif opc == 1:
        # MOV (ORR with XZR) is the most common form: no OR needed
        expr = op2 if rn == 31 else f"{a} | {op2}"
    else:
        expr = f"{a} ^ {op2}"
    if opc == 3:     # ANDS / BICS
        t = b.tmp()
        b.line(f"{t} = {expr}")
        b.set_flags("logic", bits, t)
        b.wx(rd, t, w=not sf, masked=True)
    else:
        b.wx(rd, expr, w=not sf, masked=True)


def _addsub(b, sf: int, op: int, s: int, a: str, operand: str, rd: int, rd_sp: bool) -> None:
    bits = 64 if sf else 32
    w = not sf
    if s:
        b.set_flags("sub" if op else "add", bits, a, operand)
        fa, fb = b.flags[2], b.flags[3]
        b.wx(rd, f"{fa} - {fb}" if op else f"{fa} + {fb}", w)
    else:
        res = f"{a} - {operand}" if op else f"{a} + {operand}"
        (b.wsp if rd_sp else b.wx)(rd, res, w)


def emit_addsub_shifted(b, insn: int) -> None:
    sf, op, s, shift = insn >> 31, field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22)
    rm, imm6, rn, rd = field(insn, 20, 16), field(insn, 15, 10), field(insn, 9, 5), field(insn, 4, 0)
    if shift == 3:
        return b.end_undefined()
    # without flags the result's mask leaves only the operands' low bits to matter
    operand = shifted(b, rm, shift, imm6, sf, wrapped=not s)
    if operand is None:
        return b.end_undefined()
    _addsub(b, sf, op, s, b.rx(rn, not sf and s), operand, rd, rd_sp=False)


def emit_addsub_extended(b, insn: int) -> None:
    sf, op, s, opt = insn >> 31, field(insn, 30, 30), field(insn, 29, 29), field(insn, 23, 22)
    rm, option, imm3 = field(insn, 20, 16), field(insn, 15, 13), field(insn, 12, 10)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    if opt or imm3 > 4:
        return b.end_undefined()
    bits = 64 if sf else 32
    mask = (1 << bits) - 1
    operand = extended(b, rm, option, imm3, sf)
    if s:   # the flags need the operand in range; the result alone is masked by wx
        operand = f"({operand} & {mask:#x})"
    _addsub(b, sf, op, s, b.rsp(rn, not sf), operand, rd, rd_sp=not s)


def emit_adc(b, insn: int) -> None:
    sf, op, s = insn >> 31, field(insn, 30, 30), field(insn, 29, 29)
    rm, rn, rd = field(insn, 20, 16), field(insn, 9, 5), field(insn, 4, 0)
    bits = 64 if sf else 32
    mask = (1 << bits) - 1
    a = b.rx(rn, not sf)
    m = b.rx(rm, not sf)
    operand = f"({m} ^ {mask:#x})" if op else m
    carry = f"(({b.nzcv()} >> 29) & 1)"
    if s:
        r, nz = b.tmp(), b.tmp()
        b.line(f"{r}, {nz} = ADC({a}, {operand}, {carry}, {bits})")
        b.set_nzcv(nz)
        b.wx(rd, r, masked=True)
    else:
        b.wx(rd, f"{a} + {operand} + {carry}", not sf)


def emit_ccmp(b, insn: int) -> None:
    sf, op, s = insn >> 31, field(insn, 30, 30), field(insn, 29, 29)
    if not s:
        return b.end_undefined()
    cond, imm_form = field(insn, 15, 12), field(insn, 11, 11)
    rn, nzcv_imm = field(insn, 9, 5), field(insn, 3, 0)
    bits = 64 if sf else 32
    a = b.rx(rn, not sf)
    operand = f"{field(insn, 20, 16):#x}" if imm_form else b.rx(field(insn, 20, 16), not sf)
    test = b.cond(cond)
    b.set_cond_flags("sub" if op else "add", bits, a, operand, test, nzcv_imm << 28)


def emit_csel(b, insn: int) -> None:
    sf, op, s = insn >> 31, field(insn, 30, 30), field(insn, 29, 29)
    rm, cond, op2 = field(insn, 20, 16), field(insn, 15, 12), field(insn, 11, 10)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    if s or op2 > 1:
        return b.end_undefined()
    bits = 64 if sf else 32
    mask = (1 << bits) - 1
    a, m = b.rx(rn, not sf), b.rx(rm, not sf)
    kind = (op << 1) | op2
    alt = {0: m, 1: f"(({m} + 1) & {mask:#x})", 2: f"({m} ^ {mask:#x})",
           3: f"((-{m}) & {mask:#x})"}[kind]
    b.wx(rd, f"{a} if {b.cond(cond)} else {alt}", w=not sf, masked=True)


def emit_dp1(b, insn: int) -> None:
    sf, s, opcode2, opcode = insn >> 31, field(insn, 29, 29), field(insn, 20, 16), field(insn, 15, 10)
    rn, rd = field(insn, 9, 5), field(insn, 4, 0)
    if s or opcode2:
        return b.end_undefined()     # PAC instructions: not implemented (not advertised)
    bits = 64 if sf else 32
    a = b.rx(rn, not sf)
    if opcode == 0:
        expr = f"int.from_bytes(({a}).to_bytes({bits // 8}, 'little').translate(RBIT8), 'big')"
    elif opcode == 1:   # REV16
        m = 0x00FF00FF00FF00FF if sf else 0x00FF00FF
        expr = f"((({a} & {m:#x}) << 8) | (({a} >> 8) & {m:#x}))"
    elif opcode == 2:
        expr = f"REV32_64({a})" if sf else f"int.from_bytes({a}.to_bytes(4, 'little'), 'big')"
    elif opcode == 3 and sf:
        expr = f"int.from_bytes({a}.to_bytes(8, 'little'), 'big')"
    elif opcode == 4:
        expr = f"{bits} - ({a}).bit_length()"
    elif opcode == 5:
        expr = f"{bits - 1} - (({a} >> 1) ^ ({a} & {(1 << (bits - 1)) - 1:#x})).bit_length()"
    else:
        return b.end_undefined()
    b.wx(rd, expr, w=not sf, masked=True)


def emit_dp2(b, insn: int) -> None:
    sf, s, opcode = insn >> 31, field(insn, 29, 29), field(insn, 15, 10)
    rm, rn, rd = field(insn, 20, 16), field(insn, 9, 5), field(insn, 4, 0)
    if s:
        return b.end_undefined()
    bits = 64 if sf else 32
    mask = (1 << bits) - 1
    if opcode in (2, 3, 8, 9, 10, 11):
        a, m = b.rx(rn, not sf), b.rx(rm, not sf)
        if opcode == 2:
            expr = f"({a} // {m}) if {m} else 0"
        elif opcode == 3:
            expr = f"SDIV({a}, {m}, {bits})"
        else:
            amt = f"({m} & {bits - 1})"
            if opcode == 8:
                expr = f"({a} << {amt}) & {mask:#x}"
            elif opcode == 9:
                expr = f"{a} >> {amt}"
            elif opcode == 10:
                sb = 1 << (bits - 1)
                expr = f"((({a} ^ {sb:#x}) - {sb:#x}) >> {amt}) & {mask:#x}"
            else:
                t = b.tmp()
                b.line(f"{t} = {amt}")
                expr = f"(({a} >> {t}) | ({a} << ({bits} - {t}))) & {mask:#x}"
        b.wx(rd, expr, masked=True)
        return
    if opcode >> 3 == 0b010:     # CRC32{B,H,W,X} and CRC32C*
        size = opcode & 3
        if (size == 3) != bool(sf):
            return b.end_undefined()
        nbytes = 1 << size
        acc = b.rx(rn, True)
        val = b.rx(rm) if size == 3 else f"({b.rx(rm)} & {(1 << (8 * nbytes)) - 1:#x})"
        b.wx(rd, f"CRC({acc}, {val}, {nbytes}, {bool(opcode & 4)})", masked=True)
        return
    b.end_undefined()


def emit_dp3(b, insn: int) -> None:
    sf, op54, op31, o0 = insn >> 31, field(insn, 30, 29), field(insn, 23, 21), field(insn, 15, 15)
    rm, ra, rn, rd = field(insn, 20, 16), field(insn, 14, 10), field(insn, 9, 5), field(insn, 4, 0)
    if op54 or (not sf and op31):
        return b.end_undefined()
    bits = 64 if sf else 32
    w = not sf
    if op31 == 0:              # MADD / MSUB (the result's mask makes W masks redundant)
        prod = f"{b.rx(rn)} * {b.rx(rm)}"
        acc = b.rx(ra)
        b.wx(rd, f"{acc} - {prod}" if o0 else prod if acc == "0" else f"{acc} + {prod}", w)
        return
    if op31 in (1, 5):         # SMADDL / SMSUBL / UMADDL / UMSUBL
        if op31 == 1:
            x = f"((({b.rx(rn, True)}) ^ 0x80000000) - 0x80000000)"
            y = f"((({b.rx(rm, True)}) ^ 0x80000000) - 0x80000000)"
        else:
            x, y = b.rx(rn, True), b.rx(rm, True)
        acc = b.rx(ra)
        b.wx(rd, f"{acc} - {x} * {y}" if o0 else f"{acc} + {x} * {y}")
        return
    if op31 in (2, 6) and not o0:     # SMULH / UMULH (Ra should be 31; ignored, as hardware does)
        a, m = b.rx(rn), b.rx(rm)
        if op31 == 2:
            sb = 1 << 63
            expr = f"((((({a} ^ {sb:#x}) - {sb:#x}) * (({m} ^ {sb:#x}) - {sb:#x})) >> 64) & {M64:#x})"
        else:
            expr = f"({a} * {m}) >> 64"
        b.wx(rd, expr, masked=True)
        return
    b.end_undefined()
