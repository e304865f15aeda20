"""What the actions on the focused agent's log do: open it full screen (whole, or the live
tail), show it raw or rendered, wrap its lines, search it, follow its tail.

:class:`LogActions` performs them for :class:`wavedeck.tui.commands.Actions`, which decides
whether each is possible now (they need a focused pane) and dispatches keys and palette entries
alike; :class:`LogRoom` is what they use of the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from wavedeck.tui.calls import Notifier
from wavedeck.tui.keys import key_display
from wavedeck.tui.room import Room
from wavedeck.tui.screens.dialogs import PromptScreen

if TYPE_CHECKING:
    from textual.screen import Screen

    from wavedeck.tui.screens.logs import LogMode
    from wavedeck.tui.screens.main import MainScreen
    from wavedeck.tui.widgets.agent_pane import AgentPane
    from wavedeck.tui.widgets.log_view import LogView


class LogRoom(Room, Notifier, Protocol):
    """What the log actions use of the app (``WavedeckApp``)."""

    @property
    def main_screen(self) -> MainScreen: ...
    @property
    def screen_stack(self) -> list[Screen[Any]]: ...
    def push_screen(self, screen: Screen[Any], callback: Any = None) -> Any: ...


class LogActions:
    """The log actions, bound to one app."""

    def __init__(self, app: LogRoom) -> None:
        self.app = app

    @property
    def main(self) -> MainScreen:
        return self.app.main_screen

    def _pane(self) -> AgentPane | None:
        return self.main.focused_pane

    async def do_log(self) -> None:
        self.open_log("whole")

    def open_log(self, mode: LogMode, note: str | None = None) -> None:
        """The focused agent's log full screen in ``mode`` (``note``: a line said under it)."""
        from wavedeck.tui.screens.logs import LogScreen

        pane = self._pane()
        assert pane is not None
        engine, view = self.app.engine, self.app.view
        self.app.push_screen(
            LogScreen(
                view.agents[pane.agent_id],
                mode,
                path=engine.log_path(pane.agent_id) if engine is not None else None,
                keys=self.app.keys_now(),
                rendered=view.preset != "generic",
                note=note,
                now=self.app.clock(),
                wrap=self.main.wrap_logs,
            )
        )

    async def do_raw(self) -> None:
        pane = self._pane()
        assert pane is not None
        raw = pane.toggle_raw()
        self.app.notify(f"{pane.agent_id}: {'raw output' if raw else 'rendered'}", markup=False)

    async def do_wrap(self) -> None:
        """Wrap long log lines, or cut them again: every pane's, and the log view's when open."""
        from wavedeck.tui.widgets.log_view import LogView

        main = self.main
        main.wrap_logs = not main.wrap_logs
        for screen in self.app.screen_stack:
            for log in screen.query(LogView):
                log.set_wrap(main.wrap_logs)
        said = "log lines wrap" if main.wrap_logs else "log lines are cut at the pane's edge"
        self.app.notify(said, markup=False)

    async def do_zoom(self) -> None:
        self.open_log("live")

    async def do_search(self) -> None:
        pane = self._pane()
        assert pane is not None
        log = pane.log_view

        def search(term: str | None) -> None:
            if term is None:
                return
            found = log.search(term)
            if found is None:
                self.app.notify(f"no match for {term!r}", severity="warning", markup=False)
            else:
                keys = self.app.keys_now()
                step = (
                    f"{key_display(keys['search_next'])} / {key_display(keys['search_previous'])}"
                )
                k, n = found
                self.app.notify(
                    f"{term!r}: match {k} of {n} ({step}: next / previous)", markup=False
                )

        prompt = PromptScreen("Search the log for:", placeholder="text", cancelled="no search")
        self.app.push_screen(prompt, search)

    async def do_follow(self) -> None:
        self._log().action_log_follow()

    async def do_tail(self) -> None:
        self._log().action_log_tail()

    async def do_search_next(self) -> None:
        self._log().action_search_next()

    async def do_search_previous(self) -> None:
        self._log().action_search_previous()

    def _log(self) -> LogView:
        pane = self._pane()
        assert pane is not None  # why_not refuses log actions without a focused pane
        return pane.log_view
