"""Review comments in and out: a comments file, what a comment quotes, and the follow-up a
change request sends.

- ``parse_comments``: ``wavedeck review --comments FILE`` reads one ``path:line: text`` a line
  (blank lines and ``#`` lines skipped); every line that is not one is an error naming its line
  number, all of them at once (``CommentsFileError``), never a comment silently dropped;
- ``quote``: the lines of the wave's change a comment is about, as they read now;
- ``follow_up_message``: an agent's comments as one message resuming its session: each with its
  ``file:line``, the quoted lines and the operator's (or a forwarded finding's) text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from wavedeck.agents.git.hunks import FilePatch, Hunk
from wavedeck.agents.reviewrecord import Comment, Side
from wavedeck.plan.errors import WavedeckError

_LINE = re.compile(r"^(?P<path>[^:\n]+?):(?P<line>\d+):\s*(?P<text>.*\S)\s*$")
MAX_QUOTE = 6  # lines quoted for a comment on a whole hunk
MAX_QUOTED_CHARS = 300  # of one quoted line


class CommentsFileError(WavedeckError):
    """A comments file has lines that are not ``path:line: text`` (each named by number)."""


@dataclass(frozen=True)
class CommentLine:
    """One comment of a comments file, and the line it was read from."""

    path: str
    line: int
    text: str
    source_line: int


def parse_comments(text: str, source: str) -> list[CommentLine]:
    """Every comment of a comments file (see the module docstring)."""
    out: list[CommentLine] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            errors.append(f"{source}:{number}: not 'path:line: text': {line[:80]!r}")
            continue
        if int(match["line"]) < 1:
            errors.append(f"{source}:{number}: line numbers start at 1")
            continue
        out.append(CommentLine(match["path"].strip(), int(match["line"]), match["text"], number))
    if errors:
        raise CommentsFileError("\n".join(errors))
    return out


def _cut(text: str) -> str:
    return text if len(text) <= MAX_QUOTED_CHARS else text[: MAX_QUOTED_CHARS - 1] + "…"


def hunk_at(patch: FilePatch, line: int, side: Side = "new") -> Hunk | None:
    """The hunk of ``patch`` holding ``line`` on ``side`` (shown lines, context included)."""
    for hunk in patch.hunks:
        for diff_line in hunk.lines:
            if (diff_line.new if side == "new" else diff_line.old) == line:
                return hunk
    return None


def quote(
    patch: FilePatch, line: int, side: Side = "new", *, whole_hunk: bool = False
) -> list[str]:
    """The lines a comment on ``line`` is about: that line, or the changed lines of its hunk
    (at most ``MAX_QUOTE``). Empty when the line is not in the change."""
    hunk = hunk_at(patch, line, side)
    if hunk is None:
        return []
    if whole_hunk:
        changed = [ln for ln in hunk.lines if ln.kind != "context"]
        marks = {"added": "+", "removed": "-", "context": " "}
        return [marks[ln.kind] + _cut(ln.text) for ln in changed[:MAX_QUOTE]]
    for diff_line in hunk.lines:
        if (diff_line.new if side == "new" else diff_line.old) == line:
            return [_cut(diff_line.text)]
    return []


def follow_up_message(wave: int, agent_id: str, comments: Sequence[Comment]) -> str:
    """The message a change request sends to ``agent_id`` (one follow-up, every comment)."""
    lines = [
        f"Review of your changes in wave {wave} ({agent_id}): please address these comments.",
        "Change only your own files. When an issue's fix changes, print its progress line "
        "again (`wavedeck: done <issue-id> <one-line outcome>`).",
        "",
    ]
    for n, comment in enumerate(comments, start=1):
        where = f"{comment.path}:{comment.line}" if comment.line else comment.path
        if comment.side == "old" and comment.line:
            where += " (a line your change removed; numbered as before the wave)"
        who = ""
        if comment.author == "reviewer":
            who = f" [reviewer finding, {comment.severity or 'unrated'}]"
        lines.append(f"{n}. {where}{who}")
        for quoted in comment.quote:
            lines.append(f"   > {quoted}")
        for text_line in comment.text.splitlines() or [""]:
            lines.append(f"   {text_line}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
