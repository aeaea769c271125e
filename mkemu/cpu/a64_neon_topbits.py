"""The test behind a one-add lane sum (a64_neon_expr.swar_add), once per register
value: "no lane of Vn has its top bit set" as a local bool.

A sum of 32- or 64-bit lanes is one Python add when neither operand has a lane
with its top bit set.  Loops such as gcc's vectorised counters add one register
to many (v0 + v23, v0 + v22, ...) and add loop-invariant steps, so the test is
made once per value: `_kN = not vR & TOP` is emitted before the first sum that
needs it and reused until a line assigns vR again; when the trace is a loop
that never assigns vR, the line moves to the function's head (before the loop)
and the trip only reads the bool.
"""
from __future__ import annotations


from .block import assigned_registers

# The builder's notes: "topbits.tests" {(register, top-bit mask): (local, index
# of the line after the test)} and "topbits.hoistable" [(local, reg)]


def clear_top(b, reg: str, top: int) -> str | None:
    """A local that is True when no lane of register local `reg` has a bit of
    `top` set, valid at this point of the body; None inside an `if` (the test is
    then written out where it is used)."""
    if b.depth:
        return None
    tests = b.notes.setdefault("topbits.tests", {})
    known = tests.get((reg, top))
    if known is not None:
        name, since = known
        if not any(reg in assigned_registers(t) for t in b.lines[since:] if reg in t):
            return name
    copied = _copied_test(b, tests, reg, top)
    if copied is not None:
        tests[(reg, top)] = (copied, len(b.lines))
        return copied
    name = b.tmp("k")
    b.line(f"{name} = not {reg} & {top:#x}")
    tests[(reg, top)] = (name, len(b.lines))
    hoistable = b.notes.setdefault("topbits.hoistable", [])
    if not hoistable:
        b.finishers.append(_hoist)
    hoistable.append((name, reg))
    return name


def _copied_test(b, tests: dict, reg: str, top: int) -> str | None:
    """The test of the register `reg` was last copied from (a MOV: `vA = vB` at the
    body's level), if one was made while vB held the value copied."""
    lines = b.lines
    i = len(lines) - 1
    while i >= 0 and not (reg in lines[i] and reg in assigned_registers(lines[i])):
        i -= 1
    if i < 0 or not lines[i].startswith(f"{reg} = v"):
        return None
    src = lines[i][len(reg) + 3:]
    known = tests.get((src, top))
    if not src[1:].isdigit() or known is None:
        return None
    name, since = known      # the test's line is since - 1
    lo, hi = sorted((i, since - 1))
    if any(src in t and src in assigned_registers(t) for t in lines[lo + 1:hi]):
        return None
    return name


def _hoist(b) -> None:
    """Move the tests of registers a loop never assigns in front of the loop."""
    hoistable = b.notes.pop("topbits.hoistable", [])
    b.notes.pop("topbits.tests", None)
    if not b.loop:
        return
    assigned = {n for t in b.lines if "=" in t for n in assigned_registers(t)}
    where = {t.split(" = ", 1)[0]: i for i, t in enumerate(b.lines) if t.startswith("_k")}
    for name, reg in hoistable:
        i = where.get(name)         # (other finishers may have moved lines)
        if reg not in assigned and i is not None:
            b.head_lines.append(b.lines[i])
            b.lines[i] = "pass"
