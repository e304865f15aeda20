"""Fixtures shared by every test folder: paths to the reference data in tests/data/; the Hypothesis
profile for CI; and the ``sshd``/``slow`` marks of the tests that use a real OpenSSH server."""

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
# The project carries every file its tests use (a clone with nothing beside it passes): the
# reference plan and the zajel repository data are copies kept in tests/data/.
DATA = ROOT / "tests" / "data"
REFERENCE_PLAN = DATA / "plans" / "security-waves.md"
ZAJEL = DATA / "zajel"


@pytest.fixture(scope="session")
def reference_plan_path() -> Path:
    if not REFERENCE_PLAN.exists():
        pytest.fail(f"the reference plan is missing: {REFERENCE_PLAN}")
    return REFERENCE_PLAN


@pytest.fixture(scope="session")
def zajel_dir() -> Path:
    if not ZAJEL.exists():
        pytest.fail(f"the zajel fixtures are missing: {ZAJEL}")
    return ZAJEL


# Fixtures that start (or need) a real OpenSSH server on 127.0.0.1 (tests/unit/remote/sshkit.py).
_SSHD_FIXTURES = {"sshd", "make_sshd", "host_clone", "user_dir"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a real sshd is marked ``sshd`` and ``slow`` (out of the fast lane,
    ``-m "not slow"``) by the fixtures it asks for, so a new one cannot be forgotten."""
    for item in items:
        if _SSHD_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.sshd)
            item.add_marker(pytest.mark.slow)
