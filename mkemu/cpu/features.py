"""What the CPU is and which features it has: the one list.

Programs (glibc's ifunc resolvers, OpenSSL, Go, Rust std) pick code paths
by AT_HWCAP/AT_HWCAP2 or by reading the ID registers with MRS, so a feature
advertised but not implemented turns into SIGILL in the guest.  Everything
mkemu advertises is derived from IMPLEMENTED below: the auxv words (HWCAP,
HWCAP2), the ID register values MRS returns (ID_REGISTERS, read by
cpu/a64_branch_sys.py), and the Features line of /proc/cpuinfo
(feature_names(), with the MIDR fields for the other cpuinfo lines).

A feature is listed only when its instructions pass the oracle tests
against unicorn (tests/oracle): the crypto, dot-product, rounding-doubling,
complex and FP16 groups of test_neon/test_neon_fp, LSE and RCPC in
test_ldst, CRC32 in test_integer, and when tests/guest/cpu_features.c gives
qemu's results.  This module imports only mkemu/record.py: the kernel (auxv) and the
/proc overlay read it as well as the CPU.
"""
from __future__ import annotations

from ..record import record


# Which ID register field a feature sets, from the Arm ARM's register pages.
# A register is named by its MRS encoding (op0, op1, CRn, CRm, op2).
MIDR_EL1 = (3, 0, 0, 0, 0)
MPIDR_EL1 = (3, 0, 0, 0, 5)
REVIDR_EL1 = (3, 0, 0, 0, 6)
ID_AA64PFR0_EL1 = (3, 0, 0, 4, 0)
ID_AA64PFR1_EL1 = (3, 0, 0, 4, 1)
ID_AA64ZFR0_EL1 = (3, 0, 0, 4, 4)
ID_AA64DFR0_EL1 = (3, 0, 0, 5, 0)
ID_AA64ISAR0_EL1 = (3, 0, 0, 6, 0)
ID_AA64ISAR1_EL1 = (3, 0, 0, 6, 1)
ID_AA64MMFR0_EL1 = (3, 0, 0, 7, 0)
ID_AA64MMFR1_EL1 = (3, 0, 0, 7, 1)
ID_AA64MMFR2_EL1 = (3, 0, 0, 7, 2)


@record(frozen=True)
class Feature:
    """One AT_HWCAP/AT_HWCAP2 bit and the ID register field value that implies it.

    `register`/`shift`/`value`: the 4-bit field Linux reads to set the bit
    (value is the minimum it needs); None for bits no ID field implies.
    """
    name: str                      # as /proc/cpuinfo shows it
    hwcap: int                     # 1: AT_HWCAP, 2: AT_HWCAP2
    bit: int
    register: tuple | None = None
    shift: int = 0
    value: int = 0


# Linux's hwcap bits (arch/arm64/include/uapi/asm/hwcap.h) in their order,
# with the field each is read from (arch/arm64/kernel/cpufeature.c).
_ISAR0, _ISAR1, _PFR0, _PFR1 = ID_AA64ISAR0_EL1, ID_AA64ISAR1_EL1, ID_AA64PFR0_EL1, ID_AA64PFR1_EL1
FEATURES = [Feature(*row) for row in (
    ("fp", 1, 0, _PFR0, 16, 0), ("asimd", 1, 1, _PFR0, 20, 0), ("evtstrm", 1, 2),
    ("aes", 1, 3, _ISAR0, 4, 1), ("pmull", 1, 4, _ISAR0, 4, 2), ("sha1", 1, 5, _ISAR0, 8, 1),
    ("sha2", 1, 6, _ISAR0, 12, 1), ("crc32", 1, 7, _ISAR0, 16, 1),
    ("atomics", 1, 8, _ISAR0, 20, 2), ("fphp", 1, 9, _PFR0, 16, 1),
    ("asimdhp", 1, 10, _PFR0, 20, 1), ("cpuid", 1, 11), ("asimdrdm", 1, 12, _ISAR0, 28, 1),
    ("jscvt", 1, 13, _ISAR1, 12, 1), ("fcma", 1, 14, _ISAR1, 16, 1),
    ("lrcpc", 1, 15, _ISAR1, 20, 1), ("dcpop", 1, 16, _ISAR1, 0, 1),
    ("sha3", 1, 17, _ISAR0, 32, 1), ("sm3", 1, 18, _ISAR0, 36, 1), ("sm4", 1, 19, _ISAR0, 40, 1),
    ("asimddp", 1, 20, _ISAR0, 44, 1), ("sha512", 1, 21, _ISAR0, 12, 2),
    ("sve", 1, 22, _PFR0, 32, 1), ("asimdfhm", 1, 23, _ISAR0, 48, 1),
    ("dit", 1, 24, _PFR0, 48, 1), ("uscat", 1, 25, ID_AA64MMFR2_EL1, 32, 1),
    ("ilrcpc", 1, 26, _ISAR1, 20, 2), ("flagm", 1, 27, _ISAR0, 52, 1),
    ("ssbs", 1, 28, _PFR1, 4, 2), ("sb", 1, 29, _ISAR1, 36, 1), ("paca", 1, 30, _ISAR1, 4, 1),
    ("pacg", 1, 31, _ISAR1, 24, 1),
    ("dcpodp", 2, 0, _ISAR1, 0, 2), ("sve2", 2, 1), ("sveaes", 2, 2), ("svepmull", 2, 3),
    ("svebitperm", 2, 4), ("svesha3", 2, 5), ("svesm4", 2, 6), ("flagm2", 2, 7, _ISAR0, 52, 2),
    ("frint", 2, 8, _ISAR1, 32, 1), ("svei8mm", 2, 9), ("svef32mm", 2, 10), ("svef64mm", 2, 11),
    ("svebf16", 2, 12), ("i8mm", 2, 13, _ISAR1, 52, 1), ("bf16", 2, 14, _ISAR1, 44, 1),
    ("dgh", 2, 15, _ISAR1, 48, 1), ("rng", 2, 16, _ISAR0, 60, 1), ("bti", 2, 17, _PFR1, 0, 1),
)]

# What mkemu implements (and the oracle tests cover).  cpuid: MRS of the ID
# registers works at EL0, as Linux emulates it.
IMPLEMENTED = ("fp", "asimd", "aes", "pmull", "sha1", "sha2", "crc32", "atomics", "fphp",
               "asimdhp", "cpuid", "asimdrdm", "fcma", "lrcpc", "sha3", "sm3", "sm4", "asimddp",
               "sha512", "asimdfhm", "ilrcpc")

# The core mkemu claims to be: an Arm Cortex-A72 r0p3 (MIDR fields, as cpuinfo shows them)
IMPLEMENTER, VARIANT, ARCHITECTURE, PART, REVISION = 0x41, 0x0, 0xF, 0xD08, 3

# Fields that do not come from a feature: PFR0.EL0/EL1 = 1 (AArch64 only).  FP and
# AdvSIMD are signed fields where 0xF means "not implemented" and 0 "without FP16".
_BASE = {ID_AA64PFR0_EL1: 0x11 | (0xF << 16) | (0xF << 20)}


def _id_registers() -> dict[tuple, int]:
    regs = {key: _BASE.get(key, 0) for key in (
        ID_AA64PFR0_EL1, ID_AA64PFR1_EL1, ID_AA64ZFR0_EL1, ID_AA64DFR0_EL1, ID_AA64ISAR0_EL1,
        ID_AA64ISAR1_EL1, ID_AA64MMFR0_EL1, ID_AA64MMFR1_EL1, ID_AA64MMFR2_EL1)}
    fields: dict[tuple, int] = {}
    for f in FEATURES:
        if f.name in IMPLEMENTED and f.register is not None:
            key = (f.register, f.shift)
            fields[key] = max(fields.get(key, 0), f.value)
    for (reg, shift), value in fields.items():
        regs[reg] = regs[reg] & ~(0xF << shift) | value << shift
    regs[MIDR_EL1] = IMPLEMENTER << 24 | VARIANT << 20 | ARCHITECTURE << 16 | PART << 4 | REVISION
    regs[MPIDR_EL1] = 0x80000000          # RES1 bit 31; affinity 0 (Linux shows the same to EL0)
    regs[REVIDR_EL1] = 0
    return regs


def _hwcap(word: int) -> int:
    return sum(1 << f.bit for f in FEATURES if f.hwcap == word and f.name in IMPLEMENTED)


ID_REGISTERS = _id_registers()
HWCAP = _hwcap(1)
HWCAP2 = _hwcap(2)


def feature_names() -> str:
    """The Features line of /proc/cpuinfo: AT_HWCAP names, then AT_HWCAP2 names, in bit order."""
    return " ".join(f.name for f in FEATURES if f.name in IMPLEMENTED)
