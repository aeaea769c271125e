"""A64 loads and stores (Arm ARM C4.1.88, op0 = x1x0).

General and SIMD&FP registers in every addressing mode (unsigned offset,
unscaled, pre/post-index, register offset, literal, pairs), load-acquire /
store-release, exclusives, LSE atomics, and the Advanced SIMD structure
loads/stores (LD1-LD4/ST1-ST4, multiple and single, LDnR).

Exclusive and atomic operations call the small helpers at the top of this
file, which end in a host compare-and-swap on the page's host address
(cpu/hostatomic.py): guest memory is shared by processes on several host
cores.  The exclusive monitor is CpuState.excl_addr/excl_size/excl_value: a
store-exclusive passes when address and size match and memory still holds
the value the load saw (as QEMU does; an intervening plain store of the
same value does not break it).

CONSTRAINED UNPREDICTABLE choices (all as QEMU, so the unicorn oracle checks them):
  * load with writeback and Rt == Rn: the base gets the written-back address;
    store with writeback and Rt == Rn: the old base value is stored;
  * LDP Rt == Rt2: X registers get the first value, SIMD&FP ones the second;
  * LDXP/LDAXP Rt == Rt2: UNDEFINED (SIGILL).
A fault never leaves the base register changed: writeback happens after the
accesses, and a load into the base register goes through a temporary.
"""
from __future__ import annotations

from . import a64_fp_twin, a64_simd, ldst_helpers
from .bits import field, sign_extend
from .bits import replicate as _replicate

M64 = 0xFFFF_FFFF_FFFF_FFFF

HELPERS = ldst_helpers.HELPERS    # (the run-time half of this family: ldst_helpers.py)


def decode(insn: int):
    b2927 = field(insn, 29, 27)
    if field(insn, 29, 24) == 0b001000:
        return emit_exclusive if not field(insn, 26, 26) else None
    if b2927 == 0b011 and field(insn, 25, 24) == 0:
        return emit_literal
    if b2927 == 0b101:
        return emit_pair
    if b2927 == 0b111:
        if field(insn, 25, 24) == 1:
            return emit_unsigned_imm
        if field(insn, 21, 21):
            op4 = field(insn, 11, 10)
            if op4 == 2:
                return emit_register_offset
            if op4 == 0 and not field(insn, 26, 26):
                return emit_atomic
            return None
        return emit_imm9
    if field(insn, 31, 31) == 0 and field(insn, 29, 24) in (0b001100, 0b001101) and field(insn, 26, 26):
        return emit_simd_multi if not field(insn, 24, 24) else emit_simd_single
    if field(insn, 29, 24) == 0b011001 and not field(insn, 21, 21) and field(insn, 11, 10) == 0:
        return emit_rcpc_unscaled
    return None


# ---- common pieces ------------------------------------------------------------------
def _addr(b, expr: str) -> str:
    """A name holding the address: a register local as is, anything else in a
    temporary; or a literal when the base is a known constant (BlockBuilder.fold)."""
    expr = b.fold(expr)
    if expr.isidentifier() or expr[:2] == "0x":
        return expr
    a = b.tmp("a")
    b.line(f"{a} = {expr}")
    return a


def _plus(base: str, off: int) -> str:
    """base + a constant offset, as Python source."""
    if off == 0:
        return base
    return f"{base} + {off:#x}" if off > 0 else f"{base} - {-off:#x}"


def _kind(size: int, opc: int, simd: bool):
    """(access bytes, load?, sign-extend to bits or 0), "prefetch", or None if unallocated."""
    if simd:
        if opc & 2:
            if size != 0:
                return None
            return 16, bool(opc & 1), 0
        return 1 << size, bool(opc & 1), 0
    nbytes = 1 << size
    if opc == 0:
        return nbytes, False, 0
    if opc == 1:
        return nbytes, True, 0
    if opc == 2:
        return (nbytes, True, 64) if size < 3 else "prefetch"
    return (nbytes, True, 32) if size < 2 else None


def _store_value(b, simd: bool, rt: int, nbytes: int) -> str:
    """Expression for the low nbytes of Rt (or Vt) to store."""
    if simd:
        v = b.rv(rt)
        return v if nbytes == 16 else f"({v} & {(1 << (8 * nbytes)) - 1:#x})"
    r = b.rx(rt)
    if nbytes == 8 or r == "0" or (nbytes == 4 and b.fits32(rt)):
        return r
    return f"({r} & {(1 << (8 * nbytes)) - 1:#x})"


def _set_loaded(b, simd: bool, rt: int, t: str, nbytes: int, sext: int) -> None:
    """Rt (or Vt) = the loaded value in t: zero-extended, or sign-extended to sext bits."""
    if simd:
        b.wv(rt, t)              # B/H/S/D/Q: the rest of the register becomes zero
    elif sext:
        # the sign bit chooses: the usual non-negative value is a test and a
        # copy, not `((t ^ sb) - sb) & mask` (and no 64-bit intermediate)
        sb = 1 << (nbytes * 8 - 1)
        hi = ((1 << sext) - 1) & ~((sb << 1) - 1)
        b.wx(rt, f"{t} | {hi:#x} if {t} & {sb:#x} else {t}", w=(sext == 32), masked=True)
    else:
        b.wx(rt, t, masked=True)


def _direct(b, simd: bool, rt: int, sext: int) -> str | None:
    """The register local a load can write straight into, or None (XZR, sign-extension)."""
    if simd:
        return b.rv(rt)
    if sext or rt == 31:
        return None
    return b.rx(rt)


def _transfer(b, simd: bool, rt: int, addr: str, nbytes: int, load: bool, sext: int) -> None:
    """Move one register to or from memory at addr."""
    if nbytes == 16:             # a Q register: inline word accesses (a64_simd)
        return a64_simd.load_q(b, b.rv(rt), addr) if load else a64_simd.store_q(b, addr, b.rv(rt))
    if simd and nbytes == 8 and a64_fp_twin.usable(b):   # a double as a host float
        if load:
            return a64_fp_twin.load_d(b, rt, addr)
        d = a64_fp_twin.twin(b, rt)
        if d is not None:
            return a64_fp_twin.store_d(b, addr, d)
    if not load:
        return b.store(addr, _store_value(b, simd, rt, nbytes), nbytes)
    dst = _direct(b, simd, rt, sext)
    if dst is not None:          # the load assigns only after it succeeded: a fault leaves Rt
        return b.load(dst, addr, nbytes)
    t = b.tmp()
    b.load(t, addr, nbytes)      # LDR XZR still accesses memory (and may fault)
    if rt != 31 or simd:
        _set_loaded(b, simd, rt, t, nbytes, sext)


def _access(b, insn: int, base_expr: str, writeback: str | None, rn: int,
            prefetch_ok: bool = True) -> None:
    """One register at base_expr; then Rn = writeback when given.

    Writeback with Rt == Rn is CONSTRAINED UNPREDICTABLE; like QEMU (and so
    unicorn) the base register takes the written-back address after a load,
    and a store stores the old base value.
    """
    simd = bool(field(insn, 26, 26))
    size, opc, rt = field(insn, 31, 30), field(insn, 23, 22), field(insn, 4, 0)
    kind = _kind(size, opc, simd)
    if kind is None:
        return b.end_undefined()
    if kind == "prefetch":
        if not prefetch_ok:
            return b.end_undefined()
        return          # PRFM / PRFUM: a hint (every prfop, allocated or not)
    nbytes, load, sext = kind
    b.mark_faultable()
    if writeback is None and not simd and b.tier_up:
        # a first-tier access is one call of its helper (L8(a), S4(a, v)) that
        # reads the address once: the expression itself, not a temporary, is
        # its argument (one line less to compile)
        return _transfer(b, simd, rt, b.fold(base_expr), nbytes, load, sext)
    addr = _addr(b, base_expr)
    if writeback is None:
        return _transfer(b, simd, rt, addr, nbytes, load, sext)
    if writeback == base_expr:
        writeback = addr                     # pre-index: the new base is the address
    if load and not simd and rt == rn:       # the load overwrites the base: keep the new one
        new_base = b.tmp("wb")
        b.line(f"{new_base} = ({writeback}) & {M64:#x}")
        _transfer(b, simd, rt, addr, nbytes, load, sext)
        return b.wsp(rn, new_base, masked=True)
    _transfer(b, simd, rt, addr, nbytes, load, sext)
    b.wsp(rn, writeback)


# ---- emitters -------------------------------------------------------------------------
def emit_unsigned_imm(b, insn: int) -> None:
    simd = field(insn, 26, 26)
    size, opc = field(insn, 31, 30), field(insn, 23, 22)
    scale = 4 if simd and opc & 2 else size
    off = field(insn, 21, 10) << scale
    rn = field(insn, 9, 5)
    base = b.rsp(rn)
    _access(b, insn, _plus(base, off), None, rn)


def emit_imm9(b, insn: int) -> None:
    """LDUR/STUR, post-index, pre-index, and the unprivileged LDTR/STTR forms."""
    mode = field(insn, 11, 10)
    imm = sign_extend(field(insn, 20, 12), 9)
    rn = field(insn, 9, 5)
    if mode == 2 and field(insn, 26, 26):
        return b.end_undefined()                 # no unprivileged SIMD forms
    base = b.rsp(rn)
    if mode in (0, 2):   # LDTR/STTR: EL0 accesses are unprivileged anyway
        return _access(b, insn, _plus(base, imm), None, rn, mode == 0)
    if mode == 1:      # post-index: access at base, then base += imm
        return _access(b, insn, base, _plus(base, imm), rn, False)
    return _access(b, insn, _plus(base, imm), _plus(base, imm), rn, False)


def emit_register_offset(b, insn: int) -> None:
    simd = field(insn, 26, 26)
    size, opc = field(insn, 31, 30), field(insn, 23, 22)
    rm, option, s, rn = field(insn, 20, 16), field(insn, 15, 13), field(insn, 12, 12), field(insn, 9, 5)
    scale = 4 if simd and opc & 2 else size
    amount = scale if s else 0
    # a W index the builder knows fits 32 bits needs no mask (BlockBuilder.rx)
    if option == 2:        # UXTW
        off = b.rx(rm, True)
    elif option == 6:      # SXTW
        if rm != 31:
            # the index's sign bit chooses between base + index and that less
            # 2**32 (scaled): no `(w ^ sb) - sb` on the usual non-negative index
            w, x = b.rx(rm, True), b.rx(rm)
            plus = f"{b.rsp(rn)} + ({w} << {amount})" if amount else f"{b.rsp(rn)} + {w}"
            return _access(b, insn, f"{plus} - {1 << (32 + amount):#x} if {x} & 0x80000000 "
                                    f"else {plus}", None, rn)
        off = "0"
    elif option == 3:      # LSL / UXTX
        off = b.rx(rm)
    elif option == 7:      # SXTX
        off = f"(({b.rx(rm)} ^ 0x8000000000000000) - 0x8000000000000000)" if rm != 31 else "0"
    else:                  # option<1> == 0: unallocated
        return b.end_undefined()
    if off == "0":
        expr = b.rsp(rn)
    else:
        expr = f"{b.rsp(rn)} + ({off} << {amount})" if amount else f"{b.rsp(rn)} + {off}"
        if option in (3, 7):
            # a 64-bit index is often a negative one (x1 - x0, a count up to 0):
            # unmasked, base + index passes 2**64 and every access would miss the
            # TLB into the slow path (strcmp, bignum loops)
            expr = f"({expr}) & {M64:#x}"
    _access(b, insn, expr, None, rn)


def emit_literal(b, insn: int) -> None:
    simd = field(insn, 26, 26)
    opc, rt = field(insn, 31, 30), field(insn, 4, 0)
    addr = (b.pc + (sign_extend(field(insn, 23, 5), 19) << 2)) & M64
    if simd:
        if opc == 3:
            return b.end_undefined()
        nbytes, sext = 4 << opc, 0
    else:
        if opc == 3:
            return         # PRFM (literal)
        nbytes, sext = (8 if opc == 1 else 4), (64 if opc == 2 else 0)
    b.mark_faultable()
    _transfer(b, bool(simd), rt, f"{addr:#x}", nbytes, True, sext)


def _pair_fast(b, simd: bool, rt: int, rt2: int, nbytes: int, sext: int, load: bool) -> bool:
    """Can BlockBuilder.load_pair/store_pair (one struct call for both) do this pair?"""
    if simd or sext or nbytes not in (4, 8):
        return False
    if not load:
        return hasattr(b, "store_pair")
    return hasattr(b, "load_pair") and rt != rt2 and rt != 31 and rt2 != 31


def _load_two(b, simd: bool, rt: int, rt2: int, rn: int, addr: str, addr2: str, nbytes: int,
              sext: int) -> None:
    """The two loads of LDP/LDNP/LDPSW.

    When Rt is the base register nothing is written until both loads
    succeeded, so a fault on the second leaves the base intact for a retry
    (other destinations are UNKNOWN after a fault).  Rt == Rt2 is CONSTRAINED
    UNPREDICTABLE (UNKNOWN value); we do what QEMU (so unicorn) does: for X
    registers the first value wins, for SIMD&FP registers the second.
    """
    if simd:
        d1 = b.rv(rt) if rt != rt2 else b.tmp()
        if nbytes == 16:         # Q registers (a64_simd)
            a64_simd.load_q(b, d1, addr)
            a64_simd.load_q(b, b.rv(rt2), addr2)
        else:
            b.load(d1, addr, nbytes)
            b.load(b.rv(rt2), addr2, nbytes)
        return
    if rt == rt2 or rt == rn or sext or rt == 31:
        t1 = b.tmp()
        b.load(t1, addr, nbytes)
    else:
        t1 = None
        b.load(b.rx(rt), addr, nbytes)
    d2 = _direct(b, simd, rt2, sext)
    if d2 is not None and rt2 != rt:
        b.load(d2, addr2, nbytes)
    else:
        t2 = b.tmp()
        b.load(t2, addr2, nbytes)
        if rt2 != rt and rt2 != 31:
            _set_loaded(b, simd, rt2, t2, nbytes, sext)
    if t1 is not None and rt != 31:
        _set_loaded(b, simd, rt, t1, nbytes, sext)


def emit_pair(b, insn: int) -> None:
    simd = bool(field(insn, 26, 26))
    opc, mode, load = field(insn, 31, 30), field(insn, 24, 23), field(insn, 22, 22)
    rt2, rn, rt = field(insn, 14, 10), field(insn, 9, 5), field(insn, 4, 0)
    if simd:
        if opc == 3:
            return b.end_undefined()
        nbytes, sext = 4 << opc, 0
    else:
        if opc == 3 or (opc == 1 and (not load or mode == 0)):
            return b.end_undefined()     # STGP (MTE) and LDNP with opc=01 are unallocated here
        nbytes, sext = (8 if opc == 2 else 4), (64 if opc == 1 else 0)
    off = sign_extend(field(insn, 21, 15), 7) * nbytes
    base = b.rsp(rn)
    b.mark_faultable()
    if mode == 1:            # post-index
        addr, wb = base, _plus(base, off)
    elif mode == 3:          # pre-index
        addr, wb = _addr(b, _plus(base, off)), _plus(base, off)
    else:                    # signed offset, or non-temporal (LDNP/STNP)
        addr, wb = _addr(b, _plus(base, off)), None
    fast = _pair_fast(b, simd, rt, rt2, nbytes, sext, bool(load))
    addr2 = None
    if not fast:
        addr2 = b.tmp("a")
        b.line(f"{addr2} = {addr} + {nbytes}")
    new_base = None
    if mode == 3:
        wb = addr                # pre-index: the new base is the address
    if wb is not None and load and not simd and rn != 31 and rn in (rt, rt2):
        # Writeback with Rn == Rt/Rt2 is CONSTRAINED UNPREDICTABLE: like QEMU the
        # base takes the written-back address after a load (a store stores the
        # old base).  Computed before the loads, which overwrite Rn.
        new_base = b.tmp("wb")
        b.line(f"{new_base} = ({wb}) & {M64:#x}")
    if load:
        if fast:
            b.load_pair(b.rx(rt), b.rx(rt2), addr, nbytes)
        else:
            _load_two(b, simd, rt, rt2, rn, addr, addr2, nbytes, sext)
    else:
        v1, v2 = _store_value(b, simd, rt, nbytes), _store_value(b, simd, rt2, nbytes)
        if fast:
            b.store_pair(addr, v1, v2, nbytes)
        elif nbytes == 16:       # Q registers (a64_simd)
            a64_simd.store_q(b, addr, v1)
            a64_simd.store_q(b, addr2, v2)
        else:
            b.store(addr, v1, nbytes)
            b.store(addr2, v2, nbytes)
    if new_base is not None:
        b.wsp(rn, new_base, masked=True)
    elif wb is not None:
        b.wsp(rn, wb)


def emit_exclusive(b, insn: int) -> None:
    size, o2, l, o1 = field(insn, 31, 30), field(insn, 23, 23), field(insn, 22, 22), field(insn, 21, 21)
    rs, o0, rt2, rn, rt = (field(insn, 20, 16), field(insn, 15, 15), field(insn, 14, 10),
                           field(insn, 9, 5), field(insn, 4, 0))
    nbytes = 1 << size
    base = b.rsp(rn)
    if o2 == 0 and o1 == 0:                 # LDXR/LDAXR, STXR/STLXR
        b.mark_faultable()
        a = _addr(b, base)
        if l:
            t = b.tmp()
            b.line(f"{t} = LDX(S, LD, {a}, {nbytes})")
            b.wx(rt, t, masked=True)
        else:
            val = b.rx(rt) if nbytes == 8 else f"({b.rx(rt)} & {(1 << (8 * nbytes)) - 1:#x})"
            st = b.tmp()
            b.line(f"{st} = STX(S, LD, ST, {a}, {nbytes}, {val})")
            b.wx(rs, st, masked=True)
        return
    if o2 == 0 and o1 == 1:
        if size >= 2:                       # LDXP/LDAXP, STXP/STLXP
            half = nbytes
            b.mark_faultable()
            a = _addr(b, base)
            if l:
                if rt == rt2:
                    return b.end_undefined()
                t = b.tmp()
                b.line(f"{t} = LDX(S, LD, {a}, {2 * half})")
                b.wx(rt, f"{t} & {(1 << (8 * half)) - 1:#x}", masked=True)
                b.wx(rt2, f"{t} >> {8 * half}", masked=True)
            else:
                m = (1 << (8 * half)) - 1
                val = f"(({b.rx(rt)} & {m:#x}) | (({b.rx(rt2)} & {m:#x}) << {8 * half}))"
                st = b.tmp()
                b.line(f"{st} = STX(S, LD, ST, {a}, {2 * half}, {val})")
                b.wx(rs, st, masked=True)
            return
        # CASP / CASPA / CASPL / CASPAL (size 00 = 32-bit pairs, 01 = 64-bit)
        if rt2 != 31 or rs & 1 or rt & 1:
            return b.end_undefined()
        half = 4 if size == 0 else 8
        m = (1 << (8 * half)) - 1
        b.mark_faultable()
        a = _addr(b, base)
        exp = f"(({b.rx(rs)} & {m:#x}) | (({b.rx(rs + 1)} & {m:#x}) << {8 * half}))"
        new = f"(({b.rx(rt)} & {m:#x}) | (({b.rx(rt + 1)} & {m:#x}) << {8 * half}))"
        t = b.tmp()
        b.line(f"{t} = CAS(LD, ST, {a}, {2 * half}, {exp}, {new})")
        b.wx(rs, f"{t} & {m:#x}", masked=True)
        b.wx(rs + 1, f"{t} >> {8 * half}", masked=True)
        return
    if o2 == 1 and o1 == 0:                 # LDAR/LDLAR, STLR/STLLR: plain accesses here
        b.mark_faultable()
        a = _addr(b, base)
        _transfer(b, False, rt, a, nbytes, bool(l), 0)
        return
    # CAS / CASA / CASL / CASAL
    if rt2 != 31:
        return b.end_undefined()
    b.mark_faultable()
    a = _addr(b, base)
    m = (1 << (8 * nbytes)) - 1
    t = b.tmp()
    b.line(f"{t} = CAS(LD, ST, {a}, {nbytes}, {b.rx(rs)}, {b.rx(rt)} & {m:#x})")
    b.wx(rs, t, masked=True)


def emit_atomic(b, insn: int) -> None:
    size, a_bit, o3, opc = field(insn, 31, 30), field(insn, 23, 23), field(insn, 15, 15), field(insn, 14, 12)
    rs, rn, rt = field(insn, 20, 16), field(insn, 9, 5), field(insn, 4, 0)
    nbytes = 1 << size
    base = b.rsp(rn)
    if o3 == 1 and opc == 4 and a_bit and not field(insn, 22, 22) and rs == 31:   # LDAPR*
        b.mark_faultable()
        addr = _addr(b, base)
        return _transfer(b, False, rt, addr, nbytes, True, 0)
    if o3 == 1 and opc != 0:
        return b.end_undefined()
    op = 8 if o3 else opc
    b.mark_faultable()
    addr = _addr(b, base)
    t = b.tmp()
    b.line(f"{t} = ATOMIC(LD, ST, {addr}, {nbytes}, {op}, {b.rx(rs)})")
    b.wx(rt, t, masked=True)


def emit_rcpc_unscaled(b, insn: int) -> None:
    """LDAPUR*/STLUR*: unscaled offset with acquire/release ordering."""
    size, opc = field(insn, 31, 30), field(insn, 23, 22)
    imm = sign_extend(field(insn, 20, 12), 9)
    rn, rt = field(insn, 9, 5), field(insn, 4, 0)
    kind = _kind(size, opc, False)
    if kind is None or kind == "prefetch":
        return b.end_undefined()
    nbytes, load, sext = kind
    b.mark_faultable()
    base = b.rsp(rn)
    addr = _addr(b, _plus(base, imm))
    _transfer(b, False, rt, addr, nbytes, load, sext)


_MULTI = {0b0000: (4, 4), 0b0010: (4, 1), 0b0100: (3, 3), 0b0110: (3, 1),
          0b0111: (1, 1), 0b1000: (2, 2), 0b1010: (2, 1)}     # opcode -> (registers, selem)


def emit_simd_multi(b, insn: int) -> None:
    q, load, post = field(insn, 30, 30), field(insn, 22, 22), field(insn, 23, 23)
    rm, opcode, size = field(insn, 20, 16), field(insn, 15, 12), field(insn, 11, 10)
    rn, rt = field(insn, 9, 5), field(insn, 4, 0)
    if field(insn, 21, 21) or (not post and rm) or opcode not in _MULTI:
        return b.end_undefined()
    nregs, selem = _MULTI[opcode]
    if size == 3 and not q and selem > 1:
        return b.end_undefined()
    esize, regbytes = 8 << size, 16 if q else 8
    regs = [(rt + i) % 32 for i in range(nregs)]
    base = b.rsp(rn)
    b.mark_faultable()
    addr = _addr(b, base)
    total = nregs * regbytes
    wb = None
    if post:
        wb = b.tmp("wb")
        b.line(f"{wb} = ({base} + {total if rm == 31 else b.rx(rm)}) & {M64:#x}")
    if selem == 1:
        # LD1/ST1: consecutive whole registers, element size irrelevant (little-endian)
        for i, r in enumerate(regs):
            a = _addr(b, f"{addr} + {i * regbytes}") if i else addr
            if load:
                b.load(b.rv(r), a, regbytes)      # 8-byte forms zero the upper half
            else:
                b.store(a, _store_value(b, True, r, regbytes), regbytes)
    elif load:
        t = b.tmp()
        b.line(f"{t} = LDMULTI(RD, {addr}, {nregs}, {selem}, {esize}, {regbytes})")
        for i, r in enumerate(regs):
            b.wv(r, f"{t}[{i}]")
    else:
        vals = ", ".join(b.rv(r) for r in regs)
        b.line(f"STMULTI(WR, {addr}, [{vals}], {selem}, {esize}, {regbytes})")
    if wb:
        b.wsp(rn, wb, masked=True)


def emit_simd_single(b, insn: int) -> None:
    q, load, post, r = field(insn, 30, 30), field(insn, 22, 22), field(insn, 23, 23), field(insn, 21, 21)
    rm, opcode, s, size = field(insn, 20, 16), field(insn, 15, 13), field(insn, 12, 12), field(insn, 11, 10)
    rn, rt = field(insn, 9, 5), field(insn, 4, 0)
    if not post and rm:
        return b.end_undefined()
    selem = (((opcode & 1) << 1) | r) + 1
    scale = opcode >> 1
    replicate = scale == 3
    if replicate:
        if not load or s:
            return b.end_undefined()
        scale = size
        index = 0
    elif scale == 0:
        index = (q << 3) | (s << 2) | size
    elif scale == 1:
        if size & 1:
            return b.end_undefined()
        index = (q << 2) | (s << 1) | (size >> 1)
    else:
        if size & 2 or (size == 1 and s):
            return b.end_undefined()
        if size == 1:
            scale = 3
            index = q
        else:
            index = (q << 1) | s
    eb = 1 << scale
    esize = 8 * eb
    emask = (1 << esize) - 1
    base = b.rsp(rn)
    b.mark_faultable()
    addr = _addr(b, base)
    wb = None
    if post:
        wb = b.tmp("wb")
        b.line(f"{wb} = ({base} + {selem * eb if rm == 31 else b.rx(rm)}) & {M64:#x}")
    for i in range(selem):
        reg = (rt + i) % 32
        a = _addr(b, f"{addr} + {i * eb}") if i else addr
        if load:
            t = b.tmp()
            b.load(t, a, eb)
            if replicate:
                # one multiplication copies the element into every lane
                b.wv(reg, f"{t} * {_replicate(1, esize, 128 if q else 64):#x}")
            else:
                sh = index * esize
                b.wv(reg, f"({b.rv(reg)} & {((1 << 128) - 1) ^ (emask << sh):#x}) | ({t} << {sh})")
        else:
            b.store(a, f"(({b.rv(reg)} >> {index * esize}) & {emask:#x})", eb)
    if wb:
        b.wsp(rn, wb, masked=True)
