"""Attach to one agent: its live log full screen, and input when its runner takes stdin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from plan.safetext import neutralize
from tui.adapter import AgentView
from tui.calls import settle
from tui.widgets.log_view import LogView

NO_INPUT = (
    "Read-only: agents run detached with their prompt from a file and stdin closed, so that "
    "quitting wavedeck never stops them; this runner cannot pass input to the agent."
)


class AttachScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Detach", id="attach.detach")
    ]

    def __init__(self, agent: AgentView, send: Callable[[str, str], Any] | None) -> None:
        super().__init__(id="attach")
        self.agent, self.send = agent, send

    def compose(self) -> ComposeResult:
        title = f" Attached — {self.agent.id} · {neutralize(self.agent.agent.title)}"
        yield Static(Text(title, no_wrap=True), classes="screen-title")
        yield LogView(self.agent.log, id="attach-log", classes="screen-log")
        if self.send is None:
            yield Static(Text(NO_INPUT), id="attach-note")
        else:
            yield Input(placeholder="a line for the agent's stdin (enter sends)", id="attach-input")
        yield Footer()

    def on_mount(self) -> None:
        if self.send is not None:
            self.query_one(Input).focus()
        else:
            self.query_one(LogView).focus()

    @on(Input.Submitted)
    async def _send(self, event: Input.Submitted) -> None:
        assert self.send is not None
        try:
            await settle(self.send(self.agent.id, event.value + "\n"))
        except Exception as exc:
            self.notify(f"input not sent: {exc}", severity="error", markup=False)
            return
        event.input.value = ""
