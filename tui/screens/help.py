"""Help: every key of the action table (as remapped by ``[keys]``), what it does, and whether it
is possible right now (and why not); then what the log view shows in each of its modes. It
scrolls, and says so, on a small terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from wavedeck.tui.keys import ACTIONS, BY_NAME, FIXED_KEYS, first_key, key_display


def log_modes(keys: Mapping[str, str]) -> Text:
    """What the one log view shows in each mode, with the keys that switch them now."""

    def key(name: str) -> str:
        return first_key(keys.get(name, BY_NAME[name].keys))

    text = Text()
    text.append("A pane's log, one view in three modes\n", "bold")
    modes = (
        ("live", f"{key('zoom')} zooms it", "the last 10,000 lines as they come, rendered"),
        ("raw", key("raw"), "the agent CLI's own output, before rendering"),
        (
            "whole",
            key("log"),
            "the log file from its first line, as written (raw for a CLI preset), zoomed",
        ),
    )
    for mode, keys_, what in modes:
        text.append(f"  {mode:<6}", "bold")
        text.append(f"{what} ({keys_})\n")
    text.append(
        "Agents run with stdin closed, so a log takes no input: "
        f"{key('reply')} sends a reply to an agent that has ended.",
        "dim",
    )
    return text


def help_table(keys: Mapping[str, str], availability: Mapping[str, str | None]) -> Table:
    """One row per action of the table, then the fixed keys. ``availability``: action name ->
    ``None`` (possible now) or why not; actions it does not name show no state."""
    table = Table(expand=True, box=None, show_edge=False, pad_edge=False)
    table.add_column("key", style="bold", no_wrap=True, min_width=8)
    table.add_column("action", ratio=3)
    table.add_column("now", ratio=2, style="italic")
    for action in ACTIONS:
        if action.name in availability:
            why = availability[action.name]
            now = Text("✔", "green") if why is None else Text(why, "dim")
        elif action.when == "always":
            now = Text("✔", "green")
        else:
            now = Text(f"when {action.when}", "dim")
        table.add_row(key_display(keys.get(action.name, action.keys)), action.help, now)
    for key, desc in FIXED_KEYS:
        table.add_row(key, desc, Text(""))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "app.pop_screen", "Close", id="help.close")
    ]

    def __init__(
        self,
        keys: Mapping[str, str] | None = None,
        availability: Mapping[str, str | None] | None = None,
    ) -> None:
        super().__init__(id="help", classes="dialog-screen")
        self.keys = dict(keys or {a.name: a.keys for a in ACTIONS})
        self.availability = dict(availability or {})

    def compose(self) -> ComposeResult:
        box = VerticalScroll(classes="dialog", id="help-box")
        box.border_title = Text("wavedeck — keys")
        box.border_subtitle = Text("↑ ↓ pgup pgdn: scroll · esc: close")
        with box:
            yield Static(help_table(self.keys, self.availability), id="help-table")
            yield Static(log_modes(self.keys), id="help-modes")

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()
