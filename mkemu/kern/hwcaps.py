"""What the CPU advertises in AT_HWCAP / AT_HWCAP2: only what mkemu implements.

Programs (glibc's ifunc resolvers, OpenSSL, Go, Rust std) pick code paths by
these bits, so a bit set here for an unimplemented feature turns into SIGILL
in the guest.  Add a bit only when its instructions pass the oracle tests.
"""
HWCAP_FP = 1 << 0
HWCAP_ASIMD = 1 << 1
HWCAP_EVTSTRM = 1 << 2
HWCAP_AES = 1 << 3
HWCAP_PMULL = 1 << 4
HWCAP_SHA1 = 1 << 5
HWCAP_SHA2 = 1 << 6
HWCAP_CRC32 = 1 << 7
HWCAP_ATOMICS = 1 << 8
HWCAP_FPHP = 1 << 9
HWCAP_ASIMDHP = 1 << 10
HWCAP_CPUID = 1 << 11

HWCAP = HWCAP_FP | HWCAP_ASIMD
HWCAP2 = 0
