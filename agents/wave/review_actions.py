"""The supervisor's review commands: ``ReviewActions``, mixed into ``Supervisor``.

What the control room's review screen and ``wavedeck review`` ask of the engine: the wave's
changes, comments, approvals, change requests (one follow-up per agent, resuming its session:
``Supervisor.follow_up``), hunk reverts and their undo, and the reviewer agents. Each delegates
to the supervisor's parts (``wavedeck.agents.wave.reviews.Reviews``, the one writer of a wave's
review, ``wavedeck.agents.wave.hunk_reverts.HunkReverts`` and
``wavedeck.agents.wave.reviewers.Reviewers``); a file is changed by one action at a
time (the supervisor's action lock). Its surface is ``wavedeck.agents.wave.review_port``'s.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Unpack

from wavedeck.agents.review.changes import FileChange, WaveChanges
from wavedeck.agents.reviewrecord import ChangeRequest, Comment, ReviewRecord
from wavedeck.agents.wave.hunk_reverts import HunkReverts
from wavedeck.agents.wave.review_port import CommentArgs, ReviewCommands, ReviewQueries
from wavedeck.agents.wave.reviewers import Reviewers
from wavedeck.agents.wave.reviews import Reviews


class ReviewActions:
    """The review's commands (see the module docstring)."""

    reviews: Reviews
    reverts: HunkReverts
    reviewers: Reviewers
    _actions: asyncio.Lock

    async def follow_up(self, agent_id: str, message: str) -> None:
        raise NotImplementedError  # the supervisor's

    def follow_up_problem(self, agent_id: str, message: str) -> str | None:
        raise NotImplementedError  # the supervisor's

    def change_request_problem(self, n: int, agent_id: str) -> str | None:
        """Why ``request_changes`` would be refused now (the review's reasons, then the
        follow-up's), or None: the control room asks before it offers to send."""
        return self.reviews.request_problem(n, agent_id) or self.follow_up_problem(
            agent_id, "the review's comments"
        )

    def review_record(self, n: int) -> ReviewRecord:
        """Wave ``n``'s review as recorded so far (comments, verdicts, reverts, reviewers)."""
        return self.reviews.record(n)

    async def review_changes(self, n: int) -> WaveChanges:
        """Wave ``n``'s changes by agent (git and the agents' logs, read in a thread)."""
        return await asyncio.to_thread(self.reviews.read_changes, n)

    async def comment(self, n: int, **args: Unpack[CommentArgs]) -> Comment:
        """Comment on ``path:line`` (0: the whole file) of ``agent``'s change."""
        return self.reviews.comment(n, **args)

    async def edit_comment(self, n: int, comment_id: int, text: str) -> None:
        self.reviews.edit(n, comment_id, text)

    async def delete_comment(self, n: int, comment_id: int) -> None:
        self.reviews.delete(n, comment_id)

    async def dismiss_finding(self, n: int, comment_id: int) -> None:
        self.reviews.dismiss(n, comment_id)

    async def forward_finding(self, n: int, comment_id: int) -> None:
        self.reviews.forward(n, comment_id)

    async def approve(self, n: int, agent_id: str) -> str:
        """Approve ``agent_id``'s changes (anyway, when it has not answered a request)."""
        return await self.reviews.approve(n, agent_id)

    async def request_changes(self, n: int, agent_id: str) -> ChangeRequest:
        """Send ``agent_id``'s open comments as one follow-up resuming its session; the wave is
        not ready to commit until that run has ended (or the operator approves anyway)."""
        return await self.reviews.request_changes(n, agent_id, self)

    async def revert_hunk(self, n: int, change: FileChange, index: int) -> bool:
        """Put one hunk back to the wave's start (the working tree only; never the index)."""
        async with self._actions:
            return await self.reverts.revert_hunk(n, change, index)

    async def undo_revert(self, n: int) -> str | None:
        """Undo wave ``n``'s last hunk revert; the path, or None when there was none."""
        async with self._actions:
            return await self.reverts.undo_revert(n)

    async def run_reviewers(self, n: int) -> int:
        """Run ``[review] preset`` over wave ``n``'s agents that are due; findings recorded."""
        return await self.reviewers.run(n)


if TYPE_CHECKING:
    # mypy holds ReviewActions to the port's signatures here. Not by naming the protocols as
    # bases: a Protocol base would put its own ``__init__`` in the supervisor's chain of
    # ``__init__``s, ahead of ``RunQueries``'s.
    def _implements(actions: ReviewActions) -> tuple[ReviewQueries, ReviewCommands]:
        return actions, actions
