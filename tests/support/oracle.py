"""Differential testing against unicorn: same instructions, same state, compare.

    from tests.support.oracle import Case, check
    check(Case(code=[0x8b020020], x={1: 5, 2: 7}))   # add x0, x1, x2

`check` runs the words at CODE in mkemu's engine (over a flat test memory
with the real SoftTLB) and in unicorn, then compares X0-X30, SP, PC, NZCV,
V0-V31, FPSR (cumulative bits ignored unless asked) and the data region.
Sequences must end by falling off their end (or branching to it).

Every case that compared something is counted, per group (the running test),
as one of three outcomes:
  compared        both completed and the whole state is equal;
  both undefined  both refused an encoding at the same pc, with equal state
                  up to it (unicorn reports UC_ERR_EXCEPTION, mkemu TRAP_UNDEF);
  fault cases     both stopped with a data fault at the same pc with the same
                  general registers and flags (V registers and memory are not
                  compared: a multi-register access may have done part of its
                  work, which the Arm ARM leaves UNKNOWN).
An encoding unicorn runs but mkemu refuses raises Unimplemented and counts
nothing; any other disagreement is a difference.

Environment (used by tests/oracle/test_code_cache.py to re-run the groups
from the on-disk code cache in a fresh process):
  MKEMU_ORACLE_CODE_CACHE=DIR  translate through a CodeCache in DIR, flushed
                               after each case;
  MKEMU_ORACLE_WARM=1          every block must be loaded from that cache;
                               one translated from source is a difference.
"""
from __future__ import annotations

import hashlib
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import unicorn
import unicorn.arm64_const as U

from mkemu.cpu.codecache import CodeCache
from mkemu.cpu.engine import TRAP_FAULT, Engine
from mkemu.cpu.state import CpuState, TRAP_BRK, TRAP_UNDEF
from mkemu.mm.fault import MemFault
from mkemu.mm.tlb import SoftTLB

CODE = 0x10000
DATA = 0x200000          # a data region the random pointers point into
DATA_SIZE = 0x4000
BRK0 = 0xD4200000
XREGS = [getattr(U, f"UC_ARM64_REG_X{n}") for n in range(31)]
QREGS = [getattr(U, f"UC_ARM64_REG_Q{n}") for n in range(32)]


@dataclass
class Case:
    code: list[int]
    x: dict[int, int] = field(default_factory=dict)      # 0..30, 31 = SP
    v: dict[int, int] = field(default_factory=dict)
    nzcv: int = 0
    fpcr: int = 0
    data: bytes = b""                                  # initial contents of DATA
    tpidr: int = 0


class FlatMemory:
    """A test address space: a few RWX regions backed by bytearrays."""

    def __init__(self) -> None:
        self.pages: dict[int, memoryview] = {}

    def map(self, addr: int, size: int) -> None:
        for vpn in range(addr >> 12, (addr + size + 0xFFF) >> 12):
            self.pages.setdefault(vpn, memoryview(bytearray(4096)))

    def resolve(self, vpn: int, access: str) -> memoryview:
        try:
            return self.pages[vpn]
        except KeyError:
            raise MemFault(vpn << 12, access) from None

    def write(self, addr: int, data: bytes) -> None:
        for i, byte in enumerate(data):
            self.pages[(addr + i) >> 12][(addr + i) & 0xFFF] = byte

    def read(self, addr: int, size: int) -> bytes:
        return bytes(self.pages[(addr + i) >> 12][(addr + i) & 0xFFF] for i in range(size))


# ---- what was checked, per group -------------------------------------------------------
COMPARED, BOTH_UNDEFINED, FAULTS = "compared", "both undefined", "fault cases"
OUTCOMES = (COMPARED, BOTH_UNDEFINED, FAULTS)
TALLY: dict[str, Counter] = {}          # group -> outcome -> cases (also blocks and answers)
ANSWERS: dict[str, hashlib.blake2b] = {}   # group -> digest of every state mkemu ended in
group = "(no test)"                      # the running test's node id (set by tests/conftest.py)


def record(outcome: str, cases: int = 1) -> None:
    """Count `cases` of one outcome for the running group."""
    TALLY.setdefault(group, Counter())[outcome] += cases


def answers_digest(name: str) -> str:
    return ANSWERS[name].hexdigest() if name in ANSWERS else ""


def _note_answer(out: dict) -> None:
    h = ANSWERS.setdefault(group, hashlib.blake2b(digest_size=16))
    h.update(repr(sorted(out.items())).encode())


_CODE_CACHE_DIR = os.environ.get("MKEMU_ORACLE_CODE_CACHE")
_WARM = bool(os.environ.get("MKEMU_ORACLE_WARM"))


def run_mkemu(case: Case) -> dict:
    mem = FlatMemory()
    code = b"".join(w.to_bytes(4, "little") for w in case.code + [BRK0])
    mem.map(CODE, len(code))
    mem.write(CODE, code)
    mem.map(DATA, DATA_SIZE)
    mem.write(DATA, case.data)
    st = CpuState()
    for n, val in case.x.items():
        st.x[n] = val
    for n, val in case.v.items():
        st.v[n] = val
    st.nzcv, st.fpcr, st.tpidr = case.nzcv, case.fpcr, case.tpidr
    st.pc = CODE
    cache = CodeCache(Path(_CODE_CACHE_DIR)) if _CODE_CACHE_DIR else None
    eng = Engine(st, SoftTLB(mem.resolve), code_cache=cache)
    trap = eng.run()
    out = st.snapshot()
    out["trap"] = trap
    out["data"] = mem.read(DATA, DATA_SIZE)
    _note_answer(out)
    if cache is not None:
        cache.flush()
        TALLY.setdefault(group, Counter()).update(
            {"blocks": eng.blocks_translated, "blocks from cache": eng.blocks_from_cache})
    out["translated from source"] = eng.blocks_translated - eng.blocks_from_cache
    return out


def run_unicorn(case: Case) -> dict:
    uc = unicorn.Uc(unicorn.UC_ARCH_ARM64, unicorn.UC_MODE_ARM)
    uc.ctl_set_cpu_model(U.UC_CPU_ARM64_MAX)
    code = b"".join(w.to_bytes(4, "little") for w in case.code + [BRK0])
    uc.mem_map(CODE, 0x10000)
    uc.mem_write(CODE, code)
    uc.mem_map(DATA, DATA_SIZE)
    uc.mem_write(DATA, case.data)
    uc.reg_write(U.UC_ARM64_REG_CPACR_EL1, 0x300000)   # FP/SIMD enabled at EL0
    for n in range(31):
        uc.reg_write(XREGS[n], case.x.get(n, 0))
    uc.reg_write(U.UC_ARM64_REG_SP, case.x.get(31, 0))
    for n in range(32):
        uc.reg_write(QREGS[n], case.v.get(n, 0))
    uc.reg_write(U.UC_ARM64_REG_NZCV, case.nzcv)
    uc.reg_write(U.UC_ARM64_REG_FPCR, case.fpcr)
    uc.reg_write(U.UC_ARM64_REG_TPIDR_EL0, case.tpidr)
    end = CODE + 4 * len(case.code)
    err = None
    try:
        uc.emu_start(CODE, end, count=10000)
    except unicorn.UcError as e:
        err = e
    out = {
        "x": [uc.reg_read(XREGS[n]) for n in range(31)],
        "sp": uc.reg_read(U.UC_ARM64_REG_SP),
        "pc": uc.reg_read(U.UC_ARM64_REG_PC),
        "nzcv": uc.reg_read(U.UC_ARM64_REG_NZCV) & 0xF0000000,
        "v": [uc.reg_read(QREGS[n]) for n in range(32)],
        "fpsr": uc.reg_read(U.UC_ARM64_REG_FPSR),
        "tpidr": uc.reg_read(U.UC_ARM64_REG_TPIDR_EL0),
        "data": bytes(uc.mem_read(DATA, DATA_SIZE)),
        "error": err,
    }
    return out


class Unimplemented(Exception):
    """mkemu treats an encoding as undefined that unicorn executes (a coverage gap)."""


_UNMAPPED = (unicorn.UC_ERR_READ_UNMAPPED, unicorn.UC_ERR_WRITE_UNMAPPED)


def _state_diffs(got: dict, want: dict, check_fpsr: bool, whole: bool = True) -> list[str]:
    """Differences in the registers (and, when `whole`, V registers, TPIDR and DATA)."""
    diffs = []
    for n in range(31):
        if got["x"][n] != want["x"][n]:
            diffs.append(f"x{n}: mkemu {got['x'][n]:#x} unicorn {want['x'][n]:#x}")
    if got["sp"] != want["sp"]:
        diffs.append(f"sp: mkemu {got['sp']:#x} unicorn {want['sp']:#x}")
    if got["nzcv"] != want["nzcv"]:
        diffs.append(f"nzcv: mkemu {got['nzcv']:#x} unicorn {want['nzcv']:#x}")
    if not whole:
        return diffs
    for n in range(32):
        if got["v"][n] != want["v"][n]:
            diffs.append(f"v{n}: mkemu {got['v'][n]:#034x} unicorn {want['v'][n]:#034x}")
    if check_fpsr and got["fpsr"] != want["fpsr"]:
        diffs.append(f"fpsr: mkemu {got['fpsr']:#x} unicorn {want['fpsr']:#x}")
    if got["tpidr"] != want["tpidr"]:
        diffs.append(f"tpidr: mkemu {got['tpidr']:#x} unicorn {want['tpidr']:#x}")
    if got["data"] != want["data"]:
        first = next(i for i in range(DATA_SIZE) if got["data"][i] != want["data"][i])
        diffs.append(f"data differs first at DATA+{first:#x}")
    return diffs


def compare(case: Case, check_fpsr: bool = False) -> list[str]:
    """Differences between mkemu and unicorn for one case (empty when equal); an
    equal case is counted under its outcome (see the module docstring)."""
    got, want = run_mkemu(case), run_unicorn(case)
    if got["trap"] == TRAP_UNDEF and want["error"] is None:
        raise Unimplemented(f"{case.code[got['pc'] - CODE >> 2]:08x}")
    end = CODE + 4 * len(case.code)
    completed = got["trap"] == TRAP_BRK and got["pc"] == end
    err = want["error"] and want["error"].errno
    if err is None:
        outcome, diffs = COMPARED, ([] if completed else
                                    [f"mkemu stopped with trap {got['trap']} at {got['pc']:#x}"])
    elif err == unicorn.UC_ERR_EXCEPTION and got["trap"] == TRAP_UNDEF:
        outcome, diffs = BOTH_UNDEFINED, []
    elif err in _UNMAPPED and got["trap"] == TRAP_FAULT:
        outcome, diffs = FAULTS, []
    else:
        return [f"unicorn stopped with {want['error']} at {want['pc']:#x}, mkemu with "
                + ("no trap" if completed else f"trap {got['trap']} at {got['pc']:#x}")]
    if got["pc"] != want["pc"]:
        diffs.append(f"pc: mkemu {got['pc']:#x} unicorn {want['pc']:#x}")
    diffs += _state_diffs(got, want, check_fpsr, whole=outcome != FAULTS)
    if _WARM and got["translated from source"]:
        diffs.append(f"{got['translated from source']} block(s) translated, not loaded from the code cache")
    if not diffs:
        record(outcome)
    return diffs


def check(case: Case, check_fpsr: bool = False) -> None:
    diffs = compare(case, check_fpsr)
    if diffs:
        words = " ".join(f"{w:08x}" for w in case.code)
        raise AssertionError(f"code [{words}]:\n  " + "\n  ".join(diffs))


# ---- random states ---------------------------------------------------------------
INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000,
               0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000,
               0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFE, 0x8000_0000_0000_0001]


def random_value(rng: random.Random, bits: int = 64) -> int:
    r = rng.random()
    if r < 0.3:
        return rng.choice(INTERESTING) & ((1 << bits) - 1)
    if r < 0.4:
        return rng.randrange(0, 256)
    return rng.getrandbits(bits)


def random_state(rng: random.Random, pointers: tuple[int, ...] = ()) -> dict:
    """Random x0..x30 and SP; registers named in `pointers` point into DATA."""
    x = {n: random_value(rng) for n in range(31)}
    x[31] = DATA + DATA_SIZE // 2 + rng.randrange(0, 64) * 16
    for n in pointers:
        x[n] = DATA + DATA_SIZE // 4 + rng.randrange(0, DATA_SIZE // 2)
    return {"x": x, "v": {n: rng.getrandbits(128) for n in range(32)},
            "nzcv": rng.randrange(16) << 28,
            "data": bytes(rng.getrandbits(8) for _ in range(DATA_SIZE))}


def random_fpcr(rng: random.Random, full: bool = False) -> int:
    """Half the time the default FPCR; else DN only or, when `full`, any rounding
    mode (RMode) with FZ, FZ16 and DN drawn independently."""
    if rng.random() < 0.5:
        return 0
    if not full:
        return 1 << 25 if rng.random() < 0.5 else 0  # DN
    fpcr = rng.randrange(4) << 22                   # RMode
    if rng.random() < 0.3:
        fpcr |= 1 << 24                             # FZ
    if rng.random() < 0.3:
        fpcr |= 1 << 19                             # FZ16
    if rng.random() < 0.3:
        fpcr |= 1 << 25                             # DN
    return fpcr
