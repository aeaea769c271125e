"""The package's import graph keeps the house's shape.

Data flows one way (CLI -> kern -> cpu/mm/fs/ipc): nothing below kern/
imports it, no module takes part in an import circle, and kern/ and fs/
import mkemu modules at the top only (an import hidden in a function is how
a circle hides).  Edges are read from the sources (every import statement,
wherever it stands); each kern module is also imported alone in a fresh
interpreter, which an order-dependent circle would break.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mkemu"
LOWER_LAYERS = ("mkemu.cpu", "mkemu.mm", "mkemu.fs", "mkemu.ipc")
TOP_LEVEL_ONLY = ("mkemu.kern", "mkemu.fs")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _targets(node: ast.AST, module: str, path: Path, known: dict[str, Path]) -> list[str]:
    """The mkemu modules one import statement loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in known]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    base = package
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    source = ".".join(p for p in (base if node.level else "", node.module or "") if p)
    found = [source] if source in known else []
    found += [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in known]
    return found


def _imports(known: dict[str, Path]) -> dict[str, list[tuple[str, bool]]]:
    """module -> [(imported module, imported inside a function)]."""
    graph: dict[str, list[tuple[str, bool]]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        nested = {id(n) for f in ast.walk(tree)
                  if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for n in ast.walk(f) if n is not f}
        graph[module] = [(target, id(node) in nested) for node in ast.walk(tree)
                         if isinstance(node, (ast.Import, ast.ImportFrom))
                         for target in _targets(node, module, path, known)]
    return graph


def _find_cycle(graph: dict[str, list[tuple[str, bool]]]) -> list[str] | None:
    state: dict[str, int] = {}          # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for target, _ in graph.get(m, ()):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_the_import_graph_helpers_see_edges_and_circles():
    # the checker itself: a relative import is an edge, and a circle is found
    known = _modules()
    graph = _imports(known)
    assert ("mkemu.kern.errors", False) in graph["mkemu.kern.syscalls"]
    assert _find_cycle({"a": [("b", False)], "b": [("c", True)], "c": [("a", False)]}) == \
        ["a", "b", "c", "a"]


def test_no_module_takes_part_in_an_import_circle():
    assert _find_cycle(_imports(_modules())) is None


def test_lower_layers_never_import_the_kernel():
    wrong = [(m, t) for m, edges in _imports(_modules()).items() if m.startswith(LOWER_LAYERS)
             for t, _ in edges if t == "mkemu.kern" or t.startswith("mkemu.kern.")]
    assert wrong == []


def test_kernel_and_fs_import_mkemu_modules_at_the_top():
    hidden = [(m, t) for m, edges in _imports(_modules()).items() if m.startswith(TOP_LEVEL_ONLY)
              for t, in_function in edges if in_function]
    assert hidden == []


def test_each_kernel_module_imports_alone_in_a_fresh_interpreter():
    names = sorted(m for m in _modules() if m.startswith("mkemu.kern."))
    procs = {m: subprocess.Popen([sys.executable, "-c", f"import {m}"], cwd=PACKAGE.parent,
                                 stderr=subprocess.PIPE) for m in names}
    failed = {m: p.communicate(timeout=120)[1].decode()[-400:] for m, p in procs.items()}
    assert {m: err for m, err in failed.items() if procs[m].returncode} == {}
