"""The Gemini CLI preset: headless ``gemini`` with ``--output-format stream-json``, and its parser.

JSONL events (Gemini CLI 0.61, recorded in ``tests/data/agent_streams/gemini-*``): ``init``
(``session_id``; ``model`` is ``"auto"``), ``message`` (``role``, ``content``; assistant text
comes in ``delta`` chunks, joined here into whole lines so a progress line split across chunks is
still found), ``tool_use`` (``tool_name``, ``tool_id``, ``parameters``), ``tool_result``
(``tool_id``, ``status``, ``output``, ``error{type,message}``), ``error``, ``result`` (``status``,
``error{message}`` when it failed, ``stats`` with tokens and ``models``: the real model names).
Everything else in the log is the CLI's stderr (colour warnings, start-up timings, stack traces):
shown dimmed, so it never drowns the agent's own lines.

Writes are restricted at the source (measured with 0.61): headless Gemini refuses every edit and
shell tool its policy engine does not allow (``--approval-mode auto_edit`` allows edits anywhere
in the workspace but still no shell, so an agent could not run its tests). The preset runs the
``default`` mode with a policy file (``--policy``, written under ``.wavedeck/policies/``) that
allows the shell, allows ``write_file``/``replace`` on the agent's own files only, and refuses
every other edit with a message saying why; a refusal is a ``tool_result`` with error type
``policy_violation``, reported as a denial. A shell command is not restricted: the watcher judges
what it writes. With ``restrict_writes = false``, or for an agent on an SSH host (the policy file
is on this machine), it runs ``--approval-mode auto_edit --allowed-tools run_shell_command``.
``--skip-trust``: 0.61 refuses to run headless in a folder it was never told to trust.
Follow-ups: ``--session-id <uuid>`` (wavedeck chooses it) then ``--resume <uuid>``.
One start at a time: 0.61 cleans its session folder at every start and deletes each session file
with no message yet, which is what the session of an agent started a moment earlier in the same
repository looks like (its follow-up then fails, "Invalid session identifier"). Its clean-up
cannot be turned off from outside (system settings must be root's), so the agents of this preset
on one machine (this one, or one SSH host) start one after another, each once its session's first
message is recorded (``session_recorded`` here; ``SESSION_ON_HOST``, the same test, on a host).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wavedeck.agents.presets.base import (
    Denied,
    Ended,
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
)
from wavedeck.agents.presets.spec import LaunchContext, Preset

WRITE_TOOLS = frozenset({"write_file", "replace", "edit", "write"})
SHELL_TOOLS = frozenset({"run_shell_command", "shell"})
_PATH_KEYS = ("file_path", "absolute_path", "path", "dir_path")
_API_ERROR = re.compile(r"^\[API Error: (.*)\]$", re.S)


def _pattern(cwd: Path, owned: tuple[str, ...]) -> str:
    """The policy's regular expression for the ``file_path`` of an owned file: absolute (under
    the agent's folder), ``./``-relative or relative; a folder entry covers what is beneath it.
    No nested quantifier: Gemini refuses a pattern it deems a ReDoS risk."""
    paths = "|".join(re.escape(p) + ('[^"]*' if p.endswith("/") else "") for p in owned)
    return f'"file_path":"({re.escape(str(cwd).rstrip("/") + "/")}|\\./)?({paths})"'


def policy(cwd: Path, owned: tuple[str, ...]) -> str:
    """The policy file (TOML) restricting edits to ``owned``; the shell is allowed."""
    files = ", ".join(owned) if owned else "(none)"
    rules = [
        ("run_shell_command", None, "allow", 100, None),
        # A ".." anywhere in the path is refused before anything else is considered.
        ('["write_file", "replace"]', '"file_path":"[^"]*\\.\\.', "deny", 300, "no '..'"),
        ('["write_file", "replace"]', ".", "deny", 100, f"you may edit only {files}"),
    ]
    if owned:
        rules.insert(1, ('["write_file", "replace"]', _pattern(cwd, owned), "allow", 200, None))
    out = ["# wavedeck: this agent's tool policy (written at each launch)\n"]
    for tool, args, decision, priority, why in rules:
        out.append("[[rule]]\n")
        out.append(f"toolName = {tool if tool.startswith('[') else json.dumps(tool)}\n")
        if args is not None:
            out.append(f"argsPattern = {json.dumps(args)}\n")
        out.append(f'decision = "{decision}"\npriority = {priority}\n')
        if why is not None:
            message = f"wavedeck: {why}: another agent owns the rest (a wave plan)."
            out.append(f"denyMessage = {json.dumps(message)}\n")
        out.append("\n")
    return "".join(out)


def session_recorded(state: Sequence[Path], session_id: str) -> bool:
    """Whether Gemini's session file for ``session_id`` (``tmp/<project>/chats`` in its state
    folder, ``~/.gemini``) holds a message: then another Gemini's start-up clean-up keeps it."""
    for folder in state:
        for path in folder.glob(f"tmp/*/chats/session-*-{session_id[:8]}.jsonl"):
            try:
                text = path.read_text("utf-8", errors="replace")
            except OSError:
                continue
            if session_id in text and re.search(r'"type":\s*"(user|gemini)"', text):
                return True
    return False


# ``session_recorded`` on an SSH host (``Preset.session_on_host``): the same files, the same
# test, in sh there ("$@": its state folders; the session id: $WAVEDECK_SESSION).
SESSION_ON_HOST = r"""short=$(printf %.8s "$WAVEDECK_SESSION")
for d in "$@"; do
  for f in "$d"/tmp/*/chats/session-*-"$short".jsonl; do
    [ -f "$f" ] || continue
    grep -qF -e "$WAVEDECK_SESSION" "$f" && grep -Eq '"type":[[:space:]]*"(user|gemini)"' "$f" && exit 0
  done
done
exit 1"""


def argv(ctx: LaunchContext) -> list[str]:
    out = [ctx.program, "--output-format", "stream-json", "--skip-trust"]
    if ctx.restrict_writes and ctx.local:
        folder = ctx.wavedeck_dir / "policies"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{ctx.agent_id}.gemini.toml"
        path.write_text(policy(ctx.cwd, ctx.owned), "utf-8")
        out += ["--approval-mode", "default", "--policy", str(path)]
    else:
        out += ["--approval-mode", "auto_edit", "--allowed-tools", "run_shell_command"]
    if ctx.resume:
        out += ["--resume", ctx.resume]
    elif ctx.session_id:
        out += ["--session-id", ctx.session_id]
    return [*out, *ctx.extra]


def _error_message(error: Any) -> str:
    """The message of a failed run: the API's own message when Gemini wraps an API error body
    (``[API Error: {"error": {"message": ...}}]``)."""
    message = error.get("message") if isinstance(error, dict) else error
    text = str(message or "")
    found = _API_ERROR.match(text.strip())
    if found:
        try:
            inner = json.loads(found.group(1))
        except ValueError:
            inner = None
        inner_error = obj_of(inner).get("error") if isinstance(inner, dict) else None
        if isinstance(inner_error, dict) and isinstance(inner_error.get("message"), str):
            return short(inner_error["message"])
    return short(text)


class GeminiParser(JsonStreamParser):
    """``gemini --output-format stream-json`` lines -> pane lines and facts."""

    def __init__(self, cwd: Path | None = None) -> None:
        super().__init__(cwd)
        self.pending = ""  # assistant text received without its end of line yet
        self.message = ""  # the current assistant message, whole
        self.tools = {}  # tool_id -> (name, path)
        self.turns = 0  # model answers: the first output after the start or a tool result
        self.answering = False

    def feed(self, line: str) -> Parsed:
        if not line.lstrip().startswith("{"):
            # Not the JSON stream: the CLI's stderr (warnings, timings, stack traces).
            return Parsed([dim(line)] if line.strip() else [line])
        return super().feed(line)

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

    def _answer(self) -> None:
        if not self.answering:
            self.turns += 1
            self.answering = True

    def event(self, obj: dict[str, Any], out: Parsed) -> bool:
        kind = obj.get("type")
        if kind == "message":
            if obj.get("role") != "assistant":
                return True  # the prompt echoed back: already in the prompt file
            self._answer()
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
                self.turns, self.answering = 0, False
                out.facts.append(Session(session, str(obj.get("model") or "")))
                out.lines.append(dim(f"● session {session} {obj.get('model') or ''}".rstrip()))
        elif kind == "tool_use":
            self._tool_use(obj, out)
        elif kind == "tool_result":
            self._tool_result(obj, out)
        elif kind == "error":
            out.lines.append(red(f"✗ {short(obj.get('message'))}"))
        elif kind == "result":
            self._result(obj, out)
        else:
            return False
        return True

    def _tool_use(self, obj: dict[str, Any], out: Parsed) -> None:
        self._answer()
        name = str(obj.get("tool_name") or "?")
        params = obj_of(obj.get("parameters"))
        path = next((self.rel(params[k]) for k in _PATH_KEYS if k in params), None)
        self.tools[str(obj.get("tool_id"))] = (name, path)
        if name in SHELL_TOOLS:
            command = short(params.get("command"))
            out.lines.append(f"$ {command}")
            out.facts.append(Tool(name, None, command, command=str(params.get("command") or "")))
            return
        writes = name in WRITE_TOOLS
        out.lines.append(f"{'✎' if writes else '→'} {name} {path or ''}".rstrip())
        # Printed before the tool runs: the write is attributed before the watcher sees it.
        out.facts.append(Tool(name, path, f"{name} {path or ''}".strip(), writes))

    def _tool_result(self, obj: dict[str, Any], out: Parsed) -> None:
        self.answering = False  # the model answers the result next: a new turn
        name, path = self.tools.get(str(obj.get("tool_id")), ("?", None))
        if obj.get("status") != "error":
            if short(obj.get("output")):
                out.lines.append(dim(f"  ⎿ {short(obj.get('output'))}"))
            return
        error = obj_of(obj.get("error"))
        message = short(error.get("message") or obj.get("output"))
        if name in WRITE_TOOLS and path:
            out.facts.append(Unwritten(path))
        if error.get("type") == "policy_violation":
            out.facts.append(Denied(name, path or ""))
            out.lines.append(red(f"✗ denied {name} {path or ''}".rstrip() + f": {message}"))
        else:
            out.lines.append(red(f"  ⎿ ✗ {message}"))

    def _result(self, obj: dict[str, Any], out: Parsed) -> None:
        stats = obj_of(obj.get("stats"))
        inputs, outputs = num(stats.get("input_tokens")), num(stats.get("output_tokens"))
        out.facts.append(Usage(inputs, outputs, None, self.turns))
        status = str(obj.get("status") or "")
        failed = status not in ("", "success")
        detail = _error_message(obj.get("error")) if failed else ""
        out.facts.append(Ended(failed, status, detail))
        # "auto" in init: the models really used are the keys of stats.models.
        used = obj_of(stats.get("models"))
        models = [str(m) for m, u in used.items() if num(obj_of(u).get("total_tokens"))] or [
            str(m) for m in used
        ]
        names = f" ({', '.join(models)})" if models else ""
        line = f"■ {status or 'result'}: {self.turns} turns, {inputs} in / {outputs} out{names}"
        if failed:
            out.lines.append(red(f"{line}: {detail}" if detail else line))
        else:
            out.lines.append(line)


PRESET = Preset(
    name="gemini",
    program="gemini",
    prompt="stdin",
    argv=argv,
    parser=GeminiParser,
    resumable=True,
    new_session_id=True,
    tool_lag_s=1.0,
    session_recorded=session_recorded,
    session_on_host=SESSION_ON_HOST,
    one_at_a_time="its start-up may delete that session: a follow-up would then fail",
)
