"""Diff review: the wave's changed files grouped by agent, stray files marked, one diff at a time.

Files come from ``git`` (blocking: a thread worker). The diff of the highlighted file is read and
highlighted in an exclusive thread worker, so moving the selection cancels the previous read (the
pattern lazygit uses). ``n``/``p`` step files, ``x`` reverts one after confirmation, ``e`` opens
it in ``$EDITOR`` with the app suspended.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from wavedeck.agents.wave.gates import classify_paths, foreign_writers
from wavedeck.plan.safetext import neutralize
from wavedeck.tui import messages as msg
from wavedeck.tui.screens.dialogs import ConfirmScreen

if TYPE_CHECKING:
    from wavedeck.tui.adapter import RunView
    from wavedeck.tui.engine import EngineCommands, EngineQueries

FILE_COLUMN = 36  # characters for a file entry (the list is 40 wide with border and padding)
MAX_HIGHLIGHT_LINES = 5_000  # past this, plain text (highlighting huge diffs stalls)


@dataclass(frozen=True)
class DiffEntry:
    path: str
    status: str
    agent: str | None  # the owning agent, or who wrote a stray file when known
    stray: bool  # the checkpoint would not stage it (not owned, not accepted)
    added: int | None = None
    deleted: int | None = None
    old_path: str | None = None
    accepted: str | None = None  # why the policy or the operator accepts it (not owned)


class DiffSource(Protocol):
    title: str
    root: Path | None

    @property
    def wave(self) -> int | None:
        """The wave whose changes these are (None: not a wave's)."""
        ...

    def files(self) -> list[DiffEntry]: ...  # blocking
    def diff(self, entry: DiffEntry) -> str: ...  # blocking
    async def revert(self, entry: DiffEntry) -> None: ...


class GitDiffSource:
    """The wave's changes since its base commit, read from the engine's git layer."""

    def __init__(
        self, queries: EngineQueries, commands: EngineCommands, view: RunView, wave: int
    ) -> None:
        self.queries, self.commands, self.view = queries, commands, view
        self.wave = wave
        self.title = f"Diffs — wave {wave}"
        self.root: Path | None = queries.repo
        record = queries.wave_record(wave)
        self.base: str = (record.base_commit if record else None) or "HEAD"

    def files(self) -> list[DiffEntry]:
        """The changed files, each classified as the checkpoint does (``gates.classify_paths``:
        owned, accepted by the ``[policy]`` or the operator, or stray)."""
        changed = self.queries.git.changed_files(self.base)
        policy = self.queries.config.policy
        classes = classify_paths(
            self.view.plan,
            self.wave,
            [c.path for c in changed],
            accepted=self.queries.accepted(self.wave),
            accept_globs=policy.accept,
            accept_undeclared=policy.accept_undeclared,
            writers=foreign_writers(self.view.waves[self.wave].violations),
        )
        out = []
        for item in changed:
            c = classes[item.path]
            out.append(
                DiffEntry(
                    item.path,
                    item.status,
                    c.agent,
                    not c.staged,
                    item.added,
                    item.deleted,
                    item.old_path,
                    c.reason if c.accepted else None,
                )
            )
        return out

    def diff(self, entry: DiffEntry) -> str:
        return self.queries.git.file_diff(entry.path, self.base, old_path=entry.old_path)

    async def revert(self, entry: DiffEntry) -> None:
        await self.commands.revert_path(self.wave, entry.path)


def group_options(entries: list[DiffEntry]) -> list[Option | None]:
    """Options grouped by agent (headers disabled), stray files last and marked."""
    groups: dict[str, list[DiffEntry]] = {}
    for entry in entries:
        key = "stray" if entry.stray else (entry.agent or "accepted")
        groups.setdefault(key, []).append(entry)
    options: list[Option | None] = []
    for key in sorted(groups, key=lambda k: (k == "stray", k == "accepted", k)):
        if options:
            options.append(None)
        label = {"stray": "⚠ stray (not its writer's)", "accepted": "✓ accepted"}.get(key, key)
        options.append(Option(Text(label, "bold"), disabled=True))
        for entry in groups[key]:
            counts = f" +{entry.added} -{entry.deleted}" if entry.added is not None else ""
            who = f" ({entry.agent})" if entry.stray and entry.agent else ""
            if entry.accepted is not None:
                who = " ✓"  # staged although not owned: the policy or the operator said so
            path = neutralize(entry.path)
            room = FILE_COLUMN - 3 - len(counts) - len(who)
            if len(path) > room:  # keep the file name: cut the folders from the left
                path = "…" + path[-(room - 1) :]
            line = Text(no_wrap=True)
            line.append(f" {entry.status} ", "bold")
            line.append(path, "yellow" if entry.stray else ("green" if entry.accepted else ""))
            if counts:
                line.append(f" +{entry.added}", "green")
                line.append(f" -{entry.deleted}", "red")
            line.append(neutralize(who), "italic")
            options.append(Option(line, id=entry.path))
    return options


def render_diff(text: str) -> Syntax | Text:
    if not text:
        return Text("(no textual changes)", "dim")
    if text.count("\n") > MAX_HIGHLIGHT_LINES:
        return Text(neutralize_lines(text))
    # Highlighted into plain Rich Text here, in the worker thread: the UI thread only lays it out.
    code = neutralize_lines(text)
    return Syntax(code, "diff", theme="ansi_dark").highlight(code)


def neutralize_lines(text: str) -> str:
    return "\n".join(neutralize(line) for line in text.split("\n"))


class DiffScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="diff.back"),
        Binding("n,j", "step(1)", "Next file", id="diff.next"),
        Binding("p,k", "step(-1)", "Previous file", id="diff.previous"),
        Binding("x", "revert", "Revert file", id="diff.revert"),
        Binding("e", "edit", "Open in $EDITOR", id="diff.edit"),
    ]

    def __init__(
        self, source: DiffSource, *, run: Callable[[list[str]], int] = subprocess.call
    ) -> None:
        super().__init__(id="diff")
        self.source = source
        self.entries: dict[str, DiffEntry] = {}
        self.shown: str | None = None  # the highlighted file
        self.displayed: str | None = None  # the file whose diff is on screen
        self._run = run
        self._swap = asyncio.Lock()  # one diff replaces another at a time

    def compose(self) -> ComposeResult:
        yield Static(Text(f" {self.source.title}"), classes="screen-title")
        with Horizontal(id="diff-main"):
            files = OptionList(id="diff-files")
            files.border_title = "Files"
            yield files
            with VerticalScroll(id="diff-body"):
                yield Static(Text("loading…", "dim"), classes="diff-text")
        yield Footer()

    def on_mount(self) -> None:
        self._load_files()

    @work(thread=True, exclusive=True, group="diff-files")
    def _load_files(self) -> None:
        try:
            entries = self.source.files()
        except Exception as exc:
            self.app.call_from_thread(self.notify, f"git: {exc}", severity="error")
            entries = []
        self.app.call_from_thread(self._show_files, entries)

    def _show_files(self, entries: list[DiffEntry]) -> None:
        self.entries = {e.path: e for e in entries}
        files = self.query_one(OptionList)
        files.clear_options()
        files.add_options(group_options(entries))
        files.focus()
        if not entries:
            self.query_one(".diff-text", Static).update(Text("no changes in this wave", "dim"))
            self.displayed = ""
            return
        self.action_step(1)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        path = event.option.id
        if path and path != self.shown:
            self.shown = path
            self.query_one("#diff-body").border_title = Text(neutralize(path))
            self._load_diff(self.entries[path])

    @work(thread=True, exclusive=True, group="diff-text")
    def _load_diff(self, entry: DiffEntry) -> None:
        try:
            rendered: Syntax | Text = render_diff(self.source.diff(entry))
        except Exception as exc:
            rendered = Text(f"cannot read the diff: {exc}", "red")
        if not get_current_worker().is_cancelled:  # the selection moved on: drop this one
            # Textual types the callback as ``Callable[..., T | Awaitable[T]]``, from which mypy
            # solves T as Never for any coroutine function: the call itself is right.
            self.app.call_from_thread(self._show_diff, entry.path, rendered)  # type: ignore[arg-type]

    async def _show_diff(self, path: str, rendered: Syntax | Text) -> None:
        async with self._swap:
            if path != self.shown:
                return
            # A fresh widget: an updated Static kept the height of its previous content.
            body = self.query_one("#diff-body", VerticalScroll)
            await body.remove_children()
            await body.mount(Static(rendered, classes="diff-text"))
            body.scroll_home(animate=False)
            self.displayed = path

    def action_step(self, delta: int) -> None:
        files = self.query_one(OptionList)
        count = files.option_count
        index = files.highlighted if files.highlighted is not None else (-1 if delta > 0 else count)
        index += delta
        while 0 <= index < count and files.get_option_at_index(index).disabled:
            index += delta
        if 0 <= index < count:
            files.highlighted = index

    def _current(self) -> DiffEntry | None:
        return self.entries.get(self.shown or "")

    def action_revert(self) -> None:
        entry = self._current()
        if entry is None:
            return

        async def revert(yes: bool | None) -> None:
            if not yes:
                return
            try:
                await self.source.revert(entry)
            except Exception as exc:
                self.notify(f"revert {entry.path}: {exc}", severity="error", markup=False)
                return
            # The engine says "reverted" (or why not): no second notice from here.
            self.post_message(msg.PathReverted(self.source.wave, entry.path))
            self.shown = None
            self._load_files()

        question = f"Revert {entry.path} to the wave's base? Its changes are lost."
        cancelled = f"not reverted: {entry.path} keeps its changes"
        self.app.push_screen(ConfirmScreen(question, yes="Revert", cancelled=cancelled), revert)

    def action_edit(self) -> None:
        entry, root = self._current(), self.source.root
        if entry is None or root is None:
            return
        setting = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        try:
            editor = shlex.split(setting) or ["vi"]
        except ValueError as exc:  # unbalanced quotes in $EDITOR
            self.notify(f"cannot read $EDITOR {setting!r}: {exc}", severity="error", markup=False)
            return
        code, failed = 0, None
        try:
            with self.app.suspend():
                # Caught inside: Textual resumes the screen only when the block ends normally.
                try:
                    code = self._run([*editor, str(Path(root) / entry.path)])
                except OSError as exc:  # no such editor, or not executable
                    failed = exc
        except SuspendNotSupported:
            self.notify(
                "this terminal cannot hand over to an editor", severity="warning", markup=False
            )
            return
        if failed is not None:
            why = failed.strerror or str(failed)
            self.notify(
                f"could not start the editor {editor[0]!r}: {why}", severity="error", markup=False
            )
            return
        if code:
            self.notify(f"{editor[0]} exited with {code}", severity="warning", markup=False)
        self.shown = None
        self._load_files()
