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

Stdlib only (``http.server`` in a thread): a test starts it with ``ModelServer(script)`` as a
context manager and hands ``server.env()`` to the CLI.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MODEL = "claude-sonnet-4-5-20250929"
# Prices the tests' cost checks use only loosely (the CLI computes cost from its own table).
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


@dataclass(frozen=True)
class Hold:
    """Answer ``then`` only once conversation ``key`` has asked for its turn ``turn`` (so two
    agents overlap in a known order without sleeping); gives up after ``timeout_s``."""

    key: str
    turn: int
    then: Sequence[Block] | Error
    timeout_s: float = 60.0


Block = Text | Thinking | ToolUse
Turn = Sequence[Block] | Error | Hold
Script = Mapping[str, Sequence[Turn]]


@dataclass
class Request:
    """One request as the server saw it (body parsed when it was JSON)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    key: str | None = None
    turn: int | None = None


@dataclass
class _State:
    script: Script
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)
    ids: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def reached(self, key: str, turn: int) -> bool:
        return any(r.key == key and (r.turn or 0) >= turn for r in self.requests)


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
    for key in script:
        if key in text:
            return key
    return None


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


def _estimate_tokens(raw: bytes) -> int:
    return max(1, len(raw) // 4)


class _Handler(BaseHTTPRequestHandler):
    server_version = "wavedeck-model/1"
    protocol_version = "HTTP/1.1"
    state: _State  # set on the subclass per server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are recorded, not printed

    def _record(self, body: Any) -> Request:
        req = Request(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        with self.state.lock:
            self.state.requests.append(req)
        return req

    def _wait(self, hold: Hold) -> None:
        with self.state.changed:
            self.state.changed.wait_for(
                lambda: self.state.reached(hold.key, hold.turn), timeout=hold.timeout_s
            )

    def _read_body(self) -> tuple[bytes, Any]:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return raw, json.loads(raw) if raw else None
        except ValueError:
            return raw, raw.decode("utf-8", "replace")

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._record(None)
        self._json(200, {})

    def do_HEAD(self) -> None:
        self._record(None)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        raw, body = self._read_body()
        req = self._record(body)
        path = self.path.split("?", 1)[0]
        if path.endswith("/v1/messages/count_tokens"):
            self._json(200, {"input_tokens": _estimate_tokens(raw)})
            return
        if not path.endswith("/v1/messages"):
            self._json(200, {})
            return
        key = conversation_key(self.state.script, body)
        blocks: Sequence[Block] | Error | Hold
        if key is None:
            blocks = [Text("ok")]
        else:
            turns = self.state.script[key]
            index = turn_index(body)
            with self.state.changed:
                req.key, req.turn = key, index
                self.state.changed.notify_all()
            if index < len(turns):
                blocks = turns[index]
            else:
                blocks = [Text(f"(script for {key} has no turn {index})")]
            if isinstance(blocks, Hold):
                self._wait(blocks)
                blocks = blocks.then
        if isinstance(blocks, Error):
            self._json(
                blocks.status,
                {"type": "error", "error": {"type": blocks.type, "message": blocks.message}},
            )
            return
        model = body.get("model", MODEL) if isinstance(body, dict) else MODEL
        if isinstance(body, dict) and body.get("stream"):
            self._stream(model, blocks, _estimate_tokens(raw))
        else:
            self._json(200, self._message(model, blocks, _estimate_tokens(raw)))

    def _next_id(self, prefix: str) -> str:
        with self.state.lock:
            return f"{prefix}_{next(self.state.ids):024d}"

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
                        "id": self._next_id("toolu"),
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
            "id": self._next_id("msg"),
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
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
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
                raw = json.dumps(block["input"])
                deltas = [
                    {"type": "input_json_delta", "partial_json": raw[i : i + JSON_CHUNK]}
                    for i in range(0, len(raw), JSON_CHUNK)
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
        self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


class ModelServer:
    """The scripted API, listening on 127.0.0.1 on a free port while the context is open."""

    def __init__(self, script: Script) -> None:
        self.state = _State(script)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    @property
    def requests(self) -> list[Request]:
        with self.state.lock:
            return list(self.state.requests)

    def conversation(self, key: str) -> list[Request]:
        """The requests of one scripted conversation, in arrival order."""
        return [r for r in self.requests if r.key == key]

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
