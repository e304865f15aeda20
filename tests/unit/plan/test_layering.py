"""Layering: ``plan/`` and ``agents/`` never import ``textual`` or ``tui`` (also an import-linter
contract in pyproject.toml); ``plan/`` never imports ``agents``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def sources(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no sources found under {package}/"
    return files


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("plan", {"textual", "tui", "agents"}), ("agents", {"textual", "tui"})],
)
def test_core_never_imports_the_ui(package: str, forbidden: set[str]) -> None:
    offenders = []
    for path in sources(package):
        for module in imported_modules(path):
            if module.split(".")[0] in forbidden:
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_the_checker_itself_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import textual.app\nfrom wavedeck.tui.cli.main import main\nfrom . import x\n"
    )
    assert imported_modules(sample) == {"textual.app", "wavedeck.tui.cli.main"}
