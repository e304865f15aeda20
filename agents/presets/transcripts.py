"""What a CLI's own session transcript says happened while the operator had the session.

An interactive session prints to the terminal, not to wavedeck's log, so what it did is read
afterwards from the transcript the CLI keeps of the session: the bytes appended to it during
the take-over. Two CLIs keep one wavedeck can read, and where:

- Claude Code: ``$CLAUDE_CONFIG_DIR`` (else ``~/.claude``) ``/projects/<cwd, every character
  but letters and digits made "-">/<session>.jsonl``: ``user`` entries (what was typed),
  ``assistant`` entries (``message.usage`` per API message, repeated on each content block of
  one message: counted once by ``message.id``; ``tool_use`` blocks naming the files written),
  and ``cost-state`` (the session's cost so far, ``totalCostUSD``);
- Codex: ``$CODEX_HOME`` (else ``~/.codex``) ``/sessions/YYYY/MM/DD/rollout-*-<thread>.jsonl``:
  ``event_msg`` entries: ``token_count`` (each turn's ``last_token_usage``) and
  ``item_completed`` items (``UserMessage``, ``AgentMessage``, a completed ``FileChange`` naming
  the files it changed; the shapes of codex-cli 0.171).

``TRANSCRIPTS`` gives each its ``Place`` (an environment variable or a folder under the home,
and a glob relative to it, read here or on an SSH host by a shell), and ``read`` turns the
appended bytes into ``SessionFacts``. Other CLIs: ``None``, and the attach record says that
the CLI reports nothing wavedeck can read.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wavedeck.agents.presets.base import num, obj_of
from wavedeck.agents.presets.claude import WRITE_TOOLS

# Session ids are put into a path (and a remote glob): only what a uuid or a thread id holds.
SESSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
COST_WINDOW = 1 << 20  # Claude's last cost-state before the take-over lies in the file's tail


@dataclass(frozen=True)
class SessionFacts:
    """What the transcript says happened during the take-over."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    turns: int = 0
    edited: tuple[str, ...] = ()  # files its write tools named (relative to the folder inside)
    said: tuple[str, ...] = ()  # what the operator typed, in order
    answer: str = ""  # the last thing the CLI answered


@dataclass(frozen=True)
class Place:
    """Where a CLI keeps a session's transcript: beneath ``$env`` (else ``~/home_rel``), the
    glob ``pattern`` (``{slug}``: the working folder as a path component, ``{session}``)."""

    env: str
    home_rel: str
    pattern: str

    def relative(self, cwd: str, session: str) -> str:
        """The glob beneath the folder (``ValueError`` for a session id that is not one)."""
        if not SESSION_RE.match(session):
            raise ValueError(f"not a session id: {session!r}")
        return self.pattern.format(slug=slug(cwd), session=session)

    def local(self, environ: Mapping[str, str], cwd: str, session: str) -> str | None:
        """The transcript on this machine for an agent with ``environ`` in ``cwd``, if any."""
        base = environ.get(self.env) or os.path.join(
            environ.get("HOME") or os.path.expanduser("~"), self.home_rel
        )
        found = sorted(glob.glob(os.path.join(glob.escape(base), self.relative(cwd, session))))
        return found[-1] if found else None

    def shell(self, cwd: str, session: str) -> str:
        """A POSIX sh word list naming the transcript on a host (after the agent's exports):
        the base as ``"${ENV:-$HOME/rel}"`` and the glob unquoted (checked characters only)."""
        rel = self.relative(cwd, session)
        if not re.fullmatch(r"[A-Za-z0-9_./*-]+", rel) or not re.fullmatch(r"[A-Z_]+", self.env):
            raise ValueError(f"cannot name {rel!r} in a shell")
        return f'"${{{self.env}:-$HOME/{self.home_rel}}}"/{rel}'


def slug(cwd: str) -> str:
    """Claude Code's folder name for a working folder: every other character made ``-``."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


def _lines(data: bytes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for raw in data.split(b"\n"):
        raw = raw.strip()
        if not raw.startswith(b"{"):
            continue  # a partial first line (read from an offset) or a torn last one
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(b.get("text", "")) for b in content if isinstance(b, dict) and "text" in b
        )
    return ""


def _rel(path: Any, cwd: str) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    prefix = cwd.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def claude_cost(data: bytes) -> float | None:
    """The session's cost so far: the last ``cost-state`` in ``data`` (None when none)."""
    cost = None
    for obj in _lines(data):
        if obj.get("type") == "cost-state" and isinstance(obj.get("totalCostUSD"), int | float):
            cost = float(obj["totalCostUSD"])
    return cost


def read_claude(appended: bytes, cwd: str, cost_before: float | None) -> SessionFacts:
    """Claude Code's transcript entries appended during the take-over."""
    usage: dict[str, tuple[int, int]] = {}
    edited: list[str] = []
    said: list[str] = []
    answer = ""
    for obj in _lines(appended):
        kind, message = obj.get("type"), obj_of(obj.get("message"))
        if kind == "user" and not obj.get("isMeta") and isinstance(message.get("content"), str):
            said.append(message["content"].strip())
        elif kind == "assistant":
            ident = str(message.get("id") or len(usage))
            counts = obj_of(message.get("usage"))
            inputs = sum(
                num(counts.get(k))
                for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
            )
            usage[ident] = (inputs, num(counts.get("output_tokens")))
            for block in message.get("content") or []:
                block = obj_of(block)
                if block.get("type") == "text" and str(block.get("text", "")).strip():
                    answer = str(block["text"]).strip()
                elif block.get("type") == "tool_use" and block.get("name") in WRITE_TOOLS:
                    rel = _rel(obj_of(block.get("input")).get("file_path"), cwd)
                    if rel and rel not in edited:
                        edited.append(rel)
    cost_after = claude_cost(appended)
    cost = None
    if cost_after is not None:
        # cost-state is the session's running total: the take-over's share is the growth (a
        # CLI that restarted its count reports the take-over's alone).
        before = cost_before or 0.0
        cost = cost_after - before if cost_after >= before else cost_after
    return SessionFacts(
        input_tokens=sum(i for i, _ in usage.values()),
        output_tokens=sum(o for _, o in usage.values()),
        cost_usd=cost,
        turns=len(said),
        edited=tuple(edited),
        said=tuple(s for s in said if s),
        answer=answer,
    )


def read_codex(appended: bytes, cwd: str, cost_before: float | None = None) -> SessionFacts:
    """Codex's rollout entries appended during the take-over (tokens only: Codex reports no
    cost)."""
    inputs = outputs = turns = 0
    edited: list[str] = []
    said: list[str] = []
    answer = ""
    for obj in _lines(appended):
        payload = obj_of(obj.get("payload"))
        kind = payload.get("type")
        if obj.get("type") != "event_msg":
            continue
        if kind == "token_count":
            last = obj_of(obj_of(payload.get("info")).get("last_token_usage"))
            inputs += num(last.get("input_tokens"))
            outputs += num(last.get("output_tokens"))
            continue
        item = obj_of(payload.get("item")) if kind == "item_completed" else {}
        if item.get("type") == "UserMessage":
            said.append(_text(item.get("content")).strip())
            turns += 1
        elif item.get("type") == "AgentMessage":
            answer = _text(item.get("content")).strip() or answer
        elif item.get("type") == "FileChange" and item.get("status") == "completed":
            for path in obj_of(item.get("changes")):
                rel = _rel(path, cwd)
                if rel and rel not in edited:
                    edited.append(rel)
    return SessionFacts(
        input_tokens=inputs,
        output_tokens=outputs,
        turns=turns,
        edited=tuple(edited),
        said=tuple(s for s in said if s),
        answer=answer,
    )


Reader = Callable[[bytes, str, float | None], SessionFacts]
TRANSCRIPTS: dict[str, tuple[Place, Reader]] = {
    "claude": (
        Place("CLAUDE_CONFIG_DIR", ".claude", "projects/{slug}/{session}.jsonl"),
        read_claude,
    ),
    "codex": (
        Place("CODEX_HOME", ".codex", "sessions/*/*/*/rollout-*-{session}.jsonl"),
        read_codex,
    ),
}


def cost_before(preset: str, tail: bytes) -> float | None:
    """What the transcript's tail said the session cost before the take-over (Claude)."""
    return claude_cost(tail) if preset == "claude" else None
