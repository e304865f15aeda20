"""The Claude Code preset: ``claude -p`` with stream-json output, and its parser.

Stream events (``--output-format stream-json --verbose``): ``system`` (subtype ``init``:
``session_id``, ``model``), ``assistant`` (``message.content``: ``text``, ``thinking``,
``tool_use{name,input}``), ``user`` (``tool_result`` blocks), ``result`` (``subtype``,
``is_error``, ``num_turns``, ``total_cost_usd``, ``usage``, ``permission_denials``).

Writes are restricted at the source with settings passed inline with ``--settings``: in the
``default`` permission mode a headless ``claude -p`` refuses every tool call no rule allows, so
allowing ``Edit(./path)`` for each owned file (Edit rules cover every file-editing tool) and the
read-only tools and Bash leaves every other edit refused, reported in ``permission_denials``. Bash
is allowed (agents run tests), so a write through a shell is not refused: the watcher judges it.

The fast paths read single fields with ``wavedeck.agents.presets.jsonpeek``; any line of
another shape takes the full parse.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from wavedeck.agents.presets.base import (
    DIM,
    RED,
    RESET,
    SHORT,
    Denied,
    Ended,
    Fact,
    JsonStreamParser,
    Parsed,
    Session,
    Tool,
    Unwritten,
    Usage,
    dim,
    num,
    obj_of,
    red,
    short,
    text_lines,
)
from wavedeck.agents.presets.jsonpeek import array_after, last_scalar, string_start, value_after
from wavedeck.agents.presets.spec import LaunchContext, Preset

WRITE_TOOLS = frozenset({"Edit", "Write", "MultiEdit", "NotebookEdit"})
# Fast paths: Claude Code writes compact JSON with "type" first. The lines a pane needs little
# of are read without parsing all of them (an init line is ~3 KB of tool and plugin lists; a
# message's usage and ids are most of its line); any other shape takes the full parse.
_ASSISTANT = '{"type":"assistant",'
_USER = '{"type":"user",'
_SYSTEM = '{"type":"system",'
_CONTENT = '"content":['
_CONTENT_NEAR = 4000  # a message's content array starts within this of the line's start
_INIT_ID = re.compile(r'"session_id":"([^"\\]+)"')
_INIT_MODEL = re.compile(r'"model":"([^"\\]*)"')
_USE_ID = re.compile(r'"tool_use_id":"([^"\\]+)"')
# A tool result whose content is a string: its start (up to the first escaped newline, at most
# ~600 characters, never cutting an escape) is all the pane shows.
_RESULT = '"type":"tool_result","content":"'
_NEAR = 4096  # an error result is short: its is_error flag lies within this of the start
READ_TOOLS = ("Read", "Glob", "Grep", "LS", "TodoWrite", "Task", "WebSearch", "WebFetch")
_PATH_KEYS = ("file_path", "notebook_path", "path")


def _rule_path(path: str) -> str:
    # Rules read paths as gitignore patterns relative to the working folder ("./"); a folder
    # entry of the plan allows everything under it, a glob entry is kept as the glob it is.
    return "./" + (path + "**" if path.endswith("/") else path)


def settings(owned: tuple[str, ...]) -> str:
    """The ``--settings`` JSON (given inline: nothing to write, and it travels to an SSH host
    with the argv) allowing edits of the owned files only."""
    allow = [*READ_TOOLS, "Bash", *(f"Edit({_rule_path(p)})" for p in owned)]
    return json.dumps({"permissions": {"allow": allow, "defaultMode": "default"}})


def argv(ctx: LaunchContext) -> list[str]:
    out = [ctx.program, "-p", "--output-format", "stream-json", "--verbose"]
    if ctx.restrict_writes:
        out += ["--permission-mode", "default", "--settings", settings(ctx.owned)]
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


def _tool_line(
    name: str,
    path: str | None,
    params: dict[str, Any],
    writes: frozenset[str] = WRITE_TOOLS,
    shell: str = "Bash",
) -> tuple[str, str]:
    """(pane line, summary) for a tool call (``writes``, ``shell``: the CLI's tool names)."""
    if name in writes:
        return f"✎ {name} {path or '?'}", f"{name} {path or ''}".strip()
    if name == shell:
        command = short(params.get("command"))
        return f"$ {command}", command
    if path is not None:
        return f"→ {name} {path}", f"{name} {path}"
    what = params.get("pattern") or params.get("url") or params.get("query") or ""
    what = short(what) if what else ""
    return f"→ {name} {what}".rstrip(), f"{name} {what}".strip()


class ClaudeParser(JsonStreamParser):
    """``claude -p --output-format stream-json --verbose`` lines -> pane lines and facts."""

    write_tools = WRITE_TOOLS  # the CLI's file-editing tools (Qwen Code's are others)
    shell_tool = "Bash"

    def __init__(self, cwd: Path | None = None) -> None:
        super().__init__(cwd)
        self.tools = {}  # tool_use id -> (name, path)
        self.denied: set[str] = set()  # tool_use ids already reported refused

    def feed(self, line: str) -> Parsed:
        out = Parsed()
        self.feed_into(line, out.lines, out.facts)
        return out

    def feed_into(self, line: str, lines: list[str], facts: list[Fact]) -> None:
        if not line.endswith("}"):
            lines.append(line)  # not one whole object (truncated, split, plain text): as it came
            return
        if line.startswith(_USER):
            if self._user_fast(line, lines, facts):
                return
        elif line.startswith(_ASSISTANT):
            content = array_after(line, _CONTENT, _CONTENT_NEAR)
            if content is not None:
                out = Parsed(lines, facts)
                try:
                    self._assistant({"content": content}, out)
                except (AttributeError, KeyError, TypeError, ValueError, IndexError):
                    lines.append(line)
                return
        elif not line.startswith('{"type":"') and self._result_fast(line, Parsed(lines, facts)):
            return
        elif line.startswith(_SYSTEM):
            head = line[:60]
            if '"subtype":"init"' in head:
                found = _INIT_ID.search(line)
                if found is not None:
                    model = _INIT_MODEL.search(line)
                    self._init(
                        found.group(1), model.group(1) if model else "", Parsed(lines, facts)
                    )
                    return
            elif '"subtype":"permission_denied"' not in head:
                return  # hooks, status, thinking-token estimates: noise in a pane
        parsed = JsonStreamParser.feed(self, line)
        lines.extend(parsed.lines)
        facts.extend(parsed.facts)

    def _result_fast(self, line: str, out: Parsed) -> bool:
        """A run's result read from its few fields (its line is mostly per-model usage and
        statistics); False when it is not a result of the expected shape."""
        if ',"type":"result",' not in line:
            return False
        try:
            obj: dict[str, Any] = {
                "subtype": last_scalar(line, '"subtype":'),
                "is_error": last_scalar(line, '"is_error":'),
                "num_turns": last_scalar(line, '"num_turns":'),
                "total_cost_usd": last_scalar(line, '"total_cost_usd":', None),
                "uuid": value_after(line, ',"uuid":"'),
                "usage": value_after(line, '"usage":{'),
                "permission_denials": value_after(line, '"permission_denials":['),
            }
            if obj["is_error"]:
                obj["result"] = value_after(line, '"result":"')
        except (KeyError, ValueError):
            return False
        self._result(obj, out)
        return True

    def _failed_write(self, use: str, facts: list[Fact]) -> None:
        """A write tool call whose result is an error wrote nothing: not its path's writer."""
        name, path = self.tools.get(use, ("", None))
        if name in self.write_tools and path:
            facts.append(Unwritten(path))

    def _user_fast(self, line: str, lines: list[str], facts: list[Fact] | None = None) -> bool:
        """A tool result's first line, read without parsing the result (often a whole file,
        twice: the message and ``tool_use_result``); False when the line is not that shape."""
        at = line.find(_RESULT, 0, 400)
        # Looked for near the start only: what follows is the result (a file, often) twice.
        if at < 0 or line.find('"type":"tool_result"', at + len(_RESULT), at + _NEAR) >= 0:
            return False
        start = at + len(_RESULT)
        snippet, ended = string_start(line, start)
        if snippet is None:
            return False
        first = snippet.strip()
        if not first and not ended:
            return False  # the first line is blank: the full parse finds the first one
        more = not ended or len(first) > SHORT
        shown = (first[:SHORT] + "…") if more else first
        if line.find('"is_error":true', at, at + _NEAR) >= 0:
            lines.append(f"{RED}  ⎿ ✗ {shown}{RESET}")
            use = _USE_ID.search(line, 0, at + _NEAR)
            if use is not None and facts is not None:
                self._failed_write(use.group(1), facts)
        elif shown:
            lines.append(f"{DIM}  ⎿ {shown}{RESET}")
        return True

    def _init(self, session: str, model: str, out: Parsed) -> None:
        out.facts.append(Session(session, model))
        out.lines.append(dim(f"● session {session} {model}".rstrip()))

    def event(self, obj: dict[str, Any], out: Parsed) -> bool:
        kind = obj.get("type")
        if kind == "system":
            if obj.get("subtype") == "init" and isinstance(obj.get("session_id"), str):
                self._init(obj["session_id"], str(obj.get("model") or ""), out)
            elif obj.get("subtype") == "permission_denied":
                use = str(obj.get("tool_use_id") or "")
                tool, path = self.tools.get(use, (str(obj.get("tool_name") or "?"), None))
                self._denied(use, tool, path or "", out)
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
                self.said = said if (said := str(block.get("text") or "")).strip() else self.said
            elif btype == "thinking":
                thought = short(block.get("thinking"), 100)
                if thought:
                    out.lines.append(dim(f"… {thought}"))
            elif btype == "tool_use":
                name = str(block.get("name") or "?")
                params = obj_of(block.get("input"))
                path = None
                for key in _PATH_KEYS:
                    if key in params:
                        path = self.rel(params[key])
                        break
                self.tools[str(block.get("id"))] = (name, path)
                line, summary = _tool_line(name, path, params, self.write_tools, self.shell_tool)
                out.lines.append(line)
                command = str(params.get("command") or "") if name == self.shell_tool else ""
                writes = name in self.write_tools
                out.facts.append(Tool(name, path, summary, writes=writes, command=command))

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
                self._failed_write(str(block.get("tool_use_id") or ""), out.facts)
            elif text:
                out.lines.append(dim(f"  ⎿ {text}"))

    def _denied(self, use: str, tool: str, path: str, out: Parsed) -> None:
        """A refused tool call, reported once (live, and again in the run's result)."""
        if use and use in self.denied:
            return
        self.denied.add(use)
        if tool in self.write_tools and path:
            out.facts.append(Unwritten(path))  # announced as a write, refused: not its writer
        out.facts.append(Denied(tool, path))
        out.lines.append(red(f"✗ denied {tool} {path}".rstrip()))

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
        out.facts.append(Usage(inputs, outputs, cost, turns, str(obj.get("uuid") or "")))
        for denial in obj.get("permission_denials") or ():
            if not isinstance(denial, dict):
                continue
            tool = str(denial.get("tool_name") or "?")
            params = obj_of(denial.get("tool_input"))
            path = next((self.rel(params[k]) for k in _PATH_KEYS if k in params), None) or ""
            self._denied(str(denial.get("tool_use_id") or ""), tool, path, out)
        is_error = bool(obj.get("is_error"))
        subtype = str(obj.get("subtype") or "")
        detail = short(obj.get("result") or obj.get("errors") or "") if is_error else ""
        out.facts.append(Ended(is_error, subtype, detail))
        spent = f", ${cost:.4f}" if cost is not None else ""
        summary = f"■ {subtype or 'result'}: {turns} turns{spent}, {inputs} in / {outputs} out"
        if is_error:
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
    tool_lag_s=1.0,
)
