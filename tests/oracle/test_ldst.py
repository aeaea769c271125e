"""General-register loads and stores against unicorn.

Every addressing mode (unsigned offset, unscaled, pre/post-index, unprivileged,
register offset with each extend, literal), pairs, prefetches, load-acquire /
store-release (incl. RCPC), exclusives (single and pair, in LDXR ... STXR
sequences), LSE atomics and CAS/CASP.  Each generator picks the address the
instruction should touch first and derives the base register from it, so the
whole immediate range is exercised while the access stays inside DATA (or, on
purpose, straddles a page boundary inside DATA).  The SIMD&FP forms are in
test_ldst_simd.py, which shares the helpers here.

Known unicorn (QEMU) deviations that are kept out, each where it applies:
  * LDSMAX/LDSMIN below 64 bits compare as unsigned in unicorn (the Arm ARM
    compares signed); those cases use operands of equal sign.
  * A store-exclusive to an unaligned address with the monitor not set fails
    quietly in unicorn; the Arm ARM (ExclusiveMonitorsPass) checks alignment
    first, so mkemu faults.  Exclusives here are always aligned.
  * LDRAA/LDRAB (pointer authentication) are not implemented (PAC is not
    advertised, so they are SIGILL, as on a core without FEAT_PAuth).
"""
from __future__ import annotations

import random

import pytest

import unicorn

from mkemu.cpu.engine import TRAP_FAULT
from tests.support.oracle import (DATA, DATA_SIZE, FAULTS, Case, check, random_value, record,
                                  run_mkemu, run_unicorn)

M64 = 0xFFFF_FFFF_FFFF_FFFF
N = 220                  # executions per generator in the default run


# ---- shared helpers (also used by test_ldst_simd.py) --------------------------------
def state(rng: random.Random):
    """Random X registers, V registers and DATA contents (fast: one randbytes call)."""
    x = {n: random_value(rng) for n in range(31)}
    x[31] = DATA + 0x2000 + rng.randrange(64) * 16
    v = {n: rng.getrandbits(128) for n in range(32)}
    return x, v, bytearray(rng.randbytes(DATA_SIZE))


def target(rng: random.Random, span: int, align: int = 1) -> int:
    """An address whose `span` bytes lie in DATA; sometimes right at a page end."""
    if rng.random() < 0.15 and align < 16:
        page = DATA + 0x1000 * rng.randrange(1, DATA_SIZE // 0x1000)
        a = page - rng.randrange(1, span + 1)
    else:
        a = DATA + 64 + rng.randrange(DATA_SIZE - span - 128)
    a &= ~(align - 1)
    return a


def natural(rng: random.Random, size: int) -> int:
    """A naturally aligned address for `size` bytes in DATA."""
    return (DATA + 64 + rng.randrange(DATA_SIZE - 128)) & ~(size - 1)


def sxt(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def extend(value: int, option: int) -> int:
    """ExtendReg for the register-offset forms (option 2, 3, 6, 7)."""
    if option == 2:
        return value & 0xFFFF_FFFF
    if option == 6:
        return sxt(value, 32)
    if option == 7:
        return sxt(value, 64)
    return value


def run(code, x, v, data, nzcv: int = 0) -> None:
    check(Case(code=list(code), x=x, v=v, nzcv=nzcv, data=bytes(data)))


def reg_not(rng: random.Random, *avoid: int, lo: int = 0, hi: int = 31) -> int:
    """A register number in [lo, hi) not in avoid."""
    while True:
        r = rng.randrange(lo, hi)
        if r not in avoid:
            return r


# ---- encodings -------------------------------------------------------------------------
def enc_uimm(size, v, opc, imm12, rn, rt):
    return 0x39000000 | size << 30 | v << 26 | opc << 22 | imm12 << 10 | rn << 5 | rt


def enc_imm9(size, v, opc, imm9, mode, rn, rt):
    return 0x38000000 | size << 30 | v << 26 | opc << 22 | (imm9 & 0x1FF) << 12 | mode << 10 | rn << 5 | rt


def enc_regoff(size, v, opc, rm, option, s, rn, rt):
    return 0x38200800 | size << 30 | v << 26 | opc << 22 | rm << 16 | option << 13 | s << 12 | rn << 5 | rt


def enc_pair(opc, v, mode, l, imm7, rt2, rn, rt):
    return 0x28000000 | opc << 30 | v << 26 | mode << 23 | l << 22 | (imm7 & 0x7F) << 15 | rt2 << 10 | rn << 5 | rt


def enc_literal(opc, v, imm19, rt):
    return 0x18000000 | opc << 30 | v << 26 | (imm19 & 0x7FFFF) << 5 | rt


def enc_excl(size, o2, l, o1, rs, o0, rt2, rn, rt):
    return 0x08000000 | size << 30 | o2 << 23 | l << 22 | o1 << 21 | rs << 16 | o0 << 15 | rt2 << 10 | rn << 5 | rt


def enc_atomic(size, a, r, rs, o3, opc, rn, rt):
    return 0x38200000 | size << 30 | a << 23 | r << 22 | rs << 16 | o3 << 15 | opc << 12 | rn << 5 | rt


def enc_rcpc(size, opc, imm9, rn, rt):
    return 0x19000000 | size << 30 | opc << 22 | (imm9 & 0x1FF) << 12 | rn << 5 | rt


def simd_scale(size: int, opc: int) -> int:
    return 4 if opc & 2 else size


def size_opc(rng: random.Random, v: int) -> tuple[int, int]:
    """size and opc fields; for SIMD&FP mostly the allocated B/H/S/D/Q ones."""
    if v and rng.random() < 0.85:
        return rng.choice([(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (3, 1),
                           (0, 2), (0, 3), (0, 2), (0, 3)])
    return rng.randrange(4), rng.randrange(4)


# ---- single register, immediate and register offsets ----------------------------------
def gen_uimm(rng, v=0):
    """LDR/STR/LDRB/.../PRFM (unsigned offset): the full imm12 range."""
    x, vr, data = state(rng)
    size, opc = size_opc(rng, v)
    scale = simd_scale(size, opc) if v else size
    imm12 = rng.choice([0, 1, rng.randrange(64), rng.randrange(4096)])
    rn, rt = rng.randrange(32), rng.randrange(32)
    addr = target(rng, 16)
    x[rn] = (addr - (imm12 << scale)) & M64
    return [enc_uimm(size, v, opc, imm12, rn, rt)], x, vr, data


def gen_imm9(rng, v=0):
    """LDUR/STUR (and PRFUM), post-index, LDTR/STTR, pre-index."""
    x, vr, data = state(rng)
    (size, opc), mode = size_opc(rng, v), rng.choice([0, 1, 3] if v and rng.random() < 0.9 else [0, 1, 2, 3])
    imm = rng.choice([0, rng.randrange(-16, 16), rng.randrange(-256, 256)])
    rn, rt = rng.randrange(32), rng.randrange(32)
    addr = target(rng, 16)
    x[rn] = addr if mode == 1 else (addr - imm) & M64
    return [enc_imm9(size, v, opc, imm, mode, rn, rt)], x, vr, data


def gen_regoff(rng, v=0):
    """Register offset with UXTW/LSL/SXTW/SXTX, scaled or not (and the unallocated options)."""
    x, vr, data = state(rng)
    size, opc = size_opc(rng, v)
    scale = simd_scale(size, opc) if v else size
    option = rng.choice([2, 3, 6, 7, 2, 3, 6, 7, rng.randrange(8)])
    s = rng.randrange(2)
    rn, rt = rng.randrange(32), rng.randrange(32)
    rm = rng.randrange(32)
    addr = target(rng, 16)
    if rm == rn and rn != 31:
        rm = (rm + 1) % 32
    if rm != 31:
        x[rm] = rng.choice([rng.randrange(-300, 300) & M64, random_value(rng),
                            rng.randrange(1 << 32) | (rng.getrandbits(32) << 32)])
    off = (extend(x[rm], option) << (scale if s else 0)) if rm != 31 else 0
    x[rn] = (addr - off) & M64
    return [enc_regoff(size, v, opc, rm, option, s, rn, rt)], x, vr, data


def gen_literal(rng, v=0):
    """LDR/LDRSW/PRFM (literal): random words after the load, skipped by a branch."""
    x, vr, data = state(rng)
    opc, rt = rng.randrange(4), rng.randrange(32)
    n = 8
    words = [rng.getrandbits(32) for _ in range(n)]
    # target: one of the data words (8-byte aligned or not), or anywhere nearby
    imm19 = rng.choice([2 + rng.randrange(n - 4), rng.randrange(-8, 1020)])
    code = [enc_literal(opc, v, imm19, rt), 0x14000000 | (n + 1)] + words   # b <end>
    return code, x, vr, data


# ---- pairs -------------------------------------------------------------------------------
def gen_pair(rng, v=0):
    """LDP/STP/LDPSW/LDNP/STNP in every mode, incl. Rt==Rt2 and Rn==Rt with writeback."""
    x, vr, data = state(rng)
    opc, mode, l = rng.choice([0, 1, 2, 0, 1, 2, 2, 3]), rng.randrange(4), rng.randrange(2)
    if v:
        nbytes = 4 << opc if opc < 3 else 4
    else:
        nbytes = 8 if opc >= 2 else 4
    imm7 = rng.choice([0, rng.randrange(-8, 8), rng.randrange(-64, 64)])
    rn, rt, rt2 = rng.randrange(32), rng.randrange(32), rng.randrange(32)
    if rng.random() < 0.7 and rt2 == rt:
        rt2 = (rt + 1) % 32
    addr = target(rng, 2 * nbytes)
    x[rn] = addr if mode == 1 else (addr - imm7 * nbytes) & M64
    return [enc_pair(opc, v, mode, l, imm7, rt2, rn, rt)], x, vr, data


# ---- ordered, RCPC, unprivileged ------------------------------------------------------------
def gen_ordered(rng):
    """LDAR/STLR/LDLAR/STLLR (all sizes; unaligned is allowed, as in unicorn)."""
    x, vr, data = state(rng)
    size, l, o0 = rng.randrange(4), rng.randrange(2), rng.randrange(2)
    rn, rt = rng.randrange(32), rng.randrange(32)
    x[rn] = natural(rng, 1 << size) if rng.random() < 0.8 else target(rng, 8)
    return [enc_excl(size, 1, l, 0, 31, o0, 31, rn, rt)], x, vr, data


def gen_rcpc(rng):
    """LDAPR (all sizes), LDAPUR*/STLUR* with a signed 9-bit offset."""
    x, vr, data = state(rng)
    rn, rt = rng.randrange(32), rng.randrange(32)
    size = rng.randrange(4)
    if rng.random() < 0.4:
        x[rn] = natural(rng, 1 << size)
        return [enc_atomic(size, 1, 0, 31, 1, 4, rn, rt)], x, vr, data
    opc = rng.randrange(4)
    imm = rng.randrange(-256, 256)
    x[rn] = (natural(rng, 1 << size) - imm) & M64
    return [enc_rcpc(size, opc, imm, rn, rt)], x, vr, data


def gen_prefetch(rng):
    """PRFM (imm, register, literal) and PRFUM with every prfop, allocated or not."""
    x, vr, data = state(rng)
    prfop, rn = rng.randrange(32), rng.randrange(32)
    x[rn] = random_value(rng)              # a prefetch never faults, wherever it points
    form = rng.randrange(4)
    if form == 0:
        word = enc_uimm(3, 0, 2, rng.randrange(4096), rn, prfop)
    elif form == 1:
        word = enc_imm9(3, 0, 2, rng.randrange(-256, 256), 0, rn, prfop)
    elif form == 2:
        word = enc_regoff(3, 0, 2, rng.randrange(32), rng.choice([2, 3, 6, 7]), rng.randrange(2), rn, prfop)
    else:
        word = enc_literal(3, 0, rng.randrange(1 << 19), prfop)
    return [word], x, vr, data


# ---- exclusives -----------------------------------------------------------------------------
def _middle(rng, size, rn, rt):
    """An instruction between load- and store-exclusive: harmless, CLREX, or a plain
    store to the monitored address (same value: the monitor still passes, as in
    QEMU; different value: it fails)."""
    kind = rng.randrange(5)
    if kind == 0:
        return [0xD503201F]                               # nop
    if kind == 1:
        return [0xD503305F]                               # clrex
    if kind == 2:
        return [0x91000400 | 9 << 5 | 9]                  # add x9, x9, #1 (a real RMW loop)
    if kind == 3:                                         # store back what was loaded
        return [enc_uimm(size, 0, 0, 0, rn, rt)]
    return [enc_uimm(size, 0, 0, 0, rn, 9)]               # store x9: (usually) a new value


def gen_exclusive(rng):
    """LDXR/LDAXR ... STXR/STLXR of every size, matched or not."""
    x, vr, data = state(rng)
    size = rng.randrange(4)
    rn = rng.choice([31, reg_not(rng, 9)])
    rt = reg_not(rng, rn, 9)
    rs = reg_not(rng, rn, rt, 9)
    rt2 = reg_not(rng, rn, rs, 9)        # value register of the store-exclusive
    addr = natural(rng, 1 << size)
    x[rn] = addr
    ld = enc_excl(size, 0, 1, 0, 31, rng.randrange(2), 31, rn, rt)
    st = enc_excl(size, 0, 0, 0, rs, rng.randrange(2), 31, rn, rt2)
    r = rng.random()
    if r < 0.1:
        code = [st]                                       # no monitor: fails
    elif r < 0.2:                                         # store to another address: fails
        other = reg_not(rng, rn, rt, rs, rt2, 9)
        x[other] = natural(rng, 1 << size)
        code = [ld, enc_excl(size, 0, 0, 0, rs, 0, 31, other, rt2)]
    else:
        code = [ld] + _middle(rng, size, rn, rt) + [st]
    return code, x, vr, data


def gen_exclusive_pair(rng):
    """LDXP/LDAXP ... STXP/STLXP, 32- and 64-bit halves."""
    x, vr, data = state(rng)
    size = rng.choice([2, 3])
    rn = rng.choice([31, reg_not(rng, 9)])
    rt = reg_not(rng, rn, 9)
    rt2 = reg_not(rng, rn, rt, 9)
    rs = reg_not(rng, rn, rt, rt2, 9)
    s1 = reg_not(rng, rn, rs, 9)
    s2 = reg_not(rng, rn, rs, 9)
    x[rn] = natural(rng, 2 << size)
    ld = enc_excl(size, 0, 1, 1, 31, rng.randrange(2), rt2, rn, rt)
    st = enc_excl(size, 0, 0, 1, rs, rng.randrange(2), s2, rn, s1)
    mid = [[0xD503201F], [0xD503305F], [enc_pair(size - 1 if size == 3 else 0, 0, 2, 0, 0, rt2, rn, rt)],
           [enc_uimm(size, 0, 0, 0, rn, 9)]][rng.randrange(4)]
    code = [st] if rng.random() < 0.1 else [ld] + mid + [st]
    return code, x, vr, data


# ---- LSE atomics ---------------------------------------------------------------------------
def gen_atomic(rng):
    """LDADD/LDCLR/LDEOR/LDSET/LDSMAX/LDSMIN/LDUMAX/LDUMIN/SWP, A/L, every size."""
    x, vr, data = state(rng)
    size, a, r = rng.randrange(4), rng.randrange(2), rng.randrange(2)
    o3 = int(rng.random() < 0.15)
    opc = 0 if o3 else rng.randrange(8)
    rn = rng.choice([31, rng.randrange(31)])
    rs, rt = rng.randrange(32), rng.randrange(32)
    nbytes = 1 << size
    addr = natural(rng, nbytes)
    x[rn] = addr
    if rs != 31 and rs != rn and rng.random() < 0.3:
        x[rs] = rng.choice([0, 1, M64, 1 << (8 * nbytes - 1), (1 << (8 * nbytes - 1)) - 1])
    if opc in (4, 5) and size < 3:
        # unicorn bug: sub-64-bit signed max/min compare unsigned; make the
        # register and memory operands agree in sign so both orders coincide
        top = 1 << (8 * nbytes - 1)
        off = addr - DATA + nbytes - 1
        if (0 if rs == 31 else x[rs]) & top:
            data[off] |= 0x80
        else:
            data[off] &= 0x7F
    return [enc_atomic(size, a, r, rs, o3, opc, rn, rt)], x, vr, data


def gen_cas(rng):
    """CAS/CASA/CASL/CASAL of every size: equal (swaps) and unequal."""
    x, vr, data = state(rng)
    size, l, o0 = rng.randrange(4), rng.randrange(2), rng.randrange(2)
    rn = rng.choice([31, rng.randrange(31)])
    rs, rt = reg_not(rng, rn, hi=32), rng.randrange(32)
    nbytes = 1 << size
    addr = natural(rng, nbytes)
    x[rn] = addr
    if rs != 31 and rng.random() < 0.6:
        mem = int.from_bytes(data[addr - DATA:addr - DATA + nbytes], "little")
        x[rs] = mem | ((rng.getrandbits(64) << (8 * nbytes)) & M64 if size < 3 else 0)
    return [enc_excl(size, 1, l, 1, rs, o0, 31, rn, rt)], x, vr, data


def gen_casp(rng):
    """CASP/CASPA/CASPL/CASPAL, 32- and 64-bit pairs (and odd registers: undefined)."""
    x, vr, data = state(rng)
    sz, l, o0 = rng.randrange(2), rng.randrange(2), rng.randrange(2)
    rn = rng.choice([31, rng.randrange(31)])
    rs, rt = rng.randrange(16) * 2, rng.randrange(16) * 2
    if rng.random() < 0.05:
        rs |= 1
    half = 4 << sz
    addr = natural(rng, 2 * half)
    x[rn] = addr
    if rng.random() < 0.6 and rn not in (rs, rs + 1):
        mem = data[addr - DATA:addr - DATA + 2 * half]
        for i, reg in enumerate((rs, rs + 1)):
            if reg < 31:
                x[reg] = int.from_bytes(mem[i * half:(i + 1) * half], "little")
    return [enc_excl(sz, 0, l, 1, rs, o0, 31, rn, rt)], x, vr, data


GENERATORS = [gen_uimm, gen_imm9, gen_regoff, gen_literal, gen_pair, gen_ordered, gen_rcpc,
              gen_prefetch, gen_exclusive, gen_exclusive_pair, gen_atomic, gen_cas, gen_casp]


def _run_gen(gen, seed, n):
    rng = random.Random(f"{gen.__name__}-{seed}")
    for _ in range(n):
        run(*gen(rng))


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__[4:])
def test_group(gen):
    _run_gen(gen, 0, N // 2 if gen is gen_prefetch else N)


@pytest.mark.slow
@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__[4:])
def test_group_slow(gen):
    _run_gen(gen, 1, 20 * N)


# ---- hand-picked corners -------------------------------------------------------------------
def test_corners():
    base = DATA + 0x1FF8
    data = bytes(range(256)) * (DATA_SIZE // 256)
    cases = [
        ([0xF9400021], {1: base}),                 # ldr x1, [x1]
        ([0xF8408421], {1: base}),                 # ldr x1, [x1], #8: writeback wins
        ([0xF8008421], {1: base}),                 # str x1, [x1], #8: stores the old base
        ([0xA9C00421], {1: base}),                 # ldp x1, x1, [x1, #0]!
        ([0xA8C10C21], {1: base}),                 # ldp x1, x3, [x1], #16
        ([0x29400C62], {3: base}),                 # ldp w2, w3, [x3]
        ([0xA9400C22], {1: DATA + 0x1FFC}),        # ldp x2, x3 across a page boundary
        ([0xF9400FE0], {31: DATA + 0x3FE0}),       # ldr x0, [sp, #24]
        ([0xF8606820], {1: DATA + 0x100, 0: 8}),   # ldr x0, [x1, x0]
        ([0xB8BFC020], {1: DATA + 0x100}),         # ldapr w0, [x1]
        ([0xF85F8FE0], {31: DATA + 0x3FF0}),       # ldr x0, [sp, #-8]!
        ([0x38DFFFE0], {31: DATA + 1}),            # ldrsb w0, [sp, #-1]! (reaches DATA+0)
        ([0xF9400020], {1: DATA + DATA_SIZE - 4}), # ldr x0 off the end of DATA: faults
        ([0xF9000020], {1: M64 - 3}),              # str x0 at the top of the address space
        ([0xF8616800], {0: DATA + 0x200, 1: M64 - 0xFF}),   # base + offset wraps past 2^64
    ]
    for code, x in cases:
        check(Case(code=code, x=x, data=data))


def test_exclusive_loop():
    """The shape glibc's atomics take without LSE: ldaxr / add / stlxr / cbnz."""
    rng = random.Random(9)
    for size in (2, 3):
        for _ in range(20):
            x, v, data = state(rng)
            x[0] = natural(rng, 1 << size)
            ld = enc_excl(size, 0, 1, 0, 31, 1, 31, 0, 1)            # ldaxr r1, [x0]
            add = 0x11000421 | (size == 3) << 31                     # add r1, r1, #1
            st = enc_excl(size, 0, 0, 0, 2, 1, 31, 0, 1)             # stlxr w2, r1, [x0]
            cbnz = 0x35FFFFA2                                        # cbnz w2, ld
            run([ld, add, st, cbnz], x, v, data)


# ---- the whole class: decode agreement -------------------------------------------------------
def _skip(word: int) -> bool:
    """Encodings the sweep leaves to the groups above (see the module docstring)."""
    if word & 0xFF200400 == 0xF8200400:          # LDRAA/LDRAB
        return True
    if word & 0x3F000000 == 0x08000000:          # exclusives / ordered / CAS: alignment rules
        return True
    if word & 0x3B000000 == 0x18000000:          # literal: targets beyond the mapped code page
        return True
    if word & 0x3F200C00 == 0x38200000:          # LSE atomics: alignment, unicorn's SMAX/SMIN
        return True
    return False


def sweep(rng: random.Random, n: int, mask: int, value: int) -> None:
    done = 0
    while done < n:
        word = (rng.getrandbits(32) & ~mask) | value
        if word & 0x0A000000 != 0x08000000 or _skip(word):
            continue
        x, v, data = state(rng)
        for r in range(32):
            # mostly plausible pointers; else 0 or far away.  (Nothing may reach
            # CODE + 4 KiB .. CODE + 64 KiB, mapped in unicorn but not in mkemu.)
            x[r] = target(rng, 64) if rng.random() < 0.8 else rng.choice([0, rng.getrandbits(64) | 1 << 40])
        run([word], x, v, data)
        done += 1


def test_sweep_gpr_class():
    sweep(random.Random(21), 600, 0x0A000000 | 1 << 26, 0x08000000)


@pytest.mark.slow
def test_sweep_gpr_class_slow():
    sweep(random.Random(22), 20000, 0x0A000000 | 1 << 26, 0x08000000)


# ---- faults: exact pc, base register and flags untouched -----------------------------------
_UNMAPPED = (unicorn.UC_ERR_READ_UNMAPPED, unicorn.UC_ERR_WRITE_UNMAPPED)


def flag_setter(rng: random.Random) -> int:
    """An instruction that sets NZCV (in each of the translator's forms: symbolic
    sub, add and logic, a materialized word) or leaves it, writing no register."""
    a, b = rng.randrange(32), rng.randrange(32)
    return rng.choice([
        0xEB00001F | b << 16 | a << 5,                                    # cmp xa, xb
        0xB100001F | rng.randrange(4096) << 10 | a << 5,                  # cmn xa, #imm
        0x6A00001F | b << 16 | a << 5,                                    # tst wa, wb
        0xFA400800 | rng.randrange(32) << 16 | rng.randrange(16) << 12
        | a << 5 | rng.randrange(16),                                     # ccmp xa, #i, #f, c
        0xD503201F,                                                       # nop
    ])


def fault_sweep(rng: random.Random, n: int, mask: int, value: int) -> int:
    """Accesses that run off the end of DATA: where unicorn reports an unmapped
    access, mkemu must stop with a data fault at the same pc with the base
    register (and SP) as they were and NZCV as unicorn has it (set just before
    by a flag-setting instruction, or on entry), so a SIGSEGV handler can fix
    and retry."""
    faults = 0
    for _ in range(n):
        word = (rng.getrandbits(32) & ~mask) | value
        if word & 0x0A000000 != 0x08000000 or _skip(word):
            continue
        x, v, data = state(rng)
        for r in range(32):
            x[r] = DATA + DATA_SIZE - rng.randrange(0, 48)
        case = Case(code=[flag_setter(rng), word], x=x, v=v, data=bytes(data),
                    nzcv=rng.randrange(16) << 28)
        want = run_unicorn(case)
        if want["error"] is None or want["error"].errno not in _UNMAPPED:
            continue
        got = run_mkemu(case)
        rn = (word >> 5) & 31
        where = f"{case.code[0]:08x} {word:08x}"
        assert got["trap"] == TRAP_FAULT, where
        assert got["pc"] == want["pc"], where
        assert (got["sp"] if rn == 31 else got["x"][rn]) == x[rn], where
        assert got["sp"] == want["sp"], where
        assert got["nzcv"] == want["nzcv"], where
        faults += 1
    return faults


def test_fault_state():
    faults = fault_sweep(random.Random(41), 1200, 0x0A000000, 0x08000000)
    record(FAULTS, faults)
    assert faults > 150


@pytest.mark.slow
def test_fault_state_slow():
    faults = fault_sweep(random.Random(42), 30000, 0x0A000000, 0x08000000)
    record(FAULTS, faults)
    assert faults > 4000


def test_regoff_w_index_known_to_fit_32_bits():
    """UXTW/SXTW indexes written just before by a W instruction (the builder
    knows they fit 32 bits: no mask is emitted), loads and stores, both signs."""
    rng = random.Random(1400)
    for _ in range(150):
        x, vr, data = state(rng)
        size, opc = rng.randrange(4), rng.randrange(2)       # STR / LDR (zero-extending)
        option, s = rng.choice([2, 6]), rng.randrange(2)
        rn, rt, rm = 1, rng.choice([2, 4]), 3
        x[rm] = rng.choice([rng.randrange(-300, 300) & M64, random_value(rng)])
        w = x[rm] & 0xFFFF_FFFF                               # add w3, w3, #0
        addr = target(rng, 16)
        x[rn] = (addr - (extend(w, option) << (size if s else 0))) & M64
        code = [0x11000000 | rm << 5 | rm, enc_regoff(size, 0, opc, rm, option, s, rn, rt)]
        run(code, x, vr, data)
