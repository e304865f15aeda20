"""The opencode preset: ``opencode run --format json``, and its parser.

JSONL events, each with a ``sessionID`` and a ``part``: ``step_start``, ``text``
(``part.text``), ``tool_use`` (``part.tool``, ``part.state{status,input,output,title}``),
``step_finish`` (``part.tokens{input,output}``, ``part.cost``), ``error``. opencode's permissions
are per tool, not per file: the watcher judges every write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wavedeck.agents.presets.base import (
    Ended,
    JsonStreamParser,
    Parsed,
    Session,
    Tool,
    Usage,
    dim,
    num,
    obj_of,
    red,
    short,
    text_lines,
)
from wavedeck.agents.presets.spec import LaunchContext, Preset

WRITE_TOOLS = frozenset({"edit", "write", "patch", "multiedit"})


def argv(ctx: LaunchContext) -> list[str]:
    return [ctx.program, "run", "--format", "json", *ctx.extra]


class OpencodeParser(JsonStreamParser):
    """``opencode run --format json`` lines -> pane lines and facts."""

    def __init__(self, cwd: Path | None = None) -> None:
        super().__init__(cwd)
        self.session: str | None = None

    def event(self, obj: dict[str, Any], out: Parsed) -> bool:
        kind = obj.get("type")
        session = obj.get("sessionID")
        if isinstance(session, str) and session != self.session:
            self.session = session
            out.facts.append(Session(session))
            out.lines.append(dim(f"● session {session}"))
        part = obj_of(obj.get("part"))
        if kind == "step_start":
            pass
        elif kind == "text":
            out.lines.extend(text_lines(part.get("text")))
            self.said = said if (said := str(part.get("text") or "")).strip() else self.said
        elif kind == "tool_use":
            name = str(part.get("tool") or "?")
            state = obj_of(part.get("state"))
            params = obj_of(state.get("input"))
            if name == "bash":
                command = short(params.get("command"))
                out.lines.append(f"$ {command}")
                out.facts.append(Tool(name, None, command))
            else:
                path = self.rel(params.get("filePath") or params.get("path"))
                writes = name in WRITE_TOOLS
                out.lines.append(f"{'✎' if writes else '→'} {name} {path or ''}".rstrip())
                out.facts.append(Tool(name, path, f"{name} {path or ''}".strip(), writes))
            if state.get("status") == "error":
                out.lines.append(red(f"  ⎿ ✗ {short(state.get('error'))}"))
        elif kind == "step_finish":
            tokens = obj_of(part.get("tokens"))
            cost = part.get("cost")
            cost = float(cost) if isinstance(cost, int | float) else None
            inputs, outputs = num(tokens.get("input")), num(tokens.get("output"))
            out.facts.append(Usage(inputs, outputs, cost, 1))
            out.lines.append(dim(f"■ step: {inputs} in / {outputs} out"))
        elif kind == "error":
            error = obj.get("error")
            data = error.get("data") if isinstance(error, dict) else None
            message = (data or {}).get("message") if isinstance(data, dict) else None
            out.facts.append(Ended(True, "error"))
            out.lines.append(red(f"✗ {short(message or error)}"))
        else:
            return False
        return True


PRESET = Preset(
    name="opencode", program="opencode", prompt="stdin", argv=argv, parser=OpencodeParser
)
