"""What every scripted model server of the real-CLI tests shares: HTTP, recording, turns, holds.

Each server (``model_server``: Anthropic Messages, ``codex_server``: OpenAI Responses,
``gemini_server``: Gemini generateContent, ``chat_server``: OpenAI Chat Completions) speaks one
API; the plumbing is here once: a ``ScriptedServer`` on 127.0.0.1 (a free port, a thread, a
context manager), a handler base that reads and records each request, answers JSON or
server-sent events, and a ``ScriptState`` that tells which scripted conversation a request
belongs to (``key``: a string of its first user message) and which turn it asks for, and lets a
``Hold`` wait until another conversation got somewhere (ordering two agents without a sleep).

The API-neutral script items the newer servers answer with are here too: ``Say`` (assistant
text), ``Call`` (a tool call with JSON arguments), ``Fail`` (an HTTP error, or with status 200 an
error inside the stream where the API has one).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Self, TypeVar


@dataclass(frozen=True)
class Say:
    """Assistant text."""

    text: str


@dataclass(frozen=True)
class Call:
    """A tool call: ``name`` with JSON ``arguments``."""

    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class Fail:
    """An HTTP error (``status`` >= 400) or, with ``status`` 200, a failure inside the stream."""

    status: int = 400
    code: str = "invalid_request_error"
    message: str = "scripted failure"


@dataclass(frozen=True)
class Hold:
    """Answer ``then`` only once conversation ``key`` has asked for its turn ``turn`` (so two
    agents overlap in a known order without sleeping); gives up after ``timeout_s``."""

    key: str
    turn: int
    then: Any
    timeout_s: float = 60.0


@dataclass
class Request:
    """One request as the server saw it (body parsed when it was JSON); ``key`` and ``turn``
    once it is known to belong to a scripted conversation."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    key: str | None = None
    turn: int | None = None


@dataclass
class ScriptState:
    """A server's script and everything it was asked (shared by its handler threads)."""

    script: Mapping[str, Sequence[Any]]
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)
    ids: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def reached(self, key: str, turn: int) -> bool:
        return any(r.key == key and (r.turn or 0) >= turn for r in self.requests)

    def key_in(self, text: str) -> str | None:
        """The first script key found in ``text``."""
        return next((key for key in self.script if key in text), None)

    def turn(self, req: Request, key: str, index: int) -> Any:
        """The scripted turn ``index`` of conversation ``key`` (recorded on ``req``), after any
        ``Hold`` it carries; a note saying so when the script has no such turn."""
        with self.changed:
            req.key, req.turn = key, index
            self.changed.notify_all()
        turns = self.script[key]
        turn = turns[index] if index < len(turns) else [Say(f"(no turn {index} for {key})")]
        while isinstance(turn, Hold):
            self.wait(turn)
            turn = turn.then
        return turn

    def wait(self, hold: Hold) -> None:
        """Until conversation ``hold.key`` has asked for its turn ``hold.turn`` (bounded)."""
        with self.changed:
            self.changed.wait_for(lambda: self.reached(hold.key, hold.turn), timeout=hold.timeout_s)

    def next_id(self, prefix: str, width: int = 24) -> str:
        with self.lock:
            return f"{prefix}_{next(self.ids):0{width}d}"


class ScriptedHandler(BaseHTTPRequestHandler):
    """Reads and records each request; subclasses answer it in ``get`` and ``post``."""

    server_version = "wavedeck-scripted/1"
    protocol_version = "HTTP/1.1"
    state: ScriptState  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are recorded, not printed

    def read(self) -> tuple[Request, bytes]:
        """The request (recorded) and its raw body."""
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
        return req, raw

    @property
    def route(self) -> str:
        """The request's path without its query."""
        return self.path.split("?", 1)[0]

    def send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_events(self) -> None:
        """Begin a server-sent event stream (the connection closes at its end)."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True

    def event(self, data: Any, name: str | None = None) -> None:
        """One server-sent event (``data`` as JSON unless it is a string)."""
        text = data if isinstance(data, str) else json.dumps(data)
        head = f"event: {name}\n" if name else ""
        self.wfile.write(f"{head}data: {text}\n\n".encode())
        self.wfile.flush()

    def do_GET(self) -> None:
        req, _raw = self.read()
        self.get(req)

    def do_HEAD(self) -> None:
        self.read()
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        req, raw = self.read()
        self.post(req, raw)

    def get(self, req: Request) -> None:
        self.send_json(200, {})

    def post(self, req: Request, raw: bytes) -> None:
        self.send_json(404, {"error": {"message": "not scripted"}})


H = TypeVar("H", bound=ScriptedHandler)


class ScriptedServer(Generic[H]):
    """A scripted API on 127.0.0.1, on a free port, while the context is open."""

    handler: type[H]

    def __init__(self, script: Mapping[str, Sequence[Any]]) -> None:
        self.state = ScriptState(script)
        handler = type("Handler", (self.handler,), {"state": self.state})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
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


def estimate_tokens(raw: bytes | str) -> int:
    """A token count for usage reports (a quarter of the characters, at least 1)."""
    return max(1, len(raw) // 4)
