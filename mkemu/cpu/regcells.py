"""The X registers as cells: what translated code reads and assigns as x0..x30, sp.

A trace is a Python function; if its registers were its own locals it would have to
load each one it reads from the X list when it is entered and store each one it
assigns when it leaves, and with a dispatch every 12-13 guest instructions (python3's
start, bash's loops) that traffic was the largest kind of work in their bytecodes
(BENCHMARKS, session 41: 24% of a bash loop's).  Instead every trace, region and
helper of this process names the same 32 cells (one process is one guest thread),
as free variables: a read is a LOAD_DEREF, as cheap as a local's LOAD_FAST, and an
assignment goes straight to the register, so entering and leaving a trace moves
nothing.

The cells hold the registers while Engine.run runs guest code; the X list
(CpuState.x) holds them everywhere else (the kernel, signal frames, the debugger,
fork, /proc).  Engine.run loads the cells from X when it starts and publishes them to
X when it returns (`load`, `store`).  A system call made without leaving run (the
engine's on_svc, from the dispatch loop or a region) reads its registers in X: the
SVC's trace stores those (`ARGS`: x0-x8, and sp, which sigaltstack compares) before
it, and x0, the one register a Linux arm64 call answers in, is taken back after it
(clone, execve and rt_sigreturn, which set others, the run loop runs, after run has
returned).  A fault path (UNWIND, a first-tier trace's) writes the registers it
computes into the cells (`put`), and run publishes them as it returns.

Source: a trace's text names registers as plain names and declares those it names
`nonlocal` (`declare`); `compile_function` compiles it inside an enclosing function
whose parameters are those names, so the compiler makes them free variables, and
returns the inner function's code, its line numbers those of the text as written
(the fault paths find a faulting pc by line).  `make_function` binds such code to
the cells.
"""
from __future__ import annotations

from types import CellType, CodeType, FunctionType

from ..lazyre import lazy_compile

NAMES = tuple(f"x{n}" for n in range(31)) + ("sp",)
ARGS = NAMES[:9] + ("sp",)          # what a system call reads (sigaltstack: sp)
CELLS = tuple(CellType(0) for _ in NAMES)
CELL = dict(zip(NAMES, CELLS))

# a register name in generated code (not part of a longer name: _pgsp, 0x10, _fa3)
_NAME = lazy_compile(r"\b(?:x(?:30|[12]?\d)|sp)\b")
_closures: dict[tuple[str, ...], tuple] = {}


def declare(text: str) -> str:
    """The `nonlocal` line (without indentation) for the register names text uses,
    or '' if it uses none."""
    names = set(_NAME.findall(text))
    if not names:
        return ""
    return "nonlocal " + ", ".join(sorted(names, key=NAMES.index))


def _enclosed(src: str, filename: str, names: str) -> CodeType:
    """The code of the function enclosing src's definitions, whose parameters are
    `names` (src's lines indented one level under it)."""
    module = compile(f"def _registers({names}):\n    " + src.rstrip("\n").replace("\n", "\n    ")
                     + "\n", filename, "exec")
    return next(c for c in module.co_consts if type(c) is CodeType)


def compile_function(src: str, filename: str) -> CodeType:
    """The code of the one function `src` defines (at the left margin, declaring its
    registers with `declare` in its body's first `nonlocal` line), compiled with its
    registers as free variables."""
    # The enclosing function's parameters are only the registers src declares: a
    # parameter list of all 32 cost compile() ~45 us a trace here (12% of a
    # first-tier trace's compile; a cold python3 start compiles ~18,000 of them)
    at = src.find("\n    nonlocal ") + 14
    names = src[at:src.find("\n", at)] if at > 13 else ""
    code = next(c for c in _enclosed(src, filename, names).co_consts if type(c) is CodeType)
    # one line less: the enclosing def's (co_linetable counts from co_firstlineno)
    return code.replace(co_firstlineno=code.co_firstlineno - 1, co_qualname=code.co_name)


def make_function(code: CodeType, globals_: dict) -> FunctionType:
    """A function of code (compile_function's, or one naming no register) bound to
    this process's register cells."""
    free = code.co_freevars
    if not free:
        return FunctionType(code, globals_)
    closure = _closures.get(free)
    if closure is None:
        closure = _closures[free] = tuple(CELL[n] for n in free)
    return FunctionType(code, globals_, code.co_name, None, closure)


def put(name: str, value: int) -> None:
    """Register `name` (x0..x30, sp) = value (a fault path's write-back)."""
    CELL[name].cell_contents = value


def _sync_functions():
    src = (f"def load(X):\n    nonlocal {', '.join(NAMES)}\n    {', '.join(NAMES)} = X\n"
           "def store(X):\n" + "".join(f"    X[{n}] = {name}\n" for n, name in enumerate(NAMES)))
    codes = {c.co_name: c for c in _enclosed(src, "<register cells>", ", ".join(NAMES)).co_consts
             if type(c) is CodeType}
    return make_function(codes["load"], {}), make_function(codes["store"], {})


# load(X): the cells = the 32 values of X; store(X): X = the cells (the same list,
# item by item: cheaper than a slice assignment).
load, store = _sync_functions()
