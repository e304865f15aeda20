"""The one action table (``wavedeck.tui.keys``) and everything that reads it: zoom, help, the palette, the
key bar, a ``[keys]`` remap (the new key works, the old one does not), the checks on ``[keys]``.
(No import circle inside ``tui/``: tests/unit/test_architecture.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.table import Table
from textual.command import CommandList, CommandPalette
from textual.widgets import Static

from tests.tui.helpers import (
    ROOT,
    FixedClock,
    hold,
    panes_ready,
    reference_plan,
    settle,
    static_app,
    wait_for,
)
from tests.tui.screen_text import screen_text
from wavedeck.agents.configread import ConfigError, load_config
from wavedeck.tui.app import WavedeckApp
from wavedeck.tui.keys import (
    ACTIONS,
    FIXED_KEYS,
    LOG_MODES,
    PALETTE,
    key_display,
    keymap_from_config,
)
from wavedeck.tui.screens.help import HelpScreen
from wavedeck.tui.screens.logs import LogScreen
from wavedeck.tui.widgets.key_bar import IN_BAR, key_bar_text


def test_the_table_is_whole() -> None:
    names = [a.name for a in ACTIONS]
    assert len(names) == len(set(names))
    keys = [k for a in ACTIONS for k in a.keys.split(",")]
    assert len(keys) == len(set(keys)), "two actions share a key"
    assert all(a.help and a.label and a.when for a in ACTIONS)
    assert keymap_from_config({}, "wavedeck.toml") == {}  # the defaults pass their own check
    # Every action of the palette does something (a table, not a name looked up at run time).
    assert set(static_app().actions.handlers) == {a.name for a in PALETTE}


@pytest.mark.slow
async def test_z_opens_the_log_view_whose_modes_the_same_keys_switch() -> None:
    app = static_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await panes_ready(app)
        await pilot.press("2", "z")
        await wait_for(lambda: isinstance(app.screen, LogScreen))
        screen = app.screen
        assert isinstance(screen, LogScreen) and screen.agent.id == "w1-a2"
        await settle(pilot, lambda: "Log — w1-a2" in screen_text(app), "the log view drawn")
        text = screen_text(app)
        assert "Log — w1-a2" in text and "live tail: the lines the pane holds" in text
        for other in ("1 w1-a1", "3 w1-a3"):
            assert other not in text  # the other panes are hidden
        assert screen.log_view is not None and screen.log_view.buffer is screen.agent.log
        await pilot.press("o")  # the raw stream: the generic preset renders nothing
        await settle(
            pilot, lambda: "the live tail is the raw stream" in screen_text(app), "raw mode drawn"
        )
        assert screen.mode == "raw" and "the live tail is the raw stream" in screen_text(app)
        await pilot.press("l")  # the whole log: a view without an engine has none on disk
        await settle(pilot, lambda: "no log on disk here" in screen_text(app), "whole mode drawn")
        assert screen.mode == "whole" and "no log on disk here" in screen_text(app)
        await pilot.press("z")
        await wait_for(lambda: screen.log_view is not None and screen.log_view.id == "logs-live")
        await pilot.press("escape")
        await settle(
            pilot,
            lambda: app.screen is app.main_screen and "4 w1-a4" in screen_text(app),
            "the panes drawn again",
        )
        assert app.screen is app.main_screen and "4 w1-a4" in screen_text(app)


@pytest.mark.slow
async def test_help_lists_every_key_of_the_table() -> None:
    app = static_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await settle(pilot, lambda: "scroll" in screen_text(app), "the help drawn")
        table = app.screen.query_one("#help-table", Static).content
        assert isinstance(table, Table)
        keys_column = [str(c) for c in table.columns[0]._cells]
        help_column = [str(c) for c in table.columns[1]._cells]
        for action in ACTIONS:
            row = help_column.index(action.help)  # every action, with its help
            assert keys_column[row] == key_display(action.keys)
        for key, desc in FIXED_KEYS:
            assert keys_column[help_column.index(desc)] == key
        text = screen_text(app)
        for action in ACTIONS:  # and on screen: every key, as displayed
            assert key_display(action.keys) in text
        assert "scroll" in text  # says it scrolls (it does on a small terminal)


@pytest.mark.slow
async def test_the_palette_offers_every_action() -> None:
    app = static_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        commands = app.screen.query_one(CommandList)

        def offered() -> list[str]:
            return [
                str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)
            ]

        await settle(  # the palette's search runs in a worker: every action, and the screenshot
            pilot,
            lambda: sum("wavedeck: " in o for o in offered()) > len(PALETTE),
            "every action offered",
        )
        for action in PALETTE:
            title = f"wavedeck: {action.name.replace('_', ' ')} ({key_display(action.keys)})"
            assert any(o.startswith(title) for o in offered()), title
        # Unavailable ones say why.
        assert any("wavedeck: start (s) — unavailable: view only" in o for o in offered())
        # Textual's built-ins, in its words, are not offered; the screenshot is, in ours.
        for builtin in ("Quit", "Keys", "Maximize", "Minimize", "Theme", "Screenshot"):
            assert not any(o.split("\n")[0] == builtin for o in offered()), builtin
        assert not any("as soon as possible" in o for o in offered())
        assert any(o.startswith("wavedeck: screenshot") for o in offered())
        # The log's actions act on the focused pane's log.
        log = app.main_screen.focused_pane.log_view  # type: ignore[union-attr]
        assert log.follow
        await pilot.press(*"wavedeck: follow")

        def highlighted() -> str:
            index = commands.highlighted
            return "" if index is None else str(commands.get_option_at_index(index).prompt)

        await settle(  # the search runs in a worker: enter must pick the follow action
            pilot, lambda: highlighted().startswith("wavedeck: follow"), "follow highlighted"
        )
        await pilot.press("enter")
        await wait_for(lambda: not log.follow)


@pytest.mark.slow
async def test_a_remapped_key_works_and_the_old_one_does_not() -> None:
    keymap = keymap_from_config(
        {"zoom": "Z", "follow": "F", "help": "f2", "palette": "ctrl+k"}, "wavedeck.toml"
    )
    app = WavedeckApp(reference_plan(), None, clock=FixedClock(), keymap=keymap)
    async with app.run_test(size=(200, 50)) as pilot:
        await panes_ready(app)
        main = app.main_screen
        await pilot.press("z")
        await hold(
            pilot,
            0.1,
            "pilot.press returns once the key is handled, and a zoom would have pushed its screen then",
        )
        assert app.screen is main  # z is nobody's key now
        await pilot.press("enter")
        await hold(
            pilot,
            0.1,
            "pilot.press returns once the key is handled, and a zoom would have pushed its screen then",
        )
        assert app.screen is main  # neither is the other default key of zoom
        await pilot.press("Z")
        await wait_for(lambda: isinstance(app.screen, LogScreen))
        log_screen = app.screen
        assert isinstance(log_screen, LogScreen)
        await pilot.press("l")
        await settle(pilot, lambda: log_screen.mode == "whole", "the whole log shown")
        await pilot.press("Z")  # in the log view too, the remapped key shows the live tail
        await settle(pilot, lambda: log_screen.mode == "live", "the live tail shown")
        assert app.screen.mode == "live"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is main, "the log view closed")
        assert app.screen is main
        log = main.focused_pane.log_view  # type: ignore[union-attr]
        assert log.follow
        await pilot.press("f")
        assert log.follow
        await pilot.press("F")
        assert not log.follow
        assert "⏸ paused (F: follow)" in str(main.focused_pane.border_subtitle)  # type: ignore[union-attr]
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f2")
        assert isinstance(app.screen, HelpScreen)
        await settle(pilot, lambda: "In the log view:" in screen_text(app), "the help drawn")
        help_text = screen_text(app)
        assert "Z " in help_text and "f2" in help_text  # help shows the keys in use
        table = app.screen.query_one("#help-table", Static).content
        assert isinstance(table, Table)  # and the log modes say it too
        rows = dict(zip((str(c) for c in table.columns[1]._cells),
                        (str(c) for c in table.columns[0]._cells), strict=True))  # fmt: skip
        assert rows[f"live tail: {LOG_MODES['live'][1]}"] == "Z"
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is main, "the help closed")
        bar = str(main.query_one("#key-bar").render())
        assert "f2 Help" in bar and "Z Zoom" in bar and "^k Commands" in bar
        await pilot.press("ctrl+p")
        assert not isinstance(app.screen, CommandPalette)
        await pilot.press("ctrl+k")
        assert isinstance(app.screen, CommandPalette)


def test_readme_key_table_is_the_table() -> None:
    """The README's key table has one row per action, with its default keys as typed in
    ``[keys]`` and its help: change the table, change the README."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = {"question_mark": "?", "slash": "/", "left_square_bracket": "[",
             "right_square_bracket": "]"}  # fmt: skip
    for action in ACTIONS:
        keys = " ".join(f"`{named.get(k, k)}`" for k in action.keys.split(","))
        assert f"| {keys} | `{action.name}` | {action.help} |" in readme, action.name
    for key, desc in FIXED_KEYS:
        assert f"| `{key}` | | {desc} |" in readme


def test_key_bar_fits_small_terminals() -> None:
    keys = {a.name: a.keys for a in ACTIONS}
    possible = {a.name: True for a in ACTIONS}
    wide = key_bar_text(keys, possible, 200).plain
    assert all(f" {a.label} " in wide for a in IN_BAR)
    for width in (80, 100):
        bar = key_bar_text(keys, possible, width).plain
        assert len(bar) <= width
        assert "? Help" in bar and "q Quit" in bar and "^p Commands" in bar
    assert len(key_bar_text(keys, possible, 100).plain) > len(
        key_bar_text(keys, possible, 80).plain
    )
    # Narrow, what is possible now stays before what is not.
    possible["start"] = False
    assert " s Start" not in key_bar_text(keys, possible, 80).plain
    assert " s Start" in key_bar_text(keys, possible, 200).plain


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        ({"strat": "S"}, "keys.strat: no such action (did you mean 'start'?)"),
        ({"start": "ctrl+nope"}, "keys.start: 'ctrl+nope' is not a key"),
        ({"start": "x"}, "keys.start: 'x' is already the key of 'stop'"),
        ({"start": "1"}, "keys.start: '1' is reserved"),
        ({"start": "S,"}, "keys.start: no key given"),
    ],
)
def test_bad_keys_are_refused_naming_the_setting(keys: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError) as refused:
        keymap_from_config(keys, "/repo/wavedeck.toml")
    assert str(refused.value).startswith("/repo/wavedeck.toml: ")
    assert says in str(refused.value)


def test_a_swap_is_allowed() -> None:
    assert keymap_from_config({"start": "x", "stop": "s"}, "w.toml") == {"start": "x", "stop": "s"}
    assert keymap_from_config({"search": "?", "help": "f1"}, "w.toml")["search"] == "question_mark"


def test_the_control_room_refuses_a_bad_keys_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wavedeck.tui.cli.main import main

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    # The control room needs a first commit (it refuses an empty repository before anything).
    subprocess.run(
        ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
         "commit", "-q", "--allow-empty", "-m", "start"],
        check=True,
    )  # fmt: skip
    (tmp_path / "plan.md").write_text("# plan\n")
    (tmp_path / "wavedeck.toml").write_text('plan = "plan.md"\n\n[keys]\nstrat = "S"\n')
    assert load_config(tmp_path).keys == {"strat": "S"}  # the engine does not care
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [])
    assert result.exit_code != 0
    assert "keys.strat: no such action (did you mean 'start'?)" in result.output
    assert "Traceback" not in result.output
