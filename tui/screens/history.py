"""An agent's whole log, read from disk by byte offset (opens a 1 GB log at once)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from wavedeck.plan.safetext import neutralize
from wavedeck.tui.widgets.history import HistoryView


class HistoryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="history.back"),
        Binding("home,g", "top", "Top", id="history.top"),
        Binding("end,G", "bottom", "Bottom", id="history.bottom"),
    ]

    def __init__(self, agent_id: str, path: Path) -> None:
        super().__init__(id="history")
        self.agent_id, self.path = agent_id, path

    def compose(self) -> ComposeResult:
        title = f" Full log — {self.agent_id} — {neutralize(str(self.path))}"
        yield Static(Text(title), classes="screen-title")
        yield HistoryView(self.path, id="history-view")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(HistoryView).focus()

    def action_top(self) -> None:
        self.query_one(HistoryView).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one(HistoryView).scroll_end(animate=False)
