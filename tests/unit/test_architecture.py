"""The module graphs of ``plan/``, ``agents/`` and ``tui/`` have no import cycle, type-only imports included.

Every module is parsed with ``ast``: imports at the top, under ``if TYPE_CHECKING:`` and inside
functions all count (a type-only import is still a dependency: it is how a circle used to hide).
A cycle found is printed module by module, so the failure says which import to remove.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["wavedeck", *parts])


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every module name an import statement anywhere in ``tree`` names (and, for ``from X
    import y``, ``X.y`` too: ``y`` may be a submodule)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            yield source
            for alias in node.names:
                yield f"{source}.{alias.name}"


def import_graph(package: str) -> dict[str, set[str]]:
    """``{module: modules of package it imports}`` for every module of ``package``."""
    modules = _modules(package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets = {
            target
            for target in _imported(tree, name, path.name == "__init__.py")
            if target in modules and target != name
        }
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, …, a]``, or None (iterative depth-first search)."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(graph, WHITE)
    for start in sorted(graph):
        if color[start] != WHITE:
            continue
        path: list[str] = [start]
        stack: list[Iterator[str]] = [iter(sorted(graph[start]))]
        color[start] = GREY
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                color[path.pop()] = BLACK
                stack.pop()
            elif color.get(nxt, BLACK) == GREY:
                return [*path[path.index(nxt) :], nxt]
            elif color.get(nxt) == WHITE:
                color[nxt] = GREY
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def _shown(cycle: list[str]) -> str:
    return " -> ".join(cycle)


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    """The check itself works: a three-module circle is found and named, a chain is not."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    cycle = find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}


def test_type_only_and_function_level_imports_count(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from wavedeck.agents.wave.supervisor import Supervisor\n"
        "def f():\n    from wavedeck.agents.wave import checkpoint\n"
        "from . import gates\n"
    )
    found = set(_imported(ast.parse(source), "wavedeck.agents.wave.restart", False))
    assert {
        "wavedeck.agents.wave.supervisor",
        "wavedeck.agents.wave.checkpoint",
        "wavedeck.agents.wave.gates",
    } <= found


@pytest.mark.slow
def test_agents_has_no_import_cycle() -> None:
    graph = import_graph("agents")
    assert "wavedeck.agents.wave.supervisor" in graph  # the graph is the real one
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle in agents/: {_shown(cycle or [])}"


def test_tui_has_no_import_cycle() -> None:
    graph = import_graph("tui")
    assert "wavedeck.tui.app" in graph
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle in tui/: {_shown(cycle or [])}"


def test_plan_has_no_import_cycle() -> None:
    graph = import_graph("plan")
    assert "wavedeck.plan.reading.parser" in graph
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle in plan/: {_shown(cycle or [])}"


AGENT_CLIS = ROOT / "tests" / "e2e" / "agent_clis"


@pytest.mark.slow
def test_every_import_goes_through_the_wavedeck_name() -> None:
    """The layers are importable only as ``wavedeck.plan``, ``wavedeck.agents`` and
    ``wavedeck.tui`` once installed; a bare ``import plan`` works only from the checkout and
    would give a second copy of every module (two ``Plan`` classes that are not equal)."""
    bare = []
    for folder in ("plan", "agents", "tui", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if AGENT_CLIS in path.parents:
                continue  # the installed agent CLIs (npm packages, aider's venv): not ours
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and not node.level
                    else []
                )
                bare += [
                    f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
                    for name in names
                    if name.split(".")[0] in ("plan", "agents", "tui")
                ]
    assert bare == []


# About 400 lines a module (the team's guideline; issue #18): a little slack for a docstring line
# or two, none for a module that has grown another responsibility.
MODULE_LINES = 410


def test_every_module_stays_near_four_hundred_lines() -> None:
    sizes = {
        name: len(path.read_text("utf-8").splitlines())
        for package in ("plan", "agents", "tui")
        for name, path in _modules(package).items()
    }
    over = {name: n for name, n in sorted(sizes.items()) if n > MODULE_LINES}
    assert not over, f"modules over {MODULE_LINES} lines (split along a seam): {over}"


def _contracts_name() -> set[str]:
    """Every module named by an import-linter contract (layers' siblings split)."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]
    return {
        part.strip()
        for contract in contracts["contracts"]
        for key in ("layers", "source_modules", "forbidden_modules")
        for entry in contract.get(key, [])
        for part in entry.split("|")
    }


def test_every_subpackage_and_module_is_in_an_import_contract() -> None:
    """A part added to ``plan/``, ``agents/`` or ``tui/`` gets its place in the layers (issue
    #18): one no contract names may import anything. Data-only packages have no imports."""
    named = _contracts_name()
    unplaced = []
    for package in ("plan", "agents", "tui"):
        for child in sorted((ROOT / package).iterdir()):
            is_package = (child / "__init__.py").exists()
            if child.name.startswith("_") or not (is_package or child.suffix == ".py"):
                continue
            code = (
                [p for p in child.rglob("*.py") if p.name != "__init__.py"]
                if is_package
                else [child]
            )
            if code and f"wavedeck.{package}.{child.stem}" not in named:
                unplaced.append(f"wavedeck.{package}.{child.stem}")
    assert unplaced == [], f"in no import contract (pyproject.toml [tool.importlinter]): {unplaced}"
