"""A scripted Gemini API (generateContent) on 127.0.0.1, for driving the real Gemini CLI offline.

Gemini CLI (``GOOGLE_GEMINI_BASE_URL``, an API key) asks ``POST
/v1beta/models/<model>:streamGenerateContent?alt=sse`` for each turn of the agent's conversation
(answered with server-sent ``GenerateContentResponse`` chunks: text in pieces, then the
``functionCall`` parts, then the finish reason and ``usageMetadata``), and ``:generateContent``
for its side questions (the model router's choice, without tools: answered with a JSON choice of
the flash model, or "ok"). ``:countTokens`` gets an estimate.

The conversation of a request is found by its key (a string of a user text part); its turn is the
number of ``model`` entries already in ``contents``. ``Fail`` answers an HTTP error in the API's
shape (``{"error": {"code", "message", "status"}}``); with status 200 the stream stops with a
``SAFETY``-less ``finishReason`` of ``MALFORMED_FUNCTION_CALL`` (what an unusable answer looks like).
"""

from __future__ import annotations

import json
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

__all__ = ["Call", "Fail", "GeminiScript", "GeminiServer", "Hold", "Say", "gemini_env"]

MODEL = "gemini-2.5-flash"
TEXT_CHUNK = 24
STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED"}

Item = Say | Call
GeminiTurn = Sequence[Item] | Fail | Hold
GeminiScript = Mapping[str, Sequence[GeminiTurn]]


def contents_of(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
        return []
    return [c for c in body["contents"] if isinstance(c, dict)]


def parts_of(content: dict[str, Any]) -> list[dict[str, Any]]:
    parts = content.get("parts")
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def function_responses(body: Any) -> list[dict[str, Any]]:
    """Every ``functionResponse`` the CLI sent back (what its tools answered), in order."""
    return [
        p["functionResponse"]
        for c in contents_of(body)
        for p in parts_of(c)
        if isinstance(p.get("functionResponse"), dict)
    ]


class _Handler(ScriptedHandler):
    server_version = "wavedeck-gemini/1"

    def post(self, req: Request, raw: bytes) -> None:
        route = self.route
        body = req.body if isinstance(req.body, dict) else {}
        if route.endswith(":countTokens"):
            self.send_json(200, {"totalTokens": estimate_tokens(raw)})
            return
        if not route.endswith((":generateContent", ":streamGenerateContent")):
            self.send_json(404, {"error": {"code": 404, "message": "not scripted"}})
            return
        model = route.rsplit("/", 1)[-1].split(":", 1)[0]
        contents = contents_of(body)
        key = None
        if body.get("tools"):
            users = [
                str(p.get("text", ""))
                for c in contents
                if c.get("role") == "user"
                for p in parts_of(c)
            ]
            key = self.state.key_in("\n".join(users))
        turn: Sequence[Item] | Fail
        if key is None:
            turn = [Say(self._side_answer(body))]
        else:
            index = sum(1 for c in contents if c.get("role") == "model")
            turn = self.state.turn(req, key, index)
        if isinstance(turn, Fail) and turn.status >= 400:
            status = STATUS.get(turn.status, "INTERNAL")
            error = {"code": turn.status, "message": turn.message, "status": status}
            self.send_json(turn.status, {"error": error})
            return
        usage = {"promptTokenCount": estimate_tokens(raw)}
        if route.endswith(":streamGenerateContent"):
            self._stream(model, turn, usage)
        else:
            self.send_json(200, self._response(model, turn, usage, final=True))

    @staticmethod
    def _side_answer(body: dict[str, Any]) -> str:
        config = body.get("generationConfig") or {}
        if config.get("responseMimeType") == "application/json":
            # The model router asks how hard the task is (Gemini CLI 0.61's classifiers).
            return json.dumps(
                {
                    "reasoning": "a scripted test",
                    "model_choice": "flash",
                    "complexity_reasoning": "a scripted test",
                    "complexity_score": 1,
                }
            )
        return "ok"

    def _response(
        self,
        model: str,
        turn: Sequence[Item] | Fail,
        usage: dict[str, int],
        *,
        parts: list[dict[str, Any]] | None = None,
        final: bool,
    ) -> dict[str, Any]:
        if parts is None:
            parts = []
            if isinstance(turn, Sequence):
                text = "".join(i.text for i in turn if isinstance(i, Say))
                parts = [{"text": text}] if text else []
                parts += [
                    {"functionCall": {"name": i.name, "args": dict(i.arguments)}}
                    for i in turn
                    if isinstance(i, Call)
                ]
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        out: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
        if final:
            candidate["finishReason"] = (
                "MALFORMED_FUNCTION_CALL" if isinstance(turn, Fail) else "STOP"
            )
            sent = len(json.dumps(turn if isinstance(turn, Fail) else [i.__dict__ for i in turn]))
            output = max(1, sent // 4)
            out["usageMetadata"] = {
                **usage,
                "candidatesTokenCount": output,
                "totalTokenCount": usage["promptTokenCount"] + output,
            }
        return out

    def _stream(self, model: str, turn: Sequence[Item] | Fail, usage: dict[str, int]) -> None:
        self.start_events()
        if isinstance(turn, Sequence):
            text = "".join(i.text for i in turn if isinstance(i, Say))
            for i in range(0, len(text), TEXT_CHUNK):
                piece = [{"text": text[i : i + TEXT_CHUNK]}]
                self.event(self._response(model, turn, usage, parts=piece, final=False))
            calls = [
                {"functionCall": {"name": i.name, "args": dict(i.arguments)}}
                for i in turn
                if isinstance(i, Call)
            ]
            self.event(self._response(model, turn, usage, parts=calls, final=True))
        else:
            self.event(self._response(model, turn, usage, parts=[], final=True))


class GeminiServer(ScriptedServer[_Handler]):
    """The scripted Gemini API on 127.0.0.1 while the context is open."""

    handler = _Handler


def write_gemini_settings(home: Path, extra: Mapping[str, Any] | None = None) -> Path:
    """``~/.gemini/settings.json``: API-key auth, no telemetry, usage statistics or updates."""
    folder = home / ".gemini"
    folder.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
        **(extra or {}),
    }
    path = folder / "settings.json"
    path.write_text(json.dumps(settings, indent=2), "utf-8")
    return path


def gemini_env(base_url: str, home: Path) -> dict[str, str]:
    """Variables that point Gemini CLI at ``base_url`` with a throwaway HOME."""
    write_gemini_settings(home)
    return {
        "GOOGLE_GEMINI_BASE_URL": base_url,
        "GEMINI_API_KEY": "test",
        "HOME": str(home),
        "GEMINI_CLI_NO_RELAUNCH": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
