"""The opencode preset: ``opencode run --format json``, and its parser.

JSONL events (opencode 1.18, recorded in ``tests/data/agent_streams/opencode-*``), each with a
``sessionID`` and a ``part``: ``step_start``, ``text`` (``part.text``), ``tool_use`` (printed once
the tool has finished: ``part.tool``, ``part.state{status,input,output,error}``), ``step_finish``
(``part.id``, ``part.tokens{input,output}``, ``part.cost``), ``error`` (``error.data.message``).
Its stderr shares the log: a permission it refuses on its own (``! permission requested:
external_directory (/elsewhere/*); auto-rejecting``) is a plain line, and the tool part then
ends with ``status: "error"``; opencode stops and exits 0 without an answer.

Writes are restricted at the source: opencode's ``edit`` permission (it covers every editing
tool) is given as ``OPENCODE_CONFIG_CONTENT`` (inline, so it travels to an SSH host): denied
everywhere, allowed on the agent's own files. A refused edit is a tool part whose error says a
rule prevents it. Both kinds of refusal are ``Denied`` (tool and path): the agent needs you.
The shell is not restricted: the watcher judges what it writes. Follow-ups: ``--session <id>``.
One start at a time: opencode migrates its database (``opencode.db`` in its data folder) on its
first start, and first starts at once race ("database is locked"); while that database does not
exist yet (``first_run``; ``FIRST_RUN_ON_HOST`` on an SSH host, where its database is), the
agents of this preset on one machine start each once the one before has reported its session
(so its database is ready); once it exists they start at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wavedeck.agents.presets.base import (
    Denied,
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

WRITE_TOOLS = frozenset({"edit", "write", "patch", "multiedit", "apply_patch"})
# opencode's words when its permissions refused a tool call (asked and auto-rejected, or a rule).
_REFUSED = ("rejected permission", "specified a rule which prevents")
_ASKED = re.compile(r"permission requested:\s*(\S+)\s*\((.*)\);\s*auto-rejecting")
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def config(ctx: LaunchContext) -> dict[str, Any]:
    """The inline configuration: edits allowed on the owned files only (the last matching
    pattern wins in opencode, so the catch-all comes first)."""
    rules: dict[str, str] = {"*": "deny"}
    for path in ctx.owned:
        rules[path + "*" if path.endswith("/") else path] = "allow"
    return {"permission": {"edit": rules}}


def env(ctx: LaunchContext) -> dict[str, str]:
    if not ctx.restrict_writes:
        return {}
    return {"OPENCODE_CONFIG_CONTENT": json.dumps(config(ctx))}


def argv(ctx: LaunchContext) -> list[str]:
    session = ["--session", ctx.resume] if ctx.resume else []
    return [ctx.program, "run", "--format", "json", *session, *ctx.extra]


class OpencodeParser(JsonStreamParser):
    """``opencode run --format json`` lines (and its stderr) -> pane lines and facts."""

    def __init__(self, cwd: Path | None = None) -> None:
        super().__init__(cwd)
        self.session: str | None = None
        # A refusal shows twice (a stderr line, then the tool part), in either order: each
        # side waiting for its match, so one refusal is one Denied.
        self.asked: list[tuple[str, str]] = []  # stderr refusals no tool part matched yet
        self.refused_parts = 0  # refused tool parts no stderr line matched yet

    def feed(self, line: str) -> Parsed:
        if not line.lstrip().startswith("{"):
            return self._plain(line)
        return super().feed(line)

    def _plain(self, line: str) -> Parsed:
        """A line of opencode's stderr."""
        found = _ASKED.search(_SGR.sub("", line))
        if found is None:
            return Parsed([line])
        permission, pattern = found.group(1), found.group(2)
        shown = red(f"✗ refused {permission} {pattern}")
        if self.refused_parts:
            self.refused_parts -= 1  # its tool part came first and was reported
            return Parsed([shown])
        self.asked.append((permission, pattern))
        return Parsed([shown])

    def flush(self) -> Parsed:
        out = Parsed()
        for permission, pattern in self.asked:  # refused with no tool part naming it
            out.facts.append(Denied(permission, pattern))
        self.asked = []
        return out

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
            self._tool(part, out)
        elif kind == "step_finish":
            tokens = obj_of(part.get("tokens"))
            cost = part.get("cost")
            cost = float(cost) if isinstance(cost, int | float) else None
            inputs, outputs = num(tokens.get("input")), num(tokens.get("output"))
            # Keyed by the part's id: a log read again counts each step once.
            out.facts.append(Usage(inputs, outputs, cost, 1, str(part.get("id") or "")))
            out.lines.append(dim(f"■ step: {inputs} in / {outputs} out"))
        elif kind == "error":
            error = obj.get("error")
            data = error.get("data") if isinstance(error, dict) else None
            message = (data or {}).get("message") if isinstance(data, dict) else None
            out.facts.append(Ended(True, "error", short(message or error)))
            out.lines.append(red(f"✗ {short(message or error)}"))
        else:
            return False
        return True

    def _tool(self, part: dict[str, Any], out: Parsed) -> None:
        name = str(part.get("tool") or "?")
        state = obj_of(part.get("state"))
        params = obj_of(state.get("input"))
        status = state.get("status")
        path = None
        if name == "bash":
            command = short(params.get("command"))
            out.lines.append(f"$ {command}")
            out.facts.append(Tool(name, None, command, command=str(params.get("command") or "")))
        else:
            path = self.rel(params.get("filePath") or params.get("path"))
            # Printed once the tool has finished: only a completed edit wrote anything.
            writes = name in WRITE_TOOLS and status == "completed"
            mark = "✎" if name in WRITE_TOOLS else "→"
            out.lines.append(f"{mark} {name} {path or ''}".rstrip())
            out.facts.append(Tool(name, path, f"{name} {path or ''}".strip(), writes))
        if status == "error":
            error = str(state.get("error") or "")
            if any(word in error for word in _REFUSED):
                self._refused(name, path or "", error, out)
            else:
                out.lines.append(red(f"  ⎿ ✗ {short(error)}"))
        elif short(state.get("output")):
            out.lines.append(dim(f"  ⎿ {short(state.get('output'))}"))

    def _refused(self, tool: str, path: str, error: str, out: Parsed) -> None:
        out.facts.append(Denied(tool, path))
        out.lines.append(red(f"✗ denied {tool} {path}".rstrip() + f": {short(error)}"))
        if "rejected permission" not in error:
            return  # refused by a rule: no stderr line comes with it
        if self.asked:
            self.asked.pop(0)  # the stderr line came first: this part names its path
        else:
            self.refused_parts += 1


# Its database, in its data folder ($XDG_DATA_HOME/opencode): ``opencode.db`` (``opencode-
# <channel>.db`` for a build of another channel), or $OPENCODE_DB (relative: to that folder).
DATABASES = "opencode*.db"


def session_reported(state: Sequence[Path], session_id: str) -> bool:
    """opencode reports its session (``sessionID``) once its database is ready: nothing more to
    check. Its first starts at once race on migrating that database ("database is locked")."""
    return True


def first_run(state: Sequence[Path], env: Mapping[str, str]) -> bool:
    """Whether opencode has no database yet (``env``: the agent's environment; ``state``: its
    folders from ``statedirs``, its data folder among them): its next start is a first run,
    which migrates it, and starts at once race. Measured with 1.18: any start (even ``opencode
    session list``) makes it, and each migration is recorded in it, so a later start at once with
    another only reads it. Its own ``:memory:`` database is each start's own: no race."""
    named = env.get("OPENCODE_DB")
    if named == ":memory:":
        return False
    if named:
        path = Path(named)
        return not any((folder / path).exists() for folder in state)  # absolute: itself
    return not any(any(folder.glob(DATABASES)) for folder in state)


# On an SSH host (``Preset.race_on_host``): ``first_run`` in sh there ("$@": its state folders,
# the host's environment with the agent's ``[agent] env``): exit 0 while no database exists.
FIRST_RUN_ON_HOST = """case ${OPENCODE_DB-} in
  :memory:) exit 1 ;;
  /*) [ -e "$OPENCODE_DB" ] && exit 1; exit 0 ;;
  ?*) for d in "$@"; do [ -e "$d/$OPENCODE_DB" ] && exit 1; done; exit 0 ;;
esac
for d in "$@"; do
  for f in "$d"/opencode*.db; do [ -e "$f" ] && exit 1; done
done
exit 0"""

# ``session_reported`` reads no state: the session id on the agent's stream is the evidence,
# wherever the agent runs.
SESSION_ON_HOST = "exit 0"

PRESET = Preset(
    name="opencode",
    program="opencode",
    prompt="stdin",
    argv=argv,
    parser=OpencodeParser,
    resumable=True,
    env=env,
    tool_lag_s=3.0,
    session_recorded=session_reported,
    one_at_a_time="on a machine where opencode never ran, two first starts at once can fail",
    starts_race=first_run,
    session_on_host=SESSION_ON_HOST,
    race_on_host=FIRST_RUN_ON_HOST,
)
