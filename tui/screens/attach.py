"""Attach to one agent: its live log full screen (read-only: agents run with stdin closed)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from wavedeck.plan.safetext import neutralize
from wavedeck.tui.adapter import AgentView
from wavedeck.tui.widgets.log_view import LogView

NO_INPUT = (
    "Read-only: agents run detached with their prompt from a file and stdin closed, so that "
    "quitting wavedeck never stops them; this runner cannot pass input to the agent."
)


class AttachScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Detach", id="attach.detach")
    ]

    def __init__(self, agent: AgentView) -> None:
        super().__init__(id="attach")
        self.agent = agent

    def compose(self) -> ComposeResult:
        title = f" Attached — {self.agent.id} · {neutralize(self.agent.agent.title)}"
        yield Static(Text(title, no_wrap=True), classes="screen-title")
        yield LogView(self.agent.log, id="attach-log", classes="screen-log")
        yield Static(Text(NO_INPUT), id="attach-note")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(LogView).focus()
