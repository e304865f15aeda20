"""What screens may read of the control room (``WavedeckApp`` provides it).

Screens read state through :func:`room` and never import the app or the actions: what the
operator chose goes back as a message (``wavedeck.tui.messages``), and the app tells a screen that the run
changed with ``RunChanged``. So no module of ``tui`` imports one that imports it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, cast

from textual.app import App

from wavedeck.tui.engine import Engine
from wavedeck.tui.runview import Clock, RunView


class Room(Protocol):
    view: RunView
    engine: Engine | None
    clock: Clock
    sandbox: Path | None  # the demo's sandbox repository, shown in the header

    def why_not(self, action: str) -> str | None: ...
    def accepted(self, wave: int) -> dict[str, str]: ...
    def keys_now(self) -> dict[str, str]: ...


def room(app: App[object]) -> Room:
    """The control room a screen belongs to."""
    return cast(Room, app)
