"""Every preset's parser on recorded lines (Claude Code 2.1.328 and codex-cli 0.171.0 transcripts
captured from the real CLIs in streams/ by H8's harness; Gemini and opencode lines written from
their public event schemas)
and on bad input: truncated JSON, unknown event types, 64 KiB lines, non-JSON: never a crash,
anything unreadable shown exactly as it came."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wavedeck.agents.kinds import AsksQuestion, ToolRefused
from wavedeck.agents.presets import PRESETS
from wavedeck.agents.presets.aider import AiderParser
from wavedeck.agents.presets.base import (
    Denied,
    Ended,
    Parsed,
    Session,
    StreamParser,
    Tool,
    Usage,
    dim,
)
from wavedeck.agents.presets.claude import ClaudeParser
from wavedeck.agents.presets.codex import CodexParser
from wavedeck.agents.presets.gemini import GeminiParser
from wavedeck.agents.presets.opencode import OpencodeParser
from wavedeck.agents.presets.plain import GenericParser
from wavedeck.agents.presets.qwen import QwenParser
from wavedeck.agents.presets.stream import AgentStream, asks
from wavedeck.agents.state import AgentRecord

STREAMS = Path(__file__).resolve().parents[2] / "data" / "agent_streams"


def recorded(name: str, kind: str) -> dict[str, object]:
    """The first event of ``kind`` in a recorded transcript (what a parser must report)."""
    for line in (STREAMS / f"{name}.jsonl").read_text("utf-8").splitlines():
        obj = json.loads(line)
        if obj.get("type") == kind:
            return obj
    raise AssertionError(f"no {kind} in {name}")


def replay(name: str) -> tuple[list[str], list[object]]:
    """Rendered lines and facts of a recorded transcript (paths relative to its cwd)."""
    meta = json.loads((STREAMS / f"{name}.meta.json").read_text("utf-8"))
    parser_type = CodexParser if name.startswith("codex") else ClaudeParser
    parser: StreamParser = parser_type(Path(meta["cwd"]))
    lines: list[str] = []
    facts: list[object] = []
    for raw in (STREAMS / f"{name}.jsonl").read_text("utf-8").splitlines():
        parsed = parser.feed(raw)
        lines += parsed.lines
        facts += parsed.facts
    return lines, facts


def test_claude_edit_and_done_render_as_readable_lines() -> None:
    lines, facts = replay("claude-edit-done")
    assert not any(line.lstrip().startswith("{") for line in lines), "no raw JSON in the pane"
    assert "→ Read src/api/server.py" in lines
    assert "✎ Edit src/api/server.py" in lines
    assert "$ python3 -m py_compile src/api/server.py" in lines
    # The progress protocol inside the assistant's JSON text becomes lines of its own.
    assert "wavedeck: done api-1 errors no longer leak the traceback" in lines
    assert "wavedeck: done api-2 auth bypass closed by the same change" in lines
    init, result = recorded("claude-edit-done", "system"), recorded("claude-edit-done", "result")
    assert facts[0] == Session(str(init["session_id"]), "claude-sonnet-4-5-20250929")
    writes = [f for f in facts if isinstance(f, Tool) and f.writes]
    assert writes == [Tool("Edit", "src/api/server.py", "Edit src/api/server.py", True)]
    (usage,) = [f for f in facts if isinstance(f, Usage)]
    assert usage.turns == result["num_turns"] == 4
    assert usage.output_tokens == result["usage"]["output_tokens"]  # type: ignore[index]
    assert usage.cost_usd == pytest.approx(result["total_cost_usd"])
    assert facts[-1] == Ended(False, "success", "")


def test_claude_refused_write_is_a_denial_with_its_path() -> None:
    lines, facts = replay("claude-denied-default-mode")
    assert [f for f in facts if isinstance(f, Denied)] == [Denied("Write", "src/api/util.py")]
    assert any("denied Write src/api/util.py" in line for line in lines)
    rec = AgentRecord()
    stream = AgentStream(
        "w1-a1", rec, ClaudeParser(Path("/tmp/wavedeck-streams/claude-denied-default-mode/repo"))
    )
    raw = (STREAMS / "claude-denied-default-mode.jsonl").read_text("utf-8").splitlines()
    _, events = stream.feed(tuple(raw))
    assert rec.denials == [ToolRefused("Write", "src/api/util.py")]
    assert stream.needs == ToolRefused("Write", "src/api/util.py")
    assert "agent_denied" in [e.name for e in events]


def test_claude_question_makes_the_run_need_you() -> None:
    raw = (STREAMS / "claude-question.jsonl").read_text("utf-8").splitlines()
    rec = AgentRecord()
    stream = AgentStream("w1-a1", rec, ClaudeParser(None))
    _, events = stream.feed(tuple(raw))
    stream.finish()
    question = "Before I change the handler: should the error body keep an error code?"
    assert stream.needs == AsksQuestion(question)
    result = recorded("claude-question", "result")
    assert rec.session_id == recorded("claude-question", "system")["session_id"]
    assert rec.cost_usd == pytest.approx(result["total_cost_usd"]) and rec.turns == 2
    usage = [e for e in events if e.name == "agent_usage"]
    assert usage and usage[-1].as_dict()["cost_usd"] == pytest.approx(result["total_cost_usd"])


def test_claude_api_error_shows_in_red_and_ends_as_error() -> None:
    lines, facts = replay("claude-fail")
    assert [f[:2] for f in facts if isinstance(f, Ended)] == [(True, "success")]
    assert any("\x1b[31m" in line and "scripted: this request is refused" in line for line in lines)


def test_asks_reads_the_last_line_only() -> None:
    assert asks("Done.\nShould I also fix b.py?") == "Should I also fix b.py?"
    assert asks("Should I?\n\nwavedeck: done x fixed") is None
    assert asks("**Which one do you want?**") == "**Which one do you want?"
    assert asks("") is None


CODEX = [
    {"type": "thread.started", "thread_id": "0199a213-81c0-7800-8aa1-bbab2a035a53"},
    {"type": "turn.started"},
    {"type": "item.completed", "item": {"id": "i0", "type": "reasoning", "text": "**Plan**"}},
    {
        "type": "item.started",
        "item": {
            "id": "i1",
            "type": "command_execution",
            "command": "bash -lc ls",
            "status": "in_progress",
        },
    },
    {
        "type": "item.completed",
        "item": {
            "id": "i1",
            "type": "command_execution",
            "command": "bash -lc ls",
            "aggregated_output": "src\n",
            "exit_code": 0,
            "status": "completed",
        },
    },
    {
        "type": "item.completed",
        "item": {
            "id": "i2",
            "type": "file_change",
            "changes": [{"path": "/work/repo/src/a.py", "kind": "update"}],
            "status": "completed",
        },
    },
    {
        "type": "item.completed",
        "item": {"id": "i3", "type": "agent_message", "text": "Fixed.\nwavedeck: done a-1 fixed"},
    },
    {
        "type": "turn.completed",
        "usage": {"input_tokens": 1200, "cached_input_tokens": 200, "output_tokens": 345},
    },
]


def test_codex_events() -> None:
    parser = CodexParser(Path("/work/repo"))
    lines: list[str] = []
    facts: list[object] = []
    for obj in CODEX:
        parsed = parser.feed(json.dumps(obj))
        lines += parsed.lines
        facts += parsed.facts
    assert facts[0] == Session("0199a213-81c0-7800-8aa1-bbab2a035a53")
    assert "$ bash -lc ls" in lines and "✎ update src/a.py" in lines
    assert "wavedeck: done a-1 fixed" in lines
    assert Tool("file_change", "src/a.py", "update src/a.py", writes=True) in facts
    assert Usage(1200, 345, None, 1) in facts
    assert parser.said == "Fixed.\nwavedeck: done a-1 fixed"


def test_gemini_deltas_join_into_whole_lines() -> None:
    parser = GeminiParser(Path("/r"))
    feed = [
        {"type": "init", "session_id": "g-1", "model": "gemini-2.5-pro"},
        {"type": "message", "role": "user", "content": "prompt"},
        {
            "type": "message",
            "role": "assistant",
            "content": "Fixed it.\nwavedeck: do",
            "delta": True,
        },
        {"type": "message", "role": "assistant", "content": "ne g-1 fixed\nShall I", "delta": True},
        {
            "type": "tool_use",
            "tool_name": "write_file",
            "tool_id": "t",
            "parameters": {"file_path": "/r/a.py"},
        },
        {"type": "tool_result", "tool_id": "t", "status": "success", "output": "ok"},
        {"type": "result", "status": "success", "stats": {"input_tokens": 5, "output_tokens": 7}},
    ]
    out = Parsed()
    for obj in feed:
        parsed = parser.feed(json.dumps(obj))
        out.lines += parsed.lines
        out.facts += parsed.facts
    assert "wavedeck: done g-1 fixed" in out.lines
    assert "Shall I" in out.lines  # the held-back end of the message, shown when it ends
    assert Tool("write_file", "a.py", "write_file a.py", True) in out.facts
    assert Usage(5, 7, None, 1) in out.facts and Session("g-1", "gemini-2.5-pro") in out.facts


def test_opencode_events() -> None:
    parser = OpencodeParser(Path("/r"))
    feed = [
        {"type": "step_start", "sessionID": "ses_1", "part": {}},
        {
            "type": "tool_use",
            "sessionID": "ses_1",
            "part": {
                "tool": "edit",
                "state": {"status": "completed", "input": {"filePath": "/r/x.ts"}},
            },
        },
        {
            "type": "text",
            "sessionID": "ses_1",
            "part": {"type": "text", "text": "wavedeck: done o-1 ok"},
        },
        {
            "type": "step_finish",
            "sessionID": "ses_1",
            "part": {"tokens": {"input": 10, "output": 4}, "cost": 0.01},
        },
    ]
    lines: list[str] = []
    facts: list[object] = []
    for obj in feed:
        parsed = parser.feed(json.dumps(obj))
        lines += parsed.lines
        facts += parsed.facts
    assert facts[0] == Session("ses_1") and facts.count(Session("ses_1")) == 1
    assert "✎ edit x.ts" in lines and "wavedeck: done o-1 ok" in lines
    assert Usage(10, 4, 0.01, 1) in facts


PARSERS = [
    ClaudeParser,
    CodexParser,
    GeminiParser,
    OpencodeParser,
    QwenParser,
    AiderParser,
    GenericParser,
    StreamParser,
]
BAD = [
    "",
    "plain text from the CLI",
    '{"type":"assistant","message":{"content":[{"type":"text","text":"cut he',
    '{"type":"a_new_event_type","x":1}',
    "[1, 2, 3]",
    '{"type":"assistant","message":"not an object"}',
    '{"type":"assistant","message":{"content":[1, null, {"type":"tool_use","input":[]}]}}',
    '{"type":"result","usage":"x","permission_denials":[1]}',
    '{"type":"item.completed","item":null}',
    '{"type":"item.completed","item":{"type":"file_change","changes":[null]}}',
    '{"type":"tool_use","parameters":5}',
    "{" + "x" * 65536,
    json.dumps(
        {"type": "assistant", "message": {"content": [{"type": "text", "text": "y" * 70000}]}}
    ),
    "\x00\x1b[31m{not json",
]


@pytest.mark.parametrize("parser_type", PARSERS, ids=lambda p: p.__name__)
def test_bad_lines_never_crash_and_unreadable_ones_show_raw(
    parser_type: type[StreamParser],
) -> None:
    parser = parser_type(Path("/r"))
    for line in BAD:
        parsed = parser.feed(line)
        assert isinstance(parsed.lines, list)
        if not line.lstrip().startswith("{") or line.startswith("{x"):
            if parser_type is GeminiParser and line.strip() and not line.startswith("{"):
                assert parsed.lines == [dim(line)]  # Gemini's stderr: shown dimmed
            else:
                assert parsed.lines == [line]
    parser.flush()


@pytest.mark.parametrize("parser_type", PARSERS, ids=lambda p: p.__name__)
def test_recorded_lines_cut_anywhere_never_crash(parser_type: type[StreamParser]) -> None:
    parser = parser_type(Path("/r"))
    for path in sorted(STREAMS.glob("*.jsonl")):
        for raw in path.read_text("utf-8").splitlines():
            whole = parser_type(Path("/r")).feed(raw).lines
            for cut in range(0, len(raw), max(1, len(raw) // 13)):
                parsed = parser.feed(raw[:cut])
                if cut and raw[:cut].lstrip().startswith("{"):
                    # Shown as it came; or, cut just after a whole message array (a CLI killed
                    # mid-line), that message rendered: nothing the whole line would not show.
                    shown = parsed.lines
                    assert shown == [raw[:cut]] or set(shown) <= set(whole), raw[:cut]


def test_unknown_events_show_raw() -> None:
    line = '{"type":"brand_new","data":1}'
    for parser_type in (ClaudeParser, CodexParser, GeminiParser, OpencodeParser):
        assert parser_type(None).feed(line).lines == [line]


def test_every_preset_has_a_parser() -> None:
    assert set(PRESETS) == {
        "claude",
        "codex",
        "gemini",
        "opencode",
        "aider",
        "qwen",
        "generic",
        "sim",
    }
    for preset in PRESETS.values():
        assert isinstance(preset.parser(None), StreamParser)


def test_recorded_codex_edit_done() -> None:
    lines, facts = replay("codex-edit-done")
    assert not any(line.startswith("{") for line in lines)
    assert facts[0] == Session(str(recorded("codex-edit-done", "thread.started")["thread_id"]))
    assert "$ /bin/bash -lc 'python3 -m py_compile src/api/server.py'" in lines
    assert "✎ update src/api/server.py" in lines
    assert Tool("file_change", "src/api/server.py", "update src/api/server.py", True) in facts
    assert "wavedeck: done api-2 auth bypass closed by the same change" in lines
    usage = recorded("codex-edit-done", "turn.completed")["usage"]
    assert Usage(usage["input_tokens"], usage["output_tokens"], None, 1) in facts  # type: ignore[index]


def test_recorded_codex_question_and_failure() -> None:
    raw = (STREAMS / "codex-question.jsonl").read_text("utf-8").splitlines()
    rec = AgentRecord()
    stream = AgentStream("w1-a1", rec, CodexParser(None))
    stream.feed(tuple(raw))
    assert stream.needs == AsksQuestion(
        "Before I change the handler: should the error body keep a code?"
    )
    assert rec.session_id == recorded("codex-question", "thread.started")["thread_id"]
    lines, facts = replay("codex-fail")
    assert Ended(True, "turn.failed") in facts
    assert "\x1b[31m■ turn failed: scripted: this request is refused\x1b[0m" in lines


def test_recorded_follow_ups_keep_their_session() -> None:
    lines, facts = replay("claude-followup")
    assert facts[0] == Session(
        str(recorded("claude-followup", "system")["session_id"]), "claude-sonnet-4-5-20250929"
    )
    assert "wavedeck: done api-1 errors keep a stable code, no traceback" in lines
    lines, facts = replay("codex-followup")
    assert facts[0] == Session(str(recorded("codex-followup", "thread.started")["thread_id"]))
    assert "wavedeck: done api-1 errors no longer leak the traceback" in lines


def test_recorded_claude_refusal_with_the_presets_settings_is_reported_once() -> None:
    lines, facts = replay("claude-denied")
    assert [f for f in facts if isinstance(f, Denied)] == [Denied("Write", "src/api/util.py")]
    assert sum("denied Write" in line for line in lines) == 1


def _tool_result(content: str, *, compact: bool, ascii_only: bool = False) -> str:
    """A user event carrying one tool result, as Claude Code writes it (compact) or spaced."""
    event = {
        "type": "user",
        "message": {
            "role": "user",
            "content": [{"tool_use_id": "toolu_1", "type": "tool_result", "content": content}],
        },
        "session_id": "s",
    }
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(event, separators=separators, ensure_ascii=ascii_only)


@pytest.mark.parametrize(
    ("content", "ascii_only", "shown"),
    [
        ("abc", False, "abc"),
        ('a"b', False, 'a"b'),  # an escaped quote is inside the string
        ("\\", False, "\\"),  # an escaped backslash ends just before the closing quote
        ("line1\nline2", False, "line1…"),  # more lines follow
        ("été", True, "été"),  # \u escapes
        ("x" * 598 + "é", True, "x" * 160 + "…"),  # an escape cut at the read limit
    ],
)
def test_a_tool_result_reads_the_same_as_the_full_parse(
    content: str, ascii_only: bool, shown: str
) -> None:
    """A tool result's first line is read from the raw JSON without parsing the (often whole
    file) result; what the pane shows is what the full parse of the same event shows."""
    quick = ClaudeParser(None).feed(_tool_result(content, compact=True, ascii_only=ascii_only))
    full = ClaudeParser(None).feed(_tool_result(content, compact=False, ascii_only=ascii_only))
    assert quick.lines == full.lines == [dim(f"  ⎿ {shown}")]


def test_a_usage_report_read_again_is_counted_once() -> None:
    # A control room killed after saving the state but before the consumer's offset moved
    # reads the run's end again: its result (Claude gives it a uuid) is not added twice.
    raw = (STREAMS / "claude-edit-done.jsonl").read_text("utf-8").splitlines()
    rec = AgentRecord()
    AgentStream("w1-a1", rec, ClaudeParser(None)).feed(tuple(raw))
    AgentStream("w1-a1", rec, ClaudeParser(None)).feed(tuple(raw[-2:]))
    result = recorded("claude-edit-done", "result")
    assert rec.cost_usd == pytest.approx(result["total_cost_usd"])
    assert rec.usage_keys == [result["uuid"]]
