"""The crash report printed when a guest dies of a synchronous signal.

Registers, the faulting address, the code around pc disassembled with
capstone, and a frame-pointer backtrace (x29 chain), written to mkemu's log
descriptor (the original stderr), never into the guest's own fds.
"""
from __future__ import annotations

import os
import _signal as signal     # (the C module: the signal module's enums cost every start-up)

from ..mm.fault import MemFault


def _disassemble(task, start: int, count: int, mark: int) -> list[str]:
    import capstone
    cs = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    out = []
    for i in range(count):
        addr = start + 4 * i
        try:
            word = task.mem.read(addr, 4)
        except MemFault:
            continue
        text = next((f"{d.mnemonic} {d.op_str}".strip() for d in cs.disasm(word, addr)),
                    f".inst {int.from_bytes(word, 'little'):#010x}")
        out.append(f"  {'=>' if addr == mark else '  '} {addr:#014x}: {word.hex()}  {text}")
    return out


def _backtrace(task, limit: int = 16) -> list[str]:
    frames = []
    fp = task.cpu.x[29]
    lr = task.cpu.x[30]
    frames.append(f"  #0 pc {task.cpu.pc:#x}")
    frames.append(f"  #1 lr {lr:#x}")
    for n in range(2, limit):
        if fp == 0 or fp & 7:
            break
        try:
            next_fp = task.mem.read_u64(fp)
            ret = task.mem.read_u64(fp + 8)
        except MemFault:
            break
        if ret == 0:
            break
        frames.append(f"  #{n} {ret:#x}")
        if next_fp <= fp:
            break
        fp = next_fp
    return frames


def report(task, sig: int, reason: str) -> None:
    cpu = task.cpu
    import signal as named              # (its enums: only here, where a name is printed)
    name = named.Signals(sig).name if sig in named.Signals._value2member_map_ else str(sig)
    lines = [f"mkemu: guest pid {task.pid} ({task.exe_path}) killed by {name}: {reason}",
             f"  pc {cpu.pc:#018x}  sp {cpu.x[31]:#018x}  nzcv {cpu.nzcv >> 28:04b}"]
    if sig in (signal.SIGSEGV, signal.SIGBUS):
        lines.append(f"  fault address {cpu.fault_addr:#x} ({'write' if cpu.fault_write else 'read'})")
    for row in range(0, 31, 4):
        lines.append("  " + "  ".join(f"x{n:<2} {cpu.x[n]:016x}" for n in range(row, min(row + 4, 31))))
    lines.append("  code:")
    lines += _disassemble(task, cpu.pc - 16, 8, cpu.pc)
    lines.append("  backtrace (frame pointers):")
    lines += _backtrace(task)
    os.write(task.log_fd, ("\n".join(lines) + "\n").encode(errors="replace"))
