"""Keys and screens on a view-only app (events fed directly, frozen clock): focus, waves, zoom,
search, help, palette, disabled keys with their reason, quit."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette
from textual.message import Message

from tests.tui.helpers import panes_ready, static_app
from tests.tui.screen_text import screen_text
from wavedeck.tui import messages as msg
from wavedeck.tui.screens.dialogs import PromptScreen
from wavedeck.tui.screens.help import HelpScreen
from wavedeck.tui.screens.logs import LogScreen
from wavedeck.tui.widgets.agent_pane import AgentPane


def _recorder(seen: list[Message]):  # type: ignore[no-untyped-def]
    return seen.append


@pytest.mark.slow
async def test_panes_status_and_focus_keys() -> None:
    app = static_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await pilot.pause(0.1)
        panes = list(app.main_screen.query(AgentPane))
        assert [p.agent_id for p in panes] == [f"w1-a{n}" for n in range(1, 6)]
        text = screen_text(app)
        assert "☑ 2/6" in text and "⚠ 1" in text and "✘ failed (2)" in text
        assert (
            "⚠ 1 open v: review  packages/headless-client/zajel/cli/daemon.py (unowned, w1-a2, inferred)"
            in text
        )
        for n in (3, 5, 1):
            await pilot.press(str(n))
            assert app.main_screen.focused_pane is panes[n - 1]
        await pilot.press("9")  # no pane 9: stays
        assert app.main_screen.focused_pane is panes[0]


@pytest.mark.slow
async def test_wave_switching_with_brackets() -> None:
    app = static_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await pilot.press("right_square_bracket")
        await pilot.pause(0.05)
        assert app.main_screen.selected_wave == 2
        assert next(p.agent_id for p in app.main_screen.query(AgentPane)) == "w2-a1"
        await pilot.press("right_square_bracket")
        await pilot.pause(0.05)
        await pilot.press("right_square_bracket")
        await pilot.pause(0.05)
        assert app.main_screen.selected_wave == 3  # the last wave: ] is disabled there
        await pilot.press("left_square_bracket")
        await pilot.pause(0.05)
        assert app.main_screen.selected_wave == 2


@pytest.mark.slow
async def test_enter_opens_the_log_view_and_escape_closes_it() -> None:
    app = static_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await panes_ready(app)
        await pilot.press("2", "enter")
        assert isinstance(app.screen, LogScreen) and app.screen.agent.id == "w1-a2"
        await pilot.press("escape")
        assert app.screen is app.main_screen


@pytest.mark.slow
async def test_search_prompt_jumps_to_match() -> None:
    app = static_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await pilot.press("3", "slash")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"server-2", "enter")
        pane = app.main_screen.query_one("#pane-w1-a3", AgentPane)
        assert pane.log_view.search_term == "server-2" and pane.log_view.current_match is not None
        assert (
            "server-2"
            in pane.log_view.buffer.lines[pane.log_view.current_match - pane.log_view.buffer.first]
        )


@pytest.mark.slow
async def test_help_lists_every_key_with_why_not() -> None:
    app = static_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "Start the selected wave" in text and "view only: no engine is attached" in text
        await pilot.press("escape")
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


async def test_disabled_key_says_why_and_posts_a_message() -> None:
    seen: list[Message] = []
    app = static_app()
    async with app.run_test(size=(200, 50), message_hook=seen.append) as pilot:
        await panes_ready(app)
        await pilot.press("s")
        await pilot.pause(0.05)
        refused = [m for m in seen if isinstance(m, msg.ActionRefused)]
        assert refused and refused[0].action == "start"
        assert "no engine" in refused[0].reason
        footer = {k: b.enabled for k, b in app.screen.active_bindings.items()}
        assert footer["s"] is False and footer["a"] is True  # greyed out vs available


@pytest.mark.slow
async def test_command_palette_lists_actions() -> None:
    app = static_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"zoom")
        await pilot.pause(0.3)
        assert "wavedeck: zoom" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, LogScreen)


@pytest.mark.slow
async def test_attach_without_an_engine_shows_the_live_tail_and_says_why() -> None:
    app = static_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await pilot.press("4", "a")
        assert isinstance(app.screen, LogScreen) and app.screen.mode == "live"
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "no session to take over (read-only live tail)" in text
        assert "Error: tsc exited 2" in text


@pytest.mark.slow
async def test_quit_without_engine_exits() -> None:
    app = static_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await panes_ready(app)
        await pilot.press("q")
        await pilot.pause(0.1)
    assert app.return_value == 0


@pytest.mark.slow
async def test_markup_in_plan_titles_and_notices_is_literal() -> None:
    """D13: Rich markup in a plan's agent title, an engine notice or a path is shown as typed."""
    from tests.tui.helpers import FixedClock, reference_plan
    from wavedeck.agents import events as ev
    from wavedeck.tui.app import WavedeckApp

    plan = reference_plan()
    wave = plan.waves[0]
    hostile = "[link=file:///etc/passwd]x[/link] [bold red]loud[/bold red]"
    agent = wave.agents[0].model_copy(update={"title": hostile})
    plan = plan.model_copy(
        update={
            "waves": (
                wave.model_copy(update={"agents": (agent, *wave.agents[1:])}),
                *plan.waves[1:],
            )
        }
    )
    app = WavedeckApp(plan, None, clock=FixedClock())
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        app.feed([ev.Notice("warning", "[bold]notice[/bold] [link=file:///etc/passwd]y[/link]")])
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "[link=file:///etc/passwd]x[/link]" in text
        notices = [n for n in app._notifications if "notice" in n.message]
        assert notices and not notices[0].markup  # shown as text, never parsed
