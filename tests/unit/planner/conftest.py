"""Planner fixtures: the zajel skeleton repository (built with the ownership tests' kit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.ownership.skeleton import build_skeleton


@pytest.fixture(scope="session")
def zajel_repo(
    tmp_path_factory: pytest.TempPathFactory, zajel_dir: Path, reference_plan_path: Path
) -> tuple[Path, dict[str, str]]:
    repo = tmp_path_factory.mktemp("zajel-planner") / "repo"
    return repo, build_skeleton(zajel_dir, repo, reference_plan_path)
