"""The question ``a`` asks when the agent's headless run is going: its session cannot have two
writers, so the run is stopped first (its progress kept: issues done, files, session), or the
take-over waits for the run to end, or nothing happens."""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from wavedeck.tui.screens.dialogs import MOVE

WhileRunning = Literal["stop", "wait"]


class RunningScreen(ModalScreen[WhileRunning | None]):
    """Stop the run and take over (``s``), take over once it ends (``w``), or cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "cancel", "Cancel", id="takeover.cancel"),
        Binding("s", "choose('stop')", "Stop it first", id="takeover.stop"),
        Binding("w", "choose('wait')", "Wait", id="takeover.wait"),
        *MOVE,
    ]

    def __init__(self, agent_id: str) -> None:
        super().__init__(classes="dialog-screen")
        self.agent_id = agent_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                f"{self.agent_id}'s headless run is going: its CLI session cannot have two "
                "writers.\nStop the run first (its progress is kept: issues done, files, "
                "session), or take over once it ends?",
                classes="dialog-question",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Wait for it (w)", variant="primary", id="wait")
                yield Button("Stop it first (s)", variant="error", id="stop")
                yield Button("Cancel (n)", id="cancel")
            yield Label(
                Text(
                    "w: take over when the run ends · s: stop it, then take over · n / esc: "
                    "cancel · enter: the highlighted button (Wait until ←/→ move)",
                    "dim italic",
                ),
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.query_one("#wait", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.action_cancel()
        else:
            self.action_choose(str(event.button.id))

    def action_choose(self, choice: str) -> None:
        self.dismiss("stop" if choice == "stop" else "wait")

    def action_cancel(self) -> None:
        self.notify(f"not taken over: {self.agent_id} runs on", markup=False)
        self.dismiss(None)
