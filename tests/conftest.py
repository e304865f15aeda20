"""Fixtures shared by every test folder: paths to the shared reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
REFERENCE_PLAN = SHARED / "plans" / "security-waves.md"
ZAJEL = SHARED / "fixtures" / "zajel"


@pytest.fixture(scope="session")
def reference_plan_path() -> Path:
    if not REFERENCE_PLAN.exists():
        pytest.fail(f"the shared reference plan is missing: {REFERENCE_PLAN}")
    return REFERENCE_PLAN


@pytest.fixture(scope="session")
def zajel_dir() -> Path:
    if not ZAJEL.exists():
        pytest.fail(f"the shared zajel fixtures are missing: {ZAJEL}")
    return ZAJEL
