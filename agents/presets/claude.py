"""The Claude Code preset: ``claude -p`` with stream-json output, and its parser.

Stream events (``--output-format stream-json --verbose``): ``system`` (subtype ``init``:
``session_id``, ``model``), ``assistant`` (``message.content``: ``text``, ``thinking``,
``tool_use{name,input}``), ``user`` (``tool_result`` blocks), ``result`` (``subtype``,
``is_error``, ``num_turns``, ``total_cost_usd``, ``usage``, ``permission_denials``).

Writes are restricted at the source with a settings file passed with ``--settings``: in the
``default`` permission mode a headless ``claude -p`` refuses every tool call no rule allows, so
allowing ``Edit(./path)`` for each owned file (Edit rules cover every file-editing tool) and the
read-only tools and Bash leaves every other edit refused, reported in ``permission_denials``. Bash
is allowed (agents run tests), so a write through a shell is not refused: the watcher judges it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agents.presets.base import (
    Denied,
    Ended,
    JsonStreamParser,
    Parsed,
    Said,
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
from agents.presets.spec import LaunchContext, Preset

WRITE_TOOLS = frozenset({"Edit", "Write", "MultiEdit", "NotebookEdit"})
READ_TOOLS = ("Read", "Glob", "Grep", "LS", "TodoWrite", "Task", "WebSearch", "WebFetch")
_PATH_KEYS = ("file_path", "notebook_path", "path")


def settings_path(ctx: LaunchContext) -> Path:
    return ctx.wavedeck_dir / "run" / f"{ctx.agent_id}.claude-settings.json"


def _rule_path(path: str) -> str:
    # Rules read paths as gitignore patterns relative to the working folder ("./"); a folder
    # entry of the plan allows everything under it, a glob entry is kept as the glob it is.
    return "./" + (path + "**" if path.endswith("/") else path)


def write_settings(ctx: LaunchContext) -> Path:
    """The settings file allowing edits of the owned files only (blocking file I/O)."""
    allow = [*READ_TOOLS, "Bash", *(f"Edit({_rule_path(p)})" for p in ctx.owned)]
    data = {"permissions": {"allow": allow, "defaultMode": "default"}}
    path = settings_path(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def argv(ctx: LaunchContext) -> list[str]:
    out = [ctx.program, "-p", "--output-format", "stream-json", "--verbose"]
    if ctx.restrict_writes:
        out += ["--permission-mode", "default", "--settings", str(write_settings(ctx))]
    else:
        out += ["--permission-mode", "acceptEdits"]
    if ctx.resume:
        out += ["--resume", ctx.resume]
    elif ctx.session_id:
        out += ["--session-id", ctx.session_id]
    if ctx.max_cost_usd is not None:
        out += ["--max-budget-usd", f"{ctx.max_cost_usd:g}"]
    if ctx.restrict_writes:
        # Tell the agent why an edit is refused, so it reports instead of trying other ways.
        out += ["--append-system-prompt", why_denied(ctx.owned)]
    return [*out, *ctx.extra]


def why_denied(owned: tuple[str, ...]) -> str:
    files = ", ".join(owned) if owned else "(none)"
    return (
        "wavedeck runs this session as one agent of a wave plan: you may edit only these "
        f"files: {files}. An edit of any other file is refused by design (another agent owns "
        "it). Do not work around a refusal: say which change is needed there and go on."
    )


def _tool_line(name: str, path: str | None, params: dict[str, Any]) -> tuple[str, str]:
    """(pane line, summary) for a tool call."""
    if name in WRITE_TOOLS:
        return f"✎ {name} {path or '?'}", f"{name} {path or ''}".strip()
    if name == "Bash":
        command = short(params.get("command"))
        return f"$ {command}", command
    if path is not None:
        return f"→ {name} {path}", f"{name} {path}"
    what = params.get("pattern") or params.get("url") or params.get("query") or ""
    what = short(what) if what else ""
    return f"→ {name} {what}".rstrip(), f"{name} {what}".strip()


class ClaudeParser(JsonStreamParser):
    """``claude -p --output-format stream-json --verbose`` lines -> pane lines and facts."""

    def __init__(self, cwd: Path | None = None) -> None:
        super().__init__(cwd)
        self.tools: dict[str, str] = {}  # tool_use id -> name (for results)

    def event(self, obj: dict[str, Any], out: Parsed) -> bool:
        kind = obj.get("type")
        if kind == "system":
            if obj.get("subtype") == "init" and isinstance(obj.get("session_id"), str):
                model = str(obj.get("model") or "")
                out.facts.append(Session(obj["session_id"], model))
                out.lines.append(dim(f"● session {obj['session_id']} {model}".rstrip()))
            return True  # other system events (hooks, status) are noise in a pane
        if kind == "assistant":
            self._assistant(obj.get("message") or {}, out)
            return True
        if kind == "user":
            self._user(obj.get("message") or {}, out)
            return True
        if kind == "result":
            self._result(obj, out)
            return True
        return kind == "stream_event"  # partial messages (if asked for) add nothing here

    def _assistant(self, message: dict[str, Any], out: Parsed) -> None:
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        for block in content or ():
            if not isinstance(block, dict):
                continue
            btype = block.get("type")
            if btype == "text":
                out.lines.extend(text_lines(block.get("text")))
                if str(block.get("text") or "").strip():
                    out.facts.append(Said(str(block["text"])))
            elif btype == "thinking":
                thought = short(block.get("thinking"), 100)
                if thought:
                    out.lines.append(dim(f"… {thought}"))
            elif btype == "tool_use":
                name = str(block.get("name") or "?")
                params = obj_of(block.get("input"))
                path = next((self.rel(params[k]) for k in _PATH_KEYS if k in params), None)
                self.tools[str(block.get("id"))] = name
                line, summary = _tool_line(name, path, params)
                out.lines.append(line)
                out.facts.append(Tool(name, path, summary, writes=name in WRITE_TOOLS))

    def _user(self, message: dict[str, Any], out: Parsed) -> None:
        content = message.get("content")
        if not isinstance(content, list):
            return
        for block in content:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            body = block.get("content")
            if isinstance(body, list):
                body = "\n".join(
                    str(part.get("text", "")) for part in body if isinstance(part, dict)
                )
            text = short(body)
            if block.get("is_error"):
                out.lines.append(red(f"  ⎿ ✗ {text}"))
            elif text:
                out.lines.append(dim(f"  ⎿ {text}"))

    def _result(self, obj: dict[str, Any], out: Parsed) -> None:
        usage = obj_of(obj.get("usage"))
        inputs = (
            num(usage.get("input_tokens"))
            + num(usage.get("cache_creation_input_tokens"))
            + num(usage.get("cache_read_input_tokens"))
        )
        outputs = num(usage.get("output_tokens"))
        cost = obj.get("total_cost_usd")
        cost = float(cost) if isinstance(cost, int | float) else None
        turns = num(obj.get("num_turns"))
        out.facts.append(Usage(inputs, outputs, cost, turns))
        for denial in obj.get("permission_denials") or ():
            if not isinstance(denial, dict):
                continue
            tool = str(denial.get("tool_name") or "?")
            params = obj_of(denial.get("tool_input"))
            path = next((self.rel(params[k]) for k in _PATH_KEYS if k in params), None) or ""
            out.facts.append(Denied(tool, path))
            out.lines.append(red(f"✗ denied {tool} {path}".rstrip()))
        is_error = bool(obj.get("is_error"))
        subtype = str(obj.get("subtype") or "")
        out.facts.append(Ended(is_error, subtype))
        spent = f", ${cost:.4f}" if cost is not None else ""
        summary = f"■ {subtype or 'result'}: {turns} turns{spent}, {inputs} in / {outputs} out"
        if is_error:
            detail = short(obj.get("result") or obj.get("errors") or "")
            out.lines.append(red(f"{summary}{': ' + detail if detail else ''}"))
        else:
            out.lines.append(summary)


PRESET = Preset(
    name="claude",
    program="claude",
    prompt="stdin",
    argv=argv,
    parser=ClaudeParser,
    resumable=True,
    new_session_id=True,
)
