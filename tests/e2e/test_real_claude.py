"""End to end with the real Claude Code CLI (npm, pinned) as the agent, offline.

`wavedeck run --headless --json` runs a two-agent plan in a real git repository; every agent is
the real `claude` binary (``[agent] preset = "claude"``, ``program`` = the installed binary),
pointed by ``ANTHROPIC_BASE_URL`` at the scripted Messages API of ``model_server`` on 127.0.0.1,
the only double. Scripts: agents that read, edit their file and report done (issue_done, session,
tool calls, usage and cost, checkpoint); one that writes a file it does not own (denied at the
source by the preset; a violation naming it when the restriction is off, while the owner runs);
one that writes it through the shell (the watcher's case; a known gap, xfail); one whose model
fails (failed, with the reason); agents over their budget (stopped, failed); one that asks a
question (needs you; a follow-up resumes its session and finishes). Skipped with the reason when the CLI is not
installed; a failure under ``.ci/run`` (``WAVEDECK_REQUIRE_AGENT_CLIS=1``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.agent_cli_kit import require
from tests.e2e.headless_kit import events, kill_agents, run, state
from tests.e2e.model_server import Error, Hold, ModelServer, Request, Script, Text, ToolUse
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

RUN = ("run", "--headless", "--all", "--yes", "--json")
FIXED = {
    "src/api/server.py": 'def handle(err):\n    return {"error": "internal error"}\n',
    "src/web/page.py": (
        'import html\n\n\ndef page(name):\n    return "<h1>" + html.escape(name) + "</h1>"\n'
    ),
}

pytestmark = pytest.mark.slow


@pytest.fixture
def claude() -> Path:
    return require("claude")


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "repo"
    yield repo
    kill_agents(repo)


def fixes(repo: Path, agent: str) -> list[list[Text | ToolUse]]:
    """Read the owned file, rewrite it fixed, byte-compile it, report the issue done."""
    path = str(repo / FILES[agent])
    return [
        [Text(f"Reading {FILES[agent]}."), ToolUse("Read", {"file_path": path})],
        [ToolUse("Write", {"file_path": path, "content": FIXED[FILES[agent]]})],
        [
            ToolUse(
                "Bash",
                {"command": f"python3 -m py_compile {FILES[agent]}", "description": "compile"},
            )
        ],
        [Text(f"The fix is in.\nwavedeck: done {ISSUES[agent]} fixed")],
    ]


def nothing_to_do(agent: str) -> list[list[Text | ToolUse]]:
    return [[Text(f"Nothing to change here.\nwavedeck: done {ISSUES[agent]} already safe")]]


def first_user_text(request: Request) -> str:
    content = request.body["messages"][0]["content"]
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))


def system_text(request: Request) -> str:
    system = request.body.get("system")
    if isinstance(system, list):
        return "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
    return str(system or "")


def last_tool_results(request: Request) -> list[dict[str, Any]]:
    """The tool_result blocks of the request's last message (what the CLI answered the model)."""
    content = request.body["messages"][-1]["content"]
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, list):
        return "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return str(content)


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
def test_a_write_to_a_file_the_agent_does_not_own_is_denied_at_the_source(
    claude: Path, folder: Path
) -> None:
    """The preset lets an agent edit only its own files: the real CLI refuses the write, the
    file is untouched, the denial is an event and the agent needs you."""
    foreign = folder / FILES["w1-a2"]
    script: Script = {
        key("w1-a1"): [
            [ToolUse("Read", {"file_path": str(foreign)})],
            [ToolUse("Write", {"file_path": str(foreign), "content": "HACKED = True\n"})],
            [Text("I may not edit src/web/page.py; it needs escaping. Leaving it to its owner.")],
        ],
        key("w1-a2"): nothing_to_do("w1-a2"),
    }
    with ModelServer(script) as server:
        make_sandbox(folder, claude, server.url)
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 1, ran(done)  # the wave cannot be checkpointed
    assert foreign.read_text("utf-8") == ORIGINAL[FILES["w1-a2"]]
    denied = by_name(evs, "agent_denied", agent="w1-a1")
    assert [(d["tool"], d["path"]) for d in denied] == [("Write", FILES["w1-a2"])]
    # what the CLI told the model: a refusal, not a success
    after = [r for r in server.conversation(key("w1-a1")) if r.turn == 2]
    assert after, "the agent never got past the refused write"
    (refusal,) = last_tool_results(after[0])
    assert refusal.get("is_error") is True
    assert "permission" in result_text(refusal).lower()
    assert final_state(evs, "w1-a1")["state"] == "needs_you"
    assert final_state(evs, "w1-a2")["state"] == "succeeded"
    assert not by_name(evs, "violation_found")  # nothing was written
    assert not by_name(evs, "checkpoint_committed")
    assert state(folder)["agents"]["w1-a1"]["denials"]


@pytest.mark.timeout(180)
def test_without_the_restriction_a_foreign_write_is_a_violation_naming_the_writer(
    claude: Path, folder: Path
) -> None:
    """`restrict_writes = false`: the CLI writes the other agent's file while that agent runs
    too; the watcher's violation names the agent whose tool call wrote it, not both."""
    foreign = folder / FILES["w1-a2"]
    script: Script = {
        key("w1-a1"): [
            [ToolUse("Read", {"file_path": str(foreign)})],
            [ToolUse("Write", {"file_path": str(foreign), "content": FIXED[FILES["w1-a2"]]})],
            [Text("Fixed the page too.\nwavedeck: done api-1 fixed")],
        ],
        # w1-a2 runs (waiting for its model) until w1-a1's write has been made and reported
        key("w1-a2"): [Hold(key("w1-a1"), 2, nothing_to_do("w1-a2")[0])],
    }
    with ModelServer(script) as server:
        make_sandbox(folder, claude, server.url, agent_settings="restrict_writes = false\n")
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 1, ran(done)  # the gate refuses the foreign write
    assert foreign.read_text("utf-8") == FIXED[FILES["w1-a2"]]
    assert [r.turn for r in server.conversation(key("w1-a2"))] == [0]
    violations = by_name(evs, "violation_found", path=FILES["w1-a2"])
    assert violations, ran(done)
    assert {v["agent"] for v in violations} == {"w1-a1"}
    refused = by_name(evs, "gate_refused", wave=1)
    assert refused and FILES["w1-a2"] in refused[0]["paths"]
    assert not by_name(evs, "agent_denied")


@pytest.mark.xfail(
    strict=True,
    reason="known gap: a shell write of a running owner's file is attributed to the owner (no "
    "tool call names the path; the other agent's Bash command is not cross-checked)",
)
@pytest.mark.timeout(180)
def test_a_write_through_the_shell_escapes_the_restriction_but_not_the_watcher(
    claude: Path, folder: Path
) -> None:
    """Bash is allowed (agents run tests), so a shell redirect is not refused at the source:
    the watcher must flag the foreign file and the gate refuse the checkpoint. Today, with the
    owner running too, the write is credited to the owner and committed (xfail, strict: remove
    the marker when the attribution cross-checks shell commands)."""
    foreign = FILES["w1-a2"]
    script: Script = {
        key("w1-a1"): [
            [ToolUse("Bash", {"command": f"printf 'HACKED = 1\\n' > {foreign}"})],
            [Text("Patched the page from the shell.\nwavedeck: done api-1 fixed")],
        ],
        # w1-a2 runs until w1-a1's command has run and been reported
        key("w1-a2"): [Hold(key("w1-a1"), 1, nothing_to_do("w1-a2")[0])],
    }
    with ModelServer(script) as server:
        make_sandbox(folder, claude, server.url)
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 1, ran(done)
    assert (folder / foreign).read_text("utf-8") == "HACKED = 1\n"
    assert not by_name(evs, "agent_denied")
    (tool,) = by_name(evs, "agent_tool", agent="w1-a1", tool="Bash")
    assert foreign in tool["summary"]
    violations = by_name(evs, "violation_found", path=foreign)
    assert violations, ran(done)
    # no tool call names the path, so both running agents are candidates (not just w1-a2)
    for v in violations:
        assert v["agent"] == "w1-a1" or "w1-a1" in v["candidates"], v
    refused = by_name(evs, "gate_refused", wave=1)
    assert refused and foreign in refused[0]["paths"]
    assert not by_name(evs, "checkpoint_committed")


@pytest.mark.xfail(
    strict=False,
    reason="known bug, timing-dependent: Claude Code writes <file>.tmp.<pid>.<hex> and renames "
    "it over the file; when the two land in different watcher batches the temp file is reported "
    "as an undeclared violation",
)
@pytest.mark.timeout(180)
def test_the_clis_temp_files_are_not_violations(claude: Path, folder: Path) -> None:
    """Each Write of the real CLI is a temp file renamed over the target: many writes in a row,
    and only the owned files may be touched, with no violation."""

    def writes(agent: str) -> list[list[Text | ToolUse]]:
        path = str(folder / FILES[agent])
        turns: list[list[Text | ToolUse]] = [[ToolUse("Read", {"file_path": path})]]
        for n in range(12):
            turns.append([ToolUse("Write", {"file_path": path, "content": f"VERSION = {n}\n"})])
        return [*turns, [Text(f"wavedeck: done {ISSUES[agent]} fixed")]]

    with ModelServer({key(a): writes(a) for a in FILES}) as server:
        make_sandbox(folder, claude, server.url)
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 0, ran(done)
    assert {e["path"] for e in by_name(evs, "file_touched")} == set(FILES.values())
    assert not by_name(evs, "violation_found"), ran(done)


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
        assert question in state(folder)["agents"]["w1-a1"]["needs"]
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
