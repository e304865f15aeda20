"""The Gemini CLI preset: headless ``gemini`` with ``--output-format stream-json``, and its parser.

JSONL events: ``init`` (session id, model), ``message`` (``role``, ``content``; assistant text
comes in ``delta`` chunks, joined here into whole lines so a progress line split across chunks
is still found), ``tool_use`` (``tool_name``, ``tool_id``, ``parameters``), ``tool_result``
(``tool_id``, ``status``, ``output``/``error``), ``error``, ``result`` (``status``, ``stats``).
Gemini's approval mode ``auto_edit`` approves edits anywhere in the workspace: no per-file
restriction at the source; the watcher judges every write.
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
)
from wavedeck.agents.presets.spec import LaunchContext, Preset

WRITE_TOOLS = frozenset({"write_file", "replace", "edit", "write"})
_PATH_KEYS = ("file_path", "absolute_path", "path", "dir_path")


def argv(ctx: LaunchContext) -> list[str]:
    return [
        ctx.program,
        "--output-format",
        "stream-json",
        "--approval-mode",
        "auto_edit",
        *ctx.extra,
    ]


class GeminiParser(JsonStreamParser):
    """``gemini --output-format stream-json`` lines -> pane lines and facts."""

    def __init__(self, cwd: Path | None = None) -> None:
        super().__init__(cwd)
        self.pending = ""  # assistant text received without its end of line yet
        self.message = ""  # the current assistant message, whole

    def _text_out(self, out: Parsed, final: bool) -> None:
        if final:
            if self.pending:
                out.lines.append(self.pending)
                self.pending = ""
            if self.message.strip():
                self.said = self.message
            self.message = ""
            return
        *whole, self.pending = self.pending.split("\n")
        out.lines.extend(whole)

    def flush(self) -> Parsed:
        out = Parsed()
        self._text_out(out, final=True)
        return out

    def event(self, obj: dict[str, Any], out: Parsed) -> bool:
        kind = obj.get("type")
        if kind == "message":
            if obj.get("role") != "assistant":
                return True  # the prompt echoed back: already in the prompt file
            text = str(obj.get("content") or "")
            if not obj.get("delta"):
                self._text_out(out, final=True)
            self.pending += text
            self.message += text
            self._text_out(out, final=not obj.get("delta"))
            return True
        self._text_out(out, final=True)  # any other event ends the assistant's message
        if kind == "init":
            session = obj.get("session_id") or obj.get("sessionId")
            if isinstance(session, str):
                out.facts.append(Session(session, str(obj.get("model") or "")))
                out.lines.append(dim(f"● session {session} {obj.get('model') or ''}".rstrip()))
        elif kind == "tool_use":
            name = str(obj.get("tool_name") or "?")
            params = obj_of(obj.get("parameters"))
            path = next((self.rel(params[k]) for k in _PATH_KEYS if k in params), None)
            writes = name in WRITE_TOOLS
            if name in ("run_shell_command", "shell"):
                command = short(params.get("command"))
                out.lines.append(f"$ {command}")
                out.facts.append(Tool(name, None, command))
            else:
                mark = "✎" if writes else "→"
                out.lines.append(f"{mark} {name} {path or ''}".rstrip())
                out.facts.append(Tool(name, path, f"{name} {path or ''}".strip(), writes))
        elif kind == "tool_result":
            if obj.get("status") == "error":
                error = obj.get("error")
                message = error.get("message") if isinstance(error, dict) else error
                out.lines.append(red(f"  ⎿ ✗ {short(message or obj.get('output'))}"))
            elif short(obj.get("output")):
                out.lines.append(dim(f"  ⎿ {short(obj.get('output'))}"))
        elif kind == "error":
            out.lines.append(red(f"✗ {short(obj.get('message'))}"))
        elif kind == "result":
            stats = obj_of(obj.get("stats"))
            inputs, outputs = num(stats.get("input_tokens")), num(stats.get("output_tokens"))
            out.facts.append(Usage(inputs, outputs, None, 1))
            status = str(obj.get("status") or "")
            failed = status not in ("", "success")
            out.facts.append(Ended(failed, status))
            line = f"■ {status or 'result'}: {inputs} in / {outputs} out"
            out.lines.append(red(line) if failed else line)
        else:
            return False
        return True


PRESET = Preset(name="gemini", program="gemini", prompt="stdin", argv=argv, parser=GeminiParser)
