"""Random encodings of one A64 instruction class run in mkemu's engine, to find
any that raise a Python exception instead of completing, faulting or trapping.

    failures, stats = sweep("simd_fp", seed="x", count=2000, cache_dir=d)

Each case is one random instruction followed by BRK, with random X, V, NZCV
and FPCR; 512 cases share a code page (slots 8 bytes apart), so the on-disk
code cache keeps one file per page.  Code pages are read-only to the guest.
With `cache_dir`, blocks are stored in (and taken from) a CodeCache there:
run once to translate and store, then once more in a fresh interpreter
(`python -m tests.support.encoding_sweep CLASS SEED COUNT CACHE_DIR`, which
prints the result as JSON) to run the same cases from the cache, with only
what mkemu builds at import.
"""
from __future__ import annotations

import json
import random
import sys
import traceback
from pathlib import Path

from mkemu.cpu.codecache import CodeCache
from mkemu.cpu.engine import Engine
from mkemu.cpu.state import CpuState
from mkemu.mm.fault import MemFault
from mkemu.mm.tlb import SoftTLB
from tests.oracle.templates import DP_IMM, DP_REG, NEON_GROUPS, instance
from tests.support.oracle import BRK0, DATA, DATA_SIZE, FlatMemory, random_value

CODE_BASE = 0x400000
SLOTS_PER_PAGE = 512

# The Arm ARM's top-level classes by op0 = bits [28:25] (mask, value of op0), and
# templates that draw allocated encodings of the class more often than random bits
CLASSES = {
    "reserved_sve": (0b1100, 0b0000, []),
    "dp_imm": (0b1110, 0b1000, DP_IMM),
    "branch_sys": (0b1110, 0b1010, []),
    "ldst": (0b0101, 0b0100, []),
    "dp_reg": (0b0111, 0b0101, DP_REG),
    "simd_fp": (0b0111, 0b0111, NEON_GROUPS),
}
FPCRS = (0, 0, 0x0100_0000, 0x0200_0000, 0x0040_0000, 0x0080_0000, 0x00C0_0000, 0x0308_0000)


def _branches_to_itself(word: int) -> bool:
    """B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ with offset 0 would loop forever."""
    if word & 0x7C00_0000 == 0x1400_0000:
        return word & 0x03FF_FFFF == 0
    if word & 0xFF00_0000 == 0x5400_0000 or word & 0x7E00_0000 == 0x3400_0000:
        return (word >> 5) & 0x7FFFF == 0
    if word & 0x7E00_0000 == 0x3600_0000:
        return (word >> 5) & 0x3FFF == 0
    return False


def encodings(cls: str, seed: str, count: int) -> list[int]:
    """count encodings of class cls: half random bits with the class's op0, half
    from the class's templates (when it has some)."""
    mask, value, templates = CLASSES[cls]
    rng = random.Random(f"sweep-{cls}-{seed}")
    words = []
    while len(words) < count:
        if templates and rng.random() < 0.5:
            _, tmask, tvalue = rng.choice(templates)
            word = instance(rng, tmask, tvalue)
        else:
            word = (rng.getrandbits(32) & ~(mask << 25)) | (value << 25)
        if not _branches_to_itself(word):
            words.append(word)
    return words


class _Memory(FlatMemory):
    """FlatMemory whose code pages cannot be written (a store there faults)."""

    def __init__(self) -> None:
        super().__init__()
        self.code_pages: set[int] = set()

    def resolve(self, vpn: int, access: str) -> memoryview:
        if access == "w" and vpn in self.code_pages:
            raise MemFault(vpn << 12, access, "perm")
        return super().resolve(vpn, access)


def _state(rng: random.Random, pc: int) -> CpuState:
    st = CpuState()
    for n in range(31):
        st.x[n] = random_value(rng)
    for n in rng.sample(range(31), 6):          # some registers point into DATA
        st.x[n] = DATA + rng.randrange(0, DATA_SIZE - 256)
    st.x[31] = DATA + DATA_SIZE // 2
    for n in range(32):
        st.v[n] = rng.getrandbits(128)
    st.nzcv = rng.randrange(16) << 28
    st.fpcr = rng.choice(FPCRS)
    st.pc = pc
    return st


def sweep(cls: str, seed: str, count: int, cache_dir: Path | None = None) -> tuple[list[str], dict]:
    """Run the cases; returns (one line per case that raised, {"blocks", "from_cache"})."""
    words = encodings(cls, seed, count)
    rng = random.Random(f"sweep-state-{cls}-{seed}")
    mem = _Memory()
    mem.map(DATA, DATA_SIZE)
    mem.write(DATA, rng.randbytes(DATA_SIZE))
    cache = CodeCache(cache_dir) if cache_dir is not None else None
    failures, blocks, from_cache = [], 0, 0
    for start in range(0, len(words), SLOTS_PER_PAGE):
        page = CODE_BASE + (start // SLOTS_PER_PAGE) * 4096
        chunk = words[start:start + SLOTS_PER_PAGE]
        mem.map(page, 4096)
        mem.code_pages.add(page >> 12)
        mem.write(page, b"".join(w.to_bytes(4, "little") + BRK0.to_bytes(4, "little") for w in chunk))
        for i, word in enumerate(chunk):
            eng = Engine(_state(rng, page + 8 * i), SoftTLB(mem.resolve), code_cache=cache)
            try:
                trap = eng.run()
                if not isinstance(trap, int):
                    failures.append(f"{word:08x}: run() returned {trap!r}")
            except Exception as e:       # the point of the sweep: none may escape
                where = traceback.extract_tb(e.__traceback__)[-1]
                failures.append(f"{word:08x}: {type(e).__name__}: {e} ({where.filename}:{where.lineno})")
            blocks += eng.blocks_translated
            from_cache += eng.blocks_from_cache
    if cache is not None:
        cache.flush()
    return failures, {"blocks": blocks, "from_cache": from_cache}


def main(argv: list[str]) -> None:
    cls, seed, count, cache_dir = argv
    failures, stats = sweep(cls, seed, int(count), Path(cache_dir))
    json.dump({"failures": failures, **stats}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
