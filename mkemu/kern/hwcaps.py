"""What the CPU advertises in AT_HWCAP / AT_HWCAP2 and /proc/cpuinfo: only what mkemu implements.

Programs (glibc's ifunc resolvers, OpenSSL, Go, Rust std) pick code paths by
these bits, so a bit set here for an unimplemented feature turns into SIGILL
in the guest.  A bit is set only when its instructions pass the oracle tests
against unicorn (tests/oracle): the crypto, dot-product, rounding-doubling,
complex and FP16 groups of test_neon/test_neon_fp, LSE and RCPC in test_ldst,
CRC32 in test_integer.  The ID registers MRS reads (cpu/a64_branch_sys.py)
say the same thing.
"""

# AT_HWCAP bits, in Linux's order, with the names /proc/cpuinfo shows
_HWCAP_NAMES = ["fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics",
                "fphp", "asimdhp", "cpuid", "asimdrdm", "jscvt", "fcma", "lrcpc", "dcpop",
                "sha3", "sm3", "sm4", "asimddp", "sha512", "sve", "asimdfhm", "dit", "uscat",
                "ilrcpc", "flagm", "ssbs", "sb", "paca", "pacg"]

IMPLEMENTED = ["fp", "asimd", "aes", "pmull", "sha1", "sha2", "crc32", "atomics", "fphp",
               "asimdhp", "cpuid", "asimdrdm", "fcma", "lrcpc", "sha3", "sm3", "sm4", "asimddp",
               "sha512", "asimdfhm", "ilrcpc"]

HWCAP = sum(1 << _HWCAP_NAMES.index(n) for n in IMPLEMENTED)
HWCAP2 = 0


def feature_names() -> str:
    """The Features line of /proc/cpuinfo."""
    return " ".join(n for n in _HWCAP_NAMES if n in IMPLEMENTED)
