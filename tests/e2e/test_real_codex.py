"""End to end with the real Codex CLI (npm ``@openai/codex``, pinned) as the agent, offline.

`wavedeck run --headless --json` runs the two-agent plan of ``real_cli_kit`` with
``[agent] preset = "codex"``; each agent is the real ``codex exec`` binary, whose custom model
provider (``$CODEX_HOME/config.toml``) is the scripted Responses API of ``codex_server`` on
127.0.0.1, the only double. Codex runs its commands and patches itself (its own sandbox,
``workspace-write``), so the files change for real. Scripts: agents that read, patch and report
done (session = thread id, tool calls with paths, token usage, checkpoint); one whose model fails;
one that asks a question, then a follow-up (``codex exec resume``); one that patches the other
agent's file while that agent runs (Codex cannot restrict writes per file; with the kernel
sandbox off the watcher's violation names the writer, exactly, though Codex reports its
``file_change`` once the patch is applied); a clean patch leaves no violation (Codex's sandbox
mount points, ``.agents``, ``.aws``, ``.codex``, are its CLI's own paths, ignored). Skipped with
the reason when the CLI is not installed; a failure under ``.ci/run``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.agent_cli_kit import require
from tests.e2e.codex_server import (
    CodexScript,
    CodexServer,
    CodexTurn,
    Fail,
    Hold,
    Say,
    patch,
    shell,
)
from tests.e2e.headless_kit import events, kill_agents, run, state
from tests.e2e.real_cli_kit import (
    FILES,
    ISSUES,
    ORIGINAL,
    by_name,
    committed,
    final_state,
    key,
    make_sandbox,
    pane,
    ran,
)

RUN = ("run", "--headless", "--all", "--yes", "--json")
FIXED = {
    "src/api/server.py": 'def handle(err):\n    return {"error": "internal error"}\n',
    "src/web/page.py": (
        'import html\ndef page(name):\n    return "<h1>" + html.escape(name) + "</h1>"\n'
    ),
}

pytestmark = pytest.mark.slow


@pytest.fixture
def codex() -> Path:
    return require("codex")


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "repo"
    yield repo
    kill_agents(repo)


def rewrite(rel: str, text: str) -> str:
    """An apply_patch replacing the whole of ``rel`` (as ORIGINAL holds it) with ``text``."""
    old = "".join(f"-{line}\n" for line in ORIGINAL[rel].splitlines())
    new = "".join(f"+{line}\n" for line in text.splitlines())
    return f"*** Begin Patch\n*** Update File: {rel}\n@@\n{old}{new}*** End Patch\n"


def fixes(agent: str) -> list[CodexTurn]:
    rel = FILES[agent]
    return [
        [Say(f"Reading {rel}."), shell(f"cat {rel}")],
        [patch(rewrite(rel, FIXED[rel]))],
        [shell(f"python3 -m py_compile {rel}")],
        [Say(f"The fix is in.\nwavedeck: done {ISSUES[agent]} fixed")],
    ]


def nothing_to_do(agent: str) -> list[CodexTurn]:
    return [[Say(f"Nothing to change.\nwavedeck: done {ISSUES[agent]} already safe")]]


@pytest.mark.timeout(180)
def test_codex_agents_patch_report_done_with_thread_usage_and_a_checkpoint(
    codex: Path, folder: Path
) -> None:
    script: CodexScript = {key(a): fixes(a) for a in FILES}
    with CodexServer(script) as server:
        make_sandbox(folder, codex, server.url, cli="codex")
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 0, ran(done)
    record = state(folder)["agents"]
    for agent, rel in FILES.items():
        conversation = server.conversation(key(agent))
        assert sorted({r.turn for r in conversation}) == [0, 1, 2, 3]
        (session,) = by_name(evs, "agent_session", agent=agent)
        # Codex's thread id is what it sends the model as its session
        assert {r.body["prompt_cache_key"] for r in conversation} == {session["session_id"]}
        assert record[agent]["session_id"] == session["session_id"]
        assert by_name(evs, "issue_done", agent=agent, issue=ISSUES[agent])
        tools = by_name(evs, "agent_tool", agent=agent)
        assert any(t["path"] == rel for t in tools), tools  # the file_change item
        touched = by_name(evs, "file_touched", path=rel)
        assert touched and {t["agent"] for t in touched} == {agent}
        usage = by_name(evs, "agent_usage", agent=agent)[-1]
        assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
        assert usage["cost_usd"] is None  # Codex reports tokens, not money
        lines = pane(evs, agent)
        assert f"wavedeck: done {ISSUES[agent]} fixed" in lines
        assert not [line for line in lines if line.lstrip().startswith('{"type"')]
        assert final_state(evs, agent)["state"] == "succeeded"
        assert committed(folder, rel) == FIXED[rel]
    (checkpoint,) = by_name(evs, "checkpoint_committed", wave=1)
    assert sorted(checkpoint["issues"]) == ["api-1", "web-1"]


@pytest.mark.timeout(180)
def test_a_codex_agent_whose_model_fails_is_failed_with_the_reason(
    codex: Path, folder: Path
) -> None:
    script: CodexScript = {
        key("w1-a1"): [Fail(400, "invalid_request_error", "scripted: this request is refused")],
        key("w1-a2"): nothing_to_do("w1-a2"),
    }
    with CodexServer(script) as server:
        make_sandbox(folder, codex, server.url, cli="codex")
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 1, ran(done)
    assert server.conversation(key("w1-a1"))
    failed = final_state(evs, "w1-a1")
    assert failed["state"] == "failed" and failed["exit_code"] == 1
    shown = failed["reason"] + "\n" + "\n".join(pane(evs, "w1-a1"))
    assert "scripted: this request is refused" in shown
    assert final_state(evs, "w1-a2")["state"] == "succeeded"
    assert not by_name(evs, "checkpoint_committed")


@pytest.mark.timeout(180)
def test_a_codex_patch_of_its_own_file_leaves_no_violation(codex: Path, folder: Path) -> None:
    rel = FILES["w1-a1"]
    script: CodexScript = {
        key("w1-a1"): [[patch(rewrite(rel, FIXED[rel]))], [Say("wavedeck: done api-1 fixed")]],
        key("w1-a2"): nothing_to_do("w1-a2"),
    }
    with CodexServer(script) as server:
        make_sandbox(folder, codex, server.url, cli="codex")
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 0, ran(done)
    assert {e["path"] for e in by_name(evs, "file_touched")} == {rel}
    assert not by_name(evs, "violation_found"), ran(done)


@pytest.mark.timeout(180)
def test_a_codex_write_to_another_agents_file_is_a_violation_naming_the_writer(
    codex: Path, folder: Path
) -> None:
    rel = FILES["w1-a2"]
    script: CodexScript = {
        key("w1-a1"): [
            [patch(rewrite(rel, FIXED[rel]))],
            [Say("Fixed the page too.\nwavedeck: done api-1 fixed")],
        ],
        # w1-a2 keeps running until w1-a1's patch is applied and reported (no sleep)
        key("w1-a2"): [Hold(key("w1-a1"), 1, nothing_to_do("w1-a2")[0])],
    }
    with CodexServer(script) as server:
        # The watcher's attribution is under test: the kernel sandbox would refuse the write.
        make_sandbox(folder, codex, server.url, cli="codex", agent_settings='sandbox = "off"\n')
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 1, ran(done)
    assert (folder / rel).read_text("utf-8") == FIXED[rel]
    violations = by_name(evs, "violation_found", path=rel)
    assert violations and {v["agent"] for v in violations} == {"w1-a1"}, ran(done)
    assert violations[-1]["attribution"] == "exact"
    assert by_name(evs, "gate_refused", wave=1)


@pytest.mark.timeout(240)
def test_a_codex_question_needs_you_and_a_follow_up_resumes_the_thread(
    codex: Path, folder: Path
) -> None:
    question = "Should the error body keep an error code?"
    answer = "No code: a fixed message is enough."
    rel = FILES["w1-a1"]
    script: CodexScript = {
        key("w1-a1"): [
            [Say(f"Before I change the handler: {question}")],
            [Say("Fixing it."), patch(rewrite(rel, FIXED[rel]))],
            [Say("wavedeck: done api-1 fixed as asked")],
        ],
        key("w1-a2"): fixes("w1-a2"),
    }
    with CodexServer(script) as server:
        make_sandbox(folder, codex, server.url, cli="codex")
        first = run(folder, *RUN, timeout=150)
        evs = events(first.stdout)
        assert first.returncode == 1, ran(first)
        assert final_state(evs, "w1-a1")["state"] == "needs_you"
        (session,) = by_name(evs, "agent_session", agent="w1-a1")

        follow = run(
            folder, "run", "--headless", "--follow-up", "w1-a1", answer, "--json", timeout=150
        )
        more = events(follow.stdout)
        assert follow.returncode == 0, ran(follow)
        assert final_state(more, "w1-a1")["state"] == "succeeded"
        assert by_name(more, "issue_done", agent="w1-a1", issue="api-1")
        resumed = [r for r in server.conversation(key("w1-a1")) if r.turn == 1]
        assert resumed, "the follow-up did not continue the scripted conversation"
        assert resumed[0].body["prompt_cache_key"] == session["session_id"]
        sent = json.dumps(resumed[0].body["input"])
        assert question in sent and answer in sent

        last = run(folder, *RUN, timeout=150)
    assert last.returncode == 0, ran(last)
    (checkpoint,) = by_name(events(last.stdout), "checkpoint_committed", wave=1)
    assert sorted(checkpoint["issues"]) == ["api-1", "web-1"]
    assert committed(folder, rel) == FIXED[rel]
