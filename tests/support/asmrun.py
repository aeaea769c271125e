"""Assembly snippets run on an Engine over flat memory (no kernel): the machine the
engine-level tests of tiers and regions compare runs on, and the programs they share."""
import subprocess

from mkemu.cpu.engine import Engine
from mkemu.cpu.state import TRAP_SIGNAL, CpuState
from mkemu.mm.tlb import SoftTLB
from tests.support.oracle import CODE, FlatMemory

STACK = 0x800000
STACK_SIZE = 0x40000


def asm(text: str, tmp_path) -> bytes:
    """The .text of `text` assembled (position-independent branches only)."""
    src, obj, raw = tmp_path / "t.s", tmp_path / "t.o", tmp_path / "t.bin"
    src.write_text(".text\n" + text + "\n")
    subprocess.run(["aarch64-linux-gnu-as", "-o", str(obj), str(src)], check=True)
    subprocess.run(["aarch64-linux-gnu-objcopy", "-O", "binary", "-j", ".text", str(obj), str(raw)],
                   check=True)
    return raw.read_bytes()


def flat_machine(code: bytes, cache=None):
    """CPU, engine and memory running code from CODE with a stack; regions off (the
    caller sets a policy to have them)."""
    mem = FlatMemory()
    mem.map(CODE, 0x2000)
    mem.write(CODE, code)
    mem.map(STACK, STACK_SIZE)
    st = CpuState()
    st.pc = CODE
    st.x[31] = STACK + STACK_SIZE
    eng = Engine(st, SoftTLB(mem.resolve), code_cache=cache)
    eng.policy, eng.sample_at = None, -1
    return st, eng, mem


def run(st, eng) -> int:
    """Run to a trap other than TRAP_SIGNAL (a dropped region asks for one round more)."""
    while (trap := eng.run()) == TRAP_SIGNAL:
        st.pending = False
    return trap


# recursive fib(n) in x0: calls, returns, pushes and pops
FIB = """
    mov x0, #{n}
    bl fib
    brk #0
fib:
    cmp x0, #2
    b.lt 9f
    stp x29, x30, [sp, #-32]!
    stp x19, x20, [sp, #16]
    mov x19, x0
    sub x0, x0, #1
    bl fib
    mov x20, x0
    sub x0, x19, #2
    bl fib
    add x0, x0, x20
    ldp x19, x20, [sp, #16]
    ldp x29, x30, [sp], #32
9:  ret
"""
