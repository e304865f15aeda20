"""The review screen: a wave's changes read like a good diff tool, and sent back to their agents.

One scrolling document (``wavedeck.tui.widgets.diff_view``): each agent with its issues and
outcome lines, its files (renames, modes, binary files and deletions stated plainly; paths cut in
the middle), each hunk with the issue the agent was working on when it wrote it, the lines
syntax-coloured with word changes marked, unified on a narrow terminal and side by side from
``SPLIT_WIDTH`` columns (``s`` switches), and the comments under the lines they are about.

The keys are the review table of ``wavedeck.tui.keys`` (``REVIEW_ACTIONS``): jump between hunks,
files and agents; comment; approve an agent or request changes (its open comments as one
follow-up resuming its session: its pane shows it running again); revert a hunk or a file to
the wave's start and undo the last hunk revert; forward or dismiss a reviewer agent's finding;
more context; ``$EDITOR``. Every action is the engine's (``EngineCommands``); without an engine
(snapshots) the screen only reads what it was given.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from wavedeck.agents.review.changes import WaveChanges
from wavedeck.agents.reviewrecord import ReviewRecord
from wavedeck.plan.words import plural
from wavedeck.tui import messages as msg
from wavedeck.tui.calls import guarded
from wavedeck.tui.keys import REVIEW_ACTIONS, bindings
from wavedeck.tui.room import room
from wavedeck.tui.screens.help import HelpScreen
from wavedeck.tui.screens.review_acts import ReviewActs
from wavedeck.tui.screens.review_target import where_text
from wavedeck.tui.widgets.diff_paint import Painter
from wavedeck.tui.widgets.diff_rows import Layout, Mode, Row, build_rows, digits
from wavedeck.tui.widgets.diff_view import FRAME_BUDGET_MS, DiffView

if TYPE_CHECKING:
    from wavedeck.tui.engine import Engine

SPLIT_WIDTH = 160  # columns from which the review is side by side
MORE_CONTEXT = 10
HELP_FIXED = (
    ("↑ ↓ pgup pgdn home end", "In the review: move the cursor (a click too)"),
    ("← →", "In the review: shift the code sideways"),
    ("escape", "Back to the control room"),
)


class ReviewScreen(ReviewActs):
    """The review of wave ``wave`` (see the module docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="review.back"),
        *bindings("review", action="{name}", show=True),
    ]

    def __init__(
        self,
        wave: int,
        engine: Engine | None = None,
        *,
        changes: WaveChanges | None = None,
        record: ReviewRecord | None = None,
        run: Callable[[list[str]], int] = subprocess.call,
    ) -> None:
        super().__init__(id="diff")
        self.wave, self.engine = wave, engine
        self.changes = changes or WaveChanges(wave, "", "")
        self.record = record or ReviewRecord()
        self.loaded = changes is not None
        self.mode_override: Mode | None = None
        self.expanded: dict[tuple[str, int], int] = {}
        self.texts: dict[str, list[str]] = {}
        self._run = run
        self._signature: object = None

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Text(" Review"), id="review-title", classes="screen-title")
        yield Static(Text(""), id="review-where")
        yield DiffView(id="review-body")
        yield Footer()

    @property
    def mode(self) -> Mode:
        if self.mode_override is not None:
            return self.mode_override
        return "split" if self.size.width >= SPLIT_WIDTH else "unified"

    def on_mount(self) -> None:
        self.view.focus()
        if self.loaded:
            self.call_after_refresh(self.relayout)
        else:
            self.view.loading = True
            self._load()
        if self.engine is not None:
            self.set_interval(1.0, self._poll_record, name="review-poll")

    def on_resize(self) -> None:
        if self.loaded:
            self.relayout()

    def _widgets_gone(self) -> bool:
        """The screen was closed while an engine call or a read was awaited: its widgets are
        gone (a late result has nothing to draw on, and ``view`` would raise)."""
        return not self.query(DiffView)

    def relayout(self, keep: Row | None = None) -> None:
        """Lay the rows out again (after new data, a comment, a width or a mode)."""
        if self._widgets_gone():
            return
        view = self.view
        keep = keep or view.row
        layout = Layout(self.mode, max(40, view.size.width), self.expanded, self.texts)
        rows = build_rows(self.changes, self.record, layout)
        painter = Painter(
            self.changes, self.app.console, digits(self.changes), budget_ms=FRAME_BUDGET_MS
        )
        view.show(rows, painter, keep=keep)
        self._signature = self._sign(self.record)
        self._titles()

    def _titles(self) -> None:
        files = self.changes.files
        added = sum(f.patch.added for f in files)
        removed = sum(f.patch.removed for f in files)
        agents = sum(1 for a in self.changes.agents if a.agent is not None and a.files)
        opened = sum(1 for c in self.record.comments if c.status == "open")
        other = "unified" if self.mode == "split" else "side by side"
        state = "committed" if self.changes.committed else "open"
        title = (
            f" Review — wave {self.wave} ({state}) · {plural(agents, 'agent')}, "
            f"{plural(len(files), 'file')}, +{added} −{removed} · "
            f"{plural(opened, 'open comment')} · s: {other} · ?: keys"
        )
        if self.changes.in_worktrees and files:  # an answer to a follow-up, not collected yet
            title += " · in a worktree still: t brings it here"
        self.query_one("#review-title", Static).update(Text(title), layout=False)
        self._where()

    def _where(self) -> None:
        row = self.view.row
        room_ = max(20, self.size.width - 2)
        text = where_text(self.changes, row, room_) if row is not None else ""
        if not self.loaded:
            text = "reading the wave's changes…"
        elif self.changes.in_worktrees and not self.changes.files:
            text = "the agents' changes are in their worktrees until the tests bring them here (t)"
        elif not self.changes.files:
            text = "no changes in this wave"
        self.query_one("#review-where", Static).update(Text(" " + text, "bold"), layout=False)

    @on(DiffView.CursorMoved)
    def _moved(self) -> None:
        self._where()

    # -- loading ------------------------------------------------------------------------------

    @work(exclusive=True, group="review-load")
    async def _load(self) -> None:
        if self.engine is None:
            return
        changes = await guarded(self, "review", self.engine.review_changes, self.wave)
        if self._widgets_gone():  # left (back to the main screen) while the changes were read
            return
        if changes is not None:
            self.changes = changes
        self.record = self.engine.review_record(self.wave)
        self.loaded = True
        self.texts.clear()
        self.view.loading = False
        self.relayout()

    def reload(self) -> None:
        """Read the wave's changes again (after a revert, an edit, an agent's answer)."""
        self._load()

    @staticmethod
    def _sign(record: ReviewRecord) -> object:
        return record.model_dump_json()

    def _poll_record(self) -> None:
        """Findings of a reviewer agent, a verdict given elsewhere: shown as they come."""
        if self.engine is None or not self.loaded:
            return
        record = self.engine.review_record(self.wave)
        if self._sign(record) != self._signature:
            self.record = record
            self.relayout()

    @on(msg.RunChanged)
    def _run_changed(self) -> None:
        """An agent of the wave ended (an answer to a change request): its changes again."""
        if self.engine is None or not self.loaded:
            return
        states = {a.agent: a.state for a in self.changes.agents if a.agent}
        now = {a: self.engine.agent_record(a).state for a in states}
        if now != states:
            self.reload()
        else:
            self._poll_record()

    # -- moving -------------------------------------------------------------------------------

    def _jump(self, kind: str, direction: int) -> None:
        kinds = {"hunk": ("hunk",), "file": ("file",), "agent": ("agent",)}[kind]
        if not self.view.jump(kinds, direction):  # type: ignore[arg-type]
            self._say(f"no {'next' if direction > 0 else 'previous'} {kind}", warn=True)

    def action_review_next_hunk(self) -> None:
        self._jump("hunk", 1)

    def action_review_previous_hunk(self) -> None:
        self._jump("hunk", -1)

    def action_review_next_file(self) -> None:
        self._jump("file", 1)

    def action_review_previous_file(self) -> None:
        self._jump("file", -1)

    def action_review_next_agent(self) -> None:
        self._jump("agent", 1)

    def action_review_previous_agent(self) -> None:
        self._jump("agent", -1)

    def action_review_split(self) -> None:
        self.mode_override = "unified" if self.mode == "split" else "split"
        self.relayout()

    def action_review_help(self) -> None:
        keys = room(self.app).keys_now()
        self.app.push_screen(
            HelpScreen(keys, actions=REVIEW_ACTIONS, fixed=HELP_FIXED, title="review — keys")
        )

    @work(group="review-expand")
    async def action_review_expand(self) -> None:
        row, change = self.view.row, self._file()
        if row is None or change is None or row.hunk < 0:
            self._say("put the cursor in a hunk to see more around it", warn=True)
            return
        path = change.path
        if path not in self.texts:
            lines = await asyncio.to_thread(self._read_now, path)
            if lines is None:
                self._say(f"cannot read {path} to show more", warn=True)
                return
            self.texts[path] = lines
        key = (path, row.hunk)
        self.expanded[key] = self.expanded.get(key, 0) + MORE_CONTEXT
        self.relayout()

    def _read_now(self, path: str) -> list[str] | None:
        """``path`` as it is on the new side of the review (the working tree, or the
        checkpoint of a committed wave)."""
        data: bytes | None = None
        if self.engine is not None and self.changes.committed:
            data = self.engine.git.blob(self.changes.new, path)
        elif self.engine is not None:
            try:
                data = (Path(self.engine.repo) / path).read_bytes()
            except OSError:
                data = None
        if data is None:
            return None
        return data.decode("utf-8", "surrogateescape").split("\n")


# The name the control room has always opened ("d").
DiffScreen = ReviewScreen
__all__ = ["SPLIT_WIDTH", "DiffScreen", "ReviewScreen"]
