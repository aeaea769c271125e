"""The execution engine: block cache, translation and the dispatch loop.

This is the CPU's whole interface to the rest of mkemu (see docs/ARCHITECTURE.md):

    eng = Engine(state, mmu)
    trap = eng.run()        # runs until SVC, undefined insn, BRK, fault or signal

An execve makes a new Engine over the new address space.

The memory port `mmu` provides the read/write TLB dicts (guest page number ->
memoryview of that page), the slow-path load/store/fetch, and calls back
`invalidate_page(vpn)` when a page holding translated code is written or unmapped.
"""
from __future__ import annotations

import os
import struct
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from types import FunctionType

from ..mm.fault import MemFault
from . import familyhelpers, flags, regcells, tiercode
from .codecache import CodeCache, function_code, page_hash
from .state import (CpuState, TRAP_FAULT, TRAP_FETCH, TRAP_SIGNAL, TRAP_SVC)
from .tier import RunCounts, tier_up_runs, warm_seed
from .tracetext import FAULT_DOC

TYPE_CHECKING = False   # (not typing's: a warm run imports no typing)
if TYPE_CHECKING:       # the translator is imported at the first trace made (familyhelpers.py)
    from .block import BlockBuilder

HOT_EXITS = 32       # side exits taken before a trace is retranslated to follow them
_QQ = struct.Struct("<QQ")


def _u128(buf, off):
    lo, hi = _QQ.unpack_from(buf, off)
    return (lo | (hi << 64),)


def _p128(buf, off, v):
    # a slice assignment, not pack_into (which zero-fills first: see BlockBuilder.store)
    buf[off:off + 16] = v.to_bytes(16, "little")


# What the single-letter and short names in generated code are (printed once
# ahead of the --dump-blocks output).
LEGEND = """\
# mkemu translated blocks: each is `def blk_<pc>(S, X, V)` with the guest pc and
# disassembly as comments; it returns the next pc, or -TRAP with S.pc set.
#   S  CpuState       X  its X registers (X[31] is SP)  V  its V registers (128-bit ints)
#   x0.. sp  the X registers, cells every trace shares (cpu/regcells.py: published
#   to X when run returns)    v0..  V registers in locals
#   nzcv  the NZCV word    _pc  the faulting
#   instruction (set by the fault path)    _n  instructions of a loop's finished trips
#   RT WT  guest page number -> page, for reads / writes (the TLB)
#   WQ WL  the writable pages as 8- / 4-byte words (aligned stores of that size)
#   WD  the writable pages as doubles (an aligned STR Dt of a float twin, a64_fp_twin)
#   U8 U16 U32 U64 U128  unpack in a page   P128  store 16 bytes (other stores
#   not WQ/WL's are `page[o:o + n] = v.to_bytes(n, 'little')`: one memcpy, see
#   BlockBuilder.store)    U2L U2Q  load a pair (an aligned pair's store is two
#   WQ/WL items, another one slice assignment of both)
#   LD ST  slow-path load / store of an int    RD WR  of bytes
#   NZCV_SUB NZCV_ADD NZCV_LOGIC  the flags word    ADC  add with carry
#   NZCV_SUB64 NZCV_SUB32 NZCV_ADD64 NZCV_ADD32 NZCV_LOGIC64 NZCV_LOGIC32  lazy
#   flags left in S.fk (with their operands in S.fa, S.fb)
#   SXC  side exit counts    HOT  count a side exit (retranslating its trace to
#   follow it once hot)    SIDE  leave by a counted side exit (HOT, registers,
#   S.icount)    UNWIND  a fault's write-back of the registers, S.icount, S.pc
#   FAULTPC  a trace's faulting pc, by the line it left at (no `_pc =` lines)
#   SVC  a region's system call, run where it stands (a parameter: Engine.on_svc)
#   TC TN TIERUP  a first-tier trace's run counts, the count that makes it be
#   translated in full, and the call that drops it for that (cpu/tier.py)
#   _fault  a first-tier trace's fault path, as data: it has no except clause
#   (block.fault_doc; the dispatcher runs it: unwind_first_tier)
#   L1 L2 L4 L8 L16 S1 S2 S4 S8 S16 LP4 LP8 SP4 SP8  a first-tier trace's loads,
#   stores and pairs (the lines of a full trace's access, in a function)
#   other capitalised names: helpers of the instruction families (their HELPERS)
"""


def _unwind(S, X, V, local: dict, runs: tuple, names: str | tuple, loop: bool = True) -> None:
    """A trace's fault path (BlockBuilder.source): count the instructions done
    before the faulting one at `_pc` (runs: (first pc, its index, length) of
    the trace's runs of consecutive instructions) and a loop's finished trips
    (`_n`; not `loop`: a region's case that is no loop, where another case's
    `_n` may be left), store the registers `names`
    that the trace had assigned (a local not yet assigned is absent from
    `local`) and set S.pc.  Cold, so a call rather than lines in every trace."""
    pc = local["_pc"]
    done = 0
    for first, index, n in runs:
        if first <= pc < first + 4 * n:
            done = index + ((pc - first) >> 2)
            break
    S.icount += done + (local.get("_n", 0) if loop else 0) + local.get("_ic", 0)    # _ic: a region's
    _store_locals(X, V, local, names)
    S.pc = pc


def _fault_pc(marks: str, base: int = 0) -> int:
    """A trace's fault path (block._pc_by_line): the pc of the faulting
    instruction, by the line of the trace the exception being handled left it
    at; marks: 'LINE PC LINE PC...', each instruction that may fault from its
    first line on (hex pcs, lines ascending; first line 0: the trace's start),
    counted from line `base` (a region's case: its first line)."""
    return _pc_at_line(marks, sys.exc_info()[2].tb_lineno - base)


def _pc_at_line(marks: str, line: int) -> int:
    words = marks.split()
    pc = words[1]
    for i in range(2, len(words), 2):
        if int(words[i]) > line:
            break
        pc = words[i + 1]
    return int(pc, 16)


def unwind_first_tier(S, X, V, error: BaseException, globals_: dict) -> None:
    """The fault path of a first-tier trace the exception left (it has none of its
    own: block.fault_doc), run from the trace's frame as the exception left it,
    as its handler would have: the same registers stored, S.icount, S.pc and
    NZCV.  Nothing if the exception did not come through such a trace (the frame
    the dispatcher called is the traceback's second)."""
    tb = error.__traceback__
    tb = tb.tb_next if tb is not None else None
    if tb is None:
        return
    doc = next((c for c in tb.tb_frame.f_code.co_consts
                if type(c) is str and c.startswith(FAULT_DOC)), None)
    if doc is None:
        return
    marks, runs, names, *rest = doc[len(FAULT_DOC):].split("\n")
    local = tb.tb_frame.f_locals        # its fast locals, kept by the frame
    local["_pc"] = _pc_at_line(marks, tb.tb_lineno)
    cut = rest.index(".")
    before, after = "\n".join(rest[:cut]), "\n".join(rest[cut + 1:-1])
    if before:
        exec(before, globals_, local)
    words = runs.split()
    _unwind(S, X, V, local, tuple((int(words[i], 16), int(words[i + 1]), int(words[i + 2]))
                                  for i in range(0, len(words), 3)), names)
    if after:
        exec(after, globals_, local)


# a register local's name -> (is a V register, its number): parsing the name for each
# register of each side exit cost about as much as the locals() dict it reads
_SLOT = {**{f"x{n}": (False, n) for n in range(31)}, "sp": (False, 31),
         **{f"v{n}": (True, n) for n in range(32)}}


def _store_locals(X, V, local: dict, names: str | tuple) -> None:
    """Each register name assigned in `local` = its value there: an X register's
    cell (regcells.py: Engine.run publishes the cells to X as it returns), V[n].
    names: a trace's one string of them ('x0 x19 sp': one constant for the
    compiler, not one per name: BlockBuilder.source), or a region's tuple."""
    if type(names) is str:
        names = names.split()
    for name in names:
        if name in local:
            is_v, n = _SLOT[name]
            if is_v:
                V[n] = local[name]
            else:
                regcells.put(name, local[name])


# Regions (cpu/region.py): every so many dispatches the engine records the pcs of
# the next `window` ones; if the traces entered at least `min_entries` times in
# that window took at least `cover` of its transitions among themselves, they
# become one region (at most `max_cases` of them, the most entered).
# MKEMU_REGIONS=off makes none; =eager samples from the first dispatch with a tiny
# window and low bars (tests: every mechanism of regions on short programs).
class RegionPolicy:
    __slots__ = ("window", "min_entries", "cover", "min_wide", "cover_wide", "max_cases",
                 "first", "gap_max", "keep")

    def __init__(self, window=4096, min_entries=16, cover=0.9, min_wide=4, cover_wide=0.97,
                 max_cases=256, first=50_000, gap_max=3_200_000, keep=0.95) -> None:
        self.window = window            # dispatches recorded in one sample
        self.min_entries = min_entries  # entries in it that make a trace hot
        self.cover = cover              # share of its transitions the hot traces must take
        # else: the traces entered min_wide times, if they take cover_wide of them (a
        # loop over many short traces: busybox awk's per line, 150 traces in a window,
        # those entered 16 times taking 70-76% of the transitions, those entered 4 times
        # 99%; a passing phase of python3's start-up rarely reaches 97%)
        self.min_wide = min_wide
        self.cover_wide = cover_wide
        self.max_cases = max_cases      # traces in one region at most
        self.first = first              # dispatches before the first window
        self.gap_max = gap_max          # the gap doubles after each window that made nothing
        # a new region is kept if the next window runs guest instructions (per CPU
        # second) at least this fast against the window that made it
        self.keep = keep


POLICIES = {"": RegionPolicy(),
            "eager": RegionPolicy(window=24, min_entries=2, cover=0.5, min_wide=2, cover_wide=0.5,
                                  first=1, gap_max=64, keep=0.0)}


def _svc_returns() -> int:
    """An SVC without an on_svc (the dispatch loop's and a region's): run returns TRAP_SVC."""
    return -TRAP_SVC


class Region:
    """A region function installed for the pcs of its cases (see Engine._make_region)."""
    __slots__ = ("pcs", "pages", "entries", "weight")

    def __init__(self, pcs: list[int], pages: set[int], entries: dict[int, Callable],
                 weight: dict[int, int]) -> None:
        self.pcs = pcs
        self.pages = pages
        self.entries = entries      # pc -> partial(region function, pc), as in Engine.blocks
        self.weight = weight        # pc -> its entries in the window that made the region


def _base_globals(cache_dir: str | None = None) -> dict:
    g = {
        "U8": struct.Struct("<B").unpack_from, "U16": struct.Struct("<H").unpack_from,
        "U32": struct.Struct("<I").unpack_from, "U64": struct.Struct("<Q").unpack_from,
        "U128": _u128,
        "P128": _p128,
        "NZCV_ADD": flags.nzcv_add, "NZCV_SUB": flags.nzcv_sub,
        "NZCV_LOGIC": flags.nzcv_logic, "ADC": flags.add_with_carry,
        "UNWIND": _unwind, "FAULTPC": _fault_pc,
        **flags.LAZY_KINDS,
    }
    g.update(familyhelpers.ALWAYS)  # (the rest when code needs them: familyhelpers.py)
    # the first tier's memory accesses (cpu/tier.py), kept in the code cache (tiercode.py)
    exec(tiercode.first_tier_code(cache_dir), g)
    return g


class Engine:
    def __init__(self, state: CpuState, mmu, *, dump: Callable[[str], None] | None = None,
                 code_cache: CodeCache | None = None, after: "Engine | None" = None,
                 on_svc: Callable[[], int] | None = None) -> None:
        self.state = state
        self.mmu = mmu
        self.blocks: dict[int, Callable] = {}
        self.page_blocks: dict[int, set[int]] = {}
        self.blocks_translated = 0
        self.blocks_from_cache = 0
        self.block_runs = 0           # calls from the dispatch loop into translated code
        self.code_cache = code_cache
        self.page_hashes: dict[int, str] = {}
        self.dump = dump
        self._disasm = None
        # after: the engine this one replaces (execve).  Its globals dict goes on, so
        # functions made against it (CodeCache.kit, made before a fork) serve this one.
        self.globals = after.globals if after is not None else \
            _base_globals(code_cache.dir if code_cache is not None else None)
        # Branch direction: side exits count themselves in exit_counts; the
        # HOT_EXITS-th time one is taken, hot_branch marks that branch likely
        # taken and drops the trace, which is retranslated to follow it
        self.exit_counts: dict[int, int] = {}
        self.likely_taken: set[int] = set()
        # Regions: sampling (Engine._sample), and the live regions by case pc and by page
        self.policy = POLICIES.get(os.environ.get("MKEMU_REGIONS", ""))   # None: off
        self.sample_at = self.policy.first if self.policy else -1
        self.sample_gap = self.sample_at
        self._window: list[int] | None = None
        self._candidate: set[int] | None = None     # the hot traces of the window before
        self._window_start = (0, 0.0)                # S.icount and CPU time when it began
        self._trial: tuple | None = None             # a new region, the rate before it, looks failed
        self.no_region: set[int] = set()             # cases whose region made things slower
        self.region_of: dict[int, Region] = {}
        self.region_pages: dict[int, list[Region]] = {}
        self.regions_made = 0
        # The first tier (cpu/tier.py): traces made without the passes that only
        # speed them up count their runs in tier_counts; tier_up runs make one hot
        self.tier_counts = RunCounts()
        self.tier_up = tier_up_runs()
        self.hot: set[int] = set()          # pcs made in full from now on
        self.tiered_up = 0
        self.globals.update(RT=mmu.rt, WT=mmu.wt, WQ=mmu.wq, WL=mmu.wl, WD=mmu.wd, LD=mmu.load, ST=mmu.store,
                            RD=mmu.read, WR=mmu.write, S=state,
                            SXC=self.exit_counts, HOT=self.count_exit, SIDE=self.side_exit,
                            TC=self.tier_counts, TN=self.tier_up or 1, TIERUP=self.tier_up_block)
        mmu.code_invalidate = self.invalidate_page
        # on_svc(): the kernel's SVC, run without leaving the engine; it returns the pc
        # to go on at, or -TRAP_* for run to return (-TRAP_SVC_DEFERRED: not run, the
        # task's loop runs it).  The dispatch loop calls it after a trace that ended in
        # an SVC (run returning to the task's loop and being called again was 5% of a
        # getpid and write loop), and a region's case where it stands (its parameter
        # SVC, BlockBuilder.region_part), so a loop around a system call stays in its
        # region.  None: every SVC returns from run.
        self.on_svc = on_svc

    @property
    def tier_up(self) -> int:
        """Runs before a first-tier trace made here is made in full (0: none is made
        in the first tier); one served by the code cache takes WARM_RUNS (tier.py)."""
        return self._tier_up

    @tier_up.setter
    def tier_up(self, runs: int) -> None:
        self._tier_up = runs
        self.tier_counts.seed = warm_seed(runs)

    # ---- translation ----------------------------------------------------------
    def translate(self, pc: int) -> Callable:
        """Translate the block at pc (raises MemFault if pc itself cannot be fetched)."""
        page = pc >> 12
        cache = self.code_cache
        # --dump-blocks shows the full translation
        tier = 0 if self.dump or pc in self.hot else self.tier_up
        if cache is None or self.dump:
            if tier:
                self.tier_counts.setdefault(pc, 0)  # made here: TN runs, not WARM_RUNS
            src, pages, _ = self._source(pc, tier)
            return self._install(pc, regcells.compile_function(src, f"<guest block {pc:#x}>"), pages)
        ph = self._page_hash(page, pc)
        fn = self.blocks.get(pc)
        if fn is not None:                   # the page's first look installed it (_adopt)
            return fn
        # a hot pc (or MKEMU_TIER=off): full code, else made in full, replacing the
        # first-tier code in the cache
        hit = cache.lookup(pc, ph, self.likely_taken, full=not tier)
        if hit is not None:
            code, extra = hit
            if all(self._page_hash(v, v << 12, missing="") == h for v, h in extra):
                self.blocks_from_cache += 1
                return self._install(pc, code, {page, *(v for v, _ in extra)})
        if tier:
            self.tier_counts.setdefault(pc, 0)
        src, pages, marks = self._source(pc, tier)
        code = regcells.compile_function(src, f"<guest block {pc:#x}>")
        extra = [(v, self._page_hash(v, v << 12)) for v in sorted(pages - {page})]
        cache.store(pc, ph, marks, code, extra)
        return self._install(pc, code, pages)

    def _page_hash(self, vpn: int, addr: int, missing=None) -> str:
        ph = self.page_hashes.get(vpn)
        if ph is None:
            try:
                ph = page_hash(bytes(self.mmu.page_view(vpn, "x", addr)))
            except MemFault:
                if missing is None:
                    raise
                return missing
            self.page_hashes[vpn] = ph
            if self.code_cache is not None and self.code_cache.kit and not self.dump:
                self._adopt(vpn, ph)
        return ph

    def _adopt(self, vpn: int, ph: str) -> None:
        """The first look at page vpn (holding ph): install at once the functions the
        code cache made for it before this process forked (CodeCache.kit), with the
        branch marks they were made for, instead of one lookup per block."""
        cache = self.code_cache
        kit = cache.kit.get((ph, vpn))
        if kit is None or cache.kit_globals is not self.globals:
            return
        ready, checked, hot = kit
        blocks = self.blocks
        self.likely_taken |= hot
        # (not `ready.keys() - blocks.keys()`: that walks all of blocks, for every
        # page: 0.37 s of a warm python3 start's ~8)
        fresh = [pc for pc in ready if pc not in blocks]
        for pc in fresh:
            blocks[pc] = ready[pc]
        pcs = self.page_blocks.setdefault(vpn, set())
        pcs.update(fresh)
        n = len(fresh)
        for pc, fn, extra in checked:
            if pc not in blocks and \
                    all(self._page_hash(v, v << 12, missing="") == h for v, h in extra):
                blocks[pc] = fn
                pcs.add(pc)
                for v, _ in extra:
                    self.page_blocks.setdefault(v, set()).add(pc)
                    self.mmu.mark_code(v)
                n += 1
        if n:
            self.mmu.mark_code(vpn)
            self.blocks_translated += n
            self.blocks_from_cache += n

    def _function(self, code, name: str) -> Callable:
        """The function a block's or region's module code defines as name.  Made from
        the function's own code when the module does nothing else, not by running
        the module: a new key in the globals dict (even one popped at once) resets its
        keys version, and then every LOAD_GLOBAL that CPython specialised, in every
        trace, misses until it specialises again (~50 runs); a cold python3 start
        did that 19,700 times."""
        code = function_code(code)
        if code.co_name != "<module>":
            return regcells.make_function(code, self.globals)
        exec(code, self.globals)
        return self.globals.pop(name)

    def _install(self, pc: int, code, pages) -> Callable:
        familyhelpers.ensure(code, self.globals)
        fn = self._function(code, f"blk_{pc:x}")
        self.blocks[pc] = fn
        for page in pages:
            self.page_blocks.setdefault(page, set()).add(pc)
            self.mmu.mark_code(page)
        self.blocks_translated += 1
        return fn

    def _source(self, pc: int, tier: int = 0) -> tuple[str, set[int], dict[int, bool]]:
        """The Python source of the block (trace) at pc, the pages it read and
        the branch marks that shaped it (BlockBuilder.marks); a first-tier trace
        tiering up after `tier` runs if tier, unless it is a loop."""
        b = self._trace(pc, tier)
        if b.loop and tier:             # a loop may run long in one call: in full
            b = self._trace(pc)
        src = b.source(f"blk_{pc:x}")
        if self.dump:
            if not self.blocks_translated:
                self.dump(LEGEND)
            self.dump(src)
        return src, b.pages, b.marks

    def _trace(self, pc: int, tier: int = 0) -> BlockBuilder:
        """The trace at pc, emitted (not yet assembled: BlockBuilder.source or
        region_part); a first-tier one if tier (the runs before it tiers up)."""
        # the translator: imported at the first trace made here (familyhelpers.py)
        from .block import BlockBuilder
        from .decode import decode
        familyhelpers.load(self.globals)
        b = BlockBuilder(pc, self.likely_taken, tier)
        addr = pc
        # the instruction words of the trace's current page: one page lookup
        # (and one cast) per guest page, not a fetch call per instruction
        page_view = self.mmu.page_view
        words = None
        vpn = -1
        # A first-tier trace ends where another trace starts (it goes on there by a
        # dispatch): traces begin at every branch target and return address and
        # follow fall-throughs, so without this a cold python3 start emitted and
        # compiled each instruction 2.6 times on average (364,000 for 138,000
        # addresses).  Cold code runs a few times; a hot trace, made in full,
        # follows its path through them.
        heads = self.blocks if tier else ()
        while True:
            try:
                if addr & 3:
                    insn = self.mmu.fetch(addr)     # raises its alignment fault
                else:
                    if addr >> 12 != vpn:
                        words = page_view(addr >> 12, "x", addr).cast("I")
                        vpn = addr >> 12
                    insn = words[(addr & 4095) >> 2]
            except MemFault:
                if b.ninsn == 0:
                    raise
                b.pc = addr
                b.end_fallthrough()
                break
            b.pc = addr
            b.insn = insn
            b.pc_index[addr] = b.ninsn
            b.pages.add(addr >> 12)
            if self.dump:
                b.line(f"# {addr:#x}: {self._disassemble(insn, addr)}")
            emit = decode(insn)
            if emit is None:
                b.end_undefined()
            else:
                emit(b, insn)
            b.ninsn += 1
            if b.ended:
                break
            nxt = b.follow if b.follow is not None else (addr + 4) & 0xFFFF_FFFF_FFFF_FFFF
            b.follow = None
            if b.ninsn >= b.MAX_INSNS or nxt in b.pc_index or nxt == pc or nxt in heads:
                b.close_at(nxt)
                break
            addr = nxt
        return b

    def _disassemble(self, insn: int, addr: int) -> str:
        if self._disasm is None:
            import capstone
            self._disasm = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
        for i in self._disasm.disasm(insn.to_bytes(4, "little"), addr):
            return f"{i.mnemonic} {i.op_str}".strip()
        return f".inst {insn:#010x}"

    def tier_up_block(self, pc: int) -> int:
        """A first-tier trace's TN-th run (instead of running it): from now on
        the trace at pc is made in full; the dispatcher makes it next."""
        self.hot.add(pc)
        self.tiered_up += 1
        if self.region_of.get(pc) is None:
            self.blocks.pop(pc, None)
        return pc

    def count_exit(self, branch_pc: int, block_start: int) -> None:
        """A trace left by its side exit at branch_pc (one call, not lines in
        every trace: an exit counts only until it is hot)."""
        n = self.exit_counts.get(branch_pc, 0) + 1
        self.exit_counts[branch_pc] = n
        if n >= HOT_EXITS:
            self.hot_branch(branch_pc, block_start)

    def side_exit(self, exit: str, lazy_flags: tuple | None = None) -> int:
        """A trace leaves by a counted side exit (BlockBuilder.source): count
        it, store the registers from its locals and the lazy flags (S.fk,
        S.fa, S.fb) if given, count its instructions; the pc to go on at.
        exit: one string constant, 'BRANCH START TARGET N NAMES...' (the pcs
        in hex, N the instructions done, the registers assigned so far), less
        for compile() than four int constants and the names.  The trace's
        locals are its frame's (passing `locals()` cost compile() ~7% of a
        first-tier trace).  Cold: taken HOT_EXITS times at most before the
        trace is retranslated to follow it."""
        local = sys._getframe(1).f_locals
        branch, start, target, n, *names = exit.split()
        self.count_exit(int(branch, 16), int(start, 16))
        _store_locals(local["X"], local["V"], local, names)
        S = self.state
        if lazy_flags is not None:
            S.fk, S.fa, S.fb = lazy_flags
        S.icount += int(n) + local.get("_n", 0)
        return int(target, 16)

    def hot_branch(self, branch_pc: int, block_start: int) -> None:
        """A trace's side exit at branch_pc is hot: later traces follow the taken
        side, and this one is retranslated when next entered.  A trace made
        before the branch was marked (the branch is in several traces) still
        counts it: it is dropped too, so a marked branch's side exit stops
        counting everywhere (counting is a first tier only)."""
        self.likely_taken.add(branch_pc)
        self.blocks.pop(block_start, None)
        region = self.region_of.get(block_start)
        if region is not None:
            self._drop_region(region)

    # ---- invalidation ---------------------------------------------------------
    def invalidate_page(self, vpn: int) -> None:
        self.page_hashes.pop(vpn, None)
        for pc in self.page_blocks.pop(vpn, ()):
            self.blocks.pop(pc, None)
        for region in self.region_pages.pop(vpn, ()):
            self._drop_region(region)

    # ---- regions (cpu/region.py) -------------------------------------------------
    def _sample(self, pc: int, runs: int) -> int:
        """The dispatcher reached its sampling point (run's `limit`): record pc in
        the window; when the window is full, perhaps make a region of it.  Returns
        the dispatcher's next limit."""
        window = self._window
        if window is None:
            window = self._window = []
            self._window_start = (self.state.icount, time.process_time())
        window.append(pc)
        policy = self.policy
        if len(window) < policy.window:
            self.sample_at = self.block_runs + runs + 1     # the next run() call goes on
            return runs + 1
        self._window = None
        icount, t0 = self._window_start
        rate = (self.state.icount - icount) / max(time.process_time() - t0, 1e-6)
        trial, self._trial = self._trial, None
        again = False
        if trial is not None and self.region_of.get(trial[0].pcs[0]) is trial[0] \
                and rate < policy.keep * trial[1]:
            if trial[2]:
                # the region made the guest slower than the traces it replaced, in
                # two windows: back to them, and none of these cases in a region again
                self._drop_region(trial[0], running=False)
                self.no_region.update(trial[0].pcs)
            else:
                # one window is a few ms of CPU time, noisy on a loaded host (the
                # rate before fib 30's first region: 6.0 to 9.9 M/s in 9 runs), and
                # a good region lost stays lost (fib 30 without its regions: 2.0 ->
                # 3.0 s): look once more before deciding, against the same rate
                self._trial = (trial[0], trial[1], 1)
                again = True
        made = self._make_region(window)
        if made:
            # (a region grown in the window that found it slow keeps that trial's
            # rate and look)
            self._trial = (self.region_of[made], trial[1], 1) if again else \
                (self.region_of[made], rate, 0)
        if made is not False or again:   # a hot set seen once, or a region new: look again soon
            gap = self.sample_gap = 4 * policy.window
        else:
            gap = self.sample_gap = min(2 * self.sample_gap, policy.gap_max)
        self.sample_at = self.block_runs + runs + gap
        return runs + gap

    def _make_region(self, window: list[int]) -> int | bool | None:
        """Make the traces the window entered often one region, if they took most
        of its transitions among themselves (module comment above) here and in the
        window before (a phase that passes, start-up's, is not worth compiling
        for): None when only this window found them, else False, or a pc of the
        region made."""
        candidate, self._candidate = self._candidate, None
        counts = Counter(window)
        policy = self.policy
        blocks = self.blocks
        region_of = self.region_of
        for min_entries, cover in ((policy.min_entries, policy.cover), (policy.min_wide, policy.cover_wide)):
            cases = {pc for pc, n in counts.items()
                     if n >= min_entries and pc not in self.no_region
                     and (type(blocks.get(pc)) is FunctionType or pc in region_of)}
            inside = sum(1 for a, b in zip(window, window[1:]) if a in cases and b in cases)
            if len(cases) >= 2 and inside >= cover * (len(window) - 1):
                break
        else:
            return False
        old = {region_of[pc] for pc in cases if pc in region_of}
        if len(old) == 1 and cases <= set(next(iter(old)).pcs):
            return False            # made already
        if candidate is None or len(cases - candidate) * 8 > len(cases):
            self._candidate = cases
            return None
        # a region entered here grows: the new one takes its cases too (it made
        # the transitions among them invisible to the window)
        pcs = sorted(cases, key=counts.__getitem__, reverse=True)
        pcs += [pc for r in old for pc in r.pcs if pc not in cases]
        if len(pcs) > policy.max_cases:
            if old:             # cutting it would make cases it has now exits
                return False
            pcs = pcs[:policy.max_cases]
        try:
            parts = [self._trace(pc).region_part() for pc in pcs]
        except MemFault:
            return False
        # how often each case is entered orders the search (a grown region's cases
        # keep their weights: their transitions no longer reach the window)
        weight = dict(counts)
        for r in old:
            for pc, n in r.weight.items():
                weight[pc] = max(weight.get(pc, 0), n)
        weight = {pc: weight.get(pc, 1) for pc in pcs}
        name = f"region_{pcs[0]:x}"
        from .region import region_source
        # SVC (on_svc, which the task may set after the engine is made) is a parameter
        # of a region only: no trace calls it, a trace's SVC leaves for the dispatch loop
        bindable = dict(self.globals, SVC=self.on_svc or _svc_returns)
        src = region_source(name, parts, weight, bindable=bindable)
        if self.dump:
            self.dump(src)
        try:
            code = regcells.compile_function(src, f"<guest region {pcs[0]:#x}>")
        except (SyntaxError, RecursionError, MemoryError):
            return False            # too deep for the compiler (nested blocks): traces do
        for r in old:
            self._drop_region(r, running=False)
        fn = self._function(code, name)
        # the globals it takes as parameters (region_source's bindable), as they are
        # now: an engine never rebinds its globals, only fills the objects they name
        fn.__defaults__ = tuple(bindable[n] for n in fn.__code__.co_varnames[4:fn.__code__.co_argcount])
        pages = set().union(*(p.pages for p in parts))
        region = Region(pcs, pages, {pc: partial(fn, pc) for pc in pcs}, weight)
        for pc, entry in region.entries.items():
            blocks[pc] = entry
            self.region_of[pc] = region
        for page in pages:
            self.region_pages.setdefault(page, []).append(region)
            self.mmu.mark_code(page)
        self.regions_made += 1
        return pcs[0]

    def stop_regions(self) -> None:
        """No regions from now on (a process with threads: python3's threading
        tests ran past their 300 s with them, 92 s without; the cause is not known
        yet)."""
        for region in {id(r): r for r in self.region_of.values()}.values():
            self._drop_region(region)
        self.policy = None
        self.sample_at = -1
        self._window = self._trial = self._candidate = None

    def _drop_region(self, region: Region, running: bool = True) -> None:
        """Take the region out (its traces are made again as functions of their
        own when next entered) and make a running region leave at its next case
        change (S.pending: the task's run loop goes round once more)."""
        for pc, entry in region.entries.items():
            if self.region_of.get(pc) is region:
                del self.region_of[pc]
            if self.blocks.get(pc) is entry:
                del self.blocks[pc]
        if running:
            self.state.pending = True

    # ---- dispatch -----------------------------------------------------------
    def run(self) -> int:
        """Run guest code from S.pc; return a TRAP_* code with S.pc set."""
        S = self.state
        X, V = S.x, S.v
        blocks = self.blocks
        on_svc = self.on_svc or _svc_returns
        x0 = regcells.CELL["x0"]
        pc = S.pc
        # the registers are the cells while guest code runs (regcells.py), X again
        # when this returns (the finally clause)
        regcells.load(X)
        runs = 0
        limit = max(self.sample_at - self.block_runs, 1) if self.sample_at >= 0 else -1
        try:
            while True:
                runs += 1
                if runs == limit:
                    limit = self._sample(pc, runs)
                try:
                    fn = blocks[pc]      # a dict subscript: cheaper than .get's call
                except KeyError:
                    try:
                        fn = self.translate(pc)
                    except MemFault as e:
                        S.pc = pc
                        S.fault_addr = e.addr
                        S.fault_write = False
                        S.fault_kind = e.kind
                        return TRAP_FETCH
                pc = fn(S, X, V)
                if pc < 0:
                    if pc != -TRAP_SVC:
                        return -pc
                    pc = on_svc()
                    # the call's answer (its registers were stored in X by the trace:
                    # BlockBuilder.end_svc; a Linux arm64 call answers in x0 alone)
                    x0.cell_contents = X[0]
                    if pc < 0:
                        return -pc
                if S.pending:
                    S.pc = pc
                    return TRAP_SIGNAL
        except MemFault as e:
            # the block wrote back its registers and set S.pc to the faulting insn
            # (a first-tier trace's fault path runs here)
            unwind_first_tier(S, X, V, e, self.globals)
            S.fault_addr = e.addr & 0xFFFF_FFFF_FFFF_FFFF
            S.fault_write = e.access == "w"
            S.fault_kind = e.kind
            return TRAP_FAULT
        except BaseException as e:
            unwind_first_tier(S, X, V, e, self.globals)
            raise
        finally:
            regcells.store(X)
            self.block_runs += runs
