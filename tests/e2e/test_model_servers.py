"""The scripted model servers of the real-CLI tests, checked on their own (no CLI needed).

If a server drifted from the protocol, the real-CLI tests would fail in confusing ways (or skip
where the CLIs are missing): these pin what the servers send — the SSE event order, the tool
input rebuilt from its ``input_json_delta`` fragments, the turn chosen from the history, errors,
and ``Hold`` ordering two conversations without a sleep.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.e2e import codex_server as cx
from tests.e2e.model_server import Error, Hold, ModelServer, Text, Thinking, ToolUse

pytestmark = pytest.mark.slow  # the model doubles of the e2e tests, over real HTTP


def post(url: str, body: dict[str, Any]) -> tuple[int, str, str]:
    """(status, content type, body text) of a JSON POST."""
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers["content-type"], answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["content-type"], exc.read().decode()


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for chunk in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def messages(*assistant_turns: int, first: str = "agent A1 here") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": first}]}]
    for _ in range(assistant_turns[0] if assistant_turns else 0):
        out.append({"role": "assistant", "content": [{"type": "text", "text": "..."}]})
        out.append({"role": "user", "content": [{"type": "text", "text": "go on"}]})
    return out


TOOLS = [{"name": "Write", "input_schema": {}}]


@pytest.mark.timeout(30)
def test_messages_stream_is_the_real_event_sequence_with_the_tool_input_in_fragments() -> None:
    long_input = {"file_path": "/r/src/a.py", "content": "x = 1\n" * 20}
    script = {"A1": [[Thinking("hmm"), Text("Writing it now."), ToolUse("Write", long_input)]]}
    with ModelServer(script) as server:
        status, kind, text = post(
            server.url + "/v1/messages?beta=true",
            {"model": "m", "stream": True, "tools": TOOLS, "messages": messages()},
        )
    assert status == 200 and kind == "text/event-stream"
    evs = sse(text)
    names = [name for name, _ in evs]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert [d["content_block"]["type"] for n, d in evs if n == "content_block_start"] == [
        "thinking",
        "text",
        "tool_use",
    ]
    assert all(name == data["type"] for name, data in evs)
    deltas = [d["delta"] for n, d in evs if n == "content_block_delta" and d["index"] == 2]
    assert len(deltas) > 1 and {d["type"] for d in deltas} == {"input_json_delta"}
    assert json.loads("".join(d["partial_json"] for d in deltas)) == long_input
    text_deltas = [
        d["delta"]["text"] for n, d in evs if n == "content_block_delta" and d["index"] == 1
    ]
    assert "".join(text_deltas) == "Writing it now."
    assert evs[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert evs[0][1]["message"]["usage"]["input_tokens"] > 0


@pytest.mark.timeout(30)
def test_turns_follow_the_history_side_requests_and_errors() -> None:
    script = {
        "A1": [[Text("first")], [Text("second")]],
        "B2": [Error(400, "invalid_request_error", "no")],
    }
    with ModelServer(script) as server:
        url = server.url + "/v1/messages"
        _, _, second = post(url, {"tools": TOOLS, "messages": messages(1)})
        _, _, side = post(url, {"messages": messages()})  # no tools: Claude Code's own asides
        status, _, error = post(url, {"tools": TOOLS, "messages": messages(first="B2")})
        _, _, count = post(url + "/count_tokens", {"messages": messages()})
    assert json.loads(second)["content"] == [{"type": "text", "text": "second"}]
    assert json.loads(side)["content"][0]["text"] == "ok"
    assert status == 400
    assert json.loads(error)["error"] == {"type": "invalid_request_error", "message": "no"}
    assert json.loads(count)["input_tokens"] > 0
    assert [(r.key, r.turn) for r in server.requests] == [
        ("A1", 1),
        (None, None),
        ("B2", 0),
        (None, None),
    ]


@pytest.mark.timeout(30)
def test_hold_answers_only_after_the_other_conversation_got_there() -> None:
    script = {"A1": [[Text("a0")], [Text("a1")]], "B2": [Hold("A1", 1, [Text("b0")])]}
    with ModelServer(script) as server:
        url = server.url + "/v1/messages"
        answers: list[str] = []
        held = threading.Thread(
            target=lambda: answers.append(
                post(url, {"tools": TOOLS, "messages": messages(first="B2")})[2]
            )
        )
        held.start()
        with server.state.changed:  # B2's request has arrived and is being held
            assert server.state.changed.wait_for(lambda: server.state.reached("B2", 0), 20)
        post(url, {"tools": TOOLS, "messages": messages()})
        held.join(0.5)  # a bounded look for the absence of an answer
        assert held.is_alive()  # A1 has only asked for turn 0
        post(url, {"tools": TOOLS, "messages": messages(1)})
        held.join(20)
    assert json.loads(answers[0])["content"][0]["text"] == "b0"
    assert [(r.key, r.turn) for r in server.requests if r.key] == [
        ("B2", 0),
        ("A1", 0),
        ("A1", 1),
    ]


def codex_input(first: str, *history: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": first}]}
    ]
    for kind in history:
        if kind == "say":
            items.append({"type": "message", "role": "assistant", "content": []})
        else:
            items.append({"type": "function_call", "call_id": "c", "name": "x", "arguments": "{}"})
            items.append({"type": "function_call_output", "call_id": "c", "output": "ok"})
    return items


@pytest.mark.timeout(30)
def test_responses_stream_turns_from_the_history_and_failures() -> None:
    script: cx.CodexScript = {
        "A1": [[cx.Say("looking"), cx.shell("cat a")], [cx.Say("done")]],
        "B2": [cx.Fail(400, "bad", "no")],
        "C3": [cx.Fail(200, "server_error", "broke")],
    }
    with cx.CodexServer(script) as server:
        url = server.url + "/v1/responses"
        _, kind, first = post(url, {"stream": True, "input": codex_input("A1")})
        _, _, second = post(url, {"stream": True, "input": codex_input("A1", "say", "call")})
        status, _, error = post(url, {"stream": True, "input": codex_input("B2")})
        _, _, failed = post(url, {"stream": True, "input": codex_input("C3")})
    assert kind == "text/event-stream"
    evs = sse(first)
    assert [n for n, _ in evs] == [
        "response.created",
        "response.output_item.added",
        "response.output_text.delta",
        "response.output_item.done",
        "response.output_item.done",
        "response.completed",
    ]
    call = evs[4][1]["item"]
    assert call["type"] == "function_call" and call["name"] == "exec_command"
    assert json.loads(call["arguments"]) == {"cmd": "cat a"}
    assert evs[-1][1]["response"]["usage"]["output_tokens"] > 0
    assert sse(second)[2][1]["delta"] == "done"
    assert status == 400 and json.loads(error)["error"]["message"] == "no"
    assert [n for n, _ in sse(failed)] == ["response.created", "response.failed"]
    assert [(r.key, r.turn) for r in server.requests] == [
        ("A1", 0),
        ("A1", 1),
        ("B2", 0),
        ("C3", 0),
    ]
