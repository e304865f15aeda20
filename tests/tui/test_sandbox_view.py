"""The kernel sandbox as the control room shows it: the engine's ``SandboxStatus`` events reach
the header (the run's) and an agent's pane (a host that cannot confine it)."""

from __future__ import annotations

from tests.tui.helpers import reference_plan
from wavedeck.agents import events as ev
from wavedeck.tui import messages as msg
from wavedeck.tui.adapter import EventAdapter
from wavedeck.tui.runview import RunView
from wavedeck.tui.widgets.agent_pane import head_text
from wavedeck.tui.widgets.header import header_text


def test_the_runs_sandbox_reaches_the_header() -> None:
    view = RunView(reference_plan())
    adapter = EventAdapter(view)
    said = adapter.apply(ev.SandboxStatus("landlock", abi=6))
    assert isinstance(said, msg.NoticeReceived) and "Landlock ABI 6" in said.message
    assert "🔒 landlock 6" in header_text(view, 1).plain
    said = adapter.apply(ev.SandboxStatus("unavailable", reason="no-landlock", detail="old kernel"))
    assert isinstance(said, msg.NoticeReceived) and said.level == "warning"
    assert "no sandbox: watcher only" in header_text(view, 1).plain


def test_an_agent_its_host_cannot_confine_says_so_in_its_pane() -> None:
    view = RunView(reference_plan())
    adapter = EventAdapter(view)
    status = ev.SandboxStatus("unsandboxed", agent="w1-a2", reason="no-python", host="box")
    assert adapter.apply(status) == msg.AgentUpdated("w1-a2")
    words = head_text(view.agents["w1-a2"], 0.0).plain
    assert "⚠ unsandboxed" in words
    adapter.apply(ev.SandboxStatus("landlock", agent="w1-a2", abi=6, host="box"))
    assert view.agents["w1-a2"].sandbox is None  # confined after all: nothing to say
