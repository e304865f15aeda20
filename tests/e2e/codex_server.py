"""A scripted OpenAI Responses API on 127.0.0.1 for driving the real Codex CLI offline.

Codex (``codex exec``) talks to a custom model provider (``[model_providers.<id>] base_url``,
``wire_api = "responses"`` in ``$CODEX_HOME/config.toml``, written by ``write_codex_config``):
``POST /v1/responses`` with ``stream: true``, answered with SSE events ``response.created``,
``response.output_item.added`` / ``response.output_text.delta`` / ``response.output_item.done``
(assistant ``message`` items and ``function_call`` items), then ``response.completed`` with the
usage. A script maps a key (found in the conversation's first user message) to turns, each a
list of ``Say`` (assistant text), ``Call`` (a function tool call, e.g. ``shell``: Codex's
``exec_command`` with a command line) and ``Custom`` (a freeform tool call: ``patch`` for
``apply_patch``) items, or a ``Fail`` (an HTTP error, or a
``response.failed`` event). The turn of a request is found from the history Codex sends back:
the number of assistant messages and tool calls in its ``input`` says how many scripted turns it
has already seen. Requests are recorded for assertions.
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

MODEL = "gpt-5.5"
PROVIDER = "wavedeck_scripted"
TEXT_CHUNK = 24


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Call:
    """A tool call: ``name`` with JSON ``arguments`` (see ``shell`` and ``patch``)."""

    name: str
    arguments: Mapping[str, Any]


def shell(command: str) -> Call:
    """A command line for Codex's ``exec_command`` tool (run by its sandboxed shell)."""
    return Call("exec_command", {"cmd": command})


@dataclass(frozen=True)
class Custom:
    """A call of a freeform tool (``custom_tool_call``): ``input`` is the raw text."""

    name: str
    input: str


def patch(text: str) -> Custom:
    """An edit through Codex's freeform ``apply_patch`` tool (Codex applies it itself and
    reports a ``file_change`` item)."""
    return Custom("apply_patch", text)


@dataclass(frozen=True)
class Fail:
    """An HTTP error (``status`` >= 400) or, with ``status`` 200, a ``response.failed`` event."""

    status: int = 400
    code: str = "invalid_request_error"
    message: str = "scripted failure"


@dataclass(frozen=True)
class Hold:
    """Answer ``then`` only once conversation ``key`` has asked for its turn ``turn``."""

    key: str
    turn: int
    then: Sequence[Say | Call | Custom] | Fail
    timeout_s: float = 60.0


Item = Say | Call | Custom
CodexTurn = Sequence[Item] | Fail | Hold
CodexScript = Mapping[str, Sequence[CodexTurn]]
COUNTED = ("function_call", "custom_tool_call", "local_shell_call")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    key: str | None = None
    turn: int | None = None


@dataclass
class _State:
    script: CodexScript
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)
    ids: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def reached(self, key: str, turn: int) -> bool:
        return any(r.key == key and (r.turn or 0) >= turn for r in self.requests)


def _texts(item: Mapping[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return ""


def conversation_key(script: CodexScript, body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("input"), list):
        return None
    users = [
        i
        for i in body["input"]
        if isinstance(i, dict) and i.get("type", "message") == "message" and i.get("role") == "user"
    ]
    text = "\n".join(_texts(u) for u in users)
    for key in script:
        if key in text:
            return key
    return None


def _seen(body: dict[str, Any]) -> int:
    """Assistant messages and tool calls already in the history."""
    n = 0
    for item in body.get("input", []):
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind in COUNTED or (kind == "message" and item.get("role") == "assistant"):
            n += 1
    return n


def turn_index(turns: Sequence[CodexTurn], body: dict[str, Any]) -> int:
    """The first scripted turn whose items are not yet in the history."""
    seen = _seen(body)
    total = 0
    for index, turn in enumerate(turns):
        if total >= seen:
            return index
        items = turn.then if isinstance(turn, Hold) else turn
        total += 1 if isinstance(items, Fail) else len(items)
    return len(turns)


class _Handler(BaseHTTPRequestHandler):
    server_version = "wavedeck-responses/1"
    protocol_version = "HTTP/1.1"
    state: _State

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read(self) -> tuple[Request, Any]:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        req = Request(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        with self.state.lock:
            self.state.requests.append(req)
        return req, body

    def do_GET(self) -> None:
        self._read()
        if self.path.split("?", 1)[0].endswith("/models"):
            self._json(200, {"object": "list", "data": [], "models": []})
        else:
            self._json(404, {"error": {"message": "not scripted"}})

    def do_POST(self) -> None:
        req, body = self._read()
        if not self.path.split("?", 1)[0].endswith("/responses"):
            self._json(404, {"error": {"message": "not scripted"}})
            return
        key = conversation_key(self.state.script, body)
        turn: CodexTurn
        if key is None:
            turn = [Say("ok")]
        else:
            turns = self.state.script[key]
            index = turn_index(turns, body)
            with self.state.changed:
                req.key, req.turn = key, index
                self.state.changed.notify_all()
            turn = turns[index] if index < len(turns) else [Say(f"(no turn {index} for {key})")]
        if isinstance(turn, Hold):
            hold = turn
            with self.state.changed:
                self.state.changed.wait_for(
                    lambda: self.state.reached(hold.key, hold.turn), timeout=hold.timeout_s
                )
            turn = hold.then
        if isinstance(turn, Fail) and turn.status >= 400:
            self._json(
                turn.status,
                {"error": {"type": turn.code, "code": turn.code, "message": turn.message}},
            )
            return
        self._stream(turn, body)

    def _id(self, prefix: str) -> str:
        with self.state.lock:
            return f"{prefix}_{next(self.state.ids):020d}"

    def _stream(self, turn: Sequence[Item] | Fail, body: Any) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        rid = self._id("resp")
        self._event({"type": "response.created", "response": {"id": rid}})
        if isinstance(turn, Fail):
            error = {"code": turn.code, "message": turn.message}
            self._event({"type": "response.failed", "response": {"id": rid, "error": error}})
            return
        for index, item in enumerate(turn):
            if isinstance(item, Say):
                mid = self._id("msg")
                empty = {"type": "message", "role": "assistant", "id": mid, "content": []}
                self._event(
                    {"type": "response.output_item.added", "output_index": index, "item": empty}
                )
                for i in range(0, len(item.text), TEXT_CHUNK):
                    self._event(
                        {
                            "type": "response.output_text.delta",
                            "item_id": mid,
                            "output_index": index,
                            "content_index": 0,
                            "delta": item.text[i : i + TEXT_CHUNK],
                        }
                    )
                done = dict(empty, content=[{"type": "output_text", "text": item.text}])
                self._event(
                    {"type": "response.output_item.done", "output_index": index, "item": done}
                )
            elif isinstance(item, Custom):
                custom = {
                    "type": "custom_tool_call",
                    "id": self._id("ctc"),
                    "call_id": self._id("call"),
                    "name": item.name,
                    "input": item.input,
                }
                self._event(
                    {"type": "response.output_item.done", "output_index": index, "item": custom}
                )
            else:
                call = {
                    "type": "function_call",
                    "id": self._id("fc"),
                    "call_id": self._id("call"),
                    "name": item.name,
                    "arguments": json.dumps(item.arguments),
                }
                self._event(
                    {"type": "response.output_item.done", "output_index": index, "item": call}
                )
        raw = len(json.dumps(body)) if body is not None else 0
        output = sum(len(json.dumps(i.__dict__)) for i in turn) // 4 + 1
        usage = {
            "input_tokens": raw // 4,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": raw // 4 + output,
        }
        self._event({"type": "response.completed", "response": {"id": rid, "usage": usage}})

    def _event(self, data: dict[str, Any]) -> None:
        self.wfile.write(f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


class CodexServer:
    """The scripted Responses API on 127.0.0.1 while the context is open."""

    def __init__(self, script: CodexScript) -> None:
        self.state = _State(script)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> CodexServer:
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
        return [r for r in self.requests if r.key == key]

    def env(self, home: Path) -> dict[str, str]:
        """Environment for Codex: ``CODEX_HOME`` (with its config.toml) under ``home``."""
        write_codex_config(home, self.url)
        return codex_env(home)


def codex_home(home: Path) -> Path:
    return home / ".codex"


def write_codex_config(home: Path, base_url: str) -> Path:
    """``$CODEX_HOME/config.toml``: the scripted provider, no retries, nothing else online."""
    folder = codex_home(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        f'model = "{MODEL}"\n'
        f'model_provider = "{PROVIDER}"\n'
        'approval_policy = "never"\n'
        "check_for_update_on_startup = false\n\n"
        f"[model_providers.{PROVIDER}]\n"
        'name = "wavedeck scripted model"\n'
        f'base_url = "{base_url}/v1"\n'
        'wire_api = "responses"\n'
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n"
        "stream_idle_timeout_ms = 60000\n",
        "utf-8",
    )
    return path


def codex_env(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "CODEX_HOME": str(codex_home(home)),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "RUST_LOG": "error",
    }
