"""The generic preset (``agent.command``): any CLI, its output shown as it comes.

A text-printing agent's lines are shown unchanged and its progress lines read as they are. A CLI
that prints JSON lines (an agent CLI's stream-json without its preset) is recognised by its first
JSON line: the pane says so once (the generic parser reads it, no preset), each JSON line is shown
as it came, and the progress lines found inside its strings (``wavedeck: done`` in an assistant
message's text) become lines of their own, so its issues are reported like any agent's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wavedeck.agents.presets.base import Parsed, StreamParser, dim
from wavedeck.agents.presets.spec import LaunchContext, Preset

MARK = "wavedeck: done"
NOTICE = "● generic preset: JSON lines; wavedeck: done lines are read inside their strings"


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value, depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class GenericParser(StreamParser):
    """Lines as they come; in JSON lines, the progress lines inside strings as lines of their own
    (each at most once per run: CLIs repeat the final answer in a result event)."""

    def __init__(self, cwd: Path | None = None) -> None:
        super().__init__(cwd)
        self.json = False  # a JSON line has been seen: the pane was told
        self.reported: set[str] = set()

    def plain_chunk(self, lines: tuple[str, ...]) -> bool:
        """True when a chunk of lines needs no reading (no JSON in it): shown as it came."""
        return "{" not in "\n".join(lines)

    def feed(self, line: str) -> Parsed:
        if MARK not in line and not (not self.json and line.lstrip().startswith("{")):
            return Parsed([line])
        stripped = line.strip()
        if not stripped.startswith(("{", "[")):
            return Parsed([line])  # a text progress line, read by the engine as it is
        try:
            value = json.loads(stripped)
        except ValueError:
            return Parsed([line])
        out = Parsed()
        if not self.json:
            self.json = True
            out.lines.append(dim(NOTICE))
        out.lines.append(line)
        for text in _strings(value):
            for part in text.splitlines():
                if MARK in part and part.strip() not in self.reported:
                    self.reported.add(part.strip())
                    out.lines.append(part.strip())
        return out


def generic_argv(ctx: LaunchContext) -> list[str]:
    raise AssertionError("the generic preset runs agent.command")  # pragma: no cover


GENERIC = Preset(name="generic", program="", prompt="file", argv=generic_argv, parser=GenericParser)
