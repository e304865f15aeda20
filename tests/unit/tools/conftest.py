"""Fixtures of the tools' tests (the simulated agent, the demo): a repo folder, a runner, a token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.local.runner import LocalRunner
from tests.unit.local.prockit import kill_pids, new_token, pids_with


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


@pytest.fixture
def runner(repo: Path) -> LocalRunner:
    return LocalRunner(repo / ".wavedeck")


@pytest.fixture
def token() -> Iterator[str]:
    """A unique string for spawned command lines; whatever still carries it is killed after."""
    value = new_token()
    yield value
    kill_pids(pids_with(value))
