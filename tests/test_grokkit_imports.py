"""The package's import graph, read from the source (nothing is imported): no circle, and the rooms stand where the
README's Files map says.

An edge ``a → b`` is an ``import`` in ``a`` of a grokkit module ``b``; ``from grokkit.toy import summary`` is an edge
to ``grokkit.toy.summary`` (a submodule), ``from grokkit.toy import load_rows`` one to ``grokkit.toy`` (its
``__init__``). Module level means the statements Python runs on import (those under a top-level ``if`` / ``try``
included); deferred imports are the ones inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grokkit

ROOT = Path(grokkit.__file__).parent

# Circles through deferred imports that other parts of issue 26 are taking apart (the report analysing a checkpoint
# a second time, §1.3; the mixture measures' driver, §1.5); drop an entry once its circle is gone. A new circle, or
# one of these growing, fails.
KNOWN_DEFERRED = [
    {"grokkit.data.dataset", "grokkit.data.mixture"},
    {"grokkit.measures.mixture_run", "grokkit.measures.offline"},
    {"grokkit.report.html", "grokkit.report.run_figures", "grokkit.report.sections", "grokkit.run"},
]


def package_sources() -> dict[str, str]:
    """Module name → source text, for every module of the installed grokkit."""
    sources = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        sources[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path.read_text(encoding="utf-8")
    return sources


SOURCES = package_sources()


def imports(module: str, deferred: bool, sources: dict[str, str] = SOURCES) -> set[str]:
    """The modules of ``sources`` that ``module`` imports: at module level, and with ``deferred`` inside functions too."""
    tree = ast.parse(sources[module])
    if deferred:
        nodes = list(ast.walk(tree))
    else:
        nodes, todo = [], list(tree.body)
        while todo:
            node = todo.pop()
            nodes.append(node)
            if isinstance(node, (ast.If, ast.Try)):
                todo.extend(ast.iter_child_nodes(node))
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in sources]
            out.update(subs)
            if len(subs) < len(node.names):
                out.add(node.module)
    return {name for name in out if name in sources and name != module}


def circles(deferred: bool, sources: dict[str, str] = SOURCES) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    graph = {m: imports(m, deferred, sources) for m in sources}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_reader_sees_a_circle_and_a_submodule_import():
    """The check itself: a planted circle through a deferred import is found (only when deferred imports count),
    and ``from pkg import submodule`` points at the submodule, not at the package."""
    planted = {"p": "", "p.a": "from p.b import x\n", "p.b": "def f():\n    from p import a\n", "p.c": "import p.a\n"}
    assert circles(deferred=True, sources=planted) == [{"p.a", "p.b"}]
    assert circles(deferred=False, sources=planted) == []
    assert imports("p.b", deferred=True, sources=planted) == {"p.a"}
    assert "grokkit.toy.summary" in imports("grokkit.toy.report", deferred=False)  # `from grokkit.toy import summary`


def test_no_module_level_import_circle():
    assert circles(deferred=False) == []


def test_no_new_import_circle_through_deferred_imports():
    new = [c for c in circles(deferred=True) if not any(c <= known for known in KNOWN_DEFERRED)]
    assert new == [], f"import circles (deferred imports included): {new}"


def test_the_sweep_executor_stands_beneath_both_sweeps_and_compare_reads_the_toy_room_through_its_reader():
    below = imports("grokkit.executor", deferred=True)
    assert not any(m.startswith(("grokkit.sweep", "grokkit.toy")) for m in below), below
    assert "grokkit.executor" in imports("grokkit.sweep.driver", deferred=False)
    assert "grokkit.executor" in imports("grokkit.toy.sweep", deferred=False)
    from_compare = {m for name in SOURCES if name.startswith("grokkit.compare")
                    for m in imports(name, deferred=True) if m.startswith("grokkit.toy")}
    assert not from_compare & {"grokkit.toy.sweep", "grokkit.toy.folder", "grokkit.toy.chunk_file", "grokkit.toy.unit",
                               "grokkit.toy.grid"}, from_compare
    assert "grokkit.toy.reader" in from_compare
