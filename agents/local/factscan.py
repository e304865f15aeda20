"""What the log wrapper keeps of an agent's output before rotation can delete it: its facts.

The wrapper (``wrapper.py`` beside this file) loads this module by path, so it imports nothing
but the standard library: it runs where wavedeck is not installed. ``FactScanner`` sees every
byte the agent writes, before the bytes reach the log, and appends each line that carries a fact
to the agent's *fact record* (``<id>.facts`` beside its log), which never rotates. When a reader
of the log finds bytes rotated away unread, it reads the record's lines from that stretch instead
(``wavedeck.agents.local.logfiles.recorded_lines``) and gives them to the same preset parser as
the log's lines: the facts come out the same, only display lines are lost.

A fact-bearing line is found without parsing: one C-level ``bytes.find`` per marker over each
chunk (``MARKERS``, per preset: the JSON event types its parser takes facts from, plus
``wavedeck: done`` and, for sandbox refusals, the words of ``Permission denied``/``EACCES``).
Only the lines a marker hits are looked at. A line up to ``SMALL`` bytes is kept as it is; a
longer one (a tool result holding a file, a Write's content) is parsed and its long strings cut
to what a parser reads of them: the first line, the last, and every line that holds a progress
mark or a refusal. So the record stays small and a preset parser reads from it the same facts as
from the whole line (``tests/unit/local/test_factscan.py`` checks this on every recorded
stream of ``tests/data/agent_streams``).

A record entry is one line: ``<logical offset of the line's first byte in the log> <line>``.
"""

from __future__ import annotations

import json
import os
from typing import Any

DONE = b"wavedeck: done"
# Sandbox refusals, as ``agents/presets/refusals.py`` finds them (``permission ?denied|eacces``,
# any case): these stems find candidates (every form the CLIs and tools print: "Permission
# denied", "EACCES: permission denied", "PermissionDenied"), ``refusal`` confirms them
# case-blind (``lower`` and three searches: a case-blind regex is ten times slower).
REFUSAL_MARKS = (b"ermission", b"EACCES")
_REFUSED = ("permission denied", "permissiondenied", "eacces")
_CLAUDE = (b'"init"', b'"tool_use"', b'"is_error":true', b'"permission_denied"', b'"result"')
# What each preset's parser (agents/presets/<name>.py) takes facts from, as bytes in the line.
MARKERS: dict[str, tuple[bytes, ...]] = {
    "generic": (),
    "sim": (),  # the simulated agent prints plain progress lines, as the generic preset reads
    "claude": _CLAUDE,  # init (session), tool calls, failed results (unwritten), result
    "qwen": _CLAUDE,
    "codex": (
        b'"thread.started"',
        b'"turn.completed"',
        b'"turn.failed"',
        b'"file_change"',
        b'"command_execution"',
        b'"mcp_tool_call"',
    ),
    # Assistant text comes in deltas: a progress line may be cut across two of them.
    "gemini": (b'"init"', b'"assistant"', b'"tool_use"', b'"tool_result"', b'"result"'),
    "opencode": (b'"tool_use"', b'"step_finish"', b'"error"'),
    "aider": (b"Tokens: ", b"Applied edit to ", b"Error", b"litellm.", b"The API provider"),
}
SMALL = 2048  # a candidate line up to this many bytes is recorded whole
LONG = 256  # a JSON string longer than this is cut to the lines a parser reads
KEEP = 4096  # at most this much of each kept line of a cut string
MAX_LINE = 64 * 1024  # a longer line is recorded as its first MAX_LINE bytes (as a log piece)
MAX_PENDING = 16 * 1024 * 1024  # a line still without its newline is held up to this much


def refusal(text: str) -> bool:
    """``text`` holds a refusal's words (``Permission denied``, ``PermissionDenied``, ``EACCES``)."""
    low = text.lower()
    return any(word in low for word in _REFUSED)


DONE_TEXT = DONE.decode()
_REFUSAL_TEXT = tuple(mark.decode() for mark in REFUSAL_MARKS)


def _line(text: str, at: int) -> tuple[int, int]:
    """The (start, end) of the line of ``text`` holding position ``at``."""
    end = text.find("\n", at)
    return text.rfind("\n", 0, at) + 1, len(text) if end < 0 else end


def _filled(text: str, start: int, step: int) -> tuple[int, int] | None:
    """The first (``step`` 1) or last (-1) line of ``text`` that is not blank."""
    at = start
    while 0 <= at <= len(text):
        begin, end = _line(text, at)
        if text[begin:end].strip():
            return begin, end
        at = end + 1 if step > 0 else begin - 1
    return None


def _cut(text: str) -> str:
    """A long string as a parser reads it: its first and last non-empty lines and every line
    with a progress mark or a refusal, in order (each found with ``str.find``, not line by
    line: a tool result is often a whole file)."""
    first = _filled(text, 0, 1)
    if first is None:
        return ""
    last = _filled(text, len(text), -1) or first
    spans = {first[0]: first[1], last[0]: last[1]}
    for word in (DONE_TEXT, *_REFUSAL_TEXT):  # a refusal's line is confirmed, case-blind
        at = text.find(word)
        while at >= 0:
            begin, end = _line(text, at)
            if word == DONE_TEXT or refusal(text[begin:end]):
                spans[begin] = end
            at = text.find(word, end)
    out = []
    for begin in sorted(spans):
        line = text[begin : spans[begin]]
        out.append(line[-KEEP:] if begin == last[0] != first[0] else line[:KEEP])
    if last[0] != first[0] and len(out) == 1:
        out.append("")  # it had more than one line: a parser's one-line summary says so ("…")
    return "\n".join(out)


def _reduce(value: Any) -> Any:
    if isinstance(value, str):
        return _cut(value) if len(value) > LONG else value
    if isinstance(value, list):
        return [_reduce(item) for item in value]
    if isinstance(value, dict):
        return {key: _reduce(item) for key, item in value.items()}
    return value


def reduce_line(line: bytes) -> bytes:
    """What the record keeps of a candidate line (without its newline)."""
    if len(line) <= SMALL:
        return line
    stripped = line.strip()
    if stripped.startswith(b"{") and stripped.endswith(b"}"):
        try:
            value = json.loads(stripped.decode("utf-8", "replace"))
        except ValueError:
            value = None
        if isinstance(value, dict):
            text = json.dumps(_reduce(value), ensure_ascii=False, separators=(",", ":"))
            return text.encode("utf-8")
    return line[:MAX_LINE]


def _refused(data: bytes, start: int, end: int) -> bool:
    low = data[start:end].lower()
    return b"permission denied" in low or b"permissiondenied" in low or b"eacces" in low


class FactScanner:
    """Finds the fact-bearing lines of an agent's output and appends them to its record.

    ``feed(data, at)`` is given each chunk before it is written to the log, with the logical
    log offset its first byte goes to; ``close()`` records a last line without its newline.
    Writing the record never raises: a failing write is counted in ``dropped``.
    """

    def __init__(self, path: str, kind: str) -> None:
        self.path = path
        self.marks = (DONE, *MARKERS.get(kind, ()))
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self._parts: list[bytes] = []  # the line without its newline yet
        self._held = 0  # its length so far
        self._start = -1  # the logical offset of its first byte (-1: none yet)
        self._end = -1  # the logical offset just after the last byte fed
        self.dropped = 0  # record entries that could not be written

    def feed(self, data: bytes, at: int) -> None:
        if at != self._end:  # the first chunk, or bytes the log dropped: start afresh
            self._parts, self._held, self._start = [], 0, at
        self._end = at + len(data)
        last = data.rfind(b"\n")
        if last < 0:
            self._hold(data)
            return
        out: list[bytes] = []
        first = data.find(b"\n")
        if self._parts:  # the line begun in an earlier chunk ends here
            self._hold(data[: first + 1])
            held, self._parts, self._held = b"".join(self._parts), [], 0
            if self._hit(held):
                self._entry(out, self._start, held[:-1])
            begin = first + 1
        else:
            begin = 0
        self._scan(data, begin, last + 1, at, out)
        self._start = at + last + 1
        if last + 1 < len(data):
            self._hold(data[last + 1 :])
        if out:
            self._write(b"".join(out))

    def fact_lines(self, data: bytes) -> bytes:
        """The whole lines of ``data`` that carry facts, as they are (no record is written):
        what the log keeps of output it has no room for."""
        starts = self._fact_starts(data, 0, data.rfind(b"\n") + 1)
        return b"".join(data[start : starts[start] + 1] for start in sorted(starts))

    def close(self) -> None:
        """Record the last line if it has no newline (the agent's output ended), then close."""
        if self._parts:
            held, self._parts = b"".join(self._parts), []
            out: list[bytes] = []
            if self._hit(held):
                self._entry(out, self._start, held)
            if out:
                self._write(b"".join(out))
        try:
            os.close(self.fd)
        except OSError:
            pass

    def _hold(self, data: bytes) -> None:
        if self._held <= MAX_PENDING:  # past that, the line is cut (as the log's reader cuts)
            self._parts.append(data)
        self._held += len(data)

    def _hit(self, line: bytes) -> bool:
        if any(mark in line for mark in self.marks):
            return True
        return any(mark in line for mark in REFUSAL_MARKS) and _refused(line, 0, len(line))

    def _scan(self, data: bytes, begin: int, end: int, at: int, out: list[bytes]) -> None:
        """Record the lines of ``data[begin:end]`` (whole lines) that a marker hits."""
        starts = self._fact_starts(data, begin, end)
        for start in sorted(starts):
            self._entry(out, at + start, data[start : starts[start]])

    def _fact_starts(self, data: bytes, begin: int, end: int) -> dict[int, int]:
        """Line start -> its newline, for each whole line of ``data[begin:end]`` carrying a
        fact (a marker, or a refusal's words)."""
        starts: dict[int, int] = {}
        for mark in self.marks:
            self._find(data, mark, begin, end, starts)
        refusals: dict[int, int] = {}
        for mark in REFUSAL_MARKS:
            self._find(data, mark, begin, end, refusals)
        for start, newline in refusals.items():
            if start not in starts and _refused(data, start, newline):
                starts[start] = newline
        return starts

    @staticmethod
    def _find(data: bytes, mark: bytes, begin: int, end: int, starts: dict[int, int]) -> None:
        hit = data.find(mark, begin, end)
        while hit >= 0:
            start = data.rfind(b"\n", begin, hit) + 1 or begin
            newline = data.find(b"\n", hit, end)
            starts[start] = newline
            hit = data.find(mark, newline + 1, end)

    @staticmethod
    def _entry(out: list[bytes], start: int, line: bytes) -> None:
        line = line.rstrip(b"\r") if line.endswith(b"\r") else line
        out.append(b"%d %s\n" % (start, reduce_line(line)))

    def _write(self, data: bytes) -> None:
        try:
            os.write(self.fd, data)
        except OSError:
            self.dropped += data.count(b"\n")
