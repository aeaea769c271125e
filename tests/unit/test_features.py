"""The CPU's one feature list: auxv words and ID registers say the same thing.

Linux sets an AT_HWCAP bit when the ID register field it reads is at least a
given value (arch/arm64/kernel/cpufeature.c); FP and AdvSIMD are signed
fields where 0xF means absent.  Reading the derived registers that way must
give back exactly the derived HWCAP words.
"""
from mkemu.cpu import features as F


def _field(reg: tuple, shift: int) -> int:
    return F.ID_REGISTERS[reg] >> shift & 0xF


def _linux_would_set(f: F.Feature) -> bool:
    value = _field(f.register, f.shift)
    if (f.register, f.shift) in ((F.ID_AA64PFR0_EL1, 16), (F.ID_AA64PFR0_EL1, 20)):
        value = value - 16 if value & 8 else value          # signed: 0xF is -1, absent
    return value >= f.value


def test_hwcap_bits_are_what_the_id_registers_imply():
    for f in F.FEATURES:
        word = F.HWCAP if f.hwcap == 1 else F.HWCAP2
        if f.register is not None:
            assert bool(word >> f.bit & 1) == _linux_would_set(f), f.name
        else:
            assert bool(word >> f.bit & 1) == (f.name in F.IMPLEMENTED), f.name


def test_id_register_fields_of_the_implemented_groups():
    # Arm ARM field values: AES=2 is AES+PMULL, SHA2=2 is SHA256+SHA512, Atomic=2 is LSE,
    # LRCPC=2 adds LDAPUR, PFR0.FP/AdvSIMD=1 include half precision, EL0/EL1 AArch64 only
    assert _field(F.ID_AA64ISAR0_EL1, 4) == 2 and _field(F.ID_AA64ISAR0_EL1, 12) == 2
    assert _field(F.ID_AA64ISAR0_EL1, 20) == 2 and _field(F.ID_AA64ISAR1_EL1, 20) == 2
    assert F.ID_REGISTERS[F.ID_AA64PFR0_EL1] & 0xFF00FF == 0x110011
    assert F.ID_REGISTERS[F.MIDR_EL1] == 0x410FD083           # Cortex-A72 r0p3
