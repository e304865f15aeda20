"""Dialogs (letter keys, arrows, a named default, a notice on cancel), every way out through the
quit dialog (q, ctrl+q, ctrl+c, the palette's Quit), and what the header says: the wave's phase,
plan complete, the demo sandbox; the focus border surviving a state change."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.color import Color
from textual.command import CommandList, CommandPalette
from textual.widgets import Button

from tests.tui.helpers import (
    FixedClock,
    panes_ready,
    reference_plan,
    settle,
    static_app,
    wait_for,
)
from tests.tui.room_kit import control_room, sandbox
from tests.tui.screen_text import screen_text
from wavedeck.agents import events as ev
from wavedeck.tui.app import WavedeckApp
from wavedeck.tui.screens.checkpoint import summary_text
from wavedeck.tui.screens.dialogs import ConfirmScreen, QuitScreen
from wavedeck.tui.widgets.agent_pane import AgentPane


def notices(app: WavedeckApp) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.mark.slow
async def test_confirm_dialog_keys_arrows_default_and_cancel_notice() -> None:
    app = static_app()
    answers: list[bool | None] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await panes_ready(app)

        async def ask() -> ConfirmScreen:
            dialog = ConfirmScreen("Stop w2-a2?", yes="Stop", cancelled="not stopped: w2-a2 runs")
            app.push_screen(dialog, answers.append)
            await wait_for(lambda: app.screen is dialog and dialog.focused is not None)
            return dialog

        dialog = await ask()
        assert dialog.focused is dialog.query_one("#no", Button)  # the default, named below
        # Focused is not yet drawn: under load the first read of the screen was empty.
        await settle(pilot, lambda: "No (n)" in screen_text(app), "the dialog drawn")
        shown = screen_text(app)
        assert "Stop (y)" in shown and "No (n)" in shown
        assert "enter: the highlighted button (No until" in shown
        await pilot.press("enter")  # the default: no, and it says so
        await wait_for(lambda: len(answers) == 1)
        assert answers == [False] and "not stopped: w2-a2 runs" in notices(app)
        dialog = await ask()
        await pilot.press("left")  # arrows move between the buttons
        assert dialog.focused is dialog.query_one("#yes", Button)
        await pilot.press("right")
        assert dialog.focused is dialog.query_one("#no", Button)
        await pilot.press("left", "enter")
        await wait_for(lambda: len(answers) == 2)
        assert answers[1] is True
        await ask()
        await pilot.press("y")
        await wait_for(lambda: len(answers) == 3)
        assert answers[2] is True
        await ask()
        await pilot.press("n")
        await wait_for(lambda: len(answers) == 4)
        assert answers[3] is False


@pytest.mark.slow
async def test_every_way_out_goes_through_the_quit_dialog(tmp_path: Path) -> None:
    repo = sandbox(tmp_path, extra={"w1-a1": ["--hang"], "w1-a3": ["--hang"]})
    async with control_room(repo) as (app, pilot):
        a1, a2 = app.view.agents["w1-a1"], app.view.agents["w1-a3"]
        await pilot.press("s")
        await wait_for(lambda: a1.state == "running" and a2.state == "running", timeout=30)
        # Stop: enter on the default (No) cancels, and says so; arrows reach Stop.
        await pilot.press("1", "x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        await wait_for(lambda: "not stopped: w1-a1 keeps running" in notices(app))
        assert a1.state == "running"
        await pilot.press("x", "left", "enter")
        await wait_for(lambda: a1.state == "stopped", timeout=30)

        for way in (("q",), ("ctrl+q",), ("ctrl+c",)):
            await pilot.press(*way)
            await wait_for(lambda: isinstance(app.screen, QuitScreen))
            await pilot.press("n")  # stay
            await wait_for(lambda: not isinstance(app.screen, QuitScreen))
            assert not app.engine_closed and app.is_running
        assert "not quitting: the control room stays open" in notices(app)

        # The palette's Quit (ours: Textual's built-in one is not offered) too.
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"quit")
        commands = app.screen.query_one(CommandList)

        def system_quit() -> int | None:
            for i in range(commands.option_count):
                if str(commands.get_option_at_index(i).prompt).startswith("wavedeck: quit"):
                    return i
            return None

        await wait_for(lambda: system_quit() is not None)
        commands.highlighted = system_quit()
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, QuitScreen))
        assert app.is_running and not app.engine_closed
        await pilot.press("s")  # stop all
        await wait_for(lambda: app.engine_closed, timeout=30)
    assert app.stopped_agents and a2.state != "running"


@pytest.mark.slow
async def test_header_says_agents_done_and_plan_complete() -> None:
    plan = reference_plan()
    app = WavedeckApp(plan, None, clock=FixedClock())
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        app.feed([ev.WaveStateChanged(1, "running")])
        app.feed(ev.AgentStateChanged(a.id, "running") for a in plan.wave(1).agents)
        await wait_for(lambda: "wave 1: running · 5 running" in screen_text(app))
        app.feed(ev.AgentStateChanged(a.id, "succeeded") for a in plan.wave(1).agents)
        # Not "running 0 running": the agents are done and the tests come next.
        await wait_for(lambda: "wave 1: agents done, run the tests · 0 running" in screen_text(app))
        # The wave bar says the same (#19: not "● Wave 1 running" under "agents done").
        assert "Wave 1 agents done 0/" in screen_text(app)
        assert "Wave 1 running" not in screen_text(app)
        app.feed([ev.AgentStateChanged("w1-a4", "failed", exit_code=2)])
        await wait_for(lambda: "wave 1: agents ended, 1 not done" in screen_text(app))
        assert "Wave 1 agents ended 0/" in screen_text(app)
        app.feed(ev.WaveStateChanged(w.number, "committed") for w in plan.waves)
        await wait_for(lambda: "plan complete: all 3 waves committed" in screen_text(app))
        await pilot.pause()


async def test_header_shows_the_sandbox_and_quitting_names_it() -> None:
    where = Path("/tmp/wavedeck-demo-x1")
    app = WavedeckApp(reference_plan(), None, clock=FixedClock(), sandbox=where)
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await settle(pilot, lambda: f"demo sandbox {where}" in screen_text(app), "the header")
        assert f"demo sandbox {where}" in screen_text(app)
        await pilot.press("q")
    farewell = app.farewell()
    assert farewell == (f"demo sandbox kept at {where}; reopen with: cd {where} && wavedeck")
    assert WavedeckApp(reference_plan(), None).farewell() is None


@pytest.mark.slow
async def test_the_focused_pane_keeps_its_border_when_its_agent_stops() -> None:
    app = static_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await panes_ready(app)
        await pilot.press("1")
        pane = app.main_screen.query_one("#pane-w1-a1", AgentPane)
        assert pane.styles.border_top[0] == "heavy"
        app.feed([ev.AgentStateChanged("w1-a1", "stopped", signal="SIGTERM")])
        await wait_for(lambda: "-stopped" in pane.classes)
        warning = Color.parse(app.get_css_variables()["warning"])
        await settle(pilot, lambda: pane.styles.border_top[1] == warning, "the stopped colour")
        assert pane.styles.border_top[0] == "heavy"  # still shows it has focus
        await pilot.press("2")
        await settle(pilot, lambda: pane.styles.border_top[0] != "heavy", "focus moved away")
        assert pane.styles.border_top[0] == "round"


@pytest.mark.slow
async def test_a_paused_or_searched_log_says_so_on_its_pane() -> None:
    app = static_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await pilot.press("3", "f")
        pane = app.main_screen.query_one("#pane-w1-a3", AgentPane)
        await wait_for(lambda: "⏸ paused (f: follow)" in str(pane.border_subtitle))
        await pilot.press("end")
        await wait_for(lambda: "paused" not in str(pane.border_subtitle))
        await pilot.press("slash", *"server", "enter")
        await wait_for(lambda: "/server 1 of " in str(pane.border_subtitle))
        assert pane.log_view.match_rank is not None
        n = pane.log_view.match_rank[1]
        assert f"'server': match 1 of {n}" in " ".join(notices(app))
        await pilot.press("n")
        await wait_for(lambda: f"/server 2 of {n}" in str(pane.border_subtitle))
        await settle(pilot, lambda: f"/server 2 of {n}" in screen_text(app), "the subtitle drawn")
        assert f"/server 2 of {n}" in screen_text(app)


def test_a_stale_test_result_is_not_shown_as_passed() -> None:
    from tests.tui.test_snapshots import refused_preview

    preview = refused_preview()
    assert "Tests  passed" in summary_text(preview).plain
    stale = type(preview)(**{**preview.__dict__, "tests_stale": True})
    text = summary_text(stale).plain
    assert "passed" not in text.replace("after they passed", "") and "out of date" in text
