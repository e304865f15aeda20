"""The checkpoint: what the commit would hold, what blocks it, and an editable message.

Shows the staged files per agent, the wave's issue ids, the test status, every stray path and
violation with accept (``a``) / revert (``x``), the gate's reason when it refuses, and the commit
message in a text area. ``ctrl+s`` commits when the gate allows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Static, TextArea

from wavedeck.agents.kinds import ViolationKind
from wavedeck.agents.wave.gates import CheckpointPreview
from wavedeck.agents.wave.refusals import describe
from wavedeck.plan.safetext import neutralize
from wavedeck.plan.words import plural
from wavedeck.tui import messages as msg
from wavedeck.tui.calls import guarded
from wavedeck.tui.refusals import checkpoint_hints
from wavedeck.tui.screens.dialogs import ConfirmScreen, PromptScreen
from wavedeck.tui.widgets.paths import add_fitted_columns, fit_path, fit_paths

if TYPE_CHECKING:
    from wavedeck.tui.engine import EngineCommands


@dataclass(frozen=True)
class BlockingPath:
    """A path the checkpoint screen lists: a stray path or a violation the watcher saw."""

    path: str
    kind: ViolationKind
    agent: str | None
    detail: str


def blocking_paths(preview: CheckpointPreview) -> list[BlockingPath]:
    """Every stray path and violation of the preview, each path once (the stray first)."""
    rows: dict[str, BlockingPath] = {}
    for stray in preview.stray:
        rows[stray.path] = BlockingPath(stray.path, stray.kind, stray.agent, stray.detail)
    for v in preview.violations:
        rows.setdefault(v.path, BlockingPath(v.path, v.kind, v.agent, v.detail))
    return list(rows.values())


COLUMNS = ("path", "kind", "agent", "status")
SHOWN_UNDONE = 12  # issues not done named in the summary; the rest are counted


def summary_text(preview: CheckpointPreview, width: int | None = None) -> Text:
    """What the commit holds, first (files by agent, each path fitted to ``width`` cells, never
    wrapped in a name), then the tests, then the issues: how many are done and which are not (a
    wave of 38 issues never pushes the files out of view)."""
    text = Text()
    text.append("Files to commit\n", "bold")
    for agent, files in sorted(preview.files_by_agent.items()):
        text.append(f"  {neutralize(agent) or '(no single agent)'}  ", "bold cyan")
        text.append(f"{plural(len(files), 'file')}\n", "dim")
        for path in files:
            why = preview.accepted.get(path)
            note = f"  (accepted: {neutralize(why)})" if why else ""
            shown = neutralize(path)
            if width is not None and len(shown) + len(note) > width - 4:
                # The path first (whole if it fits on its own line), the note under it.
                shown = fit_path(shown, max(width - 4, 12))
                note = f"\n      (accepted: {neutralize(why)})" if why else ""
            text.append(f"    {shown}")
            text.append(f"{note}\n", "green")
    if not preview.files_by_agent:
        text.append("  nothing staged\n", "dim")
    text.append("\nTests  ", "bold")
    if preview.tests_passed is None:
        text.append("not run", "yellow")
    elif preview.tests_passed and preview.tests_stale:
        # Passed once, but files changed since: the gate wants them run again.
        text.append("out of date: files changed after they passed, run them again", "bold red")
    else:
        text.append("passed" if preview.tests_passed else "FAILED",
                    "green" if preview.tests_passed else "bold red")  # fmt: skip
    if preview.tests_summary:
        text.append(f"  {neutralize(preview.tests_summary)}", "dim")
    done = set(preview.issues_done)
    undone = [i for i in preview.issues if i not in done]
    text.append("\n\nIssues  ", "bold")
    text.append(f"{len(done & set(preview.issues))} of {len(preview.issues)} done", "green")
    if undone:
        named = ", ".join(neutralize(i) for i in undone[:SHOWN_UNDONE])
        more = f" (+{len(undone) - SHOWN_UNDONE} more)" if len(undone) > SHOWN_UNDONE else ""
        text.append("; not done: ")
        text.append(f"{named}{more}", "bold red")
    return text


class CheckpointScreen(Screen[str | None]):
    """Dismisses with the commit id, or ``None`` when left without committing."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="checkpoint.back"),
        Binding("a", "accept", "Accept path", id="checkpoint.accept"),
        Binding("x", "revert", "Revert path", id="checkpoint.revert"),
        Binding("ctrl+s", "commit", "Commit", id="checkpoint.commit"),
    ]

    def __init__(self, preview: CheckpointPreview, engine: EngineCommands | None = None) -> None:
        """``engine``: what accepts, reverts and commits (``None``: a view, e.g. snapshots)."""
        super().__init__(id="checkpoint")
        self.preview = preview
        self.engine = engine
        self._shown_message: str = preview.message

    def compose(self) -> ComposeResult:
        yield Static(Text(f" Checkpoint — wave {self.preview.wave}"), classes="screen-title")
        yield Static(id="cp-status", classes="screen-status")
        with Horizontal(id="cp-body"):
            with VerticalScroll(id="cp-left"):
                yield Static(id="cp-summary")
            with Vertical(id="cp-right"):
                table: DataTable[str] = DataTable(id="cp-violations", cursor_type="row")
                table.border_title = "Stray paths and violations (a accept · x revert)"
                yield table
                area = TextArea(self.preview.message, id="cp-message", soft_wrap=True)
                area.border_title = "Commit message"
                yield area
                with Horizontal(id="cp-buttons"):
                    yield Button("Commit (ctrl+s)", variant="success", id="cp-commit")
                    yield Button("Back", id="cp-back")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self._fill()
        table.focus()

    def _fill(self) -> None:
        preview = self.preview
        status = self.query_one("#cp-status", Static)
        refused = self._refusal_words()
        if refused is not None:
            status.update(Text(f"✘ refused: {neutralize(refused)}", "bold"))
        else:
            status.update(Text("✔ ready to commit", "bold"))
        status.set_class(refused is not None, "-refused")
        status.set_class(refused is None, "-passed")
        self._show_summary()
        area = self.query_one(TextArea)
        if area.text == self._shown_message and preview.message != self._shown_message:
            # Not edited by the operator: follow the preview (an acceptance adds a trailer).
            area.load_text(preview.message)
        self._shown_message = area.text
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        # Columns too: a column keeps the width of its widest cell ever, and a path fitted to
        # a narrower terminal must narrow it.
        table.clear(columns=True)
        rows = blocking_paths(preview)
        known = {v.path: v.attribution for v in preview.violations if v.agent}

        def writer(row: BlockingPath) -> str:
            # a writer wavedeck only guessed (``inferred``) carries a "?" (narrow: the status
            # column must stay on an 80-column screen); the violations screen spells it out
            guess = "?" if row.agent and known.get(row.path) == "inferred" else ""
            return neutralize(f"{row.agent}{guess}" if row.agent else "?")

        # The path column gets what the others leave.
        others = [(r.kind, writer(r), self._state(r.path).plain) for r in rows]
        paths = fit_paths([neutralize(row.path) for row in rows], others, table.content_size.width)
        cells = [(path, *other) for path, other in zip(paths, others, strict=True)]
        add_fitted_columns(table, COLUMNS, cells)
        for row, (path, kind, agent, _) in zip(rows, cells, strict=True):
            table.add_row(Text(path), kind, agent, self._state(row.path), key=row.path)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        button = self.query_one("#cp-commit", Button)
        button.disabled = refused is not None
        button.tooltip = Text(refused) if refused is not None else None

    def _state(self, path: str) -> Text:
        why = self.preview.accepted.get(path)
        return Text(f"accepted: {neutralize(why)}", "green") if why else Text("open", "bold red")

    def _show_summary(self) -> None:
        summary = self.query_one("#cp-summary", Static)
        width = summary.content_size.width or None  # 0 before the first layout
        summary.update(summary_text(self.preview, width))

    def on_resize(self) -> None:
        self.call_after_refresh(self._fill)  # once the columns have their new widths

    def _refusal_words(self) -> str | None:
        """Why the checkpoint is refused, in this screen's words (its own keys), or None."""
        refusal = self.preview.refusal
        return describe(refusal, checkpoint_hints()) if refusal is not None else None

    def on_run_changed(self, _message: msg.RunChanged) -> None:
        """The engine reported something: re-read the preview."""
        self.run_worker(self._reload(), exclusive=True, group="cp-reload")

    async def _reload(self) -> None:
        engine = self.engine
        if engine is None:
            return
        preview = await guarded(self, "checkpoint", engine.checkpoint_preview, self.preview.wave)
        if preview is not None:
            self.preview = preview
            self._fill()

    def _selected_path(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(row_key.value) if row_key.value is not None else None

    async def action_accept(self) -> None:
        path, engine = self._selected_path(), self.engine
        if path is None or engine is None:
            return

        async def accept(reason: str | None) -> None:
            if reason:
                wave = self.preview.wave
                await guarded(self, "accept", engine.accept_violation, wave, path, reason)
                await self._reload()
                self.post_message(msg.PathAccepted(wave, path))

        self.app.push_screen(
            PromptScreen(f"Accept {path}: why is it fine?", cancelled=f"{path} not accepted"),
            accept,
        )

    async def action_revert(self) -> None:
        path, engine = self._selected_path(), self.engine
        if path is None or engine is None:
            return

        async def revert(yes: bool | None) -> None:
            if yes:
                # The engine says "reverted" (or why not): no second notice from here.
                await guarded(self, "revert", engine.revert_path, self.preview.wave, path)
                await self._reload()
                self.post_message(msg.PathReverted(self.preview.wave, path))

        question = f"Revert {path} to the wave's base? Its changes are lost."
        cancelled = f"not reverted: {path} keeps its changes"
        self.app.push_screen(ConfirmScreen(question, yes="Revert", cancelled=cancelled), revert)

    async def action_commit(self) -> None:
        engine = self.engine
        refused = self._refusal_words()
        if refused is not None:
            self.notify(refused, title="commit refused", severity="error", markup=False)
            return
        if engine is None:
            return
        message = self.query_one(TextArea).text
        commit = await guarded(
            self, "commit", engine.checkpoint, self.preview.wave, message=message
        )
        if commit:
            self.dismiss(str(commit))
        else:
            await self._reload()

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cp-commit")
    async def _commit_pressed(self) -> None:
        await self.action_commit()

    @on(Button.Pressed, "#cp-back")
    def _back_pressed(self) -> None:
        self.dismiss(None)
