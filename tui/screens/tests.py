"""The test run: streamed output, then pass or fail and how long it took."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from wavedeck.tui import messages as msg
from wavedeck.tui.room import room
from wavedeck.tui.runview import WaveView
from wavedeck.tui.widgets.log_view import LogView


def tests_status(wave: WaveView, now: float) -> Text:
    if wave.tests_running:
        started = wave.tests_started_at or now
        return Text(f"◌ running… {now - started:.0f}s", "bold yellow")
    if wave.tests_passed is None:
        return Text("tests have not run for this wave yet", "dim")
    duration = f"{wave.tests_duration_s or 0:.1f}s"
    if wave.tests_passed:
        return Text(f"✔ passed in {duration}", "bold green")
    return Text(f"✘ FAILED after {duration}", "bold red")


class TestsScreen(Screen[None]):
    __test__ = False  # not a pytest class

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="tests.back"),
        Binding("f", "follow", "Follow", id="tests.follow"),
    ]

    def __init__(self, wave: WaveView) -> None:
        super().__init__(id="tests")
        self.wave = wave

    def compose(self) -> ComposeResult:
        yield Static(Text(f" Tests — wave {self.wave.number}"), classes="screen-title")
        yield Static(id="tests-status", classes="screen-status")
        yield LogView(self.wave.tests, id="tests-log", classes="screen-log")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_status()
        self.set_interval(0.25, self.refresh_status, name="tests-tick")
        self.query_one(LogView).focus()

    def refresh_status(self) -> None:
        now = room(self.app).clock()
        status = self.query_one("#tests-status", Static)
        status.update(tests_status(self.wave, now))
        status.set_class(self.wave.tests_passed is True, "-passed")
        status.set_class(self.wave.tests_passed is False, "-failed")

    def on_run_changed(self, _message: msg.RunChanged) -> None:
        self.refresh_status()

    def action_follow(self) -> None:
        self.query_one(LogView).follow = True
