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

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.scripted_http import (
    Call,
    Fail,
    Hold,
    Request,
    Say,
    ScriptedHandler,
    ScriptedServer,
)

__all__ = ["Call", "CodexScript", "CodexServer", "Custom", "Fail", "Hold", "Say", "patch", "shell"]

MODEL = "gpt-5.5"
PROVIDER = "wavedeck_scripted"
TEXT_CHUNK = 24


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


Item = Say | Call | Custom
CodexTurn = Sequence[Item] | Fail | Hold  # a Hold's ``then``: items or a Fail
CodexScript = Mapping[str, Sequence[CodexTurn]]
COUNTED = ("function_call", "custom_tool_call", "local_shell_call")


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
    return next((key for key in script if key in text), None)


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


class _Handler(ScriptedHandler):
    server_version = "wavedeck-responses/1"

    def get(self, req: Request) -> None:
        if self.route.endswith("/models"):
            self.send_json(200, {"object": "list", "data": [], "models": []})
        else:
            self.send_json(404, {"error": {"message": "not scripted"}})

    def post(self, req: Request, raw: bytes) -> None:
        body = req.body
        if not self.route.endswith("/responses"):
            self.send_json(404, {"error": {"message": "not scripted"}})
            return
        key = conversation_key(self.state.script, body)
        turn: Sequence[Item] | Fail
        if key is None:
            turn = [Say("ok")]
        else:
            turns = self.state.script[key]
            turn = self.state.turn(req, key, turn_index(turns, body))
        if isinstance(turn, Fail) and turn.status >= 400:
            self.send_json(
                turn.status,
                {"error": {"type": turn.code, "code": turn.code, "message": turn.message}},
            )
            return
        self._stream(turn, body)

    def _id(self, prefix: str) -> str:
        return self.state.next_id(prefix, 20)

    def _stream(self, turn: Sequence[Item] | Fail, body: Any) -> None:
        self.start_events()
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
        self.event(data, data["type"])


class CodexServer(ScriptedServer[_Handler]):
    """The scripted Responses API on 127.0.0.1 while the context is open."""

    handler = _Handler

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
