"""Fixtures of the engine tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import kill_agents


@pytest.fixture
async def root(tmp_path: Path) -> AsyncIterator[Path]:
    """Where a test's sandbox goes; every agent started there is killed afterwards."""
    folder = tmp_path / "repo"
    yield folder
    kill_agents(folder)
