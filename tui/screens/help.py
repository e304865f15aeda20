"""Help: every key, what it does, and whether it is possible right now (and why not)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.commands import ACTIONS

if TYPE_CHECKING:
    from tui.app import WavedeckApp

OTHER_KEYS = (
    ("1 – 9", "Focus pane N"),
    ("f / end", "In a log: follow on/off / jump to the tail and follow"),
    ("n / N", "In a log: next / previous search match"),
    ("ctrl+p", "Command palette: every action"),
    ("escape", "Close a screen, restore a zoomed pane"),
)


def help_table(app: WavedeckApp | None) -> Table:
    table = Table(expand=True, box=None, show_edge=False, pad_edge=False)
    table.add_column("key", style="bold", no_wrap=True, width=10)
    table.add_column("action", ratio=3)
    table.add_column("now", ratio=2, style="italic")
    for name, (key, desc) in ACTIONS.items():
        why = app.actions.why_not(name) if app is not None else None
        now = Text("✔", "green") if why is None else Text(why, "dim")
        table.add_row(key, desc, now)
    for key, desc in OTHER_KEYS:
        table.add_row(key, desc, Text(""))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "app.pop_screen", "Close", id="help.close")
    ]

    def __init__(self) -> None:
        super().__init__(id="help", classes="dialog-screen")

    def compose(self) -> ComposeResult:
        app = cast("WavedeckApp", self.app) if hasattr(self.app, "actions") else None
        with VerticalScroll(classes="dialog", id="help-box"):
            yield Static(Text("wavedeck — keys", "bold"), classes="dialog-question")
            yield Static(help_table(app), id="help-table")
