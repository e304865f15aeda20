"""One agent's log, full screen, in one of three modes (``LogMode``):

- **live tail**: the lines its pane holds (the last 10,000, rendered as the pane shows them),
  following the tail as they arrive;
- **whole log**: every line of its log on disk, read by byte offset (a 1 GB log opens at once);
- **raw stream**: what its agent CLI printed before wavedeck rendered it (agent presets).

The keys that open it from the main screen switch between the modes here too (``z`` live tail,
``l`` whole log, ``o`` raw stream, as remapped by ``[keys]``: the bindings carry the actions'
ids); the keys of a log (follow, tail, next and previous match) and ``/`` (search) work in the
live and raw modes; ``w`` wraps long lines (here and in every pane, as on the main screen).
``note`` is a line shown under the log (why ``a`` opened this view instead of taking over the
agent's session).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Static

from wavedeck.plan.safetext import neutralize
from wavedeck.tui import messages as msg
from wavedeck.tui.keys import BY_NAME, LOG_MODES, first_key
from wavedeck.tui.room import room
from wavedeck.tui.runview import AgentView
from wavedeck.tui.screens.dialogs import PromptScreen
from wavedeck.tui.widgets.agent_pane import head_text
from wavedeck.tui.widgets.history import HistoryView
from wavedeck.tui.widgets.log_view import LogView

LogMode = Literal["live", "whole", "raw"]
MODES: tuple[LogMode, ...] = ("live", "whole", "raw")
# The action whose keys select each mode here (and open the view in it from the main screen).
MODE_ACTION: dict[LogMode, str] = {"live": "zoom", "whole": "log", "raw": "raw"}
# Why a mode shows nothing of its own: no log on disk to read, or nothing rendered.
NO_FILE = (
    "no log on disk here (a view without an engine, or an agent on an SSH host: its log is there)"
)
NO_RAW = "the generic preset shows its output as it came: the live tail is the raw stream"


class LogScreen(Screen[None]):
    """The focused agent's log in ``mode`` (see the module docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="logs.back"),
        Binding(BY_NAME["zoom"].keys, "mode('live')", "Live tail", id="zoom"),
        Binding(BY_NAME["log"].keys, "mode('whole')", "Whole log", id="log"),
        Binding(BY_NAME["raw"].keys, "mode('raw')", "Raw stream", id="raw"),
        Binding(BY_NAME["search"].keys, "search", "Search", id="search"),
        Binding(BY_NAME["wrap"].keys, "wrap", "Wrap", id="wrap"),
        Binding("g", "top", "Top", id="logs.top", show=False),
        Binding("G", "bottom", "Bottom", id="logs.bottom", show=False),
    ]

    def __init__(
        self,
        agent: AgentView,
        mode: LogMode = "live",
        *,
        path: Path | None = None,
        keys: dict[str, str] | None = None,
        rendered: bool = True,
        note: str | None = None,
        now: float = 0.0,
        wrap: bool = False,
    ) -> None:
        """``path``: the agent's log on disk (None: none here); ``keys``: the keys in use;
        ``rendered``: a preset renders its output (else the raw stream is the live tail);
        ``wrap``: long lines wrap (``w``), as in the panes."""
        super().__init__(id="logs")
        self.agent = agent
        self.mode: LogMode = mode
        self.path = path
        self.keys = keys or {a: BY_NAME[a].keys for a in MODE_ACTION.values()}
        self.rendered = rendered
        self.note = note
        self.now = now
        self.wrap = wrap

    def compose(self) -> ComposeResult:
        yield Static(id="logs-title", classes="screen-title")
        yield Static(head_text(self.agent, self.now), id="logs-status", classes="screen-status")
        with ContentSwitcher(initial=f"logs-{self.mode}", id="logs-body"):
            yield LogView(self.agent.log, id="logs-live", classes="screen-log")
            yield LogView(self.agent.raw, id="logs-raw", classes="screen-log")
            yield Static(Text(NO_FILE), id="logs-nofile", classes="screen-log")
        yield Static(id="logs-mode", classes="logs-note")
        if self.note:
            yield Static(Text(self.note), id="logs-why", classes="logs-note")

    def on_mount(self) -> None:
        for log in self.query(LogView):
            log.set_wrap(self.wrap)
        self.action_mode(self.mode)

    def action_wrap(self) -> None:
        """``w``: the app's wrap action (every pane, and this view: ``LogActions.do_wrap``)."""
        self.post_message(msg.ActionChosen("wrap"))

    # -- modes ---------------------------------------------------------------------------------

    def _widget_for(self, mode: LogMode) -> str:
        """The id of the widget that shows ``mode`` (made on first use for the whole log)."""
        if mode == "raw" and not self.rendered:
            return "logs-live"
        if mode != "whole":
            return f"logs-{mode}"
        if self.path is None:
            return "logs-nofile"
        switcher = self.query_one("#logs-body", ContentSwitcher)
        if not switcher.query("#logs-whole"):
            switcher.mount(HistoryView(self.path, id="logs-whole"))
        return "logs-whole"

    def action_mode(self, mode: str) -> None:
        """Show ``mode`` (``live``, ``whole`` or ``raw``)."""
        chosen: LogMode = mode if mode in MODES else "live"
        self.mode = chosen
        switcher = self.query_one("#logs-body", ContentSwitcher)
        wanted = self._widget_for(chosen)
        self.call_after_refresh(self._show, switcher, wanted)
        self._describe()

    def _show(self, switcher: ContentSwitcher, wanted: str) -> None:
        switcher.current = wanted
        shown = switcher.visible_content
        if shown is not None and shown.can_focus:
            shown.focus()

    def _describe(self) -> None:
        """The title (the modes, with their keys, the current one marked) and the mode's line."""
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(f" Log — {self.agent.id} ")
        for mode in MODES:  # first: a long agent title must not push the keys off screen
            label = f"{first_key(self.keys[MODE_ACTION[mode]])} {LOG_MODES[mode][0]}"
            title.append(f" {label} ", "reverse" if mode == self.mode else "dim")
        title.append("  esc back", "dim")
        title.append(f" · {neutralize(self.agent.agent.title)}")
        self.query_one("#logs-title", Static).update(title)
        line = f"{LOG_MODES[self.mode][0]}: {LOG_MODES[self.mode][1]}"
        if self.mode == "raw" and not self.rendered:
            line += f" ({NO_RAW})"
        elif self.mode == "whole" and self.path is not None:
            line += f" ({neutralize(str(self.path))})"
        self.query_one("#logs-mode", Static).update(Text(line, "dim"))

    def on_run_changed(self, _message: msg.RunChanged) -> None:
        """The run changed: redraw the agent's status line."""
        self.now = room(self.app).clock()
        self.query_one("#logs-status", Static).update(head_text(self.agent, self.now))

    @property
    def log_view(self) -> LogView | None:
        """The log shown now, when it is a live buffer (live tail, raw stream)."""
        shown = self.query_one("#logs-body", ContentSwitcher).visible_content
        return shown if isinstance(shown, LogView) else None

    # -- moving --------------------------------------------------------------------------------

    def action_search(self) -> None:
        log = self.log_view
        if log is None:
            self.notify("search works in the live tail and the raw stream", markup=False)
            return

        def search(term: str | None) -> None:
            if term and log.search(term) is None:
                self.notify(f"no match for {term!r}", severity="warning", markup=False)

        self.app.push_screen(
            PromptScreen("Search the log for:", placeholder="text", cancelled="no search"), search
        )

    def action_top(self) -> None:
        shown = self.query_one("#logs-body", ContentSwitcher).visible_content
        if shown is not None:
            shown.scroll_home(animate=False)

    def action_bottom(self) -> None:
        shown = self.query_one("#logs-body", ContentSwitcher).visible_content
        if isinstance(shown, LogView):
            shown.action_log_tail()
        elif shown is not None:
            shown.scroll_end(animate=False)
