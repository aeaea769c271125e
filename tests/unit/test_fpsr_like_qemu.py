"""FPSR's cumulative flags after scalar double FP sequences, read back with MRS,
against qemu-aarch64 (tests/guest/fpsr_sequences.c).

The inline fast paths of a64_fp (FMADD, FMUL, FADD, FSUB written into the
trace) decide IXC with float identities while FPSR.IXC is clear and leave
overflow, underflow, NaNs, denormals and non-default FPCRs to fpu's general
path: each of those cases, exact and inexact, with IXC clear and set, in one
trace and in a hot loop, must leave the FPSR the hardware (qemu) leaves."""
from __future__ import annotations

from tests.support.guestrun import run_mkemu, run_qemu


def test_fpsr_after_fp_sequences_matches_qemu(rootfs, guest_binary):
    prog = guest_binary("fpsr_sequences")
    code, out, err = run_mkemu([str(prog)], rootfs=rootfs)
    qcode, qout, _ = run_qemu([str(prog)], rootfs=rootfs)
    assert (code, out) == (qcode, qout), err.decode(errors="replace")[-3000:]
    flags = {line.rsplit(" ", 1)[1] for line in out.decode().splitlines()}
    # exact, inexact, overflow, underflow, invalid and input-denormal all occur
    assert {"00000000", "00000010", "00000014", "00000018", "00000001", "00000080"} <= flags
    assert b"loop-exact             4097fe8000000000 fpsr 00000000" in out
    assert b"loop-inexact-late      4097fd199999999a fpsr 00000010" in out
