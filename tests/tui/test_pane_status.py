"""How an agent ended reads in its pane's status line: exit code, signal name, marked done
(matrix A18, B2, B5)."""

from __future__ import annotations

import pytest

from tests.tui.helpers import FixedClock, pane_head, panes_ready, reference_plan, wait_for
from wavedeck.agents import events as ev
from wavedeck.agents.wave.startlane import QUEUED
from wavedeck.tui.app import WavedeckApp

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


async def test_the_status_line_names_exit_codes_and_signals() -> None:
    plan = reference_plan()
    app = WavedeckApp(plan, None, clock=FixedClock())
    async with app.run_test(size=(200, 50)):
        await panes_ready(app)
        app.feed([ev.WaveStateChanged(1, "running")])
        app.feed(ev.AgentStateChanged(a.id, "running") for a in plan.wave(1).agents)
        app.feed(
            [
                ev.AgentStateChanged("w1-a1", "failed", exit_code=255, reason="exit code 255"),
                ev.AgentStateChanged("w1-a2", "failed", signal="SIGSEGV", reason="SIGSEGV"),
                ev.AgentStateChanged("w1-a3", "stopped", signal="SIGKILL", reason="killed"),
                ev.AgentStateChanged("w1-a4", "succeeded", exit_code=0),
                ev.AgentStateChanged("w1-a5", "lost", reason="no exit status"),
            ]
        )
        await wait_for(lambda: pane_head(app, "w1-a5").startswith("? lost"))
        assert pane_head(app, "w1-a1").startswith("✘ failed (255)")
        assert pane_head(app, "w1-a2").startswith("✘ failed (SIGSEGV)")
        assert pane_head(app, "w1-a3").startswith("■ stopped (SIGKILL)")
        assert pane_head(app, "w1-a4").startswith("✔ succeeded")
        assert "(" not in pane_head(app, "w1-a4").split("⏱")[0]


async def test_an_agent_waiting_its_turn_to_start_says_it_is_queued() -> None:
    plan = reference_plan()
    app = WavedeckApp(plan, None, clock=FixedClock())
    async with app.run_test(size=(200, 50)):
        await panes_ready(app)
        app.feed([ev.WaveStateChanged(1, "running")])
        app.feed([ev.AgentStateChanged("w1-a1", "running")])
        app.feed([ev.AgentStateChanged("w1-a2", "pending", reason=QUEUED)])
        await wait_for(lambda: "queued" in pane_head(app, "w1-a2"))
        assert pane_head(app, "w1-a2").startswith(f"○ pending · ⏳ {QUEUED}")
        app.feed([ev.AgentStateChanged("w1-a2", "running")])
        await wait_for(lambda: pane_head(app, "w1-a2").startswith("● running"))
        assert "queued" not in pane_head(app, "w1-a2")
