"""A64 branches, exception generation and system instructions (op0 = 101x).

B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, BR/BLR/RET, SVC, BRK, the hint space
(NOP, YIELD, PAC*SP/AUT*SP, BTI: all executed as NOP), barriers, CLREX,
MRS/MSR of the registers EL0 can reach (and the ID registers Linux emulates
for EL0), and the cache maintenance SYS instructions (DC ZVA zeroes its block).
"""
from __future__ import annotations

import time

from .bits import field, sign_extend
from .features import ID_REGISTERS   # Linux traps and emulates these for EL0 (HWCAP_CPUID)
from .trips import TRIPS

M64 = 0xFFFF_FFFF_FFFF_FFFF

CNTFRQ = 1_000_000_000      # the counter ticks in nanoseconds
DCZID = 4                   # DC ZVA block = 4 << 4 = 64 bytes, allowed
CTR_EL0 = 0x8444C004        # 64-byte lines, no IDC/DIC: programs do their own maintenance

HELPERS = {"MONO_NS": time.monotonic_ns, "TRIPS": TRIPS}   # (trips.py: loop trip counters)


def decode(insn: int):
    top = insn >> 29
    if (insn >> 26) & 0x1F == 0b00101:          # B / BL
        return emit_b
    if insn >> 24 == 0b01010100:                # B.cond
        return emit_bcond if not (insn & 0x10) else None
    if (insn >> 25) & 0x3F == 0b011010:         # CBZ / CBNZ
        return emit_cbz
    if (insn >> 25) & 0x3F == 0b011011:         # TBZ / TBNZ
        return emit_tbz
    if top == 0b110:
        if insn >> 24 == 0b11010100:
            return _exception(insn)
        if insn >> 22 == 0b1101010100:
            return emit_system
        if insn >> 25 == 0b1101011:
            return emit_branch_reg
    return None


# ---- immediate branches ---------------------------------------------------------
def emit_b(b, insn: int) -> None:
    target = b.pc + (sign_extend(field(insn, 25, 0), 26) << 2)
    if insn >> 31:
        # BL: a call ends the trace, so a function body is translated once,
        # not copied into every caller's trace
        b.wx(30, f"{b.pc + 4:#x}", masked=True)
        return b.end_branch(target, follow=False)
    b.end_branch(target)


def emit_bcond(b, insn: int) -> None:
    target = b.pc + (sign_extend(field(insn, 23, 5), 19) << 2)
    b.end_cond_branch(b.cond(insn & 0xF), target)


def emit_cbz(b, insn: int) -> None:
    sf, nz = insn >> 31, (insn >> 24) & 1
    target = b.pc + (sign_extend(field(insn, 23, 5), 19) << 2)
    reg = b.rx(field(insn, 4, 0), not sf)
    b.end_cond_branch(f"{reg} {'!=' if nz else '=='} 0", target)


def emit_tbz(b, insn: int) -> None:
    bit = (field(insn, 31, 31) << 5) | field(insn, 23, 19)
    nz = (insn >> 24) & 1
    target = b.pc + (sign_extend(field(insn, 18, 5), 14) << 2)
    reg = b.rx(field(insn, 4, 0))
    # one operation, not a shift and a mask: the register's bit 63 is its top
    # bit, any other is tested against its own constant
    bit_set = f"{reg} >> 63" if bit == 63 else f"{reg} & {1 << bit:#x}"
    test = f"({bit_set})" if nz else f"not ({bit_set})"
    b.end_cond_branch(test, target)


def emit_branch_reg(b, insn: int) -> None:
    opc, op2, op3, op4 = field(insn, 24, 21), field(insn, 20, 16), field(insn, 15, 10), field(insn, 4, 0)
    if op2 != 0x1F or op3 != 0 or op4 != 0 or opc > 2:
        return b.end_undefined()   # pointer-authenticated forms and ERET/DRPS
    target = b.rx(field(insn, 9, 5))
    if opc == 1:     # BLR: read the target before LR is written (BLR x30)
        t = b.tmp("tgt")
        b.line(f"{t} = {target}")
        b.wx(30, f"{b.pc + 4:#x}", masked=True)
        target = t
    b.end_branch_reg(target)


# ---- exceptions ---------------------------------------------------------------
def _exception(insn: int):
    opc, op2, ll = field(insn, 23, 21), field(insn, 4, 2), field(insn, 1, 0)
    if op2:
        return None
    if opc == 0 and ll == 1:
        return lambda b, i: b.end_svc()
    if opc == 1 and ll == 0:
        return lambda b, i: b.end_brk()
    return None      # HVC, SMC, HLT, DCPS*: not available at EL0


# ---- system -------------------------------------------------------------------
def emit_system(b, insn: int) -> None:
    l = field(insn, 21, 21)
    op0, op1 = field(insn, 20, 19), field(insn, 18, 16)
    crn, crm, op2, rt = field(insn, 15, 12), field(insn, 11, 8), field(insn, 7, 5), field(insn, 4, 0)
    if op0 == 0:
        if not l and op1 == 3 and crn == 2 and rt == 31:
            return                       # hints: NOP, YIELD, WFE, PACIASP, BTI, ...
        if not l and op1 == 3 and crn == 3 and rt == 31:
            return _barrier(b, op2)
        if not l and crn == 4 and rt == 31 and op1 == 0 and op2 == 0:
            # CFINV: invert the carry flag
            return b.set_nzcv(f"{b.nzcv()} ^ 0x20000000")
        return b.end_undefined()
    if op0 == 1:                         # SYS / SYSL: cache maintenance
        if l:
            return b.end_undefined()
        if op1 == 3 and crn == 7 and crm == 4 and op2 == 1:
            return _dc_zva(b, rt)
        if op1 == 3 and crn == 7 and crm in (5, 10, 11, 12, 13, 14):
            return                       # IC IVAU, DC CVAC/CVAU/CVAP/CVADP/CIVAC
        return b.end_undefined()
    key = (op0, op1, crn, crm, op2)
    if l:
        return _mrs(b, key, rt)
    return _msr(b, key, rt)


def _barrier(b, op2: int) -> None:
    if op2 == 2:                         # CLREX
        b.line("S.excl_addr = -1")
    elif op2 in (4, 5, 6, 7):            # DSB, DMB, ISB, SB: one host process per thread, and
        pass                             # the host's x86 stores are already ordered (TSO)
    else:
        b.end_undefined()


def _dc_zva(b, rt: int) -> None:
    base = b.tmp("za")
    b.mark_faultable()
    b.line(f"{base} = {b.rx(rt)} & 0xFFFFFFFFFFFFFFC0")
    # the aligned block never crosses a page: one copy of 64 zero bytes (memset's
    # loop, four 16-byte stores before); the slow path stores it as those four
    # (the first faults if the page cannot be written)
    b.line(f"try: _o = {base} & 4095; WT[{base} >> 12][_o:_o + 64] = ZERO64")
    b.line("except Exception: " + "; ".join(
        f"ST({base}{f' + {off}' if off else ''}, 16, 0)" for off in range(0, 64, 16)))


def _mrs(b, key: tuple, rt: int) -> None:
    if key == (3, 3, 13, 0, 2):
        expr = "S.tpidr"
    elif key == (3, 3, 13, 0, 3):
        expr = "S.tpidrro"
    elif key == (3, 3, 4, 2, 0):
        expr = b.nzcv()
    elif key == (3, 3, 4, 4, 0):
        expr = "S.fpcr"
    elif key == (3, 3, 4, 4, 1):
        expr = "S.fpsr"
    elif key in ((3, 3, 14, 0, 2), (3, 3, 14, 0, 1), (3, 3, 14, 0, 6), (3, 3, 14, 0, 5)):
        expr = "MONO_NS()"               # CNTVCT_EL0, CNTPCT_EL0 (and the self-synchronized forms)
    elif key == (3, 3, 14, 0, 0):
        expr = f"{CNTFRQ}"
    elif key == (3, 3, 0, 0, 7):
        expr = f"{DCZID}"
    elif key == (3, 3, 0, 0, 1):
        expr = f"{CTR_EL0:#x}"
    elif key == (3, 3, 4, 2, 1):         # DAIF is not readable at EL0 on Linux, but
        return b.end_undefined()         # name it so nobody adds it by accident
    elif key in ID_REGISTERS:
        expr = f"{ID_REGISTERS[key]:#x}"
    else:
        return b.end_undefined()
    b.wx(rt, expr, masked=True)


def _msr(b, key: tuple, rt: int) -> None:
    val = b.rx(rt)
    if key == (3, 3, 13, 0, 2):
        b.line(f"S.tpidr = {val}")
    elif key == (3, 3, 4, 2, 0):
        b.set_nzcv(f"{val} & 0xF0000000")
    elif key == (3, 3, 4, 4, 0):
        b.line(f"S.fpcr = {val} & 0x07FF9F00")
    elif key == (3, 3, 4, 4, 1):
        b.line(f"S.fpsr = {val} & 0xF800009F")
    else:
        b.end_undefined()
