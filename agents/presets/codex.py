"""The Codex CLI preset: ``codex exec --json``, and its parser.

JSONL events (codex-rs/exec ``ThreadEvent``): ``thread.started{thread_id}``, ``turn.started``,
``turn.completed{usage{input_tokens,cached_input_tokens,output_tokens}}``,
``turn.failed{error{message}}``, ``item.started|updated|completed{item}`` with items
``agent_message{text}``, ``reasoning{text}``, ``command_execution{command,aggregated_output,
exit_code,status}``, ``file_change{changes[{path,kind}],status}``, ``mcp_tool_call{server,tool}``,
``web_search{query}``, ``todo_list{items}``, ``error{message}``; and a top-level ``error``.

Codex sandboxes writes to the workspace (``-s workspace-write``), not to single files: ownership is judged by the watcher (and, under ``[agent] sandbox = "landlock"``, by the kernel), with each ``file_change`` naming its agent exactly.
"""

from __future__ import annotations

import json
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


def argv(ctx: LaunchContext) -> list[str]:
    # Checked against codex-cli 0.171.0 (tests/data/agent_streams/codex-*.meta.json): the
    # sandbox is "-s workspace-write" ("--full-auto" is gone), and "exec resume" takes no "-s":
    # the sandbox goes in as a config override there. "-": the prompt is read from stdin.
    common = ["--json", "--skip-git-repo-check"]
    # Inside wavedeck's Landlock domain Codex's own sandbox cannot start (bubblewrap sets up
    # mounts, which a Landlock domain may not change; its deprecated Landlock backend fails
    # too): the kernel domain holds its writes to the agent's files instead, and Codex runs
    # its tools unsandboxed (so their network is not cut off: said in the README).
    mode = "danger-full-access" if ctx.sandboxed else "workspace-write"
    if ctx.resume:
        sandbox = ["-c", f'sandbox_mode="{mode}"']
        return [ctx.program, "exec", "resume", *common, *sandbox, *ctx.extra, ctx.resume, "-"]
    return [ctx.program, "exec", *common, "-s", mode, *ctx.extra, "-"]


class CodexParser(JsonStreamParser):
    """``codex exec --json`` lines -> pane lines and facts."""

    def __init__(self, cwd: Path | None = None) -> None:
        super().__init__(cwd)

    def event(self, obj: dict[str, Any], out: Parsed) -> bool:
        kind = obj.get("type")
        if kind == "thread.started":
            thread = str(obj["thread_id"])
            out.facts.append(Session(thread))
            out.lines.append(dim(f"● thread {thread}"))
        elif kind == "turn.started":
            pass
        elif kind == "turn.completed":
            usage = obj.get("usage") or {}
            inputs, outputs = num(usage.get("input_tokens")), num(usage.get("output_tokens"))
            out.facts.append(Usage(inputs, outputs, None, 1))
            out.facts.append(Ended(False, "turn.completed"))
            out.lines.append(f"■ turn completed: {inputs} in / {outputs} out")
        elif kind == "turn.failed":
            message = _message((obj.get("error") or {}).get("message"))
            out.facts.append(Ended(True, "turn.failed"))
            out.lines.append(red(f"■ turn failed: {message}"))
        elif kind == "error":
            out.lines.append(red(f"✗ {_message(obj.get('message'))}"))
        elif isinstance(kind, str) and kind.startswith("item."):
            return self._item(kind[5:], obj["item"], out)
        else:
            return False
        return True

    def _item(self, phase: str, item: dict[str, Any], out: Parsed) -> bool:
        itype = item.get("type") or item.get("item_type")
        if itype == "agent_message":
            if phase == "completed":
                out.lines.extend(text_lines(item.get("text")))
                self.said = said if (said := str(item.get("text") or "")).strip() else self.said
        elif itype == "reasoning":
            if phase == "completed" and short(item.get("text"), 100):
                out.lines.append(dim(f"… {short(item.get('text'), 100)}"))
        elif itype == "command_execution":
            command = short(item.get("command"))
            if phase == "started":
                out.lines.append(f"$ {command}")
                whole = item.get("command")
                whole = " ".join(map(str, whole)) if isinstance(whole, list) else str(whole or "")
                out.facts.append(Tool("shell", None, command, command=whole))
            elif phase == "completed":
                code = item.get("exit_code")
                result = short(item.get("aggregated_output"))
                line = f"  ⎿ exit {code}" + (f": {result}" if result else "")
                out.lines.append(red(line) if code not in (0, None) else dim(line))
        elif itype == "file_change":
            if phase == "completed":
                for change in item.get("changes") or ():
                    path = self.rel(change.get("path")) or "?"
                    verb = str(change.get("kind") or "update")
                    out.lines.append(f"✎ {verb} {path}")
                    out.facts.append(Tool("file_change", path, f"{verb} {path}", writes=True))
                if item.get("status") == "failed":
                    out.lines.append(red("  ⎿ ✗ patch failed"))
        elif itype == "mcp_tool_call":
            if phase == "started":
                name = f"{item.get('server')}.{item.get('tool')}"
                out.lines.append(f"⚙ {name}")
                out.facts.append(Tool(name, None, name))
        elif itype == "web_search":
            if phase == "started":
                out.lines.append(f"→ search {short(item.get('query'))}")
        elif itype == "todo_list":
            if phase != "updated":
                for todo in item.get("items") or ():
                    box = "☑" if todo.get("completed") else "☐"
                    out.lines.append(f"{box} {short(todo.get('text'))}")
        elif itype == "error":
            out.lines.append(red(f"✗ {short(item.get('message'))}"))
        else:
            return False
        return True


def _message(text: Any) -> str:
    """An error message; the API's own message when it is an API error body as JSON text."""
    if isinstance(text, str) and text.startswith("{"):
        try:
            inner = json.loads(text)
        except ValueError:
            inner = None
        if isinstance(inner, dict):
            error = obj_of(inner.get("error"))
            if isinstance(error.get("message"), str):
                return short(error["message"])
    return short(text)


PRESET = Preset(
    name="codex",
    program="codex",
    prompt="stdin",
    argv=argv,
    parser=CodexParser,
    resumable=True,
    tool_lag_s=3.0,
    own_paths=("/.agents", "/.aws", "/.codex"),
)
