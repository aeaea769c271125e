"""BlockBuilder: the emitter API that instruction semantics write Python through.

A guest basic block becomes one Python function `blk(S, X, V)`:

    def blk(S, X, V):
        nonlocal x0, x1, sp           # the X registers it names: cells (regcells.py)
        v0 = V[0]                     # V registers it may read before writing
        try:
            <one group of lines per guest instruction>
            V[0] = v0                 # at each exit, the V registers assigned above it
            S.icount += N
            return NEXT_PC            # or -TRAP with S.pc set
        except BaseException:
            _pc = FAULTPC('LINE PC ...')     # the faulting instruction, by line
            <write back, NZCV, S.pc = _pc>   # as at the faulting instruction
            raise

(A first-tier trace, cpu/tier.py, has no try: its fault path is a string
constant, `_fault = 'FAULT...'`, that the dispatcher runs: fault_doc.)

Instruction semantics (the a64_*.py family files) never build that frame; they
call the methods below: rx/wx for registers, load/store for memory, set_flags /
cond for NZCV, and one of the end_* methods for the last instruction.

Flags are symbolic at translation time: after CMP the builder remembers
("sub", bits, a, b) in two temporaries, and a following B.cond or CSEL becomes
one Python comparison.  The NZCV word is computed only for a condition the
symbolic form cannot answer (or MRS); an exit, and the fault path for the
faulting instruction, leave the flags lazy in S (CpuState.fk/fa/fb).

A block whose last branch goes back to its own start is emitted as a Python
`while True` loop, so a hot guest loop runs without returning to the dispatcher.
"""
from __future__ import annotations

import re

from ..lazyre import lazy_compile
from .a64_branch_sys import TRIPS
from .flags import lazy_kind
from .memgroup import MemOp, group_memory
from .regcells import ARGS, NAMES, declare
from .state import TRAP_BRK, TRAP_SVC, TRAP_UNDEF
from .tracetext import BACK_EDGE, FAULT_DOC

M64 = 0xFFFF_FFFF_FFFF_FFFF

# an assignment to register locals: "x3 = ", "sp += ", "x1, x2 = "  (each pattern
# starts with the name's first letter, not a lookbehind, so the scan skips to the
# candidates: 2-3x faster, same matches)
_REG = lazy_compile(r"[xsv](?<![\w.][xsv])(?:(?<=x)\d+|(?<=s)p|(?<=v)\d+)(?![\w\[])")
_ASSIGN = lazy_compile(r"[xsv](?<![\w.\[][xsv])(?:(?<=x)\d+|(?<=s)p|(?<=v)\d+)(?:\s*,\s*(?:x\d+|sp|v\d+))*\s*"
                     r"(?:[-+*/%&|^@]|<<|>>|\*\*|//)?=(?!=)")

# a placeholder line of the body, filled in by BlockBuilder.source
_PLACEHOLDER = lazy_compile(r"^( *)@(WB|ICOUNT|LOOPFLAGS)(\d+)@\n", re.M)
# a counted side exit (end_cond_branch, _exit): HOT(branch, start), the flags,
# the registers' placeholder, the count's and the return of a constant target
_COUNTED_EXIT = lazy_compile(r"^( *)HOT\((0x[0-9a-f]+), (0x[0-9a-f]+)\)\n((?:\1S\.fk = [^\n]*\n)?)"
                           r"\1@WB(\d+)@\n\1@ICOUNT(\d+)@\n\1return (0x[0-9a-f]+)\n", re.M)
_LAZY_STORE = lazy_compile(r" *S\.fk = (\w+); S\.fa = (\w+); S\.fb = (\w+)\n")   # _store_flags
# an exit's return (_exit: the only `return` a body has)
_RETURN = lazy_compile(r"^( *)return (.+)$", re.M)
NAMES_MARK = "@NAMES@"     # region_part: where the region's register names go
# region_part: an SVC's exit, which a region runs where it stands (SVC_STORES: the
# stores of every V register the region assigns, the X registers being cells, of which
# the call's are in X already; SVC_X0: x0 taken back from X, the call's result)
_SVC_EXIT = lazy_compile(rf"^( *)@ICOUNT(\d+)@\n\1return -{TRAP_SVC}\n", re.M)
SVC_STORES = "@SVCSTORES@"
SVC_X0 = "x0 = X[0]"


class RegionPart:
    """A trace as a case of a region (BlockBuilder.region_part)."""
    __slots__ = ("start", "lines", "registers", "written", "pages")

    def __init__(self, start: int, lines: list[str], registers: set[str], written: set[str],
                 pages: set[int]) -> None:
        self.start = start
        self.lines = lines            # the case, indented from 0
        self.registers = registers    # the register locals it touches
        self.written = written        # those it may assign
        self.pages = pages            # the guest pages its instructions came from


# a constant register expression that may be folded: integer literals and the
# operators + - * & | ^ << >> ~ and parentheses, nothing else (no names, calls,
# division or power), checked by one regex instead of ast.parse + a walk +
# compile (1.7 s of a cold python3 start's 48 s of translation)
_FOLDABLE = lazy_compile(r"(?:\s*(?:0x[0-9a-fA-F]+|[1-9][0-9]*|0|<<|>>|[-+*&|^~()]))*\s*")
_folded: dict[str, int | None] = {}


_assigned: dict[str, tuple[str, ...]] = {}
_NONE: frozenset[str] = frozenset()


def assigned_registers(text: str) -> tuple[str, ...]:
    """The register locals (x3, sp, v0...) a line of generated code assigns.
    Memoised by line: the emitters and the passes ask again and again about the
    same few thousand lines (`x0 = _t3`, a load's `try:` line...)."""
    names = _assigned.get(text)
    if names is None:
        names = tuple(name for m in _ASSIGN.finditer(text) for name in _REG.findall(m.group(0)))
        if len(_assigned) >= 65536:
            _assigned.clear()
        _assigned[text] = names
    return names


def _const_value(expr: str) -> int | None:
    """The value of expr if it is an integer expression of literals only."""
    value = _folded.get(expr, _folded)
    if value is not _folded:
        return value
    value = None
    if _FOLDABLE.fullmatch(expr) and "**" not in expr:
        try:
            value = eval(expr, {"__builtins__": {}})
        except (SyntaxError, ValueError, ArithmeticError):
            pass
        if type(value) is not int:
            value = None
    if len(_folded) < 65536:
        _folded[expr] = value
    return value


# struct names the generated code uses, by access size (see engine._base_globals)
_UNPACK = {1: "U8", 2: "U16", 4: "U32", 8: "U64", 16: "U128"}
_WORDS = {4: ("WL", 2), 8: ("WQ", 3)}      # store size -> the TLB's word views, index shift


# ---- where NZCV is ------------------------------------------------------------
# FlagState: None (as on entry to the block: S holds it), IN_LOCAL (the local
# `nzcv` holds the word), or BlockBuilder.flags' symbolic (kind, bits, a, b),
# or after CCMP/CCMN (kind, bits, a, b, test, imm): the flags of (kind, bits,
# a, b) if the temporary `test` holds, else the constant word imm.
FlagState = tuple | str | None
IN_LOCAL = "nzcv"


def _store_flags(state: FlagState) -> str:
    """A statement that leaves NZCV in S as `state` says (symbolic stays lazy)."""
    if state is None:
        return ""
    if state == IN_LOCAL:
        return "S.fk = None; S.nzcv_raw = nzcv"
    kind, bits, a, b = state[:4]
    if len(state) > 4:      # conditional compare: lazy, or the immediate word
        test, imm = state[4:]
        return (f"S.fk, S.fa, S.fb = ({lazy_kind(kind, bits)}, {a}, {b}) if {test} "
                f"else (None, 0, 0); S.nzcv_raw = {imm:#x}")
    return f"S.fk = {lazy_kind(kind, bits)}; S.fa = {a}; S.fb = {b}"


RUN_MIN = 3     # consecutive registers a first-tier trace loads or stores in one line


def _register_runs(regs: list[tuple[str, int, str]]) -> list[list[tuple[str, int, str]]]:
    """regs ((file, index, local), sorted by file and index) cut into runs of
    consecutive registers of one file."""
    runs: list[list[tuple[str, int, str]]] = []
    for r in regs:
        if runs and runs[-1][-1][0] == r[0] and runs[-1][-1][1] + 1 == r[1]:
            runs[-1].append(r)
        else:
            runs.append([r])
    return runs


def _run_assignments(regs: list[tuple[str, int, str]], store: bool) -> list[str]:
    """A first-tier trace's V register stores (store) or loads as lines (see
    _register_runs; the X registers are cells): each run of RUN_MIN or more one
    slice assignment (`V[1:4] = v1, v2, v3`, of the same length: the list keeps its
    32 items; `v1, v2, v3 = V[1:4]`), the others one each.  Less text to
    compile for a first-tier trace (cpu/tier.py), most of which run a few times."""
    out = []
    for run in _register_runs(regs):
        if len(run) >= RUN_MIN:
            f, n, _ = run[0]
            pairs = [(f"{f}[{n}:{n + len(run)}]", ", ".join(r[2] for r in run))]
        else:
            pairs = [(f"{f}[{n}]", name) for f, n, name in run]
        out.extend(f"{slot} = {name}" if store else f"{name} = {slot}" for slot, name in pairs)
    return out


_MARK_LINE = lazy_compile(r"^( *)_pc = 0x([0-9a-f]+)\n", re.M)
LINE_MARK = "@LINE@"        # region_part: the region's line number of the case's first line


def _pc_by_line(text: str, start: int, first: int) -> tuple[str, str]:
    """A trace's text without its `_pc = PC` lines (~8% of it, and a store run
    for every memory access), and the marks its fault path finds the faulting
    instruction's pc by: 'LINE PC LINE PC...' (hex pcs, lines ascending; the
    first, 0, is the trace's start), each instruction that may fault from the
    line after its mark on (engine._fault_pc: the pc of the last mark above
    the line the exception left the trace at).  A faulting line always has its
    own instruction's mark as the nearest one above it, also in a loop's body
    (a trip runs it top down) and in a grouped access's slow path (memgroup),
    so the text order stands for the order run.  text: the trace's, its first
    line being line `first`.  A mark that is the last statement of its block
    stays (the block would be empty), as does its entry in the marks."""
    marks = [f"0 {start:x}"]
    last = f"{start:x}"
    out = []
    line = first        # the number of the next line kept
    pos = 0
    for m in _MARK_LINE.finditer(text):
        chunk = text[pos:m.start()]
        out.append(chunk)
        line += chunk.count("\n")
        if m.group(2) != last:
            last = m.group(2)
            marks.append(f"{line} {last}")
        pos = m.end() if _block_goes_on(text, m.end(), len(m.group(1))) else m.start()
    out.append(text[pos:])
    return "".join(out), " ".join(marks)


def _block_goes_on(text: str, pos: int, indent: int) -> bool:
    """Is there a statement from text[pos] on at least `indent` deep before the
    block ends?"""
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        body = text[pos:end].lstrip()
        if body and body[0] != "#":
            return end - pos - len(body) >= indent
        pos = end + 1
    return False


def _with_fault_pc(lines: list[str], handler: int, marks: str, base: str = "") -> None:
    """Put `_pc = FAULTPC(...)` first in the fault path whose `except` line is
    lines[handler] (base: the line number the marks count from, for a region's
    case; none for a trace, whose marks are its own line numbers)."""
    ind = lines[handler][:len(lines[handler]) - len(lines[handler].lstrip())]
    lines.insert(handler + 1, f"{ind}    _pc = FAULTPC('{marks}'{', ' + base if base else ''})")


# A first-tier trace has no fault path of its own: a try/except and its handler's
# lines were a quarter of the compile time of the traces a cold python3 start
# makes, most of which run a few times and never fault.  A string constant holds
# what the handler would have run, and the dispatcher unwinds the trace's frame
# from the exception's traceback (engine.unwind_first_tier).  One constant for the
# compiler (assigned, not a docstring: python -OO drops those).
FAULT_DOC_MARK = "@FAULTDOC@"


def fault_doc(marks: str, runs: str, names: str, before: list[str], after: list[str]) -> str:
    """A first-tier trace's fault path as a string literal: FAULT_DOC, then lines: the marks
    (_pc_by_line), the pc runs (_pc_runs), the registers to store, then the
    handler lines run before the store (fault_lines) and after it (the flags),
    each set dedented to the left margin and ended by a line '.'."""
    parts = [marks, runs, names]
    for lines in (before, after):
        parts += [line[8:] for line in lines] + ["."]
    return repr(FAULT_DOC + "\n".join(parts))


def _pc_in(pcs: list[int]) -> str:
    if len(pcs) == 1:
        return f"_pc == {pcs[0]:#x}"
    return f"_pc in ({', '.join(f'{pc:#x}' for pc in pcs)})"


class BlockBuilder:
    MAX_INSNS = 64

    def __init__(self, start: int, likely_taken: set[int], tier_up: int = 0) -> None:
        self.start = start
        # a first-tier trace (cpu/tier.py) if non-zero: the runs before it is made
        # in full.  Its memory accesses are calls of the tier's helpers (the same
        # lines as a full trace's, in a function), less text to compile
        self.tier_up = tier_up
        self.pc = start          # address of the instruction being emitted
        self.insn = 0            # its encoding
        self.ninsn = 0
        self.lines: list[str] = []
        self.depth = 0           # extra indentation inside the body
        self.touched_x: set[int] = set()   # 0..30 and 31 (= SP)
        self.touched_v: set[int] = set()
        self.ended = False
        self.loop = False
        self.ntemp = 0
        # Symbolic flags: None (NZCV in local `nzcv`, loaded from S.nzcv),
        # or (kind, bits, a, b) with a, b names of temporaries.
        self.flags: tuple | None = None
        self.nzcv_loaded = False     # block reads the incoming S.nzcv
        self.flags_dirty = False     # block changed NZCV
        # Traces: a direct branch is followed inside the block (no exit), a
        # conditional branch becomes a side exit and the trace goes on with the
        # fall-through.  The engine reads `follow` to know where to fetch next.
        self.follow: int | None = None
        self.pc_index: dict[int, int] = {}    # guest pc -> instruction index in the trace
        self.pages: set[int] = set()
        self.linear = True                    # the trace is one straight run of addresses
        # Registers assigned in the lines emitted so far (scanned up to
        # _scanned_lines), and a copy of that set for each exit: a trace runs
        # in textual order, so an exit stores only what was assigned above it.
        self._written_so_far: set[str] = set()
        self._scanned_lines = 0
        self._exit_written: list[frozenset[str]] = []
        # Branch direction (see Engine.hot_branch): the conditional branches
        # marked likely-taken, whose taken side a trace follows (a marked
        # branch's side exit is no longer counted).  `marks` records, for each
        # branch of this trace that could follow its taken side, whether it was
        # marked: the trace's shape depends on exactly these (the code cache key).
        self.likely_taken = likely_taken
        self.marks: dict[int, bool] = {}
        # NZCV at each faultable instruction (the FlagState there: the fault
        # path leaves it in S) and at each branch back to the start of a loop
        self._fault_flags: dict[int, FlagState] = {}
        self._loop_flags: list[FlagState] = []
        # Register locals known to hold a value below 2**32 at this point of
        # the body (a W result, a 32-bit load, a small constant): reading them
        # as W needs no mask.  A trace is straight-line text (side exits
        # return, a loop restarts at its top with nothing known), so a fact
        # holds from its assignment at the body's level until the next line
        # that assigns the register.
        self.narrow: set[str] = set()
        # Register locals known to hold a constant here (ADRP, MOVZ, BL's
        # link...), with the same lifetime rule: fold() computes expressions
        # of them at translation time (ADRP + ADD, ADRP + LDR's address).
        self.consts: dict[str, int] = {}
        # Passes of the emitters over the whole body, run once before it is
        # assembled (a64_neon_sink), and the lines they add to the fault path
        # before UNWIND (at 8 spaces; they may read the body's locals)
        self.finishers: list = []
        # per-trace records of translation passes (a64_neon_*), keyed "module.record"
        self.notes: dict = {}
        self.fault_lines: list[str] = []
        self.head_lines: list[str] = []     # and before the body (after the loads)
        # Each load/store's lines (memgroup.MemOp): runs of them off one base
        # become one struct call in source()
        self.mem_ops: list[MemOp] = []
        self._mark = (-1, -1)              # (line index, pc) of the last mark_faultable

    # ---- emitting -------------------------------------------------------
    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)
        if (self.narrow or self.consts) and "=" in text:
            for name in assigned_registers(text):
                self.narrow.discard(name)
                self.consts.pop(name, None)

    def _narrowed(self, name: str, fits: bool) -> None:
        """After the line assigning `name`: record whether it now fits in 32 bits."""
        if fits and self.depth == 0:
            self.narrow.add(name)

    def fold(self, expr: str) -> str:
        """expr, or its value as a literal when every register it reads is a
        known constant (expr must be a plain integer expression)."""
        if not self.consts:
            return expr
        names = _REG.findall(expr)
        if not names or any(n not in self.consts for n in names):
            return expr
        value = _const_value(_REG.sub(lambda m: f"{self.consts[m.group(0)]:#x}", expr))
        return f"{value:#x}" if value is not None and 0 <= value <= M64 else expr

    def tmp(self, stem: str = "t") -> str:
        self.ntemp += 1
        return f"_{stem}{self.ntemp}"

    def begin_if(self, cond: str) -> None:
        self.line(f"if {cond}:")
        self.depth += 1

    def end_if(self) -> None:
        self.depth -= 1

    # ---- general registers ----------------------------------------------
    def rx(self, n: int, w: bool = False) -> str:
        """Expression reading Xn (or Wn when w) where register 31 is XZR."""
        if n == 31:
            return "0"
        self.touched_x.add(n)
        if w and f"x{n}" not in self.narrow:
            return f"(x{n} & 0xFFFFFFFF)"
        return f"x{n}"

    def fits32(self, n: int) -> bool:
        """Is Xn (register 31: XZR) known to be below 2**32 here?"""
        return n == 31 or f"x{n}" in self.narrow

    def rsp(self, n: int, w: bool = False) -> str:
        """Expression reading Xn where register 31 is SP."""
        if n == 31:
            self.touched_x.add(31)
            return "(sp & 0xFFFFFFFF)" if w else "sp"
        return self.rx(n, w)

    def wx(self, n: int, expr: str, w: bool = False, masked: bool = False) -> None:
        """Xn = expr (Wn = expr, zero-extended, when w); register 31 is XZR.

        masked says expr is already within 32/64 bits, so no mask is emitted.
        """
        if n == 31:
            return
        self.touched_x.add(n)
        expr = self.fold(self._mask(expr, w, masked))
        self.line(f"x{n} = {expr}")
        literal = expr[:2] == "0x" and expr[2:].isalnum()
        self._narrowed(f"x{n}", w or (literal and len(expr) <= 10))
        if literal and self.depth == 0:
            self.consts[f"x{n}"] = int(expr, 16)

    def wsp(self, n: int, expr: str, w: bool = False, masked: bool = False) -> None:
        """Xn = expr where register 31 is SP."""
        if n == 31:
            self.touched_x.add(31)
            self.line(f"sp = {self._mask(expr, w, masked)}")
        else:
            self.wx(n, expr, w, masked)

    @staticmethod
    def _mask(expr: str, w: bool, masked: bool) -> str:
        if masked:
            return expr
        return f"({expr}) & 0xFFFFFFFF" if w else f"({expr}) & 0xFFFFFFFFFFFFFFFF"

    # ---- SIMD&FP registers (128-bit ints) ---------------------------------
    def rv(self, n: int) -> str:
        self.touched_v.add(n)
        return f"v{n}"

    def wv(self, n: int, expr: str) -> None:
        """Vn = expr; expr must already be a 128-bit unsigned value."""
        self.touched_v.add(n)
        self.line(f"v{n} = {expr}")

    # ---- memory ------------------------------------------------------------
    def mark_faultable(self) -> None:
        """Record this instruction's pc so a fault inside it reports it exactly
        (and where its NZCV is then)."""
        self._mark = (len(self.lines), self.pc)
        self.line(f"_pc = {self.pc:#x}")
        self._fault_flags.setdefault(self.pc, self._flag_state())

    def _record(self, body: int, load: bool, addr: str, names: tuple, size: int) -> None:
        """Note the access just emitted from line `body` on (for memgroup)."""
        first, pc = self._mark
        if pc == self.pc and self.depth == 0:
            self.mem_ops.append(MemOp(pc, first, body, len(self.lines), load, addr, names, size))

    def load(self, dst: str, addr: str, size: int) -> None:
        """dst = zero-extended `size`-byte little-endian value at guest addr.

        dst is a local name (a temporary or a register local such as x3).
        addr should be a simple name; the slow path masks it to 64 bits.
        """
        body = len(self.lines)
        if self.tier_up:
            self.line(f"{dst} = L{size}({addr})")
        else:
            if size == 1:  # a byte is an item of the page's view: no struct call, no tuple
                self.line(f"try: {dst} = RT[{addr} >> 12][{addr} & 4095]")
            else:
                self.line(f"try: {dst} = {_UNPACK[size]}(RT[{addr} >> 12], {addr} & 4095)[0]")
            self.line(f"except Exception: {dst} = LD({addr}, {size})")
        self._narrowed(dst, size <= 4)
        self._record(body, True, addr, (dst,), size)

    def store(self, addr: str, value: str, size: int) -> None:
        """Store the low `size` bytes of value (already in range) at guest addr.

        One memcpy into the page, never struct.pack_into: that zero-fills its
        target before packing into it, so a thread on another core reading the
        word meanwhile would see 0 (an aligned store must be single-copy atomic).
        An aligned 8- or 4-byte store is one item of the page's word view (WQ,
        WL: a fixed-size copy, a third of the cost of to_bytes and a slice).
        A page-crossing slice is short, which raises: the slow path takes it."""
        body = len(self.lines)
        if self.tier_up:
            self.line(f"S{size}({addr}, {value})")
            return
        if size == 1:
            self.line(f"try: WT[{addr} >> 12][{addr} & 4095] = {value}")
        elif size == 16:   # P128's slice assignment, without its call
            self.line(f"try: _o = {addr} & 4095; "
                      f"WT[{addr} >> 12][_o:_o + 16] = ({value}).to_bytes(16, 'little')")
        else:
            slice_store = f"WT[{addr} >> 12][_o:_o + {size}] = ({value}).to_bytes({size}, 'little')"
            if size in _WORDS:
                # the alignment is tested on the offset in the page, a small int
                # (the address is a 64-bit one: `addr & 7` costs twice as much)
                words, shift = _WORDS[size]
                self.line("try:")
                self.depth += 1
                self.line(f"_o = {addr} & 4095")
                self.line(f"if _o & {size - 1}: {slice_store}")
                self.line(f"else: {words}[{addr} >> 12][_o >> {shift}] = {value}")
                self.depth -= 1
            else:
                self.line(f"try: _o = {addr} & 4095; {slice_store}")
        self.line(f"except Exception: ST({addr}, {size}, {value})")
        self._record(body, False, addr, (value,), size)

    def load_pair(self, dst1: str, dst2: str, addr: str, size: int) -> None:
        """LDP of two W or X registers: one struct call when both lie in one page.
        The slow path loads both before assigning either, so a fault on the second
        leaves the first destination (perhaps the base register) untouched."""
        body = len(self.lines)
        if self.tier_up:
            self.line(f"{dst1}, {dst2} = LP{size}({addr})")
        else:
            self.line(f"try: {dst1}, {dst2} = U2{'Q' if size == 8 else 'L'}(RT[{addr} >> 12], {addr} & 4095)")
            self.line(f"except Exception: {dst1}, {dst2} = LD({addr}, {size}), "
                      f"LD(({addr} + {size}) & {M64:#x}, {size})")
        self._narrowed(dst1, size == 4)
        self._narrowed(dst2, size == 4)
        self._record(body, True, addr, (dst1, dst2), size)

    def store_pair(self, addr: str, value1: str, value2: str, size: int) -> None:
        """STP of two W or X values (already in range), like load_pair: aligned,
        two items of the page's word view (each single-copy atomic, as Arm
        requires of each register); else one memcpy of both, built as one int.
        A pair crossing the page raises (the index past the view, or a short
        slice) and the slow path stores both."""
        if self.tier_up:
            self.line(f"SP{size}({addr}, {value1}, {value2})")
            return
        words, shift = _WORDS[size]
        both = value1 if value2 == "0" else f"{value1} | ({value2} << {8 * size})"
        body = len(self.lines)
        self.line("try:")
        self.depth += 1
        self.line(f"_o = {addr} & 4095")        # tested for alignment: see store
        self.line(f"if _o & {size - 1}: "
                  f"WT[{addr} >> 12][_o:_o + {2 * size}] = ({both}).to_bytes({2 * size}, 'little')")
        self.line(f"else: _w = {words}[{addr} >> 12]; _o >>= {shift}; "
                  f"_w[_o] = {value1}; _w[_o + 1] = {value2}")
        self.depth -= 1
        self.line(f"except Exception: ST({addr}, {size}, {value1}); "
                  f"ST(({addr} + {size}) & {M64:#x}, {size}, {value2})")
        self._record(body, False, addr, (value1, value2), size)

    # ---- flags -----------------------------------------------------------
    def set_flags(self, kind: str, bits: int, a: str, b: str = "0") -> None:
        """NZCV becomes the flags of an operation, symbolically.

        kind: "sub" (a - b), "add" (a + b), "logic" (result a, C = V = 0),
        or "nzcv" (a is an expression giving the NZCV word itself).
        a and b are copied to temporaries so later writes cannot change them.
        """
        self.flags_dirty = True
        if kind == "nzcv":
            return self.set_nzcv(a)
        ta = self._snapshot(a, "fa")
        tb = self._snapshot(b, "fb") if kind in ("sub", "add") else "0"
        self.flags = (kind, bits, ta, tb)

    def set_cond_flags(self, kind: str, bits: int, a: str, b: str, test: str, imm: int) -> None:
        """CCMP/CCMN: NZCV becomes the flags of a - b ("sub") or a + b ("add") if
        the condition expression `test` (read now) holds, else the word imm; kept
        symbolic like set_flags, so a following B.cond or CSEL is one Python
        expression and no NZCV word is computed."""
        self.flags_dirty = True
        tc = self.tmp("fc")
        self.line(f"{tc} = {test}")
        ta = self._snapshot(a, "fa")
        tb = self._snapshot(b, "fb")
        self.flags = (kind, bits, ta, tb, tc, imm)

    def set_nzcv(self, expr: str) -> None:
        """NZCV becomes the word computed by expr (bits 31:28)."""
        self.flags_dirty = True
        self.line(f"nzcv = {expr}")
        self.flags = None

    def _snapshot(self, expr: str, stem: str) -> str:
        """A name whose value cannot change later in the block: literals stay literals."""
        if expr[:1].isdigit():
            return expr
        t = self.tmp(stem)
        self.line(f"{t} = {expr}")
        return t

    def nzcv(self) -> str:
        """Name of a local that holds the current NZCV word (materializing it)."""
        if self.flags is None:
            if not self.flags_dirty:
                self.nzcv_loaded = True
            return "nzcv"
        self.line(f"nzcv = {self._nzcv_expr()}")
        self.flags = None
        return "nzcv"

    def _nzcv_expr(self) -> str:
        return _word_expr(self.flags)

    def cond(self, c: int) -> str:
        """A Python boolean expression for ConditionHolds(c) at this point."""
        if c >= 14:
            return "True"
        if self.flags is not None:
            e = _symbolic_cond(self.flags, c)
            if e is not None:
                return e
        return _nzcv_cond(self.nzcv(), c)

    # ---- block exits -------------------------------------------------------
    def _stores(self, written: frozenset[str] | None) -> list[tuple[str, int, str]]:
        """(register file, index, local) of each touched register in `written`
        (read-only registers need no store; None: every touched register)."""
        out = [("X", n, "sp" if n == 31 else f"x{n}") for n in sorted(self.touched_x)]
        out += [("V", n, f"v{n}") for n in sorted(self.touched_v)]
        return out if written is None else [s for s in out if s[2] in written]

    def _needs_load(self) -> set[str]:
        """Registers whose value on entry the block may read.

        A register whose first mention is an unconditional assignment (a line
        at the body's own level, not inside an `if`, that does not read it) is
        not loaded: every exit after that line sees it assigned, and exits
        before it do not store it.  A loop's later lines run before its early
        exits on the next trip, so a loop loads everything it touches."""
        touched = {"sp" if n == 31 else f"x{n}" for n in self.touched_x}
        touched |= {f"v{n}" for n in self.touched_v}
        if self.loop:
            return touched
        need: set[str] = set()
        assigned: set[str] = set()
        pending: set[str] = set()       # targets of a `try:` line, definite once its
        findall, match = _REG.findall, _ASSIGN.match     # `except Exception:` line
        for line in self.lines:                          # assigns them too
            if line.startswith("#"):
                continue                # --dump-blocks' disassembly names registers too
            names = findall(line)
            if not names:
                # no register read or written: such a line only ends a try/except pair
                if line == "except Exception:":
                    # memgroup's fallback: its lines assign what the `try: ` did
                    assigned |= pending
                if line.startswith(("try: ", "except Exception")):
                    pending = set()
                continue
            if line[0] == " ":
                # inside an `if`: what it reads, and what it may or may not assign,
                # is needed unless assigned before
                need.update(n for n in names if n not in assigned)
                continue
            text, prefix = line, ""
            if line.startswith("try: "):
                prefix, text = "try: ", line[5:]
            elif line.startswith("except Exception: "):
                prefix, text = "except Exception: ", line[18:]
            m = match(text)
            if m is not None:
                lhs = m.group(0)
                targets = set(findall(lhs))
                plain = lhs[-2:-1] not in "-+*/%&|^@<>"    # `=`, not `+=`, `<<=`...
                rest = text[m.end():]
            else:
                targets, plain, rest = set(), False, text
            for name in findall(rest):
                if name not in assigned:
                    need.add(name)
            if not plain:
                for name in targets:
                    if name not in assigned:
                        need.add(name)
                targets = set()
            if prefix == "try: ":
                pending = targets
            elif prefix:
                assigned |= targets & pending
                pending = set()
            else:
                assigned |= targets
        return need & touched | (touched - assigned)

    def _written_before_here(self) -> frozenset[str]:
        """Registers assigned anywhere in the lines emitted so far.  Lines inside
        an `if` count even if that branch is not taken: storing a register's
        unchanged value is harmless, missing a changed one is not."""
        names = self._written_so_far
        new = self.lines[self._scanned_lines:]
        if new:
            # one scan of the new lines' text (no generated line starts with `=` or
            # `,`, so no assignment pattern spans two lines)
            lhs = _ASSIGN.findall("\n".join(new))
            if lhs:
                names.update(_REG.findall(" ".join(lhs)))
        self._scanned_lines = len(self.lines)
        return frozenset(names)

    def _flag_state(self) -> FlagState:
        """Where NZCV is at this point of the trace (see FlagState)."""
        if self.flags is not None:
            return self.flags
        return IN_LOCAL if self.flags_dirty else None

    def _exit(self, result: str, ninsn_done: int | None = None) -> None:
        """Emit the lines that leave the block returning `result`."""
        ind = "    " * self.depth
        store = _store_flags(self._flag_state())   # symbolic flags stay lazy in S
        if store:
            self.lines.append(ind + store)
        # the registers to store and the loop count are known only when the
        # whole trace is emitted (a loop's later lines run before this exit on
        # the next trip): placeholders, filled in by source()
        # (only V registers are stored at an exit, the X registers being cells: with
        # none touched yet, none can have been written, and the scan waits; a
        # first-tier trace stores every V register it touches: source)
        self._exit_written.append(self._written_before_here()
                                  if self.touched_v and not self.tier_up else _NONE)
        self.lines.append(f"{ind}@WB{len(self._exit_written) - 1}@")
        n = self.ninsn + 1 if ninsn_done is None else ninsn_done
        self.lines.append(f"{ind}@ICOUNT{n}@")
        self.lines.append(f"{ind}return {result}")

    def _goto(self, target: int, ninsn_done: int | None = None) -> None:
        """Leave the block for a constant target (looping if it is our start)."""
        if target == self.start:
            self.loop = True
            ind = "    " * self.depth
            if self.flags is not None and self.nzcv_loaded:
                # the next iteration reads NZCV from the local
                self.lines.append(f"{ind}nzcv = {self._nzcv_expr()}")
            # the flags the next trip starts with (for its faults)
            self._loop_flags.append(self._flag_state())
            self.lines.append(f"{ind}@LOOPFLAGS{len(self._loop_flags) - 1}@")
            trip = self.ninsn + 1 if ninsn_done is None else ninsn_done
            self.lines.append(f"{ind}_n += {trip}")   # instructions per trip
            self.lines.append(f"{ind}{BACK_EDGE}")
            self._exit(f"{target:#x}", 0)     # _n already counts this trip
            return
        self._exit(f"{target:#x}", ninsn_done)

    def _can_follow(self, target: int) -> bool:
        return target != self.start and target not in self.pc_index

    def end_branch(self, target: int, follow: bool = True) -> None:
        target &= M64
        if follow and self._can_follow(target):
            self.follow = target
            self.linear = False
            return
        self._goto(target)
        self.ended = True

    def close_at(self, target: int) -> None:
        """End the trace before `target` (size limit, a revisited address, or, for
        a first-tier trace, another trace's start: Engine._trace)."""
        self._goto(target & M64, self.ninsn)
        self.ended = True

    def end_branch_reg(self, expr: str) -> None:
        t = self.tmp("tgt")
        self.line(f"{t} = {expr}")
        self._exit(t)
        self.ended = True

    def end_cond_branch(self, cond: str, target: int) -> None:
        """if cond: go to target, else fall through to the next instruction
        (the trace goes on with the fall-through unless the branch is marked
        likely-taken)."""
        target &= M64
        flags = self.flags
        followable = self._can_follow(target)
        if followable:
            self.marks[self.pc] = self.pc in self.likely_taken
        if followable and self.marks[self.pc]:
            # the taken side is the hot one: follow it, leave for the fall-through
            self.begin_if(f"not {cond}")
            self._goto((self.pc + 4) & M64)
            self.end_if()
            self.flags = flags
            self.follow = target
            self.linear = False
            return
        self.begin_if(cond)
        if followable:
            # count this side exit; a hot one has its trace retranslated to follow it
            self.line(f"HOT({self.pc:#x}, {self.start:#x})")
        self._goto(target)
        self.end_if()
        self.flags = flags

    def end_trap(self, code: int, pc: int, ninsn_done: int) -> None:
        self.line(f"S.pc = {pc:#x}")
        self._exit(f"-{code}", ninsn_done)
        self.ended = True

    def end_svc(self) -> None:
        # the kernel reads a call's registers in X (x0-x8, sp: regcells.py), and
        # answers in X[0], which the dispatch loop or the region takes back
        for name in ARGS:
            self.line(f"X[{NAMES.index(name)}] = {name}")
        self.end_trap(TRAP_SVC, self.pc + 4, self.ninsn + 1)

    def end_undefined(self) -> None:
        self.line(f"S.undef_insn = {self.insn:#x}")
        self.end_trap(TRAP_UNDEF, self.pc, self.ninsn)

    def end_brk(self) -> None:
        self.end_trap(TRAP_BRK, self.pc, self.ninsn)

    def end_fallthrough(self) -> None:
        """Close a block that stopped without a branch (size limit, page end)."""
        self._exit(f"{self.pc:#x}", self.ninsn)
        self.ended = True

    # ---- assembling ----------------------------------------------------
    def _finish(self, group: bool = True) -> None:
        """The passes over the whole body (the emitters' finishers, memgroup), once
        (memgroup only if `group`: a first-tier trace goes without it)."""
        if self.finishers:
            self.mem_ops = []       # their passes move lines: the records no longer hold
        for finish in self.finishers:
            finish(self)
        self.finishers = []
        if group:
            group_memory(self)
        self.lines = [t for t in self.lines if t != "pass"]   # what they dropped

    def region_part(self) -> "RegionPart":
        """The trace as one case of a region function (cpu/region.py) rather than
        a function of its own: no register loads or stores (the X registers are
        cells, the region keeps its V registers in its locals from its entry to its
        exit), and each exit adds its
        instructions to the local `_ic`, sets `pc` to its target and leaves the
        case by `break` (the case's body is always inside a loop statement:
        `while True:`, or a loop's own, see _loop_header); a
        counted side exit still counts itself (HOT).  The fault path stores the
        region's registers (NAMES_MARK, filled in by the region)."""
        self._finish()
        written_all = self._written_before_here()
        loop_flags = self._loop_flag_stores()
        # _n only in a loop: a case that is none tells UNWIND not to read it (another
        # case's may be left), which saves `_n = 0` at each entry
        entry = self._entry_lines(loop_flags, always_n=False)

        def expand(m: re.Match) -> str:
            indent, what, k = m.group(1), m.group(2), int(m.group(3))
            if what == "WB":
                return ""
            if what == "ICOUNT":
                return f"{indent}_ic += {self._done_count(k)}\n"
            return self._loop_flag_line(indent, k, loop_flags)

        def counted_exit(m: re.Match) -> str:
            indent, branch, start, flags, _, n, target = m.groups()
            return (f"{indent}HOT({branch}, {start})\n{flags}{indent}_ic += {self._done_count(int(n))}\n"
                    f"{indent}pc = {target}\n{indent}break\n")

        # a loop case counts its trips in its loop statement as a trace does
        # (_loop_header; it moves each `_n += trip` after its back edge)
        header = self._loop_header() if self.loop else "while True:"
        if header.startswith("for "):
            entry.remove("_n = 0")          # the loop statement sets it first
        body = "".join(f"        {t}\n" for t in self.lines)
        if "HOT(" in body:
            body = _COUNTED_EXIT.sub(counted_exit, body)
        if f"return -{TRAP_SVC}\n" in body:
            # the kernel's call from the case itself (Engine.on_svc), not by
            # leaving the region and entering it again for the code after it
            body = _SVC_EXIT.sub(lambda m: "".join(
                f"{m.group(1)}{t}\n" for t in (SVC_STORES, "pc = SVC()",
                                                f"_ic += {self._done_count(int(m.group(2)))}",
                                                SVC_X0, "break")), body)
        if "@" in body:
            body = _PLACEHOLDER.sub(expand, body)
        body = _RETURN.sub(r"\1pc = \2\n\1break", body)
        text, marks = _pc_by_line("\n".join(entry + ["try:", f"    {header}", ""]) + body, self.start, 0)
        text = text.rstrip("\n").split("\n")
        text.append("except BaseException:")
        _with_fault_pc(text, len(text) - 1, marks, LINE_MARK)
        text += [t[4:] for t in self.fault_lines]
        text.append(f"    UNWIND(S, X, V, locals(), {self._pc_runs()}, {NAMES_MARK}"
                    f"{'' if self.loop else ', False'})")
        text += [t[4:] for t in self._fault_flag_lines(loop_flags)]
        text.append("    raise")
        regs = {"sp" if n == 31 else f"x{n}" for n in self.touched_x} | {f"v{n}" for n in self.touched_v}
        return RegionPart(self.start, text, regs, regs & written_all, set(self.pages))

    def source(self, name: str) -> str:
        """The trace as the function `name`.  A first-tier trace (cpu/tier.py) is
        made without the passes that only make it run faster (memgroup, the scan
        for registers read before assigned: every touched register is loaded)
        and counts its runs in TC: its TN-th run (the engine's global) calls
        TIERUP instead, which drops it so it is translated in full."""
        tier_up = self.tier_up
        self._finish(group=not tier_up)
        load = self._needs_load() if not tier_up and self.touched_v else None
        touched = self._stores(None)
        if tier_up:
            # every register it touches: it loads every V register it touches, and
            # an X register's value in its frame is its cell's, so storing one not
            # assigned stores what it holds (the scan for what the lines assign was
            # ~3% of a cold python3 start, which makes ~18,000 first-tier traces)
            written_all = frozenset(name for _, _, name in touched)
        else:
            written_all = self._written_before_here()     # the whole body is emitted
        whole = self.loop or tier_up        # every exit stores what written_all names
        # the X registers are cells (cpu/regcells.py): read and assigned where they
        # are, no loads on entry or stores at the exits; the V registers are locals
        loads = [("V", n, f"v{n}") for n in sorted(self.touched_v)]
        if load is not None:
            loads = [r for r in loads if r[2] in load]
        # (a first-tier trace loads every touched register: runs of them as slices)
        regs = _run_assignments(loads, False) if tier_up else [f"{name} = {f}[{n}]" for f, n, name in loads]
        loop_flags = self._loop_flag_stores()
        head = [f"def {name}(S, X, V):"]
        if tier_up:     # no try: its fault path is a constant (fault_doc)
            head.append(f"    _fault = {FAULT_DOC_MARK}")
            # (an augmented assignment and a second look-up: the chained
            # `TC[pc] = _tc = TC[pc] + 1` cost compile() 6% more)
            head += [f"    TC[{self.start:#x}] += 1",
                     f"    if TC[{self.start:#x}] >= TN: return TIERUP({self.start:#x})"]
        head += [f"    {r}" for r in regs]
        head += [f"    {t}" for t in self._entry_lines(loop_flags, always_n=False)]
        if not tier_up:
            head.append("    try:")
        body_indent = "    " if tier_up else "        "
        if self.loop:
            head.append(f"        {self._loop_header()}")
            body_indent = "            "
        # the body's lines indented in one join; then each placeholder line
        # (see _exit, _goto) becomes its lines, or none
        regs = [r for r in touched if r[0] == "V"]

        def expand(m: re.Match) -> str:
            indent, what, k = m.group(1), m.group(2), int(m.group(3))
            if what == "WB":
                written = written_all if whole else self._exit_written[k]
                stores = [r for r in regs if r[2] in written]
                if tier_up:
                    return "".join(f"{indent}{line}\n" for line in _run_assignments(stores, True))
                return "".join(f"{indent}{f}[{n}] = {name}\n" for f, n, name in stores)
            if what == "ICOUNT":
                return f"{indent}S.icount += {self._done_count(k)}\n"
            return self._loop_flag_line(indent, k, loop_flags)

        def counted_exit(m: re.Match) -> str:
            # taken at most HOT_EXITS times before the trace is dropped
            # (Engine.side_exit), so a call rather than lines compiled
            indent, branch, start, flags, k, n, target = m.groups()
            written = written_all if whole else self._exit_written[int(k)]
            # the pcs, the count and the names as one string constant (split by
            # Engine.side_exit): four int constants and a tuple of one string
            # constant per name cost the compiler more
            exit = " ".join([branch[2:], start[2:], target[2:], n,
                             *(name for _, _, name in regs if name in written)])
            lazy = _LAZY_STORE.fullmatch(flags)      # lazy flags: SIDE's last argument
            if lazy is not None:
                flags, exit = "", f"{exit}', ({lazy.group(1)}, {lazy.group(2)}, {lazy.group(3)})"
            else:
                exit += "'"
            return f"{flags}{indent}return SIDE('{exit})\n"

        body = ""
        if self.lines:
            body = body_indent + ("\n" + body_indent).join(self.lines) + "\n"
            if "HOT(" in body:
                body = _COUNTED_EXIT.sub(counted_exit, body)
            if "@" in body:
                body = _PLACEHOLDER.sub(expand, body)
        # the fault path is cold: one helper call counts the instructions done
        # before the faulting one (by its pc), stores the registers assigned so
        # far (V registers not loaded on entry only if already assigned; the X
        # registers' cells are current, but for the first tier's lines run outside
        # its frame) and sets S.pc
        names = " ".join(name for _, _, name in touched if name in written_all)
        flag_lines = self._fault_flag_lines(loop_flags)
        # the registers it names, as the cells (the fault path's lines run here too)
        cells = declare(body + "\n".join(self.fault_lines))
        if cells:
            head.insert(1, f"    {cells}")
        text, marks = _pc_by_line("\n".join(head) + "\n" + body, self.start, 1)
        if tier_up:
            doc = fault_doc(marks, self._pc_runs(text=True), names, self.fault_lines, flag_lines)
            return text.replace(FAULT_DOC_MARK, doc, 1)
        tail = ["    except BaseException:", *self.fault_lines,
                f"        UNWIND(S, X, V, locals(), {self._pc_runs()}, '{names}')",
                *flag_lines, "        raise"]
        _with_fault_pc(tail, 0, marks)
        return text + "\n".join(tail) + "\n"

    def _loop_header(self) -> str:
        """The loop statement of a trace that branches back to its start.  When
        every branch back ends a trip of the same length, the trip counter is the
        loop's own: `for _n in TRIPS[trip]` (range(0, 2**62, trip)) gives _n the instructions of
        the finished trips at the top of each, as `_n += trip` before `continue`
        did, for less (a third of a pure ALU loop's overhead per trip).  The
        `_n += trip` then moves after the `continue`, onto the path that leaves
        for a pending signal, which counts the trip just done."""
        lines = self.lines
        edges = [i for i in range(1, len(lines)) if lines[i].endswith(BACK_EDGE)
                 and lines[i - 1].lstrip().startswith("_n += ")]
        trips = {lines[i - 1].lstrip()[len("_n += "):] for i in edges}
        trip = next(iter(trips)) if len(trips) == 1 else ""
        if (not trip.isdigit() or not 0 < int(trip) < len(TRIPS)
                or len(edges) != sum(ln.lstrip() == BACK_EDGE for ln in lines)):
            return "while True:"
        for i in edges:
            lines[i - 1], lines[i] = lines[i], lines[i - 1]
        return f"for _n in TRIPS[{trip}]:"

    def _entry_lines(self, loop_flags: dict, always_n: bool) -> list[str]:
        """What a trace runs first, after its register loads (source and region_part):
        NZCV into its local, the loop's trip counter and flag record, head_lines.
        (No `_pc = START`: the fault path's marks begin with the start, _pc_by_line.)"""
        entry = []
        if self.nzcv_loaded:
            # S.nzcv's property, without its call
            entry.append("nzcv = S.nzcv_raw if S.fk is None else S.fk(S.fa, S.fb)")
        if self.loop or always_n:
            entry.append("_n = 0")
        if len(loop_flags) > 1:
            entry.append("_lb = 0")
        return entry + self.head_lines

    def _done_count(self, k: int) -> str:
        """The instructions an exit after k of them has done (a loop's earlier trips in _n)."""
        return f"{k} + _n" if self.loop and k else "_n" if self.loop else f"{k}"

    def _loop_flag_line(self, indent: str, k: int, loop_flags: dict) -> str:
        """A LOOPFLAGS placeholder's line: record which flags a branch back carries."""
        lb = loop_flags.get(self._loop_flags[k])
        return f"{indent}_lb = {lb}\n" if len(loop_flags) > 1 and lb else ""

    def _pc_runs(self, text: bool = False) -> str:
        """The trace's instructions as a tuple literal of runs of consecutive
        addresses, (first pc, its index in the trace, length): what UNWIND
        counts the instructions done by (text: as 'PC INDEX LENGTH ...', hex pcs,
        for fault_doc)."""
        runs: list[list[int]] = []
        for pc, i in self.pc_index.items():
            if runs and pc == runs[-1][0] + 4 * runs[-1][2] and i == runs[-1][1] + runs[-1][2]:
                runs[-1][2] += 1
            else:
                runs.append([pc, i, 1])
        if text:
            return " ".join(f"{pc:x} {i} {n}" for pc, i, n in runs)
        return "(" + "".join(f"({pc:#x}, {i}, {n}), " for pc, i, n in runs) + ")"

    def _loop_flag_stores(self) -> dict[FlagState, int]:
        """The flags a loop's later trips can start with, numbered from 1 (0 is
        the block's entry flags, which stay in S).  With more than one, each
        branch back to the start records in `_lb` which it left with; with one,
        `_n` (non-zero from the second trip on) says it applies.  Needed only
        for an instruction that may fault before the trip's first flag setter,
        and not when the block loads NZCV into its local `nzcv`, which then
        always holds them."""
        if self.nzcv_loaded or None not in self._fault_flags.values():
            return {}
        states = [s for s in dict.fromkeys(self._loop_flags) if s is not None]
        if len(states) == 1 and None in self._loop_flags:
            states.insert(0, None)      # some trips keep what the one before had
        return {s: k for k, s in enumerate(states, 1 if None not in states else 0)}

    def _fault_flag_lines(self, loop_flags: dict[FlagState, int]) -> list[str]:
        """Except-handler lines that leave in S the NZCV of the faulting
        instruction: by its pc, where the trace had its flags there."""
        by_store: dict[str, list[int]] = {}
        entry: list[int] = []
        for pc, state in self._fault_flags.items():
            if state is None and self.nzcv_loaded:
                state = IN_LOCAL
            if state is None:
                entry.append(pc)
            else:
                by_store.setdefault(_store_flags(state), []).append(pc)
        lines = []
        for store, pcs in by_store.items():
            lines.append(f"        {'elif' if lines else 'if'} {_pc_in(pcs)}: {store}")
        if entry and loop_flags:
            # a later trip of the loop starts with the flags of the trip before
            if len(loop_flags) == 1:
                (state,) = loop_flags
                lines.append(f"        {'elif' if lines else 'if'} _n and {_pc_in(entry)}: "
                             f"{_store_flags(state)}")
            else:
                lines.append(f"        {'elif' if lines else 'if'} {_pc_in(entry)}:")
                tests = [(k, s) for s, k in loop_flags.items() if s is not None]
                for i, (k, state) in enumerate(tests):
                    lines.append(f"            {'elif' if i else 'if'} _lb == {k}: "
                                 f"{_store_flags(state)}")
        return lines


# ---- condition expressions ---------------------------------------------------
def _word_expr(flags: tuple) -> str:
    """The NZCV word of symbolic flags (BlockBuilder.flags), as an expression."""
    kind, bits, a, b = flags[:4]
    if len(flags) > 4:      # CCMP/CCMN: the compare's word if its condition held, else imm
        test, imm = flags[4:]
        return f"{_word_expr(flags[:4])} if {test} else {imm:#x}"
    if kind == "sub":
        return f"NZCV_SUB({a}, {b}, {bits})"
    if kind == "add":
        return f"NZCV_ADD({a}, {b}, {bits})"
    return f"NZCV_LOGIC({a}, {bits})"


def _symbolic_cond(flags: tuple, c: int) -> str | None:
    if len(flags) > 4:      # CCMP: the compare's condition, or a constant
        test, imm = flags[4:]
        e = _symbolic_cond(flags[:4], c)
        if e is None:
            return None
        if eval(_nzcv_cond(f"{imm:#x}", c), {}):
            return f"(not {test} or {e})"
        return f"({test} and {e})"
    kind, bits, a, b = flags
    sb = 1 << (bits - 1)
    mask = (1 << bits) - 1
    base, inv = c >> 1, c & 1
    e = None
    if kind == "sub":
        e = {
            0: f"{a} == {b}", 1: f"{a} >= {b}", 2: f"({a} - {b}) & {sb:#x}",
            4: f"{a} > {b}", 5: _signed_cmp(a, ">=", b, sb), 6: _signed_cmp(a, ">", b, sb),
        }.get(base)
    elif kind == "add":
        e = {
            0: f"(({a} + {b}) & {mask:#x}) == 0", 1: f"({a} + {b}) > {mask:#x}",
            2: f"({a} + {b}) & {sb:#x}",
        }.get(base)
    elif kind == "logic":
        e = {
            0: f"{a} == 0", 1: "False", 2: f"{a} & {sb:#x}", 3: "False",
            4: "False", 5: f"not ({a} & {sb:#x})",
            6: f"({a} != 0 and not ({a} & {sb:#x}))",
        }.get(base)
    if e is None:
        return None
    return f"(not ({e}))" if inv else f"({e})"


def _signed_cmp(a: str, op: str, b: str, sb: int) -> str:
    """a op b (op ">" or ">=") of two's complement values below 2*sb, as unsigned
    values a, b: the unsigned comparison when their sign bits agree, its opposite
    when they differ.  No new int is made (`a ^ sb` was two allocations of a
    64-bit int, a third of a compare-and-branch loop's host instructions)."""
    if b[:1].isdigit():                 # CMP #imm: the sign of b is known here
        if int(b, 0) < sb:
            return f"{b} {'<' if op == '>' else '<='} {a} < {sb:#x}"
        return f"{a} < {sb:#x} or {a} {op} {b}"
    return f"({a} {op} {b}) is (({a} < {sb:#x}) is ({b} < {sb:#x}))"


def _nzcv_cond(n: str, c: int) -> str:
    base, inv = c >> 1, c & 1
    e = {
        0: f"{n} & 0x40000000",
        1: f"{n} & 0x20000000",
        2: f"{n} & 0x80000000",
        3: f"{n} & 0x10000000",
        4: f"({n} & 0x60000000) == 0x20000000",
        5: f"(({n} >> 31) ^ ({n} >> 28)) & 1 == 0",
        6: f"((({n} >> 31) ^ ({n} >> 28)) & 1 == 0 and not ({n} & 0x40000000))",
    }[base]
    return f"(not ({e}))" if inv else f"({e})"
