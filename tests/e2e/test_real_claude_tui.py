"""End to end: the control room in a tmux pane (200x50) running the real Claude Code CLI.

The two-agent plan of ``real_cli_kit`` with ``preset = "claude"``, the scripted model of
``model_server`` on 127.0.0.1. ``s`` starts wave 1; the panes show rendered lines (the tool
calls as ``→ Read``, ``✎ Write``, ``$ command``, the agent's text with its progress line), each
agent's tokens and cost, the wave's cost in the wave bar and the issues ticked off — never the
raw stream-json; ``o`` shows the raw stream of the focused pane. A private tmux socket is used and
its server killed at the end.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.agent_cli_kit import require
from tests.e2e.claude_kit import fixes
from tests.e2e.headless_kit import kill_agents
from tests.e2e.model_server import ModelServer, Script
from tests.e2e.real_cli_kit import FILES, key, make_sandbox
from tests.e2e.tmux_kit import WAVEDECK, Tmux, pane_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux()
    yield session
    session.kill()


@pytest.mark.timeout(180)
def test_control_room_panes_render_the_real_cli_with_usage_and_cost(
    tmux: Tmux, tmp_path: Path
) -> None:
    claude = require("claude")
    folder = tmp_path / "repo"
    script: Script = {key(a): fixes(folder, a) for a in FILES}
    env = pane_env()
    try:
        with ModelServer(script) as server:
            make_sandbox(folder, claude, server.url)
            tmux.start(shlex.join([*WAVEDECK, "run", "--repo", str(folder)]), folder, env)
            tmux.wait_for("1 w1-a1", "2 w1-a2", "Wave 1 ready", timeout=60)
            tmux.keys("s")
            tmux.wait_for("wavedeck: done api-1 fixed", "wavedeck: done web-1 fixed", timeout=90)
            # both ended, both issues ticked, each agent's usage and the wave's cost shown
            screen = tmux.wait_for("✔ succeeded", "☑ 1/1", ", $0.27", timeout=30, times=2)
            for rel in FILES.values():
                assert f"→ Read {rel}" in screen
                assert f"✎ Write {rel}" in screen
                assert f"$ python3 -m py_compile {rel}" in screen
            wave_line = next(line for line in screen.splitlines() if "Wave 1 agents done" in line)
            assert "$0.5" in wave_line, wave_line  # two agents at about $0.27 each
            assert '{"type"' not in screen  # never the raw stream
            # the raw stream is one key away
            tmux.keys("o")
            tmux.wait_for('{"type":', timeout=20)
    finally:
        kill_agents(folder)
