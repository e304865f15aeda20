"""What every agent preset is made of: the facts its output parser reports, and the parser base.

A preset (``wavedeck.agents.presets.<name>``) knows three things about one agent CLI: the non-interactive
argv it runs, how the prompt reaches it (stdin or a file), and a ``StreamParser`` turning each raw
log line into the lines a pane shows plus the facts wavedeck records (session id, tool calls,
usage and cost, permission denials, how the run ended). A parser never raises: a line it cannot
read (not JSON, truncated JSON, an unknown event type, a 64 KiB line split by the tail) is shown
exactly as it came.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

# Colours for rendered lines: panes keep SGR colours (and strip every other escape sequence).
RED = "\x1b[31m"
DIM = "\x1b[2m"
RESET = "\x1b[0m"
SHORT = 160  # characters kept of a tool result or a command shown on one line


# Facts are named tuples, not dataclasses: a parser makes one per tool call, on the hot path.
class Session(NamedTuple):
    """The CLI's session (thread) id: what a follow-up resumes."""

    session_id: str
    model: str = ""


class Tool(NamedTuple):
    """One tool call; ``path`` (relative to the agent's folder when it lies inside) when the
    tool names a file, ``writes`` when the call changes it; ``command``: a shell tool's whole
    command line (what it may have written is judged from the paths it names)."""

    tool: str
    path: str | None
    summary: str
    writes: bool = False
    command: str = ""


class Usage(NamedTuple):
    """Tokens and cost reported by one run or turn (added to the agent's totals)."""

    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    turns: int
    key: str = ""  # the report's own id when the CLI gives one (a re-read log adds it once)


class Denied(NamedTuple):
    """A tool call the CLI's permissions refused."""

    tool: str
    path: str


class Unwritten(NamedTuple):
    """A write a tool call announced did not happen (refused or failed): the agent is no longer
    the path's recent writer, so a later write by its owner is not blamed on it."""

    path: str


class Ended(NamedTuple):
    """The CLI reported the end of its run (``is_error``: it says it failed, ``detail``: why,
    when it says so in words)."""

    is_error: bool
    subtype: str = ""
    detail: str = ""


Fact: TypeAlias = Session | Tool | Usage | Denied | Unwritten | Ended


@dataclass
class Parsed:
    """What one raw line became: pane lines and facts."""

    lines: list[str] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)


class StreamParser:
    """Raw line -> ``Parsed``. The base shows every line as it is (text-only CLIs).

    ``cwd`` is the agent's folder: absolute tool paths inside it are shown and recorded relative.
    """

    def __init__(self, cwd: Path | None = None) -> None:
        self.cwd = str(cwd).rstrip("/") + "/" if cwd is not None else None
        self.said = ""  # the assistant's last text (whether the run ended asking decides on it)
        # tool call id -> (tool name, path): filled by parsers whose CLI names its calls
        self.tools: dict[str, tuple[str, str | None]] = {}

    def tool_name(self, tool_id: str) -> str | None:
        """The name of the tool call ``tool_id``, when this CLI's stream named it."""
        hit = self.tools.get(tool_id)
        return str(hit[0]) if hit else None

    def feed(self, line: str) -> Parsed:
        return Parsed([line])

    def feed_into(self, line: str, lines: list[str], facts: list[Fact]) -> None:
        """``feed``, appending to ``lines`` and ``facts`` (the engine's hot path: no object per
        line)."""
        parsed = self.feed(line)
        lines.extend(parsed.lines)
        facts.extend(parsed.facts)

    def flush(self) -> Parsed:
        """Lines held back (streamed text without its newline yet); called at the run's end."""
        return Parsed()

    def rel(self, path: Any) -> str | None:
        """A tool's path argument, relative to the agent's folder when inside it."""
        if not isinstance(path, str) or not path:
            return None
        if self.cwd is not None and path.startswith(self.cwd):
            return path[len(self.cwd) :] or "."
        return path[2:] if path.startswith("./") else path


class JsonStreamParser(StreamParser):
    """A parser of one JSON object per line: ``event`` is called with each object; anything
    else (and any error while reading an object) shows the raw line."""

    def feed(self, line: str) -> Parsed:
        stripped = line.strip()
        if not stripped.startswith("{"):
            return Parsed([line])
        try:
            obj = json.loads(stripped)
        except ValueError:
            return Parsed([line])  # truncated, or split by the tail: shown as it came
        if not isinstance(obj, dict):
            return Parsed([line])
        out = Parsed()
        try:
            known = self.event(obj, out)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            known = False  # a shape we did not expect: never a crash, the line as it came
        if not known:
            return Parsed([line])
        return out

    def event(self, obj: dict[str, Any], out: Parsed) -> bool:
        """Render ``obj`` into ``out``; False when the event is unknown (shown raw)."""
        raise NotImplementedError


def short(text: Any, limit: int = SHORT) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters."""
    if not isinstance(text, str):
        text = "" if text is None else json.dumps(text, ensure_ascii=False)
    first = next((part.strip() for part in text.splitlines() if part.strip()), "")
    more = len(first) > limit or text.strip().count("\n") > 0
    return (first[:limit] + "…") if more else first


def text_lines(text: Any) -> list[str]:
    """Assistant text as pane lines (blank lines kept, trailing ones dropped)."""
    if not isinstance(text, str):
        return []
    return text.rstrip("\n").split("\n") if text.strip() else []


def num(value: Any) -> int:
    """An integer field, 0 when absent or not a number."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def count(text: str) -> int:
    """A token count as CLIs print it: ``950``, ``1.1k``, ``2.3M`` (0 when unreadable)."""
    text = text.strip().lower().replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    try:
        return round(float(text[:-1] if scale > 1 else text) * scale)
    except ValueError:
        return 0


def red(text: str) -> str:
    return f"{RED}{text}{RESET}"


def dim(text: str) -> str:
    return f"{DIM}{text}{RESET}"


def obj_of(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}
