"""``wavedeck review`` without the UI: a wave's changes as data, and the review's actions.

- ``review_data``: the wave's changes by agent, its issues, hunks and their issue, and its
  review record, as one JSON-ready dict (``wavedeck review --json``; the text output is made
  from it too);
- ``review_session``: open the supervisor, record the comments of a comments file (each on an
  agent's changed file; quoted from the change or the file), dismiss or forward findings,
  approve agents, and with ``send`` ask every agent with open comments for changes (one
  follow-up each, resuming its session), then wait for those runs to end. EXIT_OK when every
  one succeeded (or nothing was sent), EXIT_REFUSED otherwise; ``ReviewInputError`` (naming the
  comments file's line) when a comment is about no agent's change.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from wavedeck.agents.events import Event
from wavedeck.agents.review.changes import FileChange, WaveChanges
from wavedeck.agents.review.comments import CommentLine, quote
from wavedeck.agents.reviewrecord import ReviewRecord, waiting
from wavedeck.agents.wave.headless import opened, runs_ended
from wavedeck.agents.wave.supervisor import Supervisor
from wavedeck.plan.errors import WavedeckError


class ReviewInputError(WavedeckError):
    """A comment the review cannot place (``FILE:LINE: why``)."""


def _file(change: FileChange) -> dict[str, Any]:
    patch = change.patch
    return {
        "path": patch.path,
        "status": patch.status,
        "old_path": patch.old_path,
        "old_mode": patch.old_mode,
        "new_mode": patch.new_mode,
        "binary": patch.binary,
        "added": patch.added,
        "removed": patch.removed,
        "agent": change.agent,
        "standing": change.standing,
        "reason": change.reason,
        "cut": patch.cut,
        "hunks": [
            {
                "header": h.header,
                "section": h.section,
                "added": h.added,
                "removed": h.removed,
                "issue": {
                    "kind": change.attribution(i).kind,
                    "issues": list(change.attribution(i).issues),
                    "run": change.attribution(i).run,
                },
            }
            for i, h in enumerate(patch.hunks)
        ],
    }


def review_data(
    changes: WaveChanges, record: ReviewRecord, waiting_agents: Sequence[str] = ()
) -> dict[str, Any]:
    """The wave's changes and review as one JSON-ready dict (see the module docstring)."""
    agents = []
    for agent in changes.agents:
        verdict = record.verdict(agent.agent) if agent.agent else None
        agents.append(
            {
                "agent": agent.agent,
                "title": agent.title,
                "state": agent.state,
                "marked_done": agent.marked_done,
                "issues": [
                    {
                        "id": i.id,
                        "severity": i.severity,
                        "summary": i.summary,
                        "done": i.done,
                        "outcome": i.outcome,
                    }
                    for i in agent.issues
                ],
                "files": [_file(f) for f in agent.files],
                "approved_by": verdict.approved_by if verdict else None,
                "approved_anyway": verdict.anyway if verdict else False,
                "requests": [r.model_dump() for r in verdict.requests] if verdict else [],
                "waiting": agent.agent in waiting_agents,
            }
        )
    return {
        "wave": changes.wave,
        "committed": changes.committed,
        "in_worktrees": changes.in_worktrees,
        "old": changes.old,
        "new": changes.new,
        "agents": agents,
        "comments": [c.model_dump() for c in record.comments],
        "reverts": [r.model_dump() for r in record.reverts],
        "reviewers": {a: r.model_dump() for a, r in record.reviewers.items()},
    }


def _file_line(root: Path, path: str, line: int) -> str | None:
    try:
        text = (root / path).read_bytes().decode("utf-8", "replace").split("\n")
    except OSError:
        return None
    return text[line - 1] if 0 < line <= len(text) else None


async def _add_comments(
    sup: Supervisor, n: int, changes: WaveChanges, comments: Sequence[CommentLine], source: str
) -> None:
    problems = []
    placed: list[tuple[str, str, CommentLine, tuple[str, ...]]] = []
    for item in comments:
        change = changes.file(item.path.removeprefix("./"))
        owner = change.agent if change is not None else None
        if change is None:
            problems.append(f"{source}:{item.source_line}: {item.path} is not changed in wave {n}")
        elif owner is None:
            problems.append(
                f"{source}:{item.source_line}: {item.path} is no single agent's change "
                f"({change.standing}): there is no agent to send the comment to"
            )
        else:
            found = quote(change.patch, item.line)
            if not found:  # a line the change did not touch: quoted from the file as it is
                found = [t for t in [_file_line(sup.repo, change.path, item.line)] if t]
            placed.append((owner, change.path, item, tuple(q[:300] for q in found)))
    if problems:
        raise ReviewInputError("\n".join(problems))
    for owner, path, item, quoted in placed:
        await sup.comment(n, agent=owner, path=path, line=item.line, text=item.text, quote=quoted)


async def review_session(
    sup: Supervisor,
    n: int,
    sink: Callable[[list[Event]], None],
    *,
    comments: Sequence[CommentLine] = (),
    source: str = "",
    dismiss: Sequence[int] = (),
    forward: Sequence[int] = (),
    approve: Sequence[str] = (),
    send: bool = False,
    stop: asyncio.Event | None = None,
) -> int | None:
    """Do the review's actions on wave ``n`` (see the module docstring); None when ``stop`` was
    set while waiting (the agents keep running)."""
    stop = stop or asyncio.Event()
    async with opened(sup, sink):
        if comments:
            changes = await sup.review_changes(n)
            await _add_comments(sup, n, changes, comments, source)
        for comment_id in dismiss:
            await sup.dismiss_finding(n, comment_id)
        for comment_id in forward:
            await sup.forward_finding(n, comment_id)
        for agent_id in approve:
            await sup.approve(n, agent_id)
        sent: list[str] = []
        if send:
            for agent in sup.plan.wave(n).agents:
                if sup.reviews.open_comments(n, agent.id):
                    await sup.request_changes(n, agent.id)
                    sent.append(agent.id)
        code = await runs_ended(sup, sent, stop)
        if code is None:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sup.drain(), 10.0)
        return code


def waiting_agents(sup: Supervisor, n: int) -> list[str]:
    """Agents of wave ``n`` whose change requests are unanswered (for ``review_data``)."""
    record = sup.review_record(n)
    out = []
    for agent_id, verdict in record.agents.items():
        rec = sup.agent_record(agent_id)
        if waiting(verdict, rec.launches, rec.state != "running"):
            out.append(agent_id)
    return out
