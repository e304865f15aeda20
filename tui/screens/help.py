"""Help: every key of the action table (as remapped by ``[keys]``), what it does, and whether it
is possible right now (and why not). It scrolls, and says so, on a small terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from wavedeck.tui.keys import ACTIONS, BY_NAME, FIXED_KEYS, LOG_MODES, Action, key_display


def help_table(
    keys: Mapping[str, str],
    availability: Mapping[str, str | None],
    actions: Sequence[Action] = ACTIONS,
    fixed: Sequence[tuple[str, str]] = FIXED_KEYS,
) -> Table:
    """One row per action of ``actions`` (the main screen's table, or the review screen's),
    then the ``fixed`` keys. ``availability``: action name -> ``None`` (possible now) or why
    not; actions it does not name show no state."""
    table = Table(expand=True, box=None, show_edge=False, pad_edge=False)
    table.add_column("key", style="bold", no_wrap=True, min_width=8)
    table.add_column("action", ratio=3)
    table.add_column("now", ratio=2, style="italic")
    for action in actions:
        if action.name in availability:
            why = availability[action.name]
            now = Text("✔", "green") if why is None else Text(why, "dim")
        elif action.when == "always":
            now = Text("✔", "green")
        else:
            now = Text(f"when {action.when}", "dim")
        table.add_row(key_display(keys.get(action.name, action.keys)), action.help, now)
    for key, desc in fixed:
        table.add_row(key, desc, Text(""))
    if actions is not ACTIONS:
        return table  # another screen's keys (the review's): the log view is not there
    # The log view (z, l): what each of its modes shows, and the key that shows it there.
    table.add_row("", Text("In the log view:", "bold"), Text(""))
    for mode, opener in (("live", "zoom"), ("whole", "log"), ("raw", "raw")):
        name, shows = LOG_MODES[mode]
        key = key_display(keys.get(opener, BY_NAME[opener].keys).split(",")[0])
        table.add_row(key, f"{name}: {shows}", Text(""))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "app.pop_screen", "Close", id="help.close")
    ]

    def __init__(
        self,
        keys: Mapping[str, str] | None = None,
        availability: Mapping[str, str | None] | None = None,
        *,
        actions: Sequence[Action] = ACTIONS,
        fixed: Sequence[tuple[str, str]] = FIXED_KEYS,
        title: str = "wavedeck — keys",
    ) -> None:
        super().__init__(id="help", classes="dialog-screen")
        self.keys = dict(keys or {a.name: a.keys for a in actions})
        self.availability = dict(availability or {})
        self.actions, self.fixed, self.title_text = tuple(actions), tuple(fixed), title

    def compose(self) -> ComposeResult:
        box = VerticalScroll(classes="dialog", id="help-box")
        box.border_title = Text(self.title_text)
        box.border_subtitle = Text("↑ ↓ pgup pgdn: scroll · esc: close")
        with box:
            table = help_table(self.keys, self.availability, self.actions, self.fixed)
            yield Static(table, id="help-table")

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()
