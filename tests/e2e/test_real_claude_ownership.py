"""End to end: ownership with the real Claude Code CLI as the agents, offline.

The two-agent plan of ``real_cli_kit`` under `wavedeck run --headless --json`, every agent the
real `claude` binary (``preset = "claude"``) against the scripted model of ``model_server``. The
preset lets an agent edit only its own files: a write to another agent's file is refused by the
CLI itself (an event; the agent needs you). With ``restrict_writes = false`` the write happens
and the watcher's violation names the agent whose tool call wrote it, while the owner runs too.
A write through the shell is the watcher's alone when the kernel sandbox is off (with the
sandbox on it is refused, test_real_cli_sandbox.py): the command naming the file makes the
agent that ran it the writer, said to be inferred, never the running owner; and the CLI's
atomic-write temp files are not violations.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.agent_cli_kit import require
from tests.e2e.claude_kit import (
    FIXED,
    RUN,
    last_tool_results,
    nothing_to_do,
    result_text,
)
from tests.e2e.headless_kit import events, kill_agents, run, state
from tests.e2e.model_server import Hold, ModelServer, Script, Text, ToolUse
from tests.e2e.real_cli_kit import (
    FILES,
    ISSUES,
    ORIGINAL,
    by_name,
    final_state,
    key,
    make_sandbox,
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
        # The watcher's attribution is under test: the kernel sandbox (which would refuse the
        # write, tests/e2e/test_real_cli_sandbox.py) is off.
        make_sandbox(
            folder, claude, server.url, agent_settings='restrict_writes = false\nsandbox = "off"\n'
        )
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


@pytest.mark.timeout(180)
def test_a_write_through_the_shell_escapes_the_restriction_but_not_the_watcher(
    claude: Path, folder: Path
) -> None:
    """Bash is allowed (agents run tests), so a shell redirect is not refused at the source:
    the watcher flags the foreign file and the gate refuses the checkpoint. With the owner
    running too, the write is not credited to the owner: the Bash command naming the file makes
    w1-a1 its writer, said to be inferred (no tool call names the path)."""
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
        # The watcher's gap is under test: with the kernel sandbox on, the shell write is
        # refused before it lands (tests/e2e/test_real_cli_sandbox.py).
        make_sandbox(folder, claude, server.url, agent_settings='sandbox = "off"\n')
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 1, ran(done)
    assert (folder / foreign).read_text("utf-8") == "HACKED = 1\n"
    assert not by_name(evs, "agent_denied")
    (tool,) = by_name(evs, "agent_tool", agent="w1-a1", tool="Bash")
    assert foreign in tool["summary"]
    violations = by_name(evs, "violation_found", path=foreign)
    assert violations, ran(done)
    # no tool call names the path: the shell command's agent, as a guess said to be one
    for v in violations:
        assert v["agent"] == "w1-a1" or "w1-a1" in v["candidates"], v
    assert (violations[-1]["agent"], violations[-1]["attribution"]) == ("w1-a1", "inferred")
    refused = by_name(evs, "gate_refused", wave=1)
    assert refused and foreign in refused[0]["paths"]
    assert not by_name(evs, "checkpoint_committed")


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
