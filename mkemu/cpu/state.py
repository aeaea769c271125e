"""The architectural state of one guest thread (AArch64, EL0).

Everything a translated block reads or writes lives here or in guest memory.
Registers are plain Python ints kept unsigned: X registers are 64-bit, V
registers are 128-bit (lane 0 in the low bits, as in the register file).
"""
from __future__ import annotations

from collections.abc import Callable

# Trap codes a block returns (negated) to the dispatcher; see cpu/engine.py.
TRAP_SVC = 1        # SVC #0: S.pc is the instruction after the SVC
TRAP_UNDEF = 2      # undefined encoding: S.pc is the instruction itself
TRAP_BRK = 3        # BRK #imm: S.pc is the instruction itself
TRAP_FETCH = 4      # instruction fetch fault: S.pc is the address
TRAP_SIGNAL = 5     # a pending signal stopped the dispatcher between blocks
TRAP_SVC_DONE = 6   # an SVC the engine's on_svc ran; the run loop has work before going on
TRAP_FAULT = 7      # a data access faulted: S.pc is the instruction, S.fault_addr the address
TRAP_SVC_DEFERRED = 8   # an SVC the engine's on_svc left to the run loop (as TRAP_SVC)

FPSR_IXC = 0x10
FP_SLOW = 1 << 31   # see fpmode below and cpu/fpu.py


class CpuState:
    """Registers and control state of one guest thread."""

    __slots__ = (
        "x", "v", "pc", "nzcv_raw", "fk", "fa", "fb", "_fpcr", "_fpsr", "fpmode", "tpidr", "tpidrro",
        "icount", "pending", "fault_addr", "fault_write", "fault_kind",
        "excl_addr", "excl_size", "excl_value", "undef_insn",
    )

    def __init__(self) -> None:
        self.x: list[int] = [0] * 32   # x[31] is SP (XZR is never stored)
        self.v: list[int] = [0] * 32   # 128-bit SIMD&FP registers
        self.pc = 0
        # NZCV is lazy across blocks: fk is None when nzcv_raw holds the word;
        # otherwise fk is the function that computes it from its operands fa,
        # fb (one of cpu/flags.py's LAZY_KINDS), called only when someone reads it.
        self.nzcv_raw = 0              # N<<31 | Z<<30 | C<<29 | V<<28
        self.fk: Callable[[int, int], int] | None = None
        self.fa = 0
        self.fb = 0
        # FPCR and FPSR as the guest sees them; fpmode is what translated FP
        # code passes to cpu/fpu.py: FPCR, plus FP_SLOW while FPSR.IXC is clear
        # (the host-float fast paths cannot tell an inexact result)
        self._fpcr = 0
        self._fpsr = 0
        self.fpmode = FP_SLOW
        self.tpidr = 0                 # TPIDR_EL0 (thread pointer)
        self.tpidrro = 0               # TPIDRRO_EL0
        self.icount = 0                # guest instructions retired
        self.pending = False           # set asynchronously: stop at next block boundary
        self.fault_addr = 0            # last data fault (for SIGSEGV si_addr)
        self.fault_write = False
        self.fault_kind = ""           # "unmapped", "perm" or "align"
        self.excl_addr = -1            # exclusive monitor: address, size, value seen
        self.excl_size = 0
        self.excl_value = 0
        self.undef_insn = 0            # the encoding that trapped as undefined

    @property
    def nzcv(self) -> int:
        kind = self.fk
        if kind is None:
            return self.nzcv_raw
        return kind(self.fa, self.fb)

    @nzcv.setter
    def nzcv(self, value: int) -> None:
        self.fk = None
        self.nzcv_raw = value & 0xF000_0000

    @property
    def fpcr(self) -> int:
        return self._fpcr

    @fpcr.setter
    def fpcr(self, value: int) -> None:
        self._fpcr = value
        self._update_fpmode()

    @property
    def fpsr(self) -> int:
        return self._fpsr

    @fpsr.setter
    def fpsr(self, value: int) -> None:
        self._fpsr = value
        self._update_fpmode()

    def _update_fpmode(self) -> None:
        self.fpmode = self._fpcr | (0 if self._fpsr & FPSR_IXC else FP_SLOW)

    @property
    def sp(self) -> int:
        return self.x[31]

    @sp.setter
    def sp(self, value: int) -> None:
        self.x[31] = value & 0xFFFF_FFFF_FFFF_FFFF

    def snapshot(self) -> dict:
        """A plain-data copy (for tests, crash reports and the debug server)."""
        return {
            "x": list(self.x[:31]), "sp": self.x[31], "pc": self.pc,
            "nzcv": self.nzcv, "v": list(self.v), "fpcr": self.fpcr,
            "fpsr": self.fpsr, "tpidr": self.tpidr,
        }
