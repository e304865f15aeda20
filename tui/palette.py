"""The command palette: every operator action, with its key, and why it is unavailable when it
is (``Actions.why_not``). Choosing one posts ``ActionChosen``, the same message a key posts."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from wavedeck.tui import messages as msg
from wavedeck.tui.commands import ControlApp
from wavedeck.tui.keys import PALETTE, key_display


class WavedeckCommands(Provider):
    """The command palette: every action, with its key and why it is unavailable when it is."""

    def _entries(self) -> list[tuple[str, str, str]]:
        # Provider.app is any App; the palette's provider is only ever WavedeckApp's.
        app = cast(ControlApp, self.app)
        if self.screen is not app.main_screen:  # the screen the palette was opened on
            return []
        keys = app.keys_now()
        out = []
        for action in PALETTE:
            why = app.why_not(action.name)
            title = f"wavedeck: {action.name.replace('_', ' ')} ({key_display(keys[action.name])})"
            out.append((action.name, f"{title} — unavailable: {why}" if why else title,
                        action.help))  # fmt: skip
        return out

    async def discover(self) -> Hits:
        for name, title, help_ in self._entries():
            yield DiscoveryHit(title, self._runner(name), help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, title, help_ in self._entries():
            score = matcher.match(f"{title} {help_}")
            if score > 0:
                yield Hit(score, matcher.highlight(title), self._runner(name), help=help_)

    def _runner(self, name: str) -> Callable[[], None]:
        app = self.app

        def run() -> None:
            app.post_message(msg.ActionChosen(name))

        return run
