"""Where the real opencode keeps its database, as the one-at-a-time check looks for it.

opencode's first starts at once race on migrating its database, so its local agents start one at
a time only while it does not exist (``agents/presets/opencode.py`` ``first_run``, through the
state folders of ``statedirs``). This runs the real binary (1.18) in a fresh HOME: before, the
check says a first run; after one start (``opencode session list``), not; with
``OPENCODE_DB=:memory:`` never (each start its own database).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.agent_cli_kit import require
from wavedeck.agents.config import AgentConfig
from wavedeck.agents.wave.startlane import starts_alone

pytestmark = pytest.mark.slow


@pytest.mark.timeout(60)
def test_the_first_run_check_finds_the_database_the_real_opencode_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = require("opencode")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "OPENCODE"))}
    env["HOME"] = str(home)
    for key in list(os.environ):
        if key.startswith(("XDG_", "OPENCODE")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    agent = AgentConfig(preset="opencode")
    assert starts_alone(agent)  # never ran here: a first run
    done = subprocess.run(
        [str(program), "session", "list"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=45, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert list((home / ".local/share/opencode").glob("opencode*.db"))
    assert not starts_alone(agent)  # its database made: starts at once share it
    assert not starts_alone(AgentConfig(preset="opencode", env={"OPENCODE_DB": ":memory:"}))
    moved = AgentConfig(preset="opencode", env={"XDG_DATA_HOME": str(tmp_path / "elsewhere")})
    assert starts_alone(moved)  # another data folder: no database there yet
