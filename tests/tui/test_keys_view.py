"""Keys and screens on a view-only app (events fed directly, frozen clock): focus, waves, zoom,
search, help, palette, disabled keys with their reason, quit."""

from __future__ import annotations

import pytest
from rich.table import Table
from textual.command import CommandPalette
from textual.message import Message
from textual.widgets import Static

from tests.tui.helpers import hold, panes_ready, settle, static_app
from tests.tui.screen_text import screen_text
from wavedeck.tui import messages as msg
from wavedeck.tui.keys import LOG_MODES
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
        await settle(pilot, lambda: "(unowned, w1-a2, inferred)" in screen_text(app), "the strip")
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

        def first_pane() -> str | None:
            return next((p.agent_id for p in app.main_screen.query(AgentPane)), None)

        await pilot.press("right_square_bracket")
        await settle(pilot, lambda: first_pane() == "w2-a1", "wave 2's panes")
        assert app.main_screen.selected_wave == 2
        assert next(p.agent_id for p in app.main_screen.query(AgentPane)) == "w2-a1"
        await pilot.press("right_square_bracket")
        await settle(pilot, lambda: first_pane() == "w3-a1", "wave 3's panes")
        await pilot.press("right_square_bracket")
        await hold(pilot, 0.05, "pilot.press returns once the key is handled: a switch is then")
        assert app.main_screen.selected_wave == 3  # the last wave: ] is disabled there
        await pilot.press("left_square_bracket")
        await settle(pilot, lambda: app.main_screen.selected_wave == 2, "back to wave 2")
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
        await settle(pilot, lambda: "Start the selected wave" in screen_text(app), "the help")
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
        await settle(
            pilot, lambda: any(isinstance(m, msg.ActionRefused) for m in seen), "the refusal"
        )
        refused = [m for m in seen if isinstance(m, msg.ActionRefused)]
        assert refused and refused[0].action == "start"
        assert "no engine" in refused[0].reason
        footer = {k: b.enabled for k, b in app.screen.active_bindings.items()}
        assert footer["s"] is False and footer["z"] is True  # greyed out vs available


@pytest.mark.slow
async def test_command_palette_lists_actions() -> None:
    app = static_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"zoom")
        await settle(pilot, lambda: "wavedeck: zoom" in screen_text(app), "zoom offered")
        assert "wavedeck: zoom" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, LogScreen), "the log view")
        assert isinstance(app.screen, LogScreen)


@pytest.mark.slow
async def test_attach_without_an_engine_shows_the_live_tail_and_says_why() -> None:
    app = static_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await pilot.press("4", "a")
        assert isinstance(app.screen, LogScreen) and app.screen.mode == "live"
        await settle(pilot, lambda: "Error: tsc exited 2" in screen_text(app), "the live tail")
        text = screen_text(app)
        assert "no session to take over (read-only live tail)" in text
        assert "Error: tsc exited 2" in text


@pytest.mark.slow
async def test_help_says_what_each_log_mode_shows_and_what_reaches_an_agent() -> None:
    app = static_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await settle(pilot, lambda: "In the log view:" in screen_text(app), "the help drawn")
        table = app.screen.query_one("#help-table", Static).content
        assert isinstance(table, Table)
        keys_column = [str(c) for c in table.columns[0]._cells]
        help_column = [str(c) for c in table.columns[1]._cells]
        assert "In the log view:" in help_column
        for mode, key in (("live", "z"), ("whole", "l"), ("raw", "o")):
            name, shows = LOG_MODES[mode]
            assert keys_column[help_column.index(f"{name}: {shows}")] == key
        said = help_column[-1]
        assert "a takes over the agent's CLI session" in said and "u sends a reply" in said
        assert "In the log view:" in screen_text(app)
