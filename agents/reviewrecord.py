"""What a wave's review holds, as the run state keeps it (``WaveRecord.review``).

- ``Comment``: the operator's remark on a line (or a hunk) of an agent's change, or a reviewer
  agent's finding (``author="reviewer"``, with a ``Severity``); ``open`` until sent to the agent
  as part of a follow-up (``sent``) or dismissed. A finding the operator forwards becomes theirs
  (``forwarded``) and travels like their own comments.
- ``AgentVerdict``: per agent, who approved its changes, and the changes the operator asked of
  it (``ChangeRequest``: which follow-up carried which comments, and which run answers it).
- ``HunkRevert``: a hunk put back to the wave's start, with the agent and the issue it belonged
  to (what the checkpoint must not claim fixed on its own).
- ``ReviewerRun``: a reviewer agent's run over one agent's changes: its state, findings, usage.

Whether a request is answered is derived (``answered``), never stored: the agent's run numbered
``launch`` has ended. The one writer of these records is ``wavedeck.agents.wave.reviews``.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
# Findings of these severities hold the checkpoint until answered or dismissed.
BLOCKING: tuple[Severity, ...] = ("critical", "high")
Side = Literal["old", "new"]
Author = Literal["operator", "reviewer"]
CommentStatus = Literal["open", "sent", "dismissed"]
ReviewerState = Literal["running", "done", "failed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Comment(_Model):
    """A remark on an agent's change (see the module docstring)."""

    id: int
    agent: str | None = None  # whose change it is about (None: no agent's)
    path: str
    line: int = 0  # 1-based, on ``side``; 0: the file as a whole
    side: Side = "new"
    quote: list[str] = Field(default_factory=list)  # the lines it is about, as they read then
    text: str
    author: Author = "operator"
    severity: Severity | None = None  # a reviewer's finding
    forwarded: bool = False  # a finding the operator made theirs (sent with their comments)
    status: CommentStatus = "open"
    sent_in: int | None = None  # the number of the agent's follow-up that carried it
    made_at: float = 0.0

    @property
    def blocking(self) -> bool:
        """A reviewer's finding of high severity or above, neither sent nor dismissed."""
        return (
            self.author == "reviewer"
            and self.severity in BLOCKING
            and self.status == "open"
            and not self.forwarded
        )


class ChangeRequest(_Model):
    """Changes asked of an agent: its follow-up number ``follow_up``, carrying ``comments``,
    answered once its run number ``launch`` has ended."""

    follow_up: int
    launch: int
    comments: list[int] = Field(default_factory=list)
    sent_at: float = 0.0


class AgentVerdict(_Model):
    """The operator's word on one agent's changes."""

    approved_by: str | None = None  # who approved (the git identity), None: not approved
    anyway: bool = False  # approved while a change request was still unanswered
    requests: list[ChangeRequest] = Field(default_factory=list)


class HunkRevert(_Model):
    """A hunk put back to the wave's start content."""

    path: str
    header: str  # ``@@ -a,b +c,d @@`` as it was
    agent: str | None = None
    issue: str | None = None  # the issue its agent was working on when it wrote it, if known
    lines: int = 0  # lines the hunk had changed
    reverted_at: float = 0.0


class ReviewerRun(_Model):
    """A reviewer agent's run over one agent's changes."""

    state: ReviewerState = "running"
    findings: int = 0
    reason: str = ""  # why it failed, or what it said when it found nothing
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    turns: int = 0


class ReviewRecord(_Model):
    """Everything a wave's review recorded (see the module docstring)."""

    comments: list[Comment] = Field(default_factory=list)
    agents: dict[str, AgentVerdict] = Field(default_factory=dict)
    reverts: list[HunkRevert] = Field(default_factory=list)
    reviewers: dict[str, ReviewerRun] = Field(default_factory=dict)  # by reviewed agent
    next_id: int = 1

    def comment(self, comment_id: int) -> Comment | None:
        return next((c for c in self.comments if c.id == comment_id), None)

    def verdict(self, agent_id: str) -> AgentVerdict:
        return self.agents.get(agent_id) or AgentVerdict()


def answered(request: ChangeRequest, launches: int, ended: bool) -> bool:
    """The agent's run that carried ``request`` has ended (``launches``: its runs so far;
    ``ended``: it is not running now)."""
    return launches >= request.launch and ended


def waiting(verdict: AgentVerdict, launches: int, ended: bool) -> bool:
    """A change request of the agent is unanswered, and the operator did not approve anyway."""
    if verdict.anyway and verdict.approved_by is not None:
        return False
    return any(not answered(r, launches, ended) for r in verdict.requests)
