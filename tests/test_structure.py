"""The package structure, read statically: imports only go down the layers
(painters <- painting_env <- agents), no import cycle between modules (function-level imports
included), no module over the size limit, and no package source citing notes outside the
repository or issue numbers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("painters", "painting_env", "agents")  # lowest first
MAX_LINES = 600
#: Citations a reader of the repository cannot follow: notes kept outside it, issue numbers.
OUTSIDE_CITATION = re.compile(r"\bshared/|\bdesign/\S*\.md|\bissue\s*#?\d+", re.IGNORECASE)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def package_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the three packages: dotted name -> file."""
    return {module_name(p, root): p for pkg in LAYERS for p in sorted((root / pkg).rglob("*.py"))}


def imported_names(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Dotted names an import statement refers to (``from a import b`` gives ``a.b``: a
    submodule when there is one, else the owner is found by stripping it below)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".")
        if not is_package:
            parts = parts[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, base] if base else parts)
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> in-package modules it imports anywhere (top level, functions, methods)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names = imported_names(name, path.name == "__init__.py", node)
            if isinstance(node, ast.ImportFrom):  # ``from a import b``: b, or else a
                *members, base = names
                names = [m if m in modules else base for m in members]
            for target in names:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    found = package_modules()
    assert {m.split(".")[0] for m in found} == set(LAYERS)
    return found


@pytest.fixture(scope="module")
def graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    return import_graph(modules)


def test_no_import_goes_up_a_layer(graph: dict[str, set[str]]) -> None:
    up = sorted(f"{m} -> {t}" for m, ts in graph.items() for t in ts if layer(t) > layer(m))
    assert up == []


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    assert strongly_connected(graph) == []


def test_no_module_over_the_size_limit(modules: dict[str, Path]) -> None:
    sizes = {m: len(p.read_text().splitlines()) for m, p in modules.items()}
    assert {m: n for m, n in sizes.items() if n > MAX_LINES} == {}


def test_no_source_cites_outside_notes_or_issues(modules: dict[str, Path]) -> None:
    cites = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in modules.values()
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if OUTSIDE_CITATION.search(line)
    ]
    assert cites == []


def test_the_checks_catch_what_they_look_for(tmp_path: Path) -> None:
    """The walk sees function-level and relative imports, finds a cycle and an up-layer
    import, and the citation pattern matches what it must."""
    (tmp_path / "painters").mkdir()
    (tmp_path / "agents").mkdir()
    (tmp_path / "painters" / "__init__.py").write_text("")
    (tmp_path / "agents" / "__init__.py").write_text("")
    (tmp_path / "painters" / "a.py").write_text("def f():\n    from painters.b import g\n")
    (tmp_path / "painters" / "b.py").write_text("from . import a\nimport agents.c\n")
    (tmp_path / "agents" / "c.py").write_text("from painters import a\n")
    mods = {module_name(p, tmp_path): p for p in tmp_path.rglob("*.py")}
    g = import_graph(mods)
    assert g["painters.a"] == {"painters.b"}
    assert g["painters.b"] == {"painters.a", "agents.c"}
    assert g["agents.c"] == {"painters.a"}
    assert strongly_connected(g) == [["agents.c", "painters.a", "painters.b"]]
    assert [t for t in g["painters.b"] if layer(t) > layer("painters.b")] == ["agents.c"]
    assert OUTSIDE_CITATION.search("see /work/shared/design/x.md")
    assert OUTSIDE_CITATION.search("as issue 22 asks")
    assert not OUTSIDE_CITATION.search("shared weights of the issued strokes")
