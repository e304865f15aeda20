"""What the review's cursor is on: the line or hunk a comment is about, and where it is, in words.

``target_of`` reads a row of the review (``wavedeck.tui.widgets.diff_rows.Row``) as a
``Target``: the agent whose change it is, the file, the line and its side (a removed line is
numbered as before the wave), and the lines the comment quotes (the line, or a hunk's changed
lines). ``where_text`` is the line over the document: agent, file, hunk and its issue.
"""

from __future__ import annotations

from dataclasses import dataclass

from wavedeck.agents.git.hunks import DiffLine
from wavedeck.agents.review.changes import WaveChanges
from wavedeck.agents.review.comments import quote
from wavedeck.agents.reviewrecord import Side
from wavedeck.plan.safetext import neutralize
from wavedeck.tui.widgets.diff_rows import Row, shorten_path


@dataclass(frozen=True)
class Target:
    """What a comment made at the cursor is about."""

    agent: str | None
    path: str
    line: int
    side: Side
    quote: tuple[str, ...]


def _line_of(row: Row) -> DiffLine | None:
    if row.kind == "line":
        return row.line
    if row.kind == "pair":
        return (
            row.right
            if row.right is not None and row.right.kind != "context"
            else (row.left if row.left is not None else row.right)
        )
    return None


def target_of(changes: WaveChanges, row: Row) -> Target | None:
    """The target of a comment at ``row``; None when the row is no line, hunk or file."""
    if not 0 <= row.agent < len(changes.agents):
        return None
    agent = changes.agents[row.agent]
    if not 0 <= row.file < len(agent.files):
        return None
    change = agent.files[row.file]
    owner = change.agent or agent.agent
    line = _line_of(row)
    if line is not None:
        side: Side = "old" if line.kind == "removed" else "new"
        number = (line.old if side == "old" else line.new) or 0
        quoted = tuple(quote(change.patch, number, side)) or (line.text[:300],)
        return Target(owner, change.path, number, side, quoted)
    if row.hunk >= 0:
        hunk = change.patch.hunks[row.hunk]
        first = hunk.first_changed
        side = "old" if first is not None and first.kind == "removed" else "new"
        found = (first.old if side == "old" else first.new) if first is not None else None
        number = found or hunk.new_start
        quoted = tuple(quote(change.patch, number, side, whole_hunk=True))
        return Target(owner, change.path, number, side, quoted)
    return Target(owner, change.path, 0, "new", ())


def where_text(changes: WaveChanges, row: Row, room: int = 120) -> str:
    """Where the cursor is: ``w1-a1 API › packages/…/client.py › hunk 2 of 3 · while …``."""
    if not 0 <= row.agent < len(changes.agents):
        return ""
    agent = changes.agents[row.agent]
    parts = [f"{agent.agent} {neutralize(agent.title)}" if agent.agent else "no agent's"]
    if 0 <= row.file < len(agent.files):
        change = agent.files[row.file]
        parts.append(shorten_path(neutralize(change.path), 60))
        if 0 <= row.hunk < len(change.patch.hunks):
            hunks = len(change.patch.hunks)
            said = change.attribution(row.hunk).words()
            parts.append(f"hunk {row.hunk + 1} of {hunks} · {said}")
        line = _line_of(row)
        if line is not None and (line.new or line.old):
            parts.append(f"line {line.new or line.old}")
    text = " › ".join(parts)
    return text if len(text) <= room else text[: room - 1] + "…"
