"""Fixtures shared by every test folder: paths to the shared reference data; and the Hypothesis
profile for CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Under CI (``.ci/run`` sets CI=true) property tests run a fixed set of examples, so a landing is
# judged on the code, not on the luck of the draw; a developer's runs keep exploring new inputs
# (and any failure they find becomes an ``@example``).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

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
