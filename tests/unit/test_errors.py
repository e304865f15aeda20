"""One base for wavedeck's errors: every exception class wavedeck defines derives from
``WavedeckError``, and the ``wavedeck`` command turns any of them into a message (exit 2) by its
class alone, never by looking names up among the modules already imported."""

from __future__ import annotations

import ast
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


def _exception_classes() -> list[tuple[str, str, set[str]]]:
    """(module path, class name, base names) of every class defined on a builtin exception."""
    found = []
    for layer in ("plan", "agents", "tui"):
        for path in sorted((ROOT / layer).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                    if bases & (BUILTIN_BASES | {"WavedeckError"}):
                        found.append((str(path.relative_to(ROOT)), node.name, bases))
    return found


def test_every_error_wavedeck_defines_derives_from_the_common_base() -> None:
    classes = _exception_classes()
    assert len(classes) >= 15  # the scan found the errors (plan, config, git, state, ...)
    strays = [(p, n) for p, n, bases in classes if "WavedeckError" not in bases | {n}]
    assert strays == []


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
