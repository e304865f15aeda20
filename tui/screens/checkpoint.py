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
from wavedeck.tui import messages as msg
from wavedeck.tui.calls import guarded
from wavedeck.tui.refusals import checkpoint_hints
from wavedeck.tui.screens.dialogs import ConfirmScreen, PromptScreen

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


def summary_text(preview: CheckpointPreview) -> Text:
    text = Text()
    done = set(preview.issues_done)
    text.append(f"Issues ({len(done)}/{len(preview.issues)} done)\n  ", "bold")
    for n, issue in enumerate(preview.issues):
        text.append(", " if n else "")
        text.append(neutralize(issue), "green" if issue in done else "bold red")
    text.append("\n")
    text.append("\nFiles to commit\n", "bold")
    for agent, files in sorted(preview.files_by_agent.items()):
        text.append(f"  {neutralize(agent) or '(no single agent)'}  ", "bold cyan")
        text.append(f"{len(files)} file(s)\n", "dim")
        for path in files:
            why = preview.accepted.get(path)
            text.append(f"    {neutralize(path)}")
            text.append(f"  (accepted: {neutralize(why)})\n" if why else "\n", "green")
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
        table.add_columns("path", "kind", "agent", "status")
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
        self.query_one("#cp-summary", Static).update(summary_text(preview))
        area = self.query_one(TextArea)
        if area.text == self._shown_message and preview.message != self._shown_message:
            # Not edited by the operator: follow the preview (an acceptance adds a trailer).
            area.load_text(preview.message)
        self._shown_message = area.text
        table = self.query_one(DataTable)
        table.clear()
        known = {v.path: v.attribution for v in preview.violations if v.agent}
        for row in blocking_paths(preview):
            why = preview.accepted.get(row.path)
            state = (
                Text(f"accepted: {neutralize(why)}", "green") if why else Text("open", "bold red")
            )
            # a writer wavedeck only guessed (``inferred``) carries a "?" (narrow: the status
            # column must stay on an 80-column screen); the violations screen spells it out
            guess = "?" if row.agent and known.get(row.path) == "inferred" else ""
            agent = neutralize(f"{row.agent}{guess}" if row.agent else "?")
            table.add_row(Text(neutralize(row.path)), row.kind, agent, state, key=row.path)
        button = self.query_one("#cp-commit", Button)
        button.disabled = refused is not None
        button.tooltip = Text(refused) if refused is not None else None

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
