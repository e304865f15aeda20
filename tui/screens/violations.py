"""Ownership violations of one wave: accept one (with a reason) or revert its file; a change of
``.git`` (``tamper``, one row per setting, hook or file) is kept (confirmed) or undone."""

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

if TYPE_CHECKING:
    from wavedeck.tui.engine import EngineCommands


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
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("path", "kind", "agent", "candidates", "detail", "status")
        self.refresh_status()
        table.focus()

    def on_run_changed(self, _message: msg.RunChanged) -> None:
        self.refresh_status()

    def refresh_status(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        violations = self.wd.view.waves[self.wave].violations
        standing = self._standing(violations)
        # A path the engine no longer lists was reverted (a change of .git: undone).
        engine = self.wd.engine
        current = {v.path for v in engine.violations(self.wave)} if engine is not None else None
        seen: set[str] = set()
        for v in violations:
            if v.path in seen:
                continue
            seen.add(v.path)
            c = standing.get(v.path)
            why = (c.reason or "accepted") if c is not None and c.staged else None
            if why:
                status = Text(f"accepted: {neutralize(why)}", "green")
            elif current is not None and v.path not in current:
                status = Text("undone" if is_tamper_key(v.path) else "reverted", "green")
            else:
                status = Text("open", "red")
            writer = f"{v.agent} ({v.attribution})" if v.agent else "?"
            table.add_row(
                Text(neutralize(v.path)), v.kind, neutralize(writer),
                neutralize(", ".join(v.candidates)), Text(neutralize(v.detail)), status,
                key=v.path,
            )  # fmt: skip
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

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
