"""Which issue an agent was working on when it wrote a hunk, read back from its log.

The agent's log (raw, as its CLI printed it, across rotated files) is read again through its
preset's parser. Every tool call that writes a file (Claude's Edit and Write, a Codex
``file_change``, aider's ``Applied edit to``...) is a write of its path; every progress line
(``wavedeck: done <id>``) closes an issue. Agents report an issue after editing for it, so a
write belongs to the issue whose progress line comes next in the same run; a write after a run's
last progress line belongs to no issue of that run (a follow-up's answer, say), and is said so.

A hunk is matched to the writes of its file: when they all belong to one issue, that one; else
the writes whose raw line holds one of the hunk's added lines (tool calls carry the text they
write); else the candidates are listed. The ``generic`` preset's output has no tool calls: the
log cannot say, and ``Attribution.kind`` is ``unknown``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wavedeck.agents.git.hunks import Hunk
from wavedeck.agents.local.logfiles import LogFile
from wavedeck.agents.presets import PRESETS
from wavedeck.agents.presets.base import Tool

Done = Callable[[str], tuple[str, str] | None]  # a progress line's (issue, outcome), else None
RUN_MARK = "── wavedeck: "  # the line wavedeck writes before a follow-up or a restart's run
MAX_LOG_BYTES = 64 * 1024 * 1024  # the newest part of a longer log is read
MIN_MATCH = 4  # an added line shorter than this says nothing about which write made it

AttributionKind = Literal["exact", "one-of", "after-reports", "unknown", "none"]


@dataclass(frozen=True)
class Write:
    """A tool call that wrote ``path``: the issue reported done next in its run (None: none
    was), the run (0: the first; 1, 2...: each follow-up or restart) and the raw log line."""

    path: str
    issue: str | None
    run: int
    raw: str


@dataclass(frozen=True)
class Attribution:
    """What the log says about a hunk.

    ``exact``: written for ``issues[0]``; ``one-of``: for one of ``issues``; ``after-reports``:
    written after the run's last progress line (``run``: 0 the first run, N its Nth rerun);
    ``none``: the log has no write of this file (another writer, a shell command); ``unknown``:
    the preset's output does not name writes.
    """

    kind: AttributionKind
    issues: tuple[str, ...] = ()
    run: int = 0

    def words(self) -> str:
        """The attribution as a hunk header shows it."""
        if self.kind == "exact":
            return f"while working on {self.issues[0]}"
        if self.kind == "one-of":
            return "while working on one of " + ", ".join(self.issues)
        if self.kind == "after-reports":
            return f"in run {self.run + 1}, after its last progress line"
        if self.kind == "none":
            return "no tool call of the agent wrote this file (a shell command?)"
        return "the preset's output does not say which issue"


UNKNOWN = Attribution("unknown")


def _lines(path: Path, max_bytes: int) -> list[str]:
    log = LogFile(path)
    try:
        end = log.size()
        start = max(log.start(), end - max_bytes)
        data = log.pread(end - start, start) if end > start else b""
    except OSError:
        return []
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    if start > log.start() and lines:
        lines = lines[1:]  # the first line is cut
    return lines


def read_writes(
    log_path: Path,
    preset: str,
    cwd: Path | None,
    done: Done,
    *,
    max_bytes: int = MAX_LOG_BYTES,
) -> list[Write] | None:
    """Every write the agent's tool calls made, with its issue (blocking: reads the log).

    None when the preset's output names no writes (``generic``): nothing can be said.
    """
    spec = PRESETS.get(preset)
    if spec is None or spec.name == "generic":
        return None
    parser = spec.parser(cwd)
    events: list[tuple[str, str, str]] = []  # ("write", path, raw) | ("done", issue, "") | run
    for raw in _lines(log_path, max_bytes):
        if raw.startswith(RUN_MARK):
            events.append(("run", "", ""))
            parser = spec.parser(cwd)
            continue
        shown: list[str] = []
        facts: list[object] = []
        parser.feed_into(raw, shown, facts)  # type: ignore[arg-type]
        for fact in facts:
            if isinstance(fact, Tool) and fact.writes and fact.path:
                events.append(("write", fact.path, raw))
        for line in shown:
            report = done(line)
            if report is not None:
                events.append(("done", report[0], ""))
    writes: list[Write] = []
    run = 0
    pending: list[tuple[str, str]] = []

    def settle(issue: str | None) -> None:
        writes.extend(Write(path, issue, run, raw) for path, raw in pending)
        pending.clear()

    for kind, value, raw in events:
        if kind == "write":
            pending.append((value, raw))
        elif kind == "done":
            settle(value)
        else:
            settle(None)
            run += 1
    settle(None)
    return writes


def _escaped(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def attribute(writes: Sequence[Write] | None, path: str, hunk: Hunk) -> Attribution:
    """What the log says about ``hunk`` of ``path`` (see the module docstring)."""
    if writes is None:
        return UNKNOWN
    mine = [w for w in writes if w.path == path]
    if not mine:
        return Attribution("none")
    issues = tuple(dict.fromkeys(w.issue for w in mine if w.issue is not None))
    if all(w.issue is None for w in mine):
        return Attribution("after-reports", run=mine[-1].run)
    if len(issues) == 1 and all(w.issue is not None for w in mine):
        return Attribution("exact", issues)
    added = [
        line.text.strip() for line in hunk.lines if line.kind == "added"
    ]  # the text the tool call carried
    needles = [_escaped(t) for t in added if len(t) >= MIN_MATCH]
    hits = [w for w in mine if needles and any(n in w.raw for n in needles)]
    found = tuple(dict.fromkeys(w.issue for w in hits if w.issue is not None))
    if len(found) == 1 and all(w.issue is not None for w in hits):
        return Attribution("exact", found)
    if hits and all(w.issue is None for w in hits):
        return Attribution("after-reports", run=hits[-1].run)
    return Attribution("one-of", found or issues)
