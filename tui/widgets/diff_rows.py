"""The review document as rows: what each line of the review screen shows, laid out in one pass.

``build_rows`` turns a wave's changes (``WaveChanges``), its comments and the context the
operator expanded into a flat list of ``Row``: agent headers with their issues and outcome
lines, file headers with what happened to the file stated plainly (new, deleted, renamed,
mode, binary, stray, accepted, mixed with your own work), hunk headers with the issue the agent
was working on, diff lines (unified, or paired side by side) and comments under the lines they
are about. Rows hold references, not rendered text: ``wavedeck.tui.widgets.diff_paint`` renders
only the rows on screen, so a 5,000-line diff lays out in milliseconds.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Literal

from wavedeck.agents.git.hunks import DiffLine, FilePatch, Hunk
from wavedeck.agents.review.changes import AgentChanges, FileChange, WaveChanges
from wavedeck.agents.reviewrecord import Comment, ReviewRecord
from wavedeck.plan.safetext import neutralize

RowKind = Literal["agent", "issue", "file", "note", "hunk", "line", "pair", "comment", "blank"]
Mode = Literal["unified", "split"]
COMMENT_INDENT = 6
MODES = {"100644": "a file", "100755": "an executable", "120000": "a link", "160000": "a submodule"}


@dataclass(slots=True)
class Row:
    """One screen row of the review (see the module docstring)."""

    kind: RowKind
    agent: int = -1  # index in ``WaveChanges.agents``
    file: int = -1  # index in that agent's files
    hunk: int = -1  # index in that file's hunks
    line: DiffLine | None = None  # a unified line (or an expanded context line)
    left: DiffLine | None = None  # a side-by-side pair
    right: DiffLine | None = None
    index: int = -1  # ``line``'s (or ``left``'s) index in the hunk's lines; -1: expanded context
    rindex: int = -1  # ``right``'s index in the hunk's lines
    text: str = ""  # headers, notes, one wrapped line of a comment
    comment: Comment | None = None


@dataclass
class Layout:
    """What ``build_rows`` needs besides the changes."""

    mode: Mode = "unified"
    width: int = 80
    # (path, hunk index) -> lines of context shown above and below it, beyond git's 3
    expanded: Mapping[tuple[str, int], int] = field(default_factory=dict)
    # path -> the file's lines now (its new side), for expanded context; missing: not read yet
    texts: Mapping[str, Sequence[str]] = field(default_factory=dict)


def shorten_path(path: str, room: int) -> str:
    """``path`` in at most ``room`` characters, cut in the middle so its file name stays
    whole: ``packages/…/zajel/client.py``."""
    if len(path) <= room:
        return path
    parts = path.split("/")
    name = parts[-1]
    if len(name) + 2 > room:
        return "…" + name[-(room - 1) :] if room > 1 else "…"
    head: list[str] = []
    tail = [name]
    left, right = 0, len(parts) - 2
    turn = 0
    while left <= right:
        candidate = parts[left] if turn % 2 == 0 else parts[right]
        trial_head = [*head, candidate] if turn % 2 == 0 else head
        trial_tail = tail if turn % 2 == 0 else [candidate, *tail]
        shown = "/".join([*trial_head, "…", *trial_tail])
        if len(shown) > room:
            break
        head, tail = trial_head, trial_tail
        if turn % 2 == 0:
            left += 1
        else:
            right -= 1
        turn += 1
    return "/".join([*head, "…", *tail])


def file_notes(change: FileChange) -> list[str]:
    """What happened to a file, in words (one note a line)."""
    patch = change.patch
    notes: list[str] = []
    if patch.status == "added":
        notes.append("new file" + (f" ({MODES.get(patch.new_mode or '', patch.new_mode)})"
                                   if patch.new_mode not in (None, "100644") else ""))  # fmt: skip
    elif patch.status == "deleted":
        notes.append("deleted: the wave removed this file")
    elif patch.status in ("renamed", "copied"):
        how = "renamed" if patch.status == "renamed" else "copied"
        similar = f", {patch.similarity}% similar" if patch.similarity is not None else ""
        notes.append(f"{how} from {neutralize(patch.old_path or '?')}{similar}")
    if patch.mode_changed:
        old, new = patch.old_mode or "", patch.new_mode or ""
        notes.append(f"mode {old} → {new}: now {MODES.get(new, new)}, was {MODES.get(old, old)}")
    if patch.binary:
        notes.append("binary file: its content is not shown (revert the whole file, or open it)")
    if change.standing == "stray":
        notes.append(f"stray: the checkpoint leaves it out until accepted ({change.reason})")
    elif change.standing == "accepted":
        notes.append(f"accepted: {change.reason}")
    elif change.standing == "operator":
        notes.append("your own uncommitted changes were in this file when the wave started")
    if patch.cut:
        notes.append("the diff was cut at its size limit: open the file to see the rest")
    if not patch.hunks and not patch.binary and patch.status != "deleted" and not notes:
        notes.append("no change of content")
    return notes


def _comment_rows(comment: Comment, where: Row, width: int) -> list[Row]:
    """A comment as rows, wrapped to ``width``."""
    if comment.author == "reviewer":
        state = "forwarded" if comment.forwarded else comment.status
        head = f"🔎 reviewer [{comment.severity or '?'}] ({state}): "
    else:
        sent = f" in follow-up {comment.sent_in}" if comment.sent_in else ""
        head = f"💬 you ({comment.status}{sent}): "
    body = neutralize(comment.text)
    room = max(20, width - COMMENT_INDENT - 2)
    lines = textwrap.wrap(head + body, room, subsequent_indent="   ") or [head]
    return [
        Row("comment", where.agent, where.file, where.hunk, text=text, comment=comment)
        for text in lines
    ]


def _key(comment: Comment) -> tuple[str, str, int]:
    return comment.path, comment.side, comment.line


def _line_key(path: str, line: DiffLine) -> tuple[str, str, int]:
    if line.kind == "removed":
        return path, "old", line.old or 0
    return path, "new", line.new or 0


class _Builder:
    def __init__(self, layout: Layout, comments: Sequence[Comment]) -> None:
        self.layout = layout
        self.rows: list[Row] = []
        self.comments: dict[tuple[str, str, int], list[Comment]] = {}
        for comment in comments:
            self.comments.setdefault(_key(comment), []).append(comment)

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def comments_at(self, key: tuple[str, str, int], where: Row) -> None:
        for comment in self.comments.pop(key, []):
            self.rows += _comment_rows(comment, where, self.layout.width)

    def line(self, a: int, f: int, h: int, path: str, line: DiffLine, index: int) -> None:
        row = Row("line", a, f, h, line=line, index=index)
        self.add(row)
        self.comments_at(_line_key(path, line), row)

    def context(self, a: int, f: int, h: int, path: str, lines: list[DiffLine]) -> None:
        for line in lines:
            if self.layout.mode == "split":
                row = Row("pair", a, f, h, left=line, right=line)
                self.add(row)
                self.comments_at(_line_key(path, line), row)
            else:
                self.line(a, f, h, path, line, -1)

    def hunk_lines(self, a: int, f: int, h: int, path: str, hunk: Hunk) -> None:
        if self.layout.mode == "unified":
            for i, line in enumerate(hunk.lines):
                self.line(a, f, h, path, line, i)
            return
        lines = hunk.lines
        i = 0
        while i < len(lines):
            if lines[i].kind == "context":
                row = Row("pair", a, f, h, left=lines[i], right=lines[i], index=i, rindex=i)
                self.add(row)
                self.comments_at(_line_key(path, lines[i]), row)
                i += 1
                continue
            removed: list[int] = []
            added: list[int] = []
            while i < len(lines) and lines[i].kind == "removed":
                removed.append(i)
                i += 1
            while i < len(lines) and lines[i].kind == "added":
                added.append(i)
                i += 1
            for left, right in zip_longest(removed, added):
                row = Row(
                    "pair",
                    a,
                    f,
                    h,
                    left=lines[left] if left is not None else None,
                    right=lines[right] if right is not None else None,
                    index=left if left is not None else -1,
                    rindex=right if right is not None else -1,
                )
                self.add(row)
                for side in (row.left, row.right):
                    if side is not None:
                        self.comments_at(_line_key(path, side), row)


def _expansion(
    patch: FilePatch, h: int, more: int, text: Sequence[str]
) -> tuple[list[DiffLine], list[DiffLine]]:
    """Up to ``more`` context lines above and below hunk ``h`` (never into its neighbours)."""
    hunk = patch.hunks[h]
    first = hunk.new_start if hunk.new_len else hunk.new_start + 1
    end = hunk.new_start + hunk.new_len - 1 if hunk.new_len else hunk.new_start
    prev_end = 0
    if h > 0:
        p = patch.hunks[h - 1]
        prev_end = p.new_start + p.new_len - 1 if p.new_len else p.new_start
    next_start = len(text) + 1
    if h + 1 < len(patch.hunks):
        nxt = patch.hunks[h + 1]
        next_start = nxt.new_start if nxt.new_len else nxt.new_start + 1
    shift_before = hunk.new_start - hunk.old_start
    shift_after = (hunk.new_start + hunk.new_len) - (hunk.old_start + hunk.old_len)
    start = max(prev_end + 1, first - more, 1)
    above = [
        DiffLine("context", text[n - 1], n - shift_before, n) for n in range(start, first)
        if n - 1 < len(text)
    ]  # fmt: skip
    stop = min(next_start - 1, end + more, len(text))
    below = [DiffLine("context", text[n - 1], n - shift_after, n) for n in range(end + 1, stop + 1)]
    return above, below


def _agent_title(agent: AgentChanges, review: ReviewRecord) -> str:
    if agent.agent is None:
        return "no agent's changes (stray, or no single agent wrote them)"
    added = sum(f.patch.added for f in agent.files)
    removed = sum(f.patch.removed for f in agent.files)
    parts = [f"{agent.agent} · {neutralize(agent.title)}", agent.state or "pending"]
    parts.append(f"{len(agent.files)} file(s) +{added} −{removed}")
    verdict = review.verdict(agent.agent)
    if verdict.approved_by:
        parts.append(("✓ approved anyway by " if verdict.anyway else "✓ approved by ")
                     + neutralize(verdict.approved_by))  # fmt: skip
    elif verdict.requests:
        parts.append(f"✋ changes requested (follow-up {verdict.requests[-1].follow_up})")
    return "  ·  ".join(parts)


def build_rows(changes: WaveChanges, review: ReviewRecord, layout: Layout) -> list[Row]:
    """The whole review as rows (see the module docstring)."""
    builder = _Builder(layout, review.comments)
    for a, agent in enumerate(changes.agents):
        if agent.agent is not None and not agent.files and not agent.issues:
            continue
        if builder.rows:
            builder.add(Row("blank", a))
        builder.add(Row("agent", a, text=_agent_title(agent, review)))
        if agent.marked_done:
            builder.add(
                Row("issue", a, text=f"marked done by hand: {neutralize(agent.marked_done)}")
            )
        for issue in agent.issues:
            mark = "✓" if issue.done else "✗"
            said = f": {neutralize(issue.outcome)}" if issue.outcome else ""
            what = f"done{said}" if issue.done else "not reported done"
            builder.add(Row("issue", a, text=f"{mark} {issue.severity} {issue.id} · {what}"))
        if not agent.files:
            builder.add(Row("note", a, text="no change"))
        for f, change in enumerate(agent.files):
            patch = change.patch
            builder.add(Row("blank", a, f))
            builder.add(Row("file", a, f, text=patch.path))
            for note in file_notes(change):
                builder.add(Row("note", a, f, text=note))
            here = Row("note", a, f)
            for key in [k for k in builder.comments if k[0] == patch.path and k[2] == 0]:
                builder.comments_at(key, here)
            for h, hunk in enumerate(patch.hunks):
                section = f" {neutralize(hunk.section)}" if hunk.section else ""
                said = change.attribution(h).words()
                builder.add(Row("hunk", a, f, h, text=f"{hunk.header}{section}  ·  {said}"))
                more = layout.expanded.get((patch.path, h), 0)
                text = layout.texts.get(patch.path)
                above, below = _expansion(patch, h, more, text) if more and text else ([], [])
                builder.context(a, f, h, patch.path, above)
                builder.hunk_lines(a, f, h, patch.path, hunk)
                builder.context(a, f, h, patch.path, below)
            for key in [k for k in builder.comments if k[0] == patch.path]:
                builder.comments_at(key, Row("note", a, f))  # lines no longer in the diff
    left = [c for cs in builder.comments.values() for c in cs]
    if left:
        builder.add(Row("blank"))
        builder.add(Row("agent", text="comments on files no longer changed"))
        for comment in left:
            builder.rows += _comment_rows(comment, Row("note"), layout.width)
    return builder.rows


def digits(changes: WaveChanges) -> int:
    """How many digits the widest line number of the diff has (the gutter's width)."""
    top = 1
    for change in changes.files:
        for hunk in change.patch.hunks:
            top = max(top, hunk.old_start + hunk.old_len, hunk.new_start + hunk.new_len)
    return max(3, len(str(top)))
