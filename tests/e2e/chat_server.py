"""A scripted OpenAI Chat Completions API on 127.0.0.1, for opencode, aider and Qwen Code offline.

``POST /v1/chat/completions`` (``stream`` true or false) answers each scripted turn: ``Say``
(assistant text) and ``Call`` (a function tool call) items, or a ``Fail`` (an HTTP error body;
with status 200, an ``error`` chunk inside the stream). Streams are the real API's chunks
(``chat.completion.chunk``: the role, text in pieces, each tool call's name then its arguments in
pieces, a ``finish_reason``, a usage chunk, ``[DONE]``). ``GET /v1/models`` lists the model.

The conversation of a request is found by its key (a string of a user message, e.g. the agent's
prompt line); its turn is the number of assistant messages since that message (aider sends
example exchanges before it). A request
without tools is a side request (a title, a summary) and gets a one-word answer, unless the
server is made with ``tools=False``: aider sends no tools at all, its edits being text.

Qwen Code (0.15) opens every conversation with a startup context (a user message describing the
folder, answered by a fixed acknowledgement) before the prompt, and after a turn runs a memory
extraction subagent whose request carries the same conversation under another system prompt:
the first is skipped when looking for the key, the second is a side request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
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
    estimate_tokens,
)

__all__ = ["Call", "ChatScript", "ChatServer", "Fail", "Hold", "Say"]

MODEL = "wavedeck-coder"
# Qwen Code's startup context is the user message this acknowledgement answers (its
# STARTUP_CONTEXT_MODEL_ACK); its memory subagent's system prompt starts with this.
QWEN_STARTUP_ACK = "Got it. Thanks for the context!"
QWEN_MEMORY_AGENT = "You are now acting as the managed memory extraction subagent"
TEXT_CHUNK = 24
JSON_CHUNK = 16

Item = Say | Call
ChatTurn = Sequence[Item] | Fail | Hold
ChatScript = Mapping[str, Sequence[ChatTurn]]


def text_of(content: Any) -> str:
    """A message's text (a string, or a list of text parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def messages_of(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return []
    return [m for m in body["messages"] if isinstance(m, dict)]


def first_prompt(messages: list[dict[str, Any]]) -> int | None:
    """The index of the conversation's first user message that is not Qwen Code's startup
    context (None when a request has no user message, or is Qwen's memory subagent: a side
    request quoting the conversation)."""
    if messages and text_of(messages[0].get("content")).startswith(QWEN_MEMORY_AGENT):
        return None
    for index, message in enumerate(messages):
        if message.get("role") != "user":
            continue
        after = messages[index + 1] if index + 1 < len(messages) else {}
        if after.get("role") == "assistant" and text_of(after.get("content")) == QWEN_STARTUP_ACK:
            continue
        return index
    return None


def tool_results(body: Any) -> list[str]:
    """The text of every tool message the CLI sent back, in order."""
    return [text_of(m.get("content")) for m in messages_of(body) if m.get("role") == "tool"]


class _Handler(ScriptedHandler):
    server_version = "wavedeck-chat/1"
    tools_required = True  # a request without tools is a side request
    said: dict[str, set[str]]  # key -> the texts answered (set on the per-server subclass)

    def get(self, req: Request) -> None:
        if self.route.endswith("/models"):
            self.send_json(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        else:
            self.send_json(404, {"error": {"message": "not scripted"}})

    def post(self, req: Request, raw: bytes) -> None:
        if not self.route.endswith("/chat/completions"):
            self.send_json(404, {"error": {"message": "not scripted"}})
            return
        body = req.body if isinstance(req.body, dict) else {}
        messages = messages_of(body)
        key, start = None, 0
        if body.get("tools") or not self.tools_required:
            users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
            # The key is in the conversation's first prompt (see first_prompt: not Qwen Code's
            # startup context, not its memory subagent); aider's first user messages are
            # example exchanges, so all of them are looked at.
            prompt = first_prompt(messages)
            for index in (
                users if not self.tools_required else [prompt] if prompt is not None else []
            ):
                key = self.state.key_in(text_of(messages[index].get("content")))
                if key is not None:
                    start = index
                    break
        turn: Sequence[Item] | Fail
        if key is None:
            turn = [Say("ok")]
        else:
            turn = self.state.turn(req, key, self._index(key, messages[start:]))
            if isinstance(turn, Sequence):
                with self.state.lock:
                    self.said.setdefault(key, set()).update(
                        i.text.strip() for i in turn if isinstance(i, Say)
                    )
        if isinstance(turn, Fail) and turn.status >= 400:
            error = {"message": turn.message, "type": turn.code, "code": turn.code}
            self.send_json(turn.status, {"error": error})
            return
        model = str(body.get("model") or MODEL)
        usage = {"prompt_tokens": estimate_tokens(raw)}
        if body.get("stream"):
            self._stream(model, turn, usage)
        elif isinstance(turn, Fail):
            self.send_json(500, {"error": {"message": turn.message, "code": turn.code}})
        else:
            self._answer(model, turn, usage)

    def _index(self, key: str, messages: list[dict[str, Any]]) -> int:
        """The turn asked for: the assistant messages since the key's that this script said
        (a tool call, or a text it answered). aider sends example exchanges before the key and
        canned acknowledgements ("Ok, any changes I propose ...") after a restored chat."""
        with self.state.lock:
            said = set(self.said.get(key, ()))
        return sum(
            1
            for m in messages
            if m.get("role") == "assistant"
            and (m.get("tool_calls") or text_of(m.get("content")).strip() in said)
        )

    def _calls(self, turn: Sequence[Item]) -> list[dict[str, Any]]:
        return [
            {
                "id": self.state.next_id("call", 12),
                "type": "function",
                "function": {"name": item.name, "arguments": json.dumps(item.arguments)},
            }
            for item in turn
            if isinstance(item, Call)
        ]

    @staticmethod
    def _usage(usage: dict[str, int], turn: Sequence[Item]) -> dict[str, int]:
        out = max(1, len(json.dumps([i.__dict__ for i in turn], default=dict)) // 4)
        return {**usage, "completion_tokens": out, "total_tokens": usage["prompt_tokens"] + out}

    def _answer(self, model: str, turn: Sequence[Item], usage: dict[str, int]) -> None:
        text = "".join(i.text for i in turn if isinstance(i, Say))
        calls = self._calls(turn)
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            message["tool_calls"] = calls
        self.send_json(
            200,
            {
                "id": self.state.next_id("chatcmpl"),
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if calls else "stop",
                    }
                ],
                "usage": self._usage(usage, turn),
            },
        )

    def _stream(self, model: str, turn: Sequence[Item] | Fail, usage: dict[str, int]) -> None:
        self.start_events()
        head = {
            "id": self.state.next_id("chatcmpl"),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            self.event({**head, "choices": [choice]})

        chunk({"role": "assistant", "content": ""})
        if isinstance(turn, Fail):
            self.event({"error": {"message": turn.message, "code": turn.code, "type": turn.code}})
            return
        text = "".join(i.text for i in turn if isinstance(i, Say))
        for i in range(0, len(text), TEXT_CHUNK):
            chunk({"content": text[i : i + TEXT_CHUNK]})
        calls = self._calls(turn)
        for index, call in enumerate(calls):
            name = {"index": index, "id": call["id"], "type": "function"}
            chunk({"tool_calls": [{**name, "function": {"name": call["function"]["name"]}}]})
            args = call["function"]["arguments"]
            for i in range(0, len(args), JSON_CHUNK):
                piece = {"index": index, "function": {"arguments": args[i : i + JSON_CHUNK]}}
                chunk({"tool_calls": [piece]})
        chunk({}, "tool_calls" if calls else "stop")
        self.event({**head, "choices": [], "usage": self._usage(usage, turn)})
        self.event("[DONE]")


class _TextHandler(_Handler):
    tools_required = False


class ChatServer(ScriptedServer[_Handler]):
    """The scripted Chat Completions API on 127.0.0.1 while the context is open;
    ``tools=False``: requests without tools are conversations too (aider)."""

    handler = _Handler

    def __init__(self, script: ChatScript, *, tools: bool = True) -> None:
        base = _Handler if tools else _TextHandler
        self.handler = type("ChatHandler", (base,), {"said": {}})
        super().__init__(script)

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (with ``/v1``)."""
        return self.url + "/v1"


def no_proxy() -> dict[str, str]:
    return {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def home_env(home: Path) -> dict[str, str]:
    """A throwaway HOME (and XDG folders under it), so nothing of the user's is read."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        **no_proxy(),
    }


PROVIDER = "wavedeck"
PRICE = {"input": 1.0, "output": 2.0}  # $ per million tokens: opencode and aider report cost


def opencode_env(base_url: str, home: Path) -> dict[str, str]:
    """opencode pointed at ``base_url`` (a custom OpenAI-compatible provider in its config under
    the throwaway ``home``), no model list, update, share or LSP download."""
    folder = home / ".config" / "opencode"
    folder.mkdir(parents=True, exist_ok=True)
    model = {"name": "wavedeck coder", "cost": PRICE, "limit": {"context": 128000, "output": 8192}}
    config = {
        "$schema": "https://opencode.ai/config.json",
        "provider": {
            PROVIDER: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "wavedeck scripted model",
                "options": {"baseURL": base_url + "/v1", "apiKey": "test"},
                "models": {MODEL: model},
            }
        },
        "model": f"{PROVIDER}/{MODEL}",
        "small_model": f"{PROVIDER}/{MODEL}",
        "autoupdate": False,
        "share": "disabled",
    }
    (folder / "opencode.json").write_text(json.dumps(config, indent=2), "utf-8")
    return {
        **home_env(home),
        "OPENCODE_DISABLE_MODELS_FETCH": "1",
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_SHARE": "1",
        "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    }


def aider_env(base_url: str, home: Path) -> dict[str, str]:
    """aider pointed at ``base_url`` as ``openai/<model>``, with the model's metadata (else it
    downloads a price list on every run), no update check, no analytics."""
    home.mkdir(parents=True, exist_ok=True)
    # An operator's git identity: without one, aider writes a placeholder into the
    # repository's .git/config (wavedeck reports that as a change to the git configuration).
    (home / ".gitconfig").write_text("[user]\n\tname = aider\n\temail = aider@example.com\n")
    meta = home / "aider-models.json"
    meta.write_text(
        json.dumps(
            {
                f"openai/{MODEL}": {
                    "max_tokens": 8192,
                    "max_input_tokens": 128000,
                    "max_output_tokens": 8192,
                    "input_cost_per_token": PRICE["input"] / 1e6,
                    "output_cost_per_token": PRICE["output"] / 1e6,
                    "litellm_provider": "openai",
                    "mode": "chat",
                }
            }
        ),
        "utf-8",
    )
    return {
        **home_env(home),
        "OPENAI_API_BASE": base_url + "/v1",
        "OPENAI_API_KEY": "test",
        "AIDER_MODEL": f"openai/{MODEL}",
        "AIDER_MODEL_METADATA_FILE": str(meta),
        "AIDER_CHECK_UPDATE": "false",
        "AIDER_ANALYTICS": "false",
    }


def qwen_env(base_url: str, home: Path) -> dict[str, str]:
    """Qwen Code pointed at ``base_url`` (OpenAI auth), no telemetry or usage statistics."""
    folder = home / ".qwen"
    folder.mkdir(parents=True, exist_ok=True)
    settings = {
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"disableAutoUpdate": True},
    }
    (folder / "settings.json").write_text(json.dumps(settings, indent=2), "utf-8")
    return {
        **home_env(home),
        "OPENAI_BASE_URL": base_url + "/v1",
        "OPENAI_API_KEY": "test",
        "OPENAI_MODEL": MODEL,
    }
