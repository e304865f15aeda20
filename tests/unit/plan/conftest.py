"""Plan-test fixtures: puts this folder on ``sys.path`` for ``plan_testkit``, and a bounded CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

DATA = HERE.parent.parent / "data" / "plans"


@pytest.fixture(scope="session")
def plans_dir() -> Path:
    return DATA
