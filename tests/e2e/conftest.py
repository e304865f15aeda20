"""Fixtures of the end-to-end tests: ``folder``, where a test's sandbox goes (``tmp_path/repo``),
every agent started there killed afterwards. A module needing more clean-up defines its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.headless_kit import kill_agents


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "repo"
    yield repo
    kill_agents(repo)
