"""The Linux arm64 signal frame (struct rt_sigframe) and siginfo, as bytes.

Layout (arch/arm64/include/uapi/asm/sigcontext.h, arch/arm64/kernel/signal.c):

    rt_sigframe           offset
      siginfo               0     128 bytes
      ucontext            128
        uc_flags          128     u64
        uc_link           136     u64
        uc_stack          144     ss_sp u64, ss_flags i32 (+4), ss_size u64
        uc_sigmask        168     u64 (the kernel's 64-bit set; padded to 1024 bits)
        uc_mcontext       304     (ucontext + 176)
          fault_address   304
          regs[31]        312
          sp              560
          pc              568
          pstate          576     NZCV in bits 31:28
          __reserved      592     4096 bytes of records {u32 magic, u32 size, ...}
                                  FPSIMD (0x46508001, 528): fpsr, fpcr, vregs[32]
                                  ESR (0x45535201, 16) for data/instruction aborts
                                  a null record ends the list
    sizeof                4688

Above the frame the kernel puts a frame record (fp, lr) that x29 points at,
so a backtrace from the handler walks into the interrupted code.
"""
from __future__ import annotations

import struct

SIGINFO_SIZE = 128
UC = 128                       # the ucontext inside the frame
UC_STACK = UC + 16
UC_SIGMASK = UC + 40
MCONTEXT = UC + 176
MC_FAULT = MCONTEXT
MC_REGS = MCONTEXT + 8
MC_SP = MC_REGS + 31 * 8
MC_PC = MC_SP + 8
MC_PSTATE = MC_PC + 8
RESERVED = MCONTEXT + 288      # __reserved is 16-byte aligned
RESERVED_SIZE = 4096
FRAME_SIZE = RESERVED + RESERVED_SIZE        # 4688, a multiple of 16
FRAME_RECORD_SIZE = 16

FPSIMD_MAGIC, FPSIMD_SIZE = 0x46508001, 528
ESR_MAGIC, ESR_SIZE = 0x45535201, 16
EXTRA_MAGIC = 0x45585401

_HDR = struct.Struct("<II")
_STACK = struct.Struct("<QiiQ")
_Q = struct.Struct("<Q")
_REGS = struct.Struct("<31Q")
M64 = 0xFFFF_FFFF_FFFF_FFFF

# si_code values
SI_USER, SI_KERNEL, SI_QUEUE, SI_TIMER, SI_TKILL = 0, 0x80, -1, -2, -6
SEGV_MAPERR, SEGV_ACCERR = 1, 2
BUS_ADRALN, BUS_ADRERR = 1, 2
ILL_ILLOPC = 1
TRAP_BRKPT = 1
CLD_EXITED = 1

_INFO_HEAD = struct.Struct("<iii4x")


def siginfo_kill(signo: int, code: int, pid: int = 0, uid: int = 0, value: int = 0) -> bytes:
    """siginfo of kill/tkill/sigqueue: si_pid, si_uid, si_value (at 16, 20, 24)."""
    return (_INFO_HEAD.pack(signo, 0, code) + struct.pack("<iIQ", pid, uid, value & M64)) \
        .ljust(SIGINFO_SIZE, b"\0")


def siginfo_chld(code: int, pid: int, uid: int, status: int) -> bytes:
    """siginfo of SIGCHLD: si_pid, si_uid, si_status (at 16, 20, 24); times are 0."""
    return (_INFO_HEAD.pack(17, 0, code) + struct.pack("<iIi", pid, uid, status)) \
        .ljust(SIGINFO_SIZE, b"\0")


def siginfo_timer(signo: int, timer: int, value: int) -> bytes:
    """siginfo of a POSIX timer's signal: si_tid, si_overrun, si_value (16, 20, 24)."""
    return (_INFO_HEAD.pack(signo, 0, SI_TIMER) + struct.pack("<iiQ", timer, 0, value & M64)) \
        .ljust(SIGINFO_SIZE, b"\0")


def siginfo_fault(signo: int, code: int, addr: int) -> bytes:
    """siginfo of a synchronous fault: si_addr at 16."""
    return (_INFO_HEAD.pack(signo, 0, code) + _Q.pack(addr & M64)).ljust(SIGINFO_SIZE, b"\0")


def with_signo(info: bytes, signo: int) -> bytes:
    """A siginfo from the guest (rt_sigqueueinfo) with its si_signo set to signo."""
    return struct.pack("<i", signo) + bytes(info[4:SIGINFO_SIZE]).ljust(SIGINFO_SIZE - 4, b"\0")


def build(cpu, info: bytes | None, sigmask: int, uc_stack: tuple[int, int, int],
          fault_address: int = 0, esr: int = 0) -> bytearray:
    """The frame's bytes for the interrupted state in cpu.  info None leaves siginfo
    zero (a handler without SA_SIGINFO gets none); esr adds an ESR record."""
    buf = bytearray(FRAME_SIZE)
    if info is not None:
        buf[0:SIGINFO_SIZE] = info[:SIGINFO_SIZE]
    ss_sp, ss_flags, ss_size = uc_stack
    _STACK.pack_into(buf, UC_STACK, ss_sp, ss_flags, 0, ss_size)
    _Q.pack_into(buf, UC_SIGMASK, sigmask)
    x = cpu.x
    _Q.pack_into(buf, MC_FAULT, fault_address & M64)
    _REGS.pack_into(buf, MC_REGS, *x[:31])
    struct.pack_into("<QQQ", buf, MC_SP, x[31], cpu.pc & M64, cpu.nzcv & 0xF000_0000)
    at = RESERVED
    _HDR.pack_into(buf, at, FPSIMD_MAGIC, FPSIMD_SIZE)
    struct.pack_into("<II", buf, at + 8, cpu.fpsr, cpu.fpcr)
    buf[at + 16:at + FPSIMD_SIZE] = b"".join(v.to_bytes(16, "little") for v in cpu.v)
    at += FPSIMD_SIZE
    if esr:
        _HDR.pack_into(buf, at, ESR_MAGIC, ESR_SIZE)
        _Q.pack_into(buf, at + 8, esr)
        at += ESR_SIZE
    # the terminating null record: already zero
    return buf


class BadFrame(Exception):
    """rt_sigreturn found a frame the kernel would refuse (the caller's SIGSEGV)."""


def parse(buf: bytes) -> dict:
    """The state saved in a frame (the guest may have edited it): regs, sp, pc, nzcv,
    fpsr, fpcr, v, sigmask, uc_stack.  Raises BadFrame for a malformed record list."""
    out = {
        "regs": list(_REGS.unpack_from(buf, MC_REGS)),
        "sp": _Q.unpack_from(buf, MC_SP)[0],
        "pc": _Q.unpack_from(buf, MC_PC)[0],
        "nzcv": _Q.unpack_from(buf, MC_PSTATE)[0] & 0xF000_0000,
        "sigmask": _Q.unpack_from(buf, UC_SIGMASK)[0],
        "uc_stack": _STACK.unpack_from(buf, UC_STACK),
    }
    at, end = RESERVED, RESERVED + RESERVED_SIZE - 16
    fpsimd = False
    while True:
        if at > end:
            raise BadFrame("record list runs past __reserved")
        magic, size = _HDR.unpack_from(buf, at)
        if magic == 0:
            if size != 0:
                raise BadFrame("bad terminator record")
            break
        if size < 8 or size % 16 or at + size > RESERVED + RESERVED_SIZE:
            raise BadFrame(f"bad record size {size}")
        if magic == FPSIMD_MAGIC:
            if size != FPSIMD_SIZE or fpsimd:
                raise BadFrame("bad FPSIMD record")
            fpsimd = True
            out["fpsr"], out["fpcr"] = struct.unpack_from("<II", buf, at + 8)
            raw = bytes(buf[at + 16:at + FPSIMD_SIZE])
            out["v"] = [int.from_bytes(raw[16 * i:16 * i + 16], "little") for i in range(32)]
        elif magic == ESR_MAGIC:
            pass                                   # information for the handler only
        else:
            raise BadFrame(f"unknown record {magic:#x}")
        at += size
    if not fpsimd:
        raise BadFrame("no FPSIMD record")
    return out


# ESR_EL1 of a fault taken from EL0 (what the kernel's ESR record holds)
_EC_IABT_LOW, _EC_DABT_LOW = 0x20, 0x24
_IL = 1 << 25
_WNR = 1 << 6


def fault_esr(kind: str, write: bool, fetch: bool) -> int:
    """ESR of a data or instruction abort: translation, permission or alignment fault."""
    fsc = {"unmapped": 0x07, "perm": 0x0F, "align": 0x21}.get(kind, 0x07)
    if fetch:
        return _EC_IABT_LOW << 26 | _IL | fsc
    return _EC_DABT_LOW << 26 | _IL | (_WNR if write else 0) | fsc
