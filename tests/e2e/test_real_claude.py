"""End to end with the real Claude Code CLI (npm, pinned) as the agent, offline.

`wavedeck run --headless --json` runs a two-agent plan in a real git repository; every agent is
the real `claude` binary (``[agent] preset = "claude"``, ``program`` = the installed binary),
pointed by ``ANTHROPIC_BASE_URL`` at the scripted Messages API of ``model_server`` on 127.0.0.1,
the only double. Scripts: the same argv as an explicit ``command``; agents that read, edit their
file and report done (issue_done, session, tool calls, usage and cost, checkpoint); one whose
model fails (failed, with the reason); agents over their budget (stopped, failed); one that asks
a question (needs you; a follow-up resumes its session and finishes). Ownership is in
``test_real_claude_ownership.py``, the control room in ``test_real_claude_tui.py``. Skipped with
the reason when the CLI is not installed; a failure under ``.ci/run``
(``WAVEDECK_REQUIRE_AGENT_CLIS=1``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.agent_cli_kit import require
from tests.e2e.claude_kit import (
    FIXED,
    RUN,
    first_user_text,
    fixes,
    nothing_to_do,
    system_text,
)
from tests.e2e.headless_kit import events, kill_agents, run, state
from tests.e2e.model_server import Error, ModelServer, Script, Text, ToolUse
from tests.e2e.real_cli_kit import (
    FILES,
    ISSUES,
    ORIGINAL,
    by_name,
    commit_message,
    committed,
    final_state,
    key,
    make_sandbox,
    pane,
    ran,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def claude() -> Path:
    return require("claude")


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "repo"
    yield repo
    kill_agents(repo)


@pytest.mark.timeout(180)
def test_explicit_command_runs_the_real_cli_and_checkpoints_its_edit(
    claude: Path, folder: Path
) -> None:
    """Without a preset: `command` is the claude argv (prompt on stdin); the raw stream is the
    log, and the edits made by the real CLI are what the checkpoint commits."""
    script: Script = {key(a): fixes(folder, a) for a in FILES}
    with ModelServer(script) as server:
        make_sandbox(folder, claude, server.url, preset=False, permission_mode="acceptEdits")
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 0, ran(done)
    for agent, rel in FILES.items():
        assert final_state(evs, agent)["state"] == "succeeded"
        assert committed(folder, rel) == FIXED[rel]
        # the CLI really talked to the model: four turns, the prompt as its first message
        conversation = server.conversation(key(agent))
        assert sorted({r.turn for r in conversation}) == [0, 1, 2, 3]
        assert "wavedeck: done <issue-id>" in first_user_text(conversation[0])
    assert len(by_name(evs, "checkpoint_committed", wave=1)) == 1
    log = (folder / ".wavedeck" / "logs" / "w1-a1.log").read_text("utf-8")
    assert '"type":"result"' in log  # the raw stream-json stays on disk


@pytest.mark.timeout(180)
def test_agents_read_edit_report_done_with_session_usage_and_a_checkpoint(
    claude: Path, folder: Path
) -> None:
    script: Script = {key(a): fixes(folder, a) for a in FILES}
    with ModelServer(script) as server:
        make_sandbox(folder, claude, server.url)
        done = run(folder, *RUN, timeout=150)
        status = run(folder, "status", "--json")
    evs = events(done.stdout)
    assert done.returncode == 0, ran(done)
    record = state(folder)["agents"]
    for agent, rel in FILES.items():
        conversation = server.conversation(key(agent))
        assert sorted({r.turn for r in conversation}) == [0, 1, 2, 3]
        # the prompt went in on stdin; the preset told the agent which files it may edit
        assert f"You are agent {agent}" in first_user_text(conversation[0])
        assert rel in system_text(conversation[0])
        # the session wavedeck reports is the one the CLI used with the model
        sessions = by_name(evs, "agent_session", agent=agent)
        assert len(sessions) == 1
        assert {r.headers.get("x-claude-code-session-id") for r in conversation} == {
            sessions[0]["session_id"]
        }
        assert record[agent]["session_id"] == sessions[0]["session_id"]
        # the progress line inside the JSON stream is an issue_done
        assert by_name(evs, "issue_done", agent=agent, issue=ISSUES[agent])
        # tool calls, with the path relative to the repository
        tools = by_name(evs, "agent_tool", agent=agent)
        assert [(t["tool"], t["path"]) for t in tools] == [
            ("Read", rel),
            ("Write", rel),
            ("Bash", None),
        ]
        # the write is attributed exactly, by the tool call (both agents run at once)
        touched = by_name(evs, "file_touched", path=rel)
        assert touched and {t["agent"] for t in touched} == {agent}
        # usage and cost as the CLI reported them, in the events and the state
        usage = by_name(evs, "agent_usage", agent=agent)[-1]
        assert usage["turns"] == 4
        assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
        assert usage["cost_usd"] is not None and usage["cost_usd"] > 0
        assert record[agent]["cost_usd"] == pytest.approx(usage["cost_usd"])
        assert record[agent]["input_tokens"] == usage["input_tokens"]
        # the pane shows rendered lines, not the raw stream
        lines = pane(evs, agent)
        assert f"✎ Write {rel}" in lines
        assert f"$ python3 -m py_compile {rel}" in lines
        assert f"wavedeck: done {ISSUES[agent]} fixed" in lines
        assert not [line for line in lines if line.lstrip().startswith('{"type"')]
        assert final_state(evs, agent)["state"] == "succeeded"
        assert committed(folder, rel) == FIXED[rel]
    checkpoints = by_name(evs, "checkpoint_committed", wave=1)
    assert len(checkpoints) == 1 and sorted(checkpoints[0]["issues"]) == ["api-1", "web-1"]
    message = commit_message(folder)
    assert "not reported done" not in message
    total = sum(record[a]["cost_usd"] for a in FILES)
    assert re.search(r"^Wavedeck-Usage: .*\$\d+\.\d{2}$", message, re.M), message
    assert f"${total:.2f}" in message  # the wave's cost
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["agents"]["w1-a1"]["cost_usd"] == pytest.approx(record["w1-a1"]["cost_usd"])
    assert shown["waves"]["1"]["usage"]["cost_usd"] == pytest.approx(total)


@pytest.mark.timeout(180)
def test_an_agent_whose_model_fails_is_failed_with_the_reason(claude: Path, folder: Path) -> None:
    script: Script = {
        key("w1-a1"): [Error(400, "invalid_request_error", "scripted: this request is refused")],
        key("w1-a2"): nothing_to_do("w1-a2"),
    }
    with ModelServer(script) as server:
        make_sandbox(folder, claude, server.url)
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 1, ran(done)
    assert server.conversation(key("w1-a1")), "the CLI never asked the model"
    failed = final_state(evs, "w1-a1")
    assert failed["state"] == "failed"
    assert failed["exit_code"] == 1
    shown = failed["reason"] + "\n" + "\n".join(pane(evs, "w1-a1"))
    assert "scripted: this request is refused" in shown
    assert final_state(evs, "w1-a2")["state"] == "succeeded"
    assert not by_name(evs, "checkpoint_committed")
    assert committed(folder, FILES["w1-a1"]) == ORIGINAL[FILES["w1-a1"]]


@pytest.mark.timeout(180)
def test_an_agent_over_its_budget_is_stopped_and_failed(claude: Path, folder: Path) -> None:
    """`max_cost_usd`: a four-turn script costs about $0.27 at the CLI's prices; with $0.10 the
    agent stops early (the CLI's own --max-budget-usd) and is failed with the budget reason."""
    script: Script = {key(a): fixes(folder, a) for a in FILES}
    with ModelServer(script) as server:
        make_sandbox(folder, claude, server.url, agent_settings="max_cost_usd = 0.1\n")
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 1, ran(done)
    for agent in FILES:
        assert max(r.turn or 0 for r in server.conversation(key(agent))) < 3
        failed = final_state(evs, agent)
        assert failed["state"] == "failed"
        assert "max_cost_usd" in failed["reason"]
        usage = by_name(evs, "agent_usage", agent=agent)[-1]
        assert usage["cost_usd"] > 0.1
        assert not by_name(evs, "issue_done", agent=agent)
    assert not by_name(evs, "checkpoint_committed")


@pytest.mark.timeout(240)
def test_a_question_needs_you_and_a_follow_up_resumes_the_session(
    claude: Path, folder: Path
) -> None:
    """Each run is a new `wavedeck` process: the session the follow-up resumes comes from the
    saved state, so it survives a control-room restart."""
    question = "Should the error body keep an error code?"
    answer = "No code: a fixed message is enough."
    path = str(folder / FILES["w1-a1"])
    script: Script = {
        key("w1-a1"): [
            [Text(f"Before I change the handler: {question}")],
            [Text("Fixing it."), ToolUse("Read", {"file_path": path})],
            [ToolUse("Write", {"file_path": path, "content": FIXED[FILES["w1-a1"]]})],
            [Text("wavedeck: done api-1 fixed as asked")],
        ],
        key("w1-a2"): fixes(folder, "w1-a2"),
    }
    with ModelServer(script) as server:
        make_sandbox(folder, claude, server.url)
        first = run(folder, *RUN, timeout=150)
        evs = events(first.stdout)
        assert first.returncode == 1, ran(first)
        assert final_state(evs, "w1-a1")["state"] == "needs_you"
        assert final_state(evs, "w1-a2")["state"] == "succeeded"
        needs = state(folder)["agents"]["w1-a1"]["needs"]
        assert needs["kind"] == "asks" and question in needs["question"]
        (session,) = by_name(evs, "agent_session", agent="w1-a1")

        follow = run(
            folder, "run", "--headless", "--follow-up", "w1-a1", answer, "--json", timeout=150
        )
        more = events(follow.stdout)
        assert follow.returncode == 0, ran(follow)
        assert final_state(more, "w1-a1")["state"] == "succeeded"
        assert by_name(more, "issue_done", agent="w1-a1", issue="api-1")
        # the CLI resumed the same conversation: same session, the history and the answer
        resumed = [r for r in server.conversation(key("w1-a1")) if r.turn == 1]
        assert resumed, "the follow-up did not continue the scripted conversation"
        assert resumed[0].headers.get("x-claude-code-session-id") == session["session_id"]
        sent = json.dumps(resumed[0].body["messages"])
        assert question in sent and answer in sent
        record = state(folder)["agents"]["w1-a1"]
        assert record["session_id"] == session["session_id"]
        assert record["follow_ups"] == 1
        log = (folder / ".wavedeck" / "logs" / "w1-a1.log").read_text("utf-8")
        assert log.index(question) < log.index("follow-up") < log.index("done api-1")

        last = run(folder, *RUN, timeout=150)
    assert last.returncode == 0, ran(last)
    (checkpoint,) = by_name(events(last.stdout), "checkpoint_committed", wave=1)
    assert sorted(checkpoint["issues"]) == ["api-1", "web-1"]
    assert committed(folder, FILES["w1-a1"]) == FIXED[FILES["w1-a1"]]
