"""`wavedeck run --headless` with the claude preset (the stand-in CLI), then
`wavedeck run --headless --follow-up AGENT MESSAGE` and `wavedeck status [--json]`: real
processes, the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.headless_kit import run
from tests.sandboxkit import git
from tests.unit.presets.test_engine_presets import claude_sandbox
from tests.unit.wave.enginekit import kill_agents

pytestmark = pytest.mark.slow


@pytest.mark.timeout(150)
def test_headless_needs_you_then_follow_up_then_status(tmp_path: Path) -> None:
    root = claude_sandbox(tmp_path / "s", {"w1-a2": ["--replay", "question"]})
    try:
        first = run(root, "run", "--headless", "--yes", "--json")
        assert first.returncode == 1, first.stderr
        events = [json.loads(line) for line in first.stdout.splitlines()]
        names = {e["event"] for e in events}
        assert {"agent_session", "agent_tool", "agent_usage", "issue_done"} <= names
        needs = [e for e in events if e["event"] == "agent_state_changed" and e["agent"] == "w1-a2"]
        assert needs[-1]["state"] == "needs_you"
        refused = [e for e in events if e["event"] == "gate_refused"]
        assert refused and refused[-1]["code"] == "agents-unfinished"
        assert {"agent": "w1-a2", "state": "needs_you"} in refused[-1]["agents"]
        assert "w1-a2 (needs_you)" in refused[-1]["reason"]  # the words, for people

        # Text status: usage per agent and per wave, the agent that needs you.
        status = run(root, "status")
        assert "w1-a2: needs_you" in status.stdout
        assert "wave 1: running" in status.stdout and "$1.25" in status.stdout

        bad = run(root, "run", "--headless", "--follow-up", "w1-a1", "")
        assert bad.returncode == 2 and "needs a message" in bad.stderr
        answer = run(root, "run", "--headless", "--json", "--follow-up", "w1-a2", "Keep it.")
        assert answer.returncode == 0, answer.stderr + answer.stdout
        out = [json.loads(line) for line in answer.stdout.splitlines()]
        lines = [e["line"] for e in out if e["event"] == "agent_output"]
        assert "── wavedeck: follow-up 1: Keep it. ──" in lines
        assert "follow-up received: Keep it." in lines

        data = json.loads(run(root, "status", "--json").stdout)
        a2 = data["agents"]["w1-a2"]
        assert a2["state"] == "succeeded" and a2["follow_ups"] == 1 and a2["session_id"]
        assert a2["cost_usd"] == pytest.approx(0.5) and a2["input_tokens"] == 240
        assert data["waves"]["1"]["usage"]["cost_usd"] == pytest.approx(1.5)
        assert data["usage"]["turns"] == 12

        # The wave goes on to its checkpoint; the message carries the usage.
        done = run(root, "run", "--headless", "--yes", "--wave", "1", "--accept-violations")
        assert done.returncode == 0, done.stderr + done.stdout[-2000:]
        message = git(root, "log", "-1", "--format=%B")
        assert "Wavedeck-Usage: 720 in / 180 out tokens, $1.50" in message
        assert "(w1-a2, " in message and "$0.50):" in message
    finally:
        kill_agents(root)
