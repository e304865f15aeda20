"""What the review screen does: ``ReviewActs``, the base of ``wavedeck.tui.screens.diff``'s
``ReviewScreen``, holding its acting keys (the reading ones are the screen's).

Comment on the line or hunk under the cursor; approve the agent's changes (anyway, after a
question, while it has not answered a change request); request changes (its open comments as
one follow-up resuming its session, after a question); forward or dismiss a reviewer agent's
finding, delete an open comment; revert a hunk or a whole file to the wave's start (after a
question) and undo the last hunk revert; open the file in ``$EDITOR``. Each is one call of the
engine (``EngineCommands``); a refusal or failure is a notice, never a traceback.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from textual import work
from textual.app import SuspendNotSupported
from textual.screen import Screen

from wavedeck.agents.review.changes import AgentChanges, FileChange, WaveChanges
from wavedeck.agents.reviewrecord import ReviewRecord, waiting
from wavedeck.tui import messages as msg
from wavedeck.tui.calls import guarded
from wavedeck.tui.screens.dialogs import ConfirmScreen, PromptScreen
from wavedeck.tui.screens.review_target import Target, target_of
from wavedeck.tui.widgets.diff_view import DiffView

if TYPE_CHECKING:
    from wavedeck.tui.engine import Engine

R = TypeVar("R")


class ReviewActs(Screen[None]):
    """The review screen's acting keys (see the module docstring)."""

    wave: int
    engine: Engine | None
    changes: WaveChanges
    record: ReviewRecord
    texts: dict[str, list[str]]
    _run: Callable[[list[str]], int]

    @property
    def view(self) -> DiffView:
        return self.query_one(DiffView)

    def relayout(self) -> None:
        raise NotImplementedError  # the screen's

    def reload(self) -> None:
        raise NotImplementedError  # the screen's

    # -- helpers ------------------------------------------------------------------------------

    def _say(self, text: str, *, warn: bool = False) -> None:
        self.notify(text, severity="warning" if warn else "information", markup=False)

    def _target(self) -> Target | None:
        row = self.view.row
        return target_of(self.changes, row) if row is not None else None

    def _agent(self) -> AgentChanges | None:
        row = self.view.row
        if row is None or not 0 <= row.agent < len(self.changes.agents):
            return None
        return self.changes.agents[row.agent]

    def _file(self) -> FileChange | None:
        row, agent = self.view.row, self._agent()
        if row is None or agent is None or not agent.files:
            return None
        return agent.files[row.file] if 0 <= row.file < len(agent.files) else None

    def _file_or_first(self) -> FileChange | None:
        """The file under the cursor; on an agent's header or issues, its first file."""
        agent = self._agent()
        return self._file() or (agent.files[0] if agent is not None and agent.files else None)

    def _engine(self) -> Engine | None:
        if self.engine is None:
            self._say("view only: no engine is attached", warn=True)
        return self.engine

    async def _call(self, what: str, fn: Callable[..., Awaitable[R]], *args: object) -> R | None:
        return await guarded(self, what, fn, *args)

    def _ask(
        self, question: str, yes: str, cancelled: str, then: Callable[[], Awaitable[None]]
    ) -> None:
        async def answered(ok: bool | None) -> None:
            if ok:
                await then()

        self.app.push_screen(ConfirmScreen(question, yes=yes, cancelled=cancelled), answered)

    # -- comments and verdicts ----------------------------------------------------------------

    def action_review_comment(self) -> None:
        target, engine = self._target(), self._engine()
        if engine is None:
            return
        if target is None:
            self._say("put the cursor on a changed line or a hunk to comment", warn=True)
            return

        async def save(text: str | None) -> None:
            if not text:
                return
            done = await self._call(
                "comment", lambda: engine.comment(
                    self.wave, agent=target.agent, path=target.path, line=target.line,
                    text=text, side=target.side, quote=target.quote,
                ),
            )  # fmt: skip
            if done is not None:
                self._refresh_record()

        where = f"{target.path}:{target.line}" if target.line else target.path
        prompt = PromptScreen(f"Comment on {where}", placeholder="what should change…",
                              cancelled="no comment")  # fmt: skip
        self.app.push_screen(prompt, save)

    def _refresh_record(self) -> None:
        if self.engine is not None:
            self.record = self.engine.review_record(self.wave)
        self.relayout()

    def action_review_approve(self) -> None:
        agent, engine = self._agent(), self._engine()
        if engine is None:
            return
        if agent is None or agent.agent is None:
            self._say("put the cursor in an agent's changes to approve them", warn=True)
            return
        agent_id = agent.agent

        async def approve() -> None:
            who = await self._call("approve", engine.approve, self.wave, agent_id)
            if who:
                self._say(f"{agent_id}: approved by {who}")
                self._refresh_record()

        rec = engine.agent_record(agent_id)
        ended = rec.state != "running"
        if waiting(self.record.verdict(agent_id), rec.launches, ended):
            self._ask(
                f"{agent_id} has not answered your change request. Approve anyway?",
                "Approve anyway",
                f"not approved: the wave waits for {agent_id}'s answer",
                approve,
            )
        else:
            self.run_worker(approve(), group="review-act")

    def action_review_request(self) -> None:
        agent, engine = self._agent(), self._engine()
        if engine is None:
            return
        if agent is None or agent.agent is None:
            self._say("put the cursor in an agent's changes to ask it for changes", warn=True)
            return
        agent_id = agent.agent
        opened = [
            c for c in self.record.comments
            if c.agent == agent_id and c.status == "open" and (c.author == "operator" or c.forwarded)
        ]  # fmt: skip
        if not opened:
            self._say(f"{agent_id} has no open comment: comment first (c)", warn=True)
            return
        why = engine.change_request_problem(self.wave, agent_id)
        if why is not None:  # refused before asking: the comments stay open
            self._say(f"not sent: {why}", warn=True)
            return

        async def send() -> None:
            request = await self._call(
                "request changes", engine.request_changes, self.wave, agent_id
            )
            if request is not None:
                self._say(f"{agent_id}: changes requested (follow-up {request.follow_up}); "
                          "it runs again, the wave waits for its answer")  # fmt: skip
                self._refresh_record()

        self._ask(
            f"Send {len(opened)} comment(s) to {agent_id} as one follow-up (resuming its session)?",
            "Send",
            f"not sent: {agent_id}'s comments stay open",
            send,
        )

    def _comment_action(self, forward: bool) -> None:
        row, engine = self.view.row, self._engine()
        if engine is None:
            return
        comment = row.comment if row is not None else None
        if comment is None:
            self._say("put the cursor on a comment", warn=True)
            return
        if forward and comment.author != "reviewer":
            self._say("only a reviewer agent's finding is forwarded", warn=True)
            return
        if comment.author == "reviewer":
            call = engine.forward_finding if forward else engine.dismiss_finding
        else:
            call = engine.delete_comment

        async def act() -> None:
            await self._call("comment", call, self.wave, comment.id)
            self._refresh_record()

        self.run_worker(act(), group="review-act")

    def action_review_forward(self) -> None:
        self._comment_action(forward=True)

    def action_review_dismiss(self) -> None:
        self._comment_action(forward=False)

    # -- reverts and the editor ---------------------------------------------------------------

    def action_review_revert_hunk(self) -> None:
        row, change, engine = self.view.row, self._file(), self._engine()
        if engine is None:
            return
        if row is None or change is None or row.hunk < 0:
            self._say("put the cursor in a hunk to revert it", warn=True)
            return
        hunk = change.patch.hunks[row.hunk]

        async def revert() -> None:
            if await self._call("revert", engine.revert_hunk, self.wave, change, row.hunk):
                self._say(f"reverted {change.path} {hunk.header} (u: undo)")
                self.reload()

        self._ask(
            f"Revert {change.path} {hunk.header} to the wave's start? (u undoes it)",
            "Revert",
            f"not reverted: {change.path} keeps the hunk",
            revert,
        )

    def action_review_revert_file(self) -> None:
        change, engine = self._file(), self._engine()
        if engine is None:
            return
        if change is None:
            self._say("put the cursor in a file to revert it", warn=True)
            return

        async def revert() -> None:
            await self._call("revert", engine.revert_path, self.wave, change.path)
            self.post_message(msg.PathReverted(self.wave, change.path))
            self.reload()

        self._ask(
            f"Revert {change.path} to the wave's start? Its changes are lost.",
            "Revert",
            f"not reverted: {change.path} keeps its changes",
            revert,
        )

    @work(group="review-act")
    async def action_review_undo(self) -> None:
        engine = self._engine()
        if engine is None:
            return
        path = await self._call("undo", engine.undo_revert, self.wave)
        if path:
            self._say(f"revert of {path} undone")
            self.reload()
        elif path is None:
            self._say("no hunk revert to undo here", warn=True)

    def action_review_edit(self) -> None:
        change, engine = self._file_or_first(), self.engine
        if change is None or engine is None:
            self._say("put the cursor in a file of an open wave to edit it", warn=True)
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
                    code = self._run([*editor, str(Path(engine.repo) / change.path)])
                except OSError as exc:  # no such editor, or not executable
                    failed = exc
        except SuspendNotSupported:
            self._say("this terminal cannot hand over to an editor", warn=True)
            return
        if failed is not None:
            why = failed.strerror or str(failed)
            self.notify(f"could not start the editor {editor[0]!r}: {why}", severity="error",
                        markup=False)  # fmt: skip
            return
        if code:
            self._say(f"{editor[0]} exited with {code}", warn=True)
        self.texts.pop(change.path, None)
        self.reload()
