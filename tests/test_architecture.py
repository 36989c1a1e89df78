"""The import graph as a specification: no module imports itself back through others, and an import inside a function
is a commented lazy import (a heavy or optional dependency, or Django's ready()), never a hidden cycle.

import-linter (`make test` runs it before pytest) checks the layers between apps; this checks every module.
"""
from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    "accounts", "audit", "config", "connectors", "consent", "integrations", "portal", "privacy", "rollouts", "scim",
    "sso", "tenancy", "webhooks", "teams", "brand_kits", "inference", "ray_cluster",
]
# The product's folders, and the scripts run by hand (benchmarks, deploy checks, manage.py): a folder or one file.
SOURCE_DIRS = [ROOT / "platform", ROOT / "teams", ROOT / "brand_kits", ROOT / "inference", ROOT / "ray_cluster",
               ROOT / "benchmarks", ROOT / "deploy", ROOT / "manage.py"]

def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that import each other, directly or through others."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups)


def test_strongly_connected_finds_a_cycle_and_nothing_else():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(edges) == [["a", "b", "c"]]


@pytest.fixture(scope="module")
def import_graph():
    # grimp reads the source (function-level imports included) without importing it.
    return grimp.build_graph(*PACKAGES)


def test_no_module_imports_itself_back(import_graph):
    modules = set(import_graph.modules)
    edges = {m: import_graph.find_modules_directly_imported_by(m) & modules for m in modules}
    assert strongly_connected(edges) == []


def function_level_imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, module, commented) for each import inside a function; commented: `# lazy:` on its line or the one
    above."""
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import | ast.ImportFrom):
                module = inner.module if isinstance(inner, ast.ImportFrom) else inner.names[0].name
                here, above = lines[inner.lineno - 1], lines[inner.lineno - 2] if inner.lineno > 1 else ""
                found.append((inner.lineno, module or ".", "# lazy:" in here or "# lazy:" in above))
    return found


def test_function_level_imports_are_commented_lazy_imports():
    bare = []
    for source in SOURCE_DIRS:
        for path in [source] if source.is_file() else sorted(source.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            bare += [f"{path.relative_to(ROOT)}:{line} {module}"
                     for line, module, commented in function_level_imports(path) if not commented]
    assert bare == [], "imports inside functions must say why with `# lazy: <reason>`:\n" + "\n".join(bare)
