"""A remote agent's pane shows its host's connection: connected, reconnecting (when the next
attempt is due) or unreachable (why), from the engine's ``HostConnectionChanged`` events."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rich.text import Text

from tests.tui.helpers import FixedClock, pane_head, panes_ready, reference_plan, wait_for
from tests.tui.screen_text import screen_text
from tests.unit.wave.enginekit import sandbox, supervisor
from wavedeck.agents import events as ev
from wavedeck.agents.configread import load_config
from wavedeck.tui.adapter import sync_view
from wavedeck.tui.app import WavedeckApp
from wavedeck.tui.runview import RunView
from wavedeck.tui.widgets.agent_pane import AgentPane

pytestmark = pytest.mark.timeout(60)


def pane_footer(app: WavedeckApp, agent_id: str) -> str:
    pane = next(p for p in app.screen.query(AgentPane) if p.agent_id == agent_id)
    return Text.from_markup(str(pane.border_subtitle or "")).plain  # Textual keeps markup


@pytest.mark.slow
async def test_pane_shows_the_host_connection_of_a_remote_agent() -> None:
    plan = reference_plan()
    clock = FixedClock()
    app = WavedeckApp(plan, None, clock=clock)
    app.view.set_host("w1-a3", "loop")
    async with app.run_test(size=(200, 50)):
        await panes_ready(app)
        app.feed([ev.WaveStateChanged(1, "running")])
        app.feed(ev.AgentStateChanged(a.id, "running") for a in plan.wave(1).agents)
        await wait_for(lambda: pane_footer(app, "w1-a3") == "loop: connecting")
        app.feed([ev.HostConnectionChanged("loop", "connected", "127.0.0.1:2222")])
        await wait_for(lambda: "loop: connected" in pane_footer(app, "w1-a3"), timeout=5)
        assert "loop" in screen_text(app)

        app.feed([ev.HostConnectionChanged("loop", "reconnecting", "reset", next_attempt_s=4.0)])
        due = time.strftime("%H:%M:%S", time.localtime(clock.now + 4.0))
        await wait_for(lambda: "reconnecting" in pane_footer(app, "w1-a3"))
        assert f"next try {due} (in 4 s)" in pane_footer(app, "w1-a3")
        # The agent is neither failed nor succeeded while its link is down: "connection lost".
        await wait_for(lambda: pane_head(app, "w1-a3").startswith("⚡ connection lost"))
        assert pane_head(app, "w1-a1").startswith("● running")
        await wait_for(lambda: f"next try {due}" in screen_text(app), timeout=5)  # drawn in full

        why = "no route to host after 8 attempts"
        app.feed([ev.HostConnectionChanged("loop", "unreachable", why)])
        await wait_for(lambda: "unreachable" in pane_footer(app, "w1-a3"))
        assert why in pane_footer(app, "w1-a3")
        # A local agent's pane says nothing about hosts.
        assert pane_footer(app, "w1-a1") == ""

        assert pane_head(app, "w1-a3").startswith("⚡ connection lost")

        app.feed([ev.HostConnectionChanged("loop", "connected", "127.0.0.1:2222")])
        await wait_for(lambda: "loop: connected" in pane_footer(app, "w1-a3"))
        await wait_for(lambda: pane_head(app, "w1-a3").startswith("● running"))


def test_supervisor_names_each_agents_host(tmp_path: Path) -> None:
    root = sandbox(tmp_path / "repo")
    config = load_config(root)
    config.hosts["loop"] = _host(["w1-a3"], [])
    config.hosts["pkg"] = _host([], ["packages/server-vps/src"])  # w1-a4's package
    sup = supervisor(root, config)
    assert sup.host_of("w1-a3") == "loop"
    assert sup.host_of("w1-a4") == "pkg" and sup.is_remote("w1-a4")
    assert sup.host_of("w1-a1") is None and not sup.is_remote("w1-a1")
    # The control room learns it when it attaches, before any agent runs.
    view = RunView(sup.plan)
    sync_view(view, sup)
    assert {a: view.agents[a].host for a in ("w1-a1", "w1-a3", "w1-a4")} == {
        "w1-a1": None,
        "w1-a3": "loop",
        "w1-a4": "pkg",
    }


def _host(agents: list[str], packages: list[str]):  # type: ignore[no-untyped-def]
    from wavedeck.agents.config import HostConfig

    return HostConfig(address="127.0.0.1", workdir="/srv/clone", agents=agents, packages=packages)
