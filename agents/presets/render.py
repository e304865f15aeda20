"""Raw log lines of a preset's agent rendered as its pane shows them (re-attach, the full log
screen, the benchmark): the same parser as the live pane, facts dropped."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from wavedeck.agents.presets import PRESETS
from wavedeck.agents.presets.base import StreamParser


def render_lines(preset: str, lines: Iterable[str], cwd: Path | None = None) -> list[str]:
    """``lines`` (raw, from the log) as pane lines; unchanged for the text-only presets."""
    found = PRESETS.get(preset)
    if found is None or found.parser is StreamParser:
        return list(lines)
    lines = list(lines)
    if preset == "generic" and "{" not in "\n".join(lines):
        return lines  # text output: shown as it came
    parser = found.parser(cwd)
    out: list[str] = []
    for line in lines:
        out.extend(parser.feed(line).lines)
    out.extend(parser.flush().lines)
    return out
