"""Ownership violations of one wave: accept one (with a reason) or revert its file; a change of
``.git`` (``tamper``, one row per setting, hook or file) is kept (confirmed) or undone.

The table has what fits on a line at 80 columns: the status first (open, accepted, reverted or
undone), the path fitted in its middle (``packages/…/cli/daemon.py``), the kind and the writer
(a "?" after a writer wavedeck only inferred); the highlighted row's whole story (full path,
writer exact or inferred, or candidates, the watcher's detail, the status with its reason) is in
the panel under it, wrapped, so nothing is cut."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from wavedeck.agents.config import PolicyConfig
from wavedeck.agents.events import ViolationFound
from wavedeck.agents.wave.gates import PathClass, classify_paths, foreign_writers
from wavedeck.agents.wave.tamperlog import is_tamper_key
from wavedeck.plan.safetext import neutralize
from wavedeck.tui import messages as msg
from wavedeck.tui.calls import guarded
from wavedeck.tui.room import Room, room
from wavedeck.tui.screens.dialogs import ConfirmScreen, PromptScreen
from wavedeck.tui.widgets.paths import add_fitted_columns, fit_paths

if TYPE_CHECKING:
    from wavedeck.tui.engine import EngineCommands


def _short(status: str, limit: int = 24) -> str:
    """A status in the table (an acceptance's reason is whole in the detail panel)."""
    return status if len(status) <= limit else status[: limit - 1] + "…"


class ViolationsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="violations.back"),
        Binding("a", "accept", "Accept", id="violations.accept"),
        Binding("x", "revert", "Revert file", id="violations.revert"),
    ]

    def __init__(self, wave: int, engine: EngineCommands | None = None) -> None:
        """``engine``: what accepts and reverts (``None``: a view only)."""
        super().__init__(id="violations-screen")
        self.wave = wave
        self.engine = engine

    @property
    def wd(self) -> Room:
        return room(self.app)

    def compose(self) -> ComposeResult:
        yield Static(Text(f" Ownership violations — wave {self.wave}"), classes="screen-title")
        yield DataTable(id="violations-table", cursor_type="row")
        detail = Static(id="violations-detail")
        detail.border_title = "Detail"
        yield detail
        yield Footer()

    def on_mount(self) -> None:
        self._rows: dict[str, tuple[ViolationFound, Text]] = {}
        self.refresh_status()
        self.query_one(DataTable).focus()

    def on_resize(self) -> None:
        self.call_after_refresh(self.refresh_status)  # the path column follows the width

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(str(event.row_key.value) if event.row_key.value is not None else None)

    def _show_detail(self, path: str | None) -> None:
        panel = self.query_one("#violations-detail", Static)
        found = self._rows.get(path) if path is not None else None
        if found is None:
            panel.update(Text("no violation selected", "dim"))
            return
        v, status = found
        text = Text()
        text.append(neutralize(v.path), "bold")
        text.append(f"\n{v.kind}", "italic")
        if v.agent:
            text.append(f", written by {neutralize(v.agent)} ({v.attribution})")
        elif v.candidates:
            text.append(f", written by one of {neutralize(', '.join(v.candidates))}")
        else:
            text.append(", writer unknown")
        if v.detail:
            text.append(f"\n{neutralize(v.detail)}")
        text.append("\nstatus: ")
        text.append_text(status)
        panel.update(text)

    def on_run_changed(self, _message: msg.RunChanged) -> None:
        self.refresh_status()

    def refresh_status(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        # Columns too: a column keeps the width of its widest cell ever, and the path column
        # must narrow with the terminal.
        table.clear(columns=True)
        violations = self.wd.view.waves[self.wave].violations
        standing = self._standing(violations)
        # A path the engine no longer lists was reverted (a change of .git: undone).
        engine = self.wd.engine
        current = {v.path for v in engine.violations(self.wave)} if engine is not None else None
        rows: dict[str, tuple[ViolationFound, Text]] = {}
        for v in violations:
            if v.path in rows:
                continue
            c = standing.get(v.path)
            if c is not None and c.accepted:
                said = f"accepted: {neutralize(c.reason)}" if c.reason else "accepted"
                status = Text(said, "green")
            elif c is not None and c.staged:  # the plan gives it to its writer after all
                status = Text(f"owned by {neutralize(c.agent or '?')}", "green")
            elif current is not None and v.path not in current:
                status = Text("undone" if is_tamper_key(v.path) else "reverted", "green")
            else:
                status = Text("open", "red")
            rows[v.path] = (v, status)
        self._rows = rows
        # What the other columns take, the rest is the path's.
        cells = [(_short(s.plain), v.kind, self._writer(v)) for v, s in rows.values()]
        paths = [neutralize(v.path) for v, _ in rows.values()]
        paths = fit_paths(paths, cells, table.content_size.width)
        columns = [(c[0], path, c[1], c[2]) for c, path in zip(cells, paths, strict=True)]
        add_fitted_columns(table, ("status", "path", "kind", "agent"), columns)
        for (v, status), (shown_status, path, kind, writer) in zip(
            rows.values(), columns, strict=True
        ):
            table.add_row(Text(shown_status, status.style), Text(path), kind, writer, key=v.path)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
        self._show_detail(self._selected())

    @staticmethod
    def _writer(v: ViolationFound) -> str:
        if v.agent:  # a writer wavedeck only inferred carries a "?" (the panel spells it out)
            return neutralize(v.agent) + ("?" if v.attribution == "inferred" else "")
        return "one of " + neutralize(", ".join(v.candidates)) if v.candidates else "?"

    def _standing(self, violations: Sequence[ViolationFound]) -> dict[str, PathClass]:
        """Each path as the checkpoint will treat it (accepted by the ``[policy]`` or the
        operator, or not): ``gates.classify_paths``, the checkpoint's own classification."""
        engine = self.wd.engine
        policy = engine.config.policy if engine is not None else PolicyConfig()
        return classify_paths(
            self.wd.view.plan,
            self.wave,
            [v.path for v in violations],
            accepted=self.wd.accepted(self.wave),
            accept_globs=policy.accept,
            accept_undeclared=policy.accept_undeclared,
            writers=foreign_writers(violations),
        )

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(key.value)

    def action_accept(self) -> None:
        path, engine = self._selected(), self.engine
        if path is None or engine is None:
            return

        async def accept(reason: str | None) -> None:
            if reason:
                await guarded(self, "accept", engine.accept_violation, self.wave, path, reason)
                self.post_message(msg.PathAccepted(self.wave, path))

        verb = "Keep" if is_tamper_key(path) else "Accept"
        self.app.push_screen(
            PromptScreen(f"{verb} {path}: why is it fine?", cancelled=f"{path} not accepted"),
            accept,
        )

    def action_revert(self) -> None:
        path, engine = self._selected(), self.engine
        if path is None or engine is None:
            return

        async def revert(yes: bool | None) -> None:
            if yes:
                # The engine says "reverted" (or why not): no second notice from here.
                await guarded(self, "revert", engine.revert_path, self.wave, path)
                self.post_message(msg.PathReverted(self.wave, path))

        if is_tamper_key(path):  # a setting or hook of .git, reviewed on its own
            question = f"Undo {path}: put it back as it was when the wave started?"
            cancelled = f"not undone: {path} stays as it is"
        else:
            question = f"Revert {path} to the wave's base? Its changes are lost."
            cancelled = f"not reverted: {path} keeps its changes"
        self.app.push_screen(ConfirmScreen(question, yes="Revert", cancelled=cancelled), revert)
