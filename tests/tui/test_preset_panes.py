"""Agent presets in the control room: usage in the pane and the wave bar, needs-you shown like
a failure with a notification (bell, OSC 9), the raw stream one key (``o``) away."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.helpers import FixedClock, pane_head, panes_ready, reference_plan, wait_for
from wavedeck.agents import events as ev
from wavedeck.agents.config import NotifyConfig
from wavedeck.tui.app import WavedeckApp
from wavedeck.tui.notify import Notifier, osc9
from wavedeck.tui.screens.logs import LogScreen
from wavedeck.tui.widgets.wave_bar import wave_bar_text

pytestmark = pytest.mark.timeout(60)


@pytest.mark.slow
async def test_usage_needs_you_notification_and_raw_view() -> None:
    plan = reference_plan()
    app = WavedeckApp(plan, None, clock=FixedClock())
    rings: list[int] = []
    written: list[str] = []
    app.view.preset = "claude"
    app.notifier = Notifier(
        NotifyConfig(), bell=lambda: rings.append(1), write=written.append, run=lambda a: None
    )
    app.adapter.on_ended = app.notifier.alert
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        raw = ('{"type":"assistant","message":{"content":[{"type":"text","text":"Hi"}]}}',)
        app.feed(
            [
                ev.WaveStateChanged(1, "running"),
                ev.AgentStateChanged("w1-a1", "running"),
                ev.AgentOutputBatch("w1-a1", ("Hi",), raw),
                ev.AgentUsage("w1-a1", 12_300, 678, 0.27, 3),
                ev.AgentUsage("w1-a2", 1_000, 100, 1.0, 1),
                ev.AgentDenied("w1-a1", "Write", "x.py"),
                ev.AgentStateChanged("w1-a1", "needs_you", reason="asks: Which one?"),
            ]
        )
        await wait_for(lambda: pane_head(app, "w1-a1").startswith("✋ needs you"))
        head = pane_head(app, "w1-a1")
        assert "12.3k in / 678 out, $0.27" in head and "⛔ 1" in head
        assert "Wave 1 running 0/29 $1.27" in wave_bar_text(app.view, 1).plain
        assert rings == [1] and written == [osc9("wavedeck: w1-a1 needs you: asks: Which one?")]
        pane = app.main_screen.pane("w1-a1")
        assert pane is not None and "-needs_you" in pane.classes
        assert list(pane.log_view.buffer.lines) == ["Hi"]
        await pilot.press("1")
        await pilot.press("o")
        await wait_for(lambda: pane.log_view.buffer is app.view.agents["w1-a1"].raw)
        assert list(pane.log_view.buffer.lines) == list(raw) and " raw" in pane_head(app, "w1-a1")
        await pilot.press("o")
        await wait_for(lambda: list(pane.log_view.buffer.lines) == ["Hi"])
        # The log view's raw stream mode is the same raw buffer, full screen.
        await pilot.press("z", "o")
        screen = app.screen
        assert isinstance(screen, LogScreen)
        await wait_for(lambda: screen.log_view is not None and screen.log_view.id == "logs-raw")
        assert screen.log_view.buffer is app.view.agents["w1-a1"].raw  # type: ignore[union-attr]


def test_notifier_respects_its_config_and_cleans_text() -> None:
    runs: list[list[str]] = []
    rings: list[Any] = []
    off = Notifier(
        NotifyConfig(bell=False, osc9=False, desktop=False),
        bell=lambda: rings.append(1),
        write=rings.append,
        run=runs.append,
    )
    off.alert("w1-a1", "failed", "x")
    off.alert("w1-a1", "succeeded", "")
    assert rings == [] and runs == [] and off.sent == ["wavedeck: w1-a1 failed: x"]
    assert osc9("a\x1b]0;evil\x07b\nc") == "\x1b]9;a ]0;evil b c\x07"


def test_notify_send_runs_with_an_argv_where_installed(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = tmp_path / "notify-send"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("DISPLAY", ":0")
    runs: list[list[str]] = []
    notifier = Notifier(NotifyConfig(), bell=lambda: None, write=None, run=runs.append)
    notifier.alert("w1-a2", "needs_you", "asks: $(rm -rf ~)?\x1b]0;x\x07")
    assert runs == [
        [
            str(program),
            "--app-name=wavedeck",
            "wavedeck: w1-a2",
            "wavedeck: w1-a2 needs you: asks: $(rm -rf ~)? ]0;x",
        ]
    ]
