"""Taking over a session by hand: each preset's interactive resume argv (the same ownership rules
as its headless run, no headless output format), and what the CLIs' transcripts say happened
(read from transcripts the real Claude Code 2.1.328 and Codex 0.171.0 wrote)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.presets.test_argv import ctx
from wavedeck.agents.presets.interactive import TAKEOVER, takeover_argv
from wavedeck.agents.presets.transcripts import (
    TRANSCRIPTS,
    Place,
    claude_cost,
    read_claude,
    read_codex,
    slug,
)

STREAMS = Path(__file__).parents[2] / "data" / "agent_streams"


def test_presets_with_a_session_to_take_over() -> None:
    assert set(TAKEOVER) == {"claude", "codex", "gemini", "opencode", "qwen"}
    for preset in ("aider", "generic"):  # no session a terminal can resume
        assert takeover_argv(preset, ctx(Path("/r"), resume="s-1")) is None


def test_claude_resumes_interactively_under_its_settings(tmp_path: Path) -> None:
    argv = takeover_argv("claude", ctx(tmp_path, resume="u-1", extra=("--model", "m")))
    assert argv is not None and argv[:3] == ["/bin/x", "--resume", "u-1"]
    assert "-p" not in argv and "--output-format" not in argv
    assert argv[3:5] == ["--permission-mode", "default"]
    allow = json.loads(argv[argv.index("--settings") + 1])["permissions"]["allow"]
    assert "Edit(./src/a.py)" in allow
    assert "src/a.py" in argv[argv.index("--append-system-prompt") + 1]
    assert argv[-2:] == ["--model", "m"]
    free = takeover_argv("claude", ctx(tmp_path, resume="u-1", restrict_writes=False))
    assert free == ["/bin/x", "--resume", "u-1", "--permission-mode", "acceptEdits"]


def test_codex_gemini_opencode_qwen(tmp_path: Path) -> None:
    assert takeover_argv("codex", ctx(tmp_path, resume="t-1", sandboxed=True)) == [
        "/bin/x", "resume", "-s", "danger-full-access", "t-1",
    ]  # fmt: skip
    assert takeover_argv("codex", ctx(tmp_path, resume="t-1"))[3] == "workspace-write"  # type: ignore[index]
    gemini = takeover_argv("gemini", ctx(tmp_path, resume="g-1"))
    assert gemini is not None and gemini[:4] == ["/bin/x", "--skip-trust", "--resume", "g-1"]
    policy = Path(gemini[gemini.index("--policy") + 1])
    assert policy.is_file() and "src/a.py" in policy.read_text("utf-8")
    assert (
        "--output-format" not in gemini and gemini[gemini.index("--approval-mode") + 1] == "default"
    )
    assert takeover_argv("opencode", ctx(tmp_path, resume="ses_1")) == [
        "/bin/x",
        "--session",
        "ses_1",
    ]
    qwen = takeover_argv("qwen", ctx(tmp_path, resume="q-1"))
    assert qwen is not None and "--output-format" not in qwen and "stream-json" not in qwen
    assert qwen[qwen.index("--resume") + 1] == "q-1" and "Edit(src/a.py)" in qwen


def test_claude_transcript_usage_words_and_cost() -> None:
    data = (STREAMS / "claude-transcript-attach.jsonl").read_bytes()
    lines = data.splitlines(keepends=True)
    # What the take-over appended: from the operator's message on (the headless run before it).
    at = next(i for i, line in enumerate(lines) if b"hello from the operator" in line)
    before, after = b"".join(lines[:at]), b"".join(lines[at:])
    cost = claude_cost(before)
    assert cost is not None and cost > 0
    facts = read_claude(after, "/tmp/h26x/run/repo", cost)
    assert facts.said == ("hello from the operator",)
    assert facts.answer == "I hear you: operator turn"
    assert facts.turns == 1 and facts.output_tokens > 0 and facts.input_tokens > 1000
    assert facts.cost_usd is not None and 0 < facts.cost_usd < claude_cost(data)  # type: ignore[operator]
    # The same message written once per content block is counted once.
    twice = after + b"\n".join(line for line in after.splitlines() if b'"assistant"' in line)
    assert read_claude(twice, "/", cost).output_tokens == facts.output_tokens


def test_claude_write_tools_name_the_files_relative() -> None:
    entry = {
        "type": "assistant",
        "message": {
            "id": "m1",
            "usage": {"input_tokens": 5, "output_tokens": 2},
            "content": [
                {"type": "tool_use", "name": "Write", "input": {"file_path": "/r/src/a.py"}},
                {"type": "tool_use", "name": "Read", "input": {"file_path": "/r/src/b.py"}},
            ],
        },
    }
    torn = b'{"type":"assistant","mess'  # a last line still being written: skipped
    facts = read_claude(json.dumps(entry).encode() + b"\n" + torn, "/r", None)
    assert facts.edited == ("src/a.py",) and facts.cost_usd is None and facts.input_tokens == 5


def test_codex_rollout_usage_and_file_changes() -> None:
    facts = read_codex((STREAMS / "codex-rollout.jsonl").read_bytes(), "/tmp/h26x/cx/repo")
    assert facts.edited == ("hello.txt",) and facts.answer == "done"
    assert facts.input_tokens > 0 and facts.output_tokens > 0 and facts.cost_usd is None
    assert facts.said == ("You are agent w1-a1 of wave 1",)


def test_where_transcripts_are(tmp_path: Path) -> None:
    place, _ = TRANSCRIPTS["claude"]
    assert slug("/home/me/my_repo.x") == "-home-me-my-repo-x"
    found = tmp_path / "c" / "projects" / "-r" / "u-1.jsonl"
    found.parent.mkdir(parents=True)
    found.write_text("{}\n")
    assert place.local({"CLAUDE_CONFIG_DIR": str(tmp_path / "c")}, "/r", "u-1") == str(found)
    assert place.local({"HOME": str(tmp_path)}, "/r", "u-1") is None  # ~/.claude has none
    assert place.shell("/r", "u-1") == '"${CLAUDE_CONFIG_DIR:-$HOME/.claude}"/projects/-r/u-1.jsonl'
    codex, _ = TRANSCRIPTS["codex"]
    assert codex.shell("/r", "t-1").endswith("/sessions/*/*/*/rollout-*-t-1.jsonl")
    with pytest.raises(ValueError):
        place.relative("/r", "../../etc/passwd")  # a session id is never a path
    with pytest.raises(ValueError):
        Place("X", ".x", "{session}").shell("/r", "a;b")
