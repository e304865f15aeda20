"""The control room says what is true (#19): no simulated agent by accident, and after an
operator's decision the status bar, the violation rows and the wave bar say what happened."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message

from tests.sandboxkit import git
from tests.tui.helpers import hold, settle
from tests.tui.room_kit import control_room, sandbox
from wavedeck.agents.kinds import Refusal
from wavedeck.tui import messages as msg

# A negative check: no agent leaves "pending", which no event can say. The refusal is awaited
# first (the key was handled, and refused before any launch); the half second is margin for a
# launch started anyway to reach the view (its first agent state event), as the old pause was.
NOTHING_STARTS = "the refusal is awaited first; the half second is margin for a stray launch"


async def test_s_without_an_agent_configured_is_refused_and_launches_nothing(
    tmp_path: Path,
) -> None:
    repo = sandbox(tmp_path)
    # The demo's wavedeck.toml without its [agent] table: tests only.
    (repo / "wavedeck.toml").write_text('[tests]\ncommands = ["true"]\n', "utf-8")
    git(repo, "commit", "-qam", "no agent")
    seen: list[Message] = []
    async with control_room(repo, seen) as (app, pilot):
        await pilot.press("s")
        await settle(pilot, lambda: any(isinstance(m, msg.ActionRefused) for m in seen), "refused")
        refused = [m for m in seen if isinstance(m, msg.ActionRefused)]
        assert refused and refused[-1].action == "start"
        assert "no agent configured" in refused[-1].reason
        assert 'preset = "' in refused[-1].reason
        engine = app.engine
        assert engine is not None
        refusal = engine.can_start_wave(1)
        assert isinstance(refusal, Refusal) and refusal.code == "no-agent"
        await hold(pilot, 0.5, NOTHING_STARTS)
        assert all(a.state == "pending" for a in app.view.wave_agents(1))
    assert not (repo / ".wavedeck" / "logs").exists()


async def test_s_without_test_commands_is_refused_before_any_agent_starts(tmp_path: Path) -> None:
    repo = sandbox(tmp_path)
    text = (repo / "wavedeck.toml").read_text("utf-8")
    before, _, after = text.partition("commands = ")
    (repo / "wavedeck.toml").write_text(before + "commands = []\n" + after.partition("\n")[2])
    git(repo, "commit", "-qam", "no tests")
    seen: list[Message] = []
    async with control_room(repo, seen) as (app, pilot):
        engine = app.engine
        assert engine is not None
        refusal = engine.can_start_wave(1)
        assert isinstance(refusal, Refusal) and refusal.code == "no-test-commands"
        await pilot.press("s")
        await settle(pilot, lambda: any(isinstance(m, msg.ActionRefused) for m in seen), "refused")
        await hold(pilot, 0.5, NOTHING_STARTS)
        assert all(a.state == "pending" for a in app.view.wave_agents(1))
    assert not (repo / ".wavedeck" / "logs").exists()
