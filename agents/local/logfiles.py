"""A local agent's log as one logical byte stream over its rotated segments.

The wrapper (``wavedeck.agents.local.segments.SegmentWriter``) writes ``<id>.log`` and, once it
holds ``log_max_bytes``, renames it to ``<id>.log.<logical offset of its first byte>`` and starts a
new one, keeping the newest ``log_keep`` rotated files. A logical offset counts every byte the log
ever held, so an offset saved by a follower stays valid across rotations.

``LogFile`` reads that stream by logical offset (the full-log view, a pane's history on
re-attach); ``logical_size`` is where the next byte will go. A log never rotated is just
``<id>.log`` starting at offset 0, so these read an old log the same way.

``<id>.facts`` beside the log (``facts_path``) is the agent's fact record, written by the wrapper
(``wavedeck.agents.local.factscan``) before the bytes reach the log and never rotated:
``recorded_lines`` gives its lines from a stretch of the log that was rotated away unread.
"""

from __future__ import annotations

import os
from pathlib import Path

from wavedeck.agents.local.segments import list_segments

__all__ = ["LogFile", "facts_path", "logical_size", "recorded_lines"]


def facts_path(log: str | Path) -> Path:
    """The fact record of the log ``log`` (``<id>.facts`` beside ``<id>.log``)."""
    return Path(log).with_suffix(".facts")


def recorded_lines(log: str | Path, start: int, end: int) -> list[bytes]:
    """The fact record's lines (as the agent wrote them, long ones cut) of the log lines that
    began at logical offsets ``start <= offset < end``, oldest first; none when there is no
    record or it cannot be read."""
    out: list[bytes] = []
    try:
        with open(facts_path(log), "rb") as record:
            for entry in record:
                head, _, line = entry.partition(b" ")
                if not head.isdigit() or not entry.endswith(b"\n"):
                    continue  # not an entry (or the last one half written): nothing to read
                if start <= int(head) < end:
                    out.append(line[:-1])
    except OSError:
        return out
    return out


def logical_size(path: str | Path) -> int:
    """The logical offset just after the log's last byte (0 when there is no log)."""
    _, live_start = list_segments(str(path))
    try:
        return live_start + os.stat(path).st_size
    except OSError:
        return live_start


class LogFile:
    """Reads a rotated log by logical offset (each call opens what it needs: safe anytime)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def segments(self) -> list[tuple[int, Path]]:
        """Every file of the log with its logical start, oldest first (the live one last)."""
        rotated, live_start = list_segments(str(self.path))
        out = [(start, Path(name)) for start, name in rotated]
        out.append((live_start, self.path))
        return out

    def start(self) -> int:
        """The logical offset of the oldest byte still on disk."""
        return self.segments()[0][0]

    def size(self) -> int:
        """The logical offset just after the last byte."""
        return logical_size(self.path)

    def pread(self, length: int, position: int) -> bytes:
        """Up to ``length`` bytes from logical ``position`` (fewer at the end; across files).

        Bytes rotated away (before ``start()``) read as nothing: the read begins where the
        log still has bytes only if ``position`` is there.
        """
        out: list[bytes] = []
        segments = self.segments()
        for i, (start, path) in enumerate(segments):
            end = segments[i + 1][0] if i + 1 < len(segments) else None
            if end is not None and position >= end:
                continue
            if position < start:
                break  # a gap: those bytes were deleted
            try:
                with open(path, "rb") as fh:
                    data = os.pread(fh.fileno(), length, position - start)
            except FileNotFoundError:
                break
            out.append(data)
            length -= len(data)
            position += len(data)
            if length <= 0 or end is None or position < end:
                break
        return b"".join(out)
