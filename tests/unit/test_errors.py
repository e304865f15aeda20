"""One base for wavedeck's errors: every exception class wavedeck defines derives from
``WavedeckError``, and the ``wavedeck`` command turns any of them into a message (exit 2) by its
class alone, never by looking names up among the modules already imported."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from wavedeck.agents.config import ConfigError
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.remote.transport import TransportError
from wavedeck.agents.state import StateCorrupt
from wavedeck.plan.errors import PlanError, WavedeckError
from wavedeck.tui.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
BUILTIN_BASES = {"Exception", "OSError", "ValueError", "RuntimeError", "LookupError"}
# Files that run outside wavedeck, so they cannot import WavedeckError: the wrapper runs under
# ``python3 -I`` in the user's repository and loads landlock.py (which loads writepolicy.py),
# segments.py and procgroup.py by path beside it, and landlock.py is also uploaded and run as a
# script on SSH hosts (writepolicy.py beside it), where nothing of wavedeck is installed. Their errors never reach the ``wavedeck`` command: the
# scripts turn them into an exit status with a message (126), and the control room's calls
# catch them (below).
STANDALONE = {
    "agents/local/wrapper.py",
    "agents/local/landlock.py",
    "agents/local/writepolicy.py",
    "agents/local/segments.py",
    "agents/local/procgroup.py",
}
# The standalone modules' functions that raise their own error, with that error (the control
# room calls ``writepolicy.resolve``).
RAISING = {("landlock", "prepare"): "LandlockError", ("writepolicy", "resolve"): "SpecError"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _sources() -> list[Path]:
    return [
        path for layer in ("plan", "agents", "tui") for path in sorted((ROOT / layer).rglob("*.py"))
    ]


def _exception_classes() -> list[tuple[str, str, set[str]]]:
    """(module path, class name, base names) of every class defined on a builtin exception,
    in every module but the standalone scripts."""
    found = []
    for path in _sources():
        if str(path.relative_to(ROOT)) not in STANDALONE:
            tree = _tree(path)
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                    if bases & (BUILTIN_BASES | {"WavedeckError"}):
                        found.append((str(path.relative_to(ROOT)), node.name, bases))
    return found


def test_every_error_wavedeck_defines_derives_from_the_common_base() -> None:
    classes = _exception_classes()
    assert len(classes) >= 15  # the scan found the errors (plan, config, git, state, ...)
    strays = [
        (p, n)
        for p, n, bases in classes
        if "WavedeckError" not in bases | {n} and p not in STANDALONE
    ]
    assert strays == []


def test_the_standalone_scripts_import_only_the_standard_library() -> None:
    """What makes them exempt from the common base: they cannot import it."""
    for name in sorted(STANDALONE):
        imported = set()
        for node in ast.walk(_tree(ROOT / name)):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert node.level == 0, (name, node.module)  # no relative import either
                imported.add(node.module.split(".")[0])
        assert imported and imported <= sys.stdlib_module_names, (name, imported)


def test_the_control_room_catches_the_sandbox_errors_where_they_can_be_raised() -> None:
    """LandlockError and SpecError are not WavedeckErrors, so wherever wavedeck calls the
    standalone functions that raise them, the call sits in a ``try`` that catches that error (it
    never escapes as a traceback)."""
    calls = 0
    for path in _sources():
        if str(path.relative_to(ROOT)) in STANDALONE:
            continue
        tree = _tree(path)
        guarded: dict[str, set[int]] = {error: set() for error in RAISING.values()}
        for node in ast.walk(tree):
            for error, ids in guarded.items():
                if isinstance(node, ast.Try) and any(
                    error in ast.unparse(h.type) for h in node.handlers if h.type
                ):
                    for stmt in node.body:
                        ids |= {id(n) for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                error = RAISING.get((ast.unparse(node.func.value), node.func.attr))
                if error is not None:
                    calls += 1
                    assert id(node) in guarded[error], f"{path.relative_to(ROOT)}:{node.lineno}"
    assert calls >= 2  # the scan found the pre-wave checks and the watcher's predicate


def test_the_errors_keep_their_builtin_bases_too() -> None:
    assert issubclass(TransportError, OSError) and issubclass(TransportError, WavedeckError)
    for cls in (PlanError, ConfigError, GitError, StateCorrupt):
        assert issubclass(cls, WavedeckError)


def test_the_command_maps_any_wavedeck_error_to_a_message_by_its_class() -> None:
    source = (ROOT / "tui" / "cli" / "main.py").read_text(encoding="utf-8")
    assert "sys.modules" not in source

    @click.group(cls=cli_main.WavedeckGroup)
    def group() -> None:
        pass

    @group.command("boom")
    def boom() -> None:
        raise StateCorrupt("/x/.wavedeck/state.json: the run state is corrupt")

    @group.command("bug")
    def bug() -> None:
        raise KeyError("not ours")

    result = CliRunner().invoke(group, ["boom"])
    assert result.exit_code == 2
    assert "wavedeck: /x/.wavedeck/state.json: the run state is corrupt" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    # Not wavedeck's own: a bug stays a bug (a traceback), never dressed up as a message.
    crashed = CliRunner().invoke(group, ["bug"])
    assert isinstance(crashed.exception, KeyError)
