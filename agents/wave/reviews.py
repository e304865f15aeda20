"""The supervisor's review part: ``Reviews``, the one writer of a wave's ``ReviewRecord``.

- ``read_changes``: the wave's changes by agent (``wavedeck.agents.review.changes``): between the
  tree the wave started on (the operator's own uncommitted work included, so it never shows as
  the wave's) and the working tree now, or, once committed, between its base and its checkpoint;
  each path classified as the checkpoint does, each hunk with the issue its agent was writing for;
- comments (add, edit, dismiss, forward a reviewer's finding, delete), approvals, and change
  requests: an agent's open comments sent as one follow-up resuming its session;
- hunk reverts as made by ``wavedeck.agents.wave.hunk_reverts`` (``record_revert``,
  ``forget_revert``);
- the checkpoint's facts: agents whose change requests are unanswered (``waiting``), reviewer
  findings of high severity still open (``blocking``), the message's summary (``summary``).

Blocking reads (git, logs) are in ``read_changes``: the caller runs it in a thread.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from typing import Protocol, Unpack

from wavedeck.agents.events import Notice
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.git.hunks import parse_patch
from wavedeck.agents.kinds import AGENT_ENDED, AgentStanding
from wavedeck.agents.review import attribution
from wavedeck.agents.review.changes import (
    PathStanding,
    Standing,
    WaveChanges,
    group,
)
from wavedeck.agents.review.comments import follow_up_message, quote
from wavedeck.agents.review.reviewer import ReviewerResult
from wavedeck.agents.review.summary import ReviewSummary, review_summary
from wavedeck.agents.reviewrecord import (
    AgentVerdict,
    ChangeRequest,
    Comment,
    HunkRevert,
    ReviewerRun,
    ReviewRecord,
    Severity,
    waiting,
)
from wavedeck.agents.wave import gates, operator_work
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.launch import parse_done
from wavedeck.agents.wave.review_port import CommentArgs
from wavedeck.agents.wave.worktree_mode import WorktreeMode
from wavedeck.plan.errors import WavedeckError
from wavedeck.plan.words import plural


class ReviewError(WavedeckError):
    """A review action that cannot be done (no such comment, nothing to send); the message says
    why."""


class FollowUps(Protocol):
    """Who sends an agent a follow-up (the supervisor)."""

    async def follow_up(self, agent_id: str, message: str) -> None: ...


class Reviews:
    """A wave's review, recorded (see the module docstring)."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        worktrees: WorktreeMode,
    ) -> None:
        self.ctx = ctx
        self.worktrees = worktrees

    # -- reading ------------------------------------------------------------------------------

    def record(self, n: int) -> ReviewRecord:
        rec = self.ctx.state.waves.get(n)
        return rec.review if rec is not None else ReviewRecord()

    def read_changes(self, n: int) -> WaveChanges:
        """Wave ``n``'s changes by agent (blocking: git and the agents' logs)."""
        ctx = self.ctx
        rec = ctx.state.waves.get(n)
        if rec is None or rec.base_commit is None:
            return WaveChanges(n, "", "")
        git = ctx.git
        if rec.checkpoint is not None:
            old, new = rec.base_commit, rec.checkpoint
        else:
            old, new = rec.start_tree or rec.base_commit, git.worktree_tree()
        patches = parse_patch(git.tree_patch(old, new))
        paths = [p.path for p in patches] + [p.old_path for p in patches if p.old_path]
        if self.worktrees.enabled:
            writers = self.worktrees.writers(n)
        else:
            writers = gates.foreign_writers(ctx.violations.get(n, []))
        classes = gates.classify_paths(
            ctx.plan,
            n,
            paths,
            accepted=rec.accepted,
            accept_globs=ctx.config.policy.accept,
            accept_undeclared=ctx.config.policy.accept_undeclared,
            writers=writers,
        )
        standing: dict[str, PathStanding] = {}
        for path, c in classes.items():
            kind: Standing = "stray"
            if c.staged:
                kind = "accepted" if c.accepted else "owned"
            standing[path] = PathStanding(c.agent, kind, c.reason)
        if rec.checkpoint is None:
            work = operator_work.read(git, rec.base_commit, rec.start_tree)
            for path in work.conflicts:
                if path not in rec.accepted and path in standing:
                    owner = standing[path].agent
                    standing[path] = PathStanding(owner, "operator", operator_work.CONFLICT_DETAIL)
        records = {a.id: ctx.agent_record(a.id) for a in ctx.plan.wave(n).agents}
        writes = {
            a: attribution.read_writes(
                ctx.log_path(a), ctx.config.agent.preset, self.worktrees.cwd_for(a), parse_done
            )
            for a in records
        }
        found = group(
            ctx.plan,
            n,
            patches,
            standing,
            records,
            writes,
            old=old,
            new=new,
            committed=rec.checkpoint is not None,
        )
        wt = self.worktrees
        if wt.enabled and rec.checkpoint is None and (not wt.is_collected(n) or wt.pending(n)):
            found = replace(found, in_worktrees=True)
        return found

    # -- comments -----------------------------------------------------------------------------

    def _changed(self, n: int, what: str) -> None:
        self.ctx.save()
        self.ctx.emit(Notice("info", f"wave {n}: {what}"))

    def _review(self, n: int) -> ReviewRecord:
        return self.ctx.wave(n).review

    def comment(
        self,
        n: int,
        *,
        author: str = "operator",
        severity: Severity | None = None,
        **args: Unpack[CommentArgs],
    ) -> Comment:
        """Record a comment (or a reviewer's finding) on ``path:line`` of ``agent``'s change."""
        agent, path, line, text = args["agent"], args["path"], args["line"], args["text"]
        if not text.strip():
            raise ReviewError("a comment needs text")
        review = self._review(n)
        found = Comment(
            id=review.next_id,
            agent=agent,
            path=path,
            line=max(0, line),
            side=args.get("side", "new"),
            quote=list(args.get("quote", ())),
            text=text.strip(),
            author="reviewer" if author == "reviewer" else "operator",
            severity=severity,
            made_at=time.time(),
        )
        review.next_id += 1
        review.comments.append(found)
        who = "a reviewer finding" if found.author == "reviewer" else "a comment"
        self._changed(n, f"{who} on {path}:{line} ({agent or 'no agent'})")
        return found

    def _comment(self, n: int, comment_id: int) -> Comment:
        found = self._review(n).comment(comment_id)
        if found is None:
            raise ReviewError(f"wave {n} has no comment {comment_id}")
        return found

    def edit(self, n: int, comment_id: int, text: str) -> None:
        found = self._comment(n, comment_id)
        if found.status != "open":
            raise ReviewError(f"comment {comment_id} was {found.status}: it cannot change now")
        found.text = text.strip() or found.text
        self._changed(n, f"comment {comment_id} edited")

    def delete(self, n: int, comment_id: int) -> None:
        """Remove an open comment of the operator's (a finding is dismissed instead)."""
        found = self._comment(n, comment_id)
        if found.author == "reviewer":
            raise ReviewError(f"comment {comment_id} is a reviewer's finding: dismiss it")
        if found.status != "open":
            raise ReviewError(f"comment {comment_id} was {found.status}: it stays on record")
        self._review(n).comments.remove(found)
        self._changed(n, f"comment {comment_id} deleted")

    def dismiss(self, n: int, comment_id: int) -> None:
        """The operator dismisses a reviewer's finding (kept, marked dismissed)."""
        found = self._comment(n, comment_id)
        if found.author != "reviewer":
            raise ReviewError(f"comment {comment_id} is yours: delete it instead")
        if found.status != "open":
            raise ReviewError(f"finding {comment_id} was already {found.status}")
        found.status, found.forwarded = "dismissed", False
        self._changed(n, f"finding {comment_id} dismissed")

    def forward(self, n: int, comment_id: int) -> None:
        """The operator makes a reviewer's finding theirs: sent with their next change request."""
        found = self._comment(n, comment_id)
        if found.author != "reviewer":
            raise ReviewError(f"comment {comment_id} is yours already")
        if found.status != "open":
            raise ReviewError(f"finding {comment_id} was already {found.status}")
        found.forwarded = True
        self._changed(n, f"finding {comment_id} forwarded to {found.agent}")

    # -- verdicts -----------------------------------------------------------------------------

    def _verdict(self, n: int, agent_id: str) -> AgentVerdict:
        if agent_id not in {a.id for a in self.ctx.plan.wave(n).agents}:
            raise ReviewError(f"{agent_id} is not an agent of wave {n}")
        return self._review(n).agents.setdefault(agent_id, AgentVerdict())

    def _ended(self, agent_id: str) -> tuple[int, bool]:
        rec = self.ctx.agent_record(agent_id)
        return rec.launches, rec.state in AGENT_ENDED

    async def approve(self, n: int, agent_id: str) -> str:
        """The operator approves ``agent_id``'s changes (anyway, while a request is unanswered);
        returns who approved (git's identity)."""
        verdict = self._verdict(n, agent_id)
        try:
            who = await asyncio.to_thread(self.ctx.git.identity)
        except GitError:
            who = os.environ.get("USER") or "the operator"
        verdict.anyway = waiting(AgentVerdict(requests=verdict.requests), *self._ended(agent_id))
        verdict.approved_by = who
        how = "approved anyway (a change request unanswered)" if verdict.anyway else "approved"
        self._changed(n, f"{agent_id} {how} by {who}")
        return who

    def open_comments(self, n: int, agent_id: str) -> list[Comment]:
        """What a change request of ``agent_id`` would send: the operator's open comments and
        the findings they forwarded."""
        return [
            c
            for c in self._review(n).comments
            if c.agent == agent_id
            and c.status == "open"
            and (c.author == "operator" or c.forwarded)
        ]

    def request_problem(self, n: int, agent_id: str) -> str | None:
        """Why the review cannot ask ``agent_id`` for changes now (before its follow-up's own
        conditions), or None."""
        if not self.open_comments(n, agent_id):
            return f"{agent_id} has no open comment to send: comment first (c)"
        return None

    async def request_changes(self, n: int, agent_id: str, send: FollowUps) -> ChangeRequest:
        """Send ``agent_id``'s open comments as one follow-up (``send``: the supervisor); the
        request is recorded first and undone if the follow-up cannot be sent."""
        verdict = self._verdict(n, agent_id)
        why = self.request_problem(n, agent_id)
        if why is not None:
            raise ReviewError(why)
        comments = self.open_comments(n, agent_id)
        rec = self.ctx.agent_record(agent_id)
        request = ChangeRequest(
            follow_up=rec.follow_ups + 1,
            launch=rec.launches + 1,
            comments=[c.id for c in comments],
            sent_at=time.time(),
        )
        was = (verdict.approved_by, verdict.anyway)
        verdict.requests.append(request)
        verdict.approved_by, verdict.anyway = None, False
        for c in comments:
            c.status, c.sent_in = "sent", request.follow_up
        self.ctx.save()
        try:
            await send.follow_up(agent_id, follow_up_message(n, agent_id, comments))
        except BaseException:
            verdict.requests.remove(request)
            verdict.approved_by, verdict.anyway = was
            for c in comments:
                c.status, c.sent_in = "open", None
            self.ctx.save()
            raise
        self._changed(n, f"changes requested of {agent_id} ({plural(len(comments), 'comment')})")
        return request

    # -- the checkpoint's facts ---------------------------------------------------------------

    def waiting(self, n: int) -> tuple[AgentStanding, ...]:
        """Agents whose change requests are unanswered (and not approved anyway)."""
        review = self.record(n)
        out = []
        for agent_id, verdict in sorted(review.agents.items()):
            if waiting(verdict, *self._ended(agent_id)):
                out.append(AgentStanding(agent_id, self.ctx.agent_state(agent_id)))
        return tuple(out)

    def blocking(self, n: int) -> tuple[Comment, ...]:
        """Reviewer findings of high severity or above, neither forwarded nor dismissed."""
        return tuple(c for c in self.record(n).comments if c.blocking)

    def summary(self, n: int) -> ReviewSummary:
        agents = [a.id for a in self.ctx.plan.wave(n).agents]
        runs = {a: self.ctx.agent_record(a) for a in agents}
        preset = self.ctx.config.review.preset
        return review_summary(self.record(n), agents, runs, preset)

    # -- reverts (made by ``wavedeck.agents.wave.hunk_reverts``, recorded here) ---------------

    def record_revert(self, n: int, revert: HunkRevert) -> None:
        """Record that a hunk went back to the wave's start.

        The seam the honesty work (#19) meets: the checkpoint must not claim ``revert.issue``
        fixed on the agent's word alone once part of its change is gone; its per-issue evidence
        reads ``ReviewRecord.reverts`` (path, hunk, agent, issue) recorded here.
        """
        self._review(n).reverts.append(revert)
        self._changed(n, f"reverted {revert.path} {revert.header}")

    def forget_revert(self, n: int, revert: HunkRevert, path: str) -> None:
        """Record that a hunk revert was undone (the hunk is the agent's again)."""
        reverts = self._review(n).reverts
        if revert in reverts:
            reverts.remove(revert)
        self._changed(n, f"revert of {path} {revert.header} undone")

    # -- reviewer agents ----------------------------------------------------------------------

    def reviewer_started(self, n: int, agent_id: str) -> None:
        self._review(n).reviewers[agent_id] = ReviewerRun(state="running")
        self._changed(n, f"reviewer agent started on {agent_id}'s changes")

    def reviewer_ended(
        self, n: int, agent_id: str, result: ReviewerResult, changes: WaveChanges
    ) -> None:
        """Record a reviewer's run and its findings, as reviewer comments on ``agent_id``."""
        usage = result.usage
        run = ReviewerRun(
            state="failed" if result.findings is None else "done",
            findings=len(result.findings or ()),
            reason=result.reason or "; ".join(result.problems),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=usage.cost_usd,
            turns=usage.turns,
        )
        self._review(n).reviewers[agent_id] = run
        for finding in result.findings or ():
            change = changes.file(finding.path)
            quoted = tuple(quote(change.patch, finding.line)) if change is not None else ()
            self.comment(
                n,
                agent=agent_id,
                path=finding.path,
                line=finding.line,
                text=finding.text,
                quote=quoted,
                author="reviewer",
                severity=finding.severity,
            )
        what = plural(run.findings, "finding") if run.state == "done" else f"failed: {run.reason}"
        self._changed(n, f"reviewer agent on {agent_id}: {what}")
