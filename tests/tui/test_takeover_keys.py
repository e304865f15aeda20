"""``a`` in the control room, on a real engine: an agent without a session to take over keeps
the read-only live tail and says why; a running agent's headless run is never a second writer of
its session: the dialog offers to stop it first (its progress kept) or to wait, or nothing.

(A terminal Textual's test driver cannot hand over: the take-over itself, suspending the
control room for the real Claude Code CLI, runs in tmux in tests/e2e/test_takeover.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.helpers import settle, wait_for
from tests.tui.room_kit import control_room, sandbox
from tests.tui.screen_text import screen_text
from tests.unit.presets.test_engine_presets import claude_sandbox
from tests.unit.wave.enginekit import kill_agents
from wavedeck.tui.screens.logs import LogScreen
from wavedeck.tui.screens.takeover import RunningScreen

pytestmark = pytest.mark.timeout(120)


@pytest.mark.slow
async def test_a_without_a_session_keeps_the_live_tail_and_says_why(tmp_path: Path) -> None:
    repo = sandbox(tmp_path)
    async with control_room(repo) as (app, pilot):
        await pilot.press("s")
        agent = app.view.agents["w1-a1"]
        await wait_for(lambda: agent.state != "pending" and len(agent.log) > 0, timeout=30)
        await pilot.press("1", "a")
        await wait_for(lambda: isinstance(app.screen, LogScreen))
        assert app.screen.mode == "live"  # type: ignore[attr-defined]
        await settle(
            pilot, lambda: "read-only live tail" in screen_text(app), "the live tail's note drawn"
        )
        text = screen_text(app)
        assert "the generic preset keeps no session a terminal can resume" in text
        assert "read-only live tail" in text


@pytest.mark.slow
async def test_a_on_a_running_agent_asks_to_stop_it_or_wait(tmp_path: Path) -> None:
    repo = claude_sandbox(tmp_path / "s", {"w1-a1": ["--replay", "spend"]}, budget=100)
    notes: list[str] = []
    try:
        async with control_room(repo) as (app, pilot):
            original = app.notify

            def notify(message: str, **kw: object) -> None:
                notes.append(message)
                original(message, **kw)  # type: ignore[arg-type]

            app.notify = notify  # type: ignore[method-assign]
            await pilot.press("s")
            agent = app.view.agents["w1-a1"]
            await wait_for(lambda: agent.state == "running" and agent.session_id is not None)
            await pilot.press("1", "a")
            await wait_for(lambda: isinstance(app.screen, RunningScreen))
            assert app.screen.agent_id == "w1-a1"  # type: ignore[attr-defined]
            await pilot.press("n")  # nothing happens: it runs on
            await wait_for(lambda: not isinstance(app.screen, RunningScreen))
            assert agent.state == "running" and any("runs on" in n for n in notes)
            await pilot.press("a", "s")  # stop it first, then take over
            await wait_for(lambda: agent.state != "running", timeout=30)
            assert agent.session_id is not None  # its progress is kept
            # Textual's test driver cannot hand its terminal over: said, nothing lost.
            await wait_for(lambda: any("cannot be handed over" in n for n in notes), timeout=30)
            assert any("wavedeck attach w1-a1" in n for n in notes)
    finally:
        kill_agents(repo)
