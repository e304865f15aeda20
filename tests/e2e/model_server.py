"""A scripted Anthropic Messages API on 127.0.0.1 for driving the real Claude Code CLI offline.

The model is the only double in the real-CLI tests: the agent CLI, its tools, the processes, the
git repository are real. A script maps a *key* (a string that appears in the conversation's first
user message, e.g. the agent id in its prompt) to a list of turns; each turn is what the "model"
answers next: a list of content blocks (``Text``, ``ToolUse``) or an ``Error`` (an HTTP error
body). The turn index of a request is the number of assistant messages already in its
``messages``, so a conversation advances once per tool round trip, whatever else the CLI asks on
the side. Requests that match no key (Claude Code's side questions: titles, topic checks, quota
probes) get a one-word answer. Every request is recorded for assertions, and streaming requests
are answered with the SSE event sequence of the real API (``message_start``,
``content_block_start``/``content_block_delta``/``content_block_stop``, ``message_delta``,
``message_stop``), tool inputs arriving as ``input_json_delta`` fragments.

The HTTP plumbing is ``scripted_http``'s (stdlib ``http.server`` in a thread): a test starts it
with ``ModelServer(script)`` as a context manager and hands ``server.env()`` to the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.scripted_http import (
    Hold,
    Request,
    ScriptedHandler,
    ScriptedServer,
    estimate_tokens,
)

__all__ = ["Error", "Hold", "ModelServer", "Request", "Script", "Text", "Thinking", "ToolUse"]

MODEL = "claude-sonnet-4-5-20250929"
TEXT_CHUNK = 24  # characters per text_delta, so the CLI really assembles a stream
JSON_CHUNK = 16  # characters per input_json_delta


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Thinking:
    """Extended thinking (streamed as ``thinking_delta`` then a ``signature_delta``)."""

    thinking: str


@dataclass(frozen=True)
class ToolUse:
    name: str
    input: Mapping[str, Any]


@dataclass(frozen=True)
class Error:
    """An API error answer: ``status`` and the body's ``error.type`` / ``error.message``."""

    status: int = 400
    type: str = "invalid_request_error"
    message: str = "scripted failure"


Block = Text | Thinking | ToolUse
Turn = Sequence[Block] | Error | Hold  # a Hold's ``then``: a list of blocks or an Error
Script = Mapping[str, Sequence[Turn]]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def conversation_key(script: Script, body: Any) -> str | None:
    """The script key found in the request's first user message (None: a side request)."""
    if not isinstance(body, dict):
        return None
    messages = body.get("messages") or []
    firsts = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not firsts or not body.get("tools"):
        # Claude Code's own side requests carry no tools; the agent's conversation always does.
        return None
    text = _text_of(firsts[0].get("content"))
    return next((key for key in script if key in text), None)


def turn_index(body: dict[str, Any]) -> int:
    return sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")


def tool_results(body: Any) -> list[dict[str, Any]]:
    """Every tool_result block the CLI sent back in a request, in order."""
    out: list[dict[str, Any]] = []
    if not isinstance(body, dict):
        return out
    for message in body.get("messages", []):
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, list):
            out.extend(b for b in content if isinstance(b, dict) and b.get("type") == "tool_result")
    return out


class _Handler(ScriptedHandler):
    server_version = "wavedeck-model/1"

    def post(self, req: Request, raw: bytes) -> None:
        body = req.body
        if self.route.endswith("/v1/messages/count_tokens"):
            self.send_json(200, {"input_tokens": estimate_tokens(raw)})
            return
        if not self.route.endswith("/v1/messages"):
            self.send_json(200, {})
            return
        key = conversation_key(self.state.script, body)
        blocks: Sequence[Block] | Error = (
            [Text("ok")] if key is None else self.state.turn(req, key, turn_index(body))
        )
        if isinstance(blocks, Error):
            self.send_json(
                blocks.status,
                {"type": "error", "error": {"type": blocks.type, "message": blocks.message}},
            )
            return
        model = body.get("model", MODEL) if isinstance(body, dict) else MODEL
        if isinstance(body, dict) and body.get("stream"):
            self._stream(model, blocks, estimate_tokens(raw))
        else:
            self.send_json(200, self._message(model, blocks, estimate_tokens(raw)))

    def _content(self, blocks: Sequence[Block]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for block in blocks:
            if isinstance(block, Text):
                out.append({"type": "text", "text": block.text})
            elif isinstance(block, Thinking):
                out.append({"type": "thinking", "thinking": block.thinking, "signature": "sig"})
            else:
                out.append(
                    {
                        "type": "tool_use",
                        "id": self.state.next_id("toolu"),
                        "name": block.name,
                        "input": dict(block.input),
                    }
                )
        return out

    @staticmethod
    def _stop_reason(blocks: Sequence[Block]) -> str:
        return "tool_use" if any(isinstance(b, ToolUse) for b in blocks) else "end_turn"

    @staticmethod
    def _output_tokens(content: list[dict[str, Any]]) -> int:
        return max(1, len(json.dumps(content)) // 4)

    def _message(self, model: str, blocks: Sequence[Block], input_tokens: int) -> dict[str, Any]:
        content = self._content(blocks)
        return {
            "id": self.state.next_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": self._stop_reason(blocks),
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": self._output_tokens(content),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }

    def _stream(self, model: str, blocks: Sequence[Block], input_tokens: int) -> None:
        self.start_events()
        message = self._message(model, blocks, input_tokens)
        content = message["content"]
        start = dict(message, content=[], stop_reason=None)
        start["usage"] = dict(message["usage"], output_tokens=1)
        self._event("message_start", {"type": "message_start", "message": start})
        for index, block in enumerate(content):
            if block["type"] == "text":
                head = {"type": "text", "text": ""}
                deltas = [
                    {"type": "text_delta", "text": block["text"][i : i + TEXT_CHUNK]}
                    for i in range(0, len(block["text"]), TEXT_CHUNK)
                ]
            elif block["type"] == "thinking":
                head = {"type": "thinking", "thinking": "", "signature": ""}
                deltas = [
                    {"type": "thinking_delta", "thinking": block["thinking"][i : i + TEXT_CHUNK]}
                    for i in range(0, len(block["thinking"]), TEXT_CHUNK)
                ]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
            else:
                head = dict(block, input={})
                text = json.dumps(block["input"])
                deltas = [
                    {"type": "input_json_delta", "partial_json": text[i : i + JSON_CHUNK]}
                    for i in range(0, len(text), JSON_CHUNK)
                ]
            self._event(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": head},
            )
            for delta in deltas:
                self._event(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            self._event("content_block_stop", {"type": "content_block_stop", "index": index})
        self._event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": message["usage"]["output_tokens"]},
            },
        )
        self._event("message_stop", {"type": "message_stop"})

    def _event(self, name: str, data: dict[str, Any]) -> None:
        self.event(data, name)


class ModelServer(ScriptedServer[_Handler]):
    """The scripted Messages API, listening on 127.0.0.1 on a free port while the context is
    open."""

    handler = _Handler

    def env(self, home: Path) -> dict[str, str]:
        """Environment for Claude Code: this server, a throwaway HOME, no traffic elsewhere."""
        return claude_env(self.url, home)


def claude_env(base_url: str, home: Path) -> dict[str, str]:
    """Variables that point Claude Code at ``base_url`` and keep it offline and quiet."""
    return {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "test",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_BUG_COMMAND": "1",
        "CLAUDE_CODE_DISABLE_TERMINAL_TITLE": "1",
        "ANTHROPIC_MODEL": MODEL,
        "ANTHROPIC_SMALL_FAST_MODEL": MODEL,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
