"""Small modal dialogs: confirm (yes/no), ask for a reason or a search term, and quit.

Every choice has a letter key (``y``/``n``, ``l``/``s``), ``←``/``→`` move between the buttons,
the button ``enter`` presses is named under the question, and backing out says what did not
happen (a dialog that closes silently leaves the operator guessing).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

MOVE: list[BindingType] = [
    Binding("left,up", "app.focus_previous", "Previous button", show=False),
    Binding("right,down", "app.focus_next", "Next button", show=False),
]


def _hint(text: str) -> Label:
    return Label(Text(text, "dim italic"), classes="dialog-hint")


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses ``True`` only on an explicit yes. ``No`` is the default
    (focused); ``cancelled`` is the notice shown when the answer is no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
        Binding("y", "confirm", "Yes", id="confirm.yes"),
        Binding("n", "cancel", "No", id="confirm.no"),
        *MOVE,
    ]

    def __init__(
        self, question: str, *, yes: str = "Yes", no: str = "No", cancelled: str = "cancelled"
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.question, self.yes, self.no, self.cancelled = question, yes, no, cancelled

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-question", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button(f"{self.no} (n)", variant="primary", id="no")
            yield _hint(
                f"y: {self.yes} · n / esc: {self.no} · enter: the highlighted button "
                f"({self.no} until ←/→ move)"
            )

    # Textual focuses AUTO_FOCUS when the screen is shown, which may come after on_mount: naming
    # the default here (not focusing it in on_mount) keeps a fast "enter" from meaning yes.
    AUTO_FOCUS = "#no"

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "yes":
            self.action_confirm()
        else:
            self.action_cancel()

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.notify(self.cancelled, markup=False)
        self.dismiss(False)


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text (a reason, a search term); ``None`` when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel")
    ]

    def __init__(
        self,
        question: str,
        *,
        placeholder: str = "",
        required: bool = True,
        cancelled: str = "cancelled",
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.question, self.placeholder, self.required = question, placeholder, required
        self.cancelled = cancelled

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-question", markup=False)
            yield Input(placeholder=self.placeholder, id="answer")
            yield _hint("enter: done · esc: cancel")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if self.required and not value:
            self.notify("an answer is needed (escape cancels)", severity="warning", markup=False)
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.notify(self.cancelled, markup=False)
        self.dismiss(None)


class QuitScreen(ModalScreen[str | None]):
    """Leave the agents running (the default), stop them all, or stay."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "stay", "Stay", id="quit.cancel"),
        Binding("l", "choose('leave')", "Leave running", id="quit.leave"),
        Binding("s", "choose('stop')", "Stop all", id="quit.stop"),
        *MOVE,
    ]

    def __init__(self, running: int) -> None:
        super().__init__(classes="dialog-screen")
        self.running = running

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                f"Quit the control room? {self.running} agent(s) still running.\n"
                "Agents keep running when you leave; open wavedeck again to re-attach.",
                classes="dialog-question",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Leave running (l)", variant="primary", id="leave")
                yield Button("Stop all (s)", variant="error", id="stop")
                yield Button("Stay (n)", id="stay")
            yield _hint(
                "l: Leave running · s: Stop all · n / esc: Stay · enter: the highlighted button "
                "(Leave running until ←/→ move)"
            )

    AUTO_FOCUS = "#leave"  # the default, focused whenever the screen is shown (see above)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "stay":
            self.action_stay()
        else:
            self.action_choose(str(event.button.id))

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    def action_stay(self) -> None:
        self.notify("not quitting: the control room stays open", markup=False)
        self.dismiss(None)
