"""The review as the engine offers it: ``ReviewQueries``, ``ReviewCommands`` and ``CommentArgs``.

The one definition of the review's surface. ``wavedeck.agents.wave.review_actions.ReviewActions``
implements both halves (the supervisor mixes it in, so mypy checks its signatures against these),
and the control room's ``wavedeck.tui.engine.EngineQueries`` / ``EngineCommands`` extend them:
a method added or changed here changes both sides at once.

``CommentArgs`` is where a comment stands and what it says, the keyword arguments of every
``comment`` from the screen down to ``wavedeck.agents.wave.reviews.Reviews.comment`` (which gives
``side`` and ``quote`` their defaults: ``"new"`` and none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypedDict, Unpack

from wavedeck.agents.reviewrecord import Side

if TYPE_CHECKING:
    from wavedeck.agents.review.changes import FileChange, WaveChanges
    from wavedeck.agents.reviewrecord import ChangeRequest, Comment, ReviewRecord


class _CommentWhere(TypedDict):
    agent: str | None
    path: str
    line: int  # 0: the whole file
    text: str


class CommentArgs(_CommentWhere, total=False):
    """A comment's place and text (``agent``, ``path``, ``line``, ``text``), and optionally the
    side of the diff it is on and the lines it quotes."""

    # (two classes, not ``NotRequired``: the postponed annotations would hide it at run time)
    side: Side
    quote: tuple[str, ...]


class ReviewQueries(Protocol):
    """What the control room reads of a wave's review."""

    def review_record(self, n: int) -> ReviewRecord: ...
    def change_request_problem(self, n: int, agent_id: str) -> str | None: ...


class ReviewCommands(Protocol):
    """What the control room and ``wavedeck review`` ask of a wave's review."""

    async def review_changes(self, n: int) -> WaveChanges: ...
    async def comment(self, n: int, **args: Unpack[CommentArgs]) -> Comment: ...
    async def edit_comment(self, n: int, comment_id: int, text: str) -> None: ...
    async def delete_comment(self, n: int, comment_id: int) -> None: ...
    async def dismiss_finding(self, n: int, comment_id: int) -> None: ...
    async def forward_finding(self, n: int, comment_id: int) -> None: ...
    async def approve(self, n: int, agent_id: str) -> str: ...
    async def request_changes(self, n: int, agent_id: str) -> ChangeRequest: ...
    async def revert_hunk(self, n: int, change: FileChange, index: int) -> bool: ...
    async def undo_revert(self, n: int) -> str | None: ...
    async def run_reviewers(self, n: int) -> int: ...
