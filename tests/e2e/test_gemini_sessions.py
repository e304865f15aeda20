"""Parallel Gemini CLI agents keep each other's sessions (the real binary, offline).

Gemini CLI 0.61 cleans its session folder at every start and deletes any session file with no
message yet, which is what a session started a moment earlier by another agent in the same
repository looks like. Found in CI: agent 2's start deleted agent 1's new session file, and agent
1's follow-up then failed with "Invalid session identifier". wavedeck starts a preset's agents
one at a time on each machine, each once the one before there has recorded its session: these
tests read the session files a wave leaves and check that order, and that each session is still
there, for agents here and for agents on one SSH host (the loopback sshd).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.agent_cli_kit import require
from tests.e2e.gemini_server import GeminiServer
from tests.e2e.headless_kit import events, kill_agents, run, state
from tests.e2e.real_cli_kit import ISSUES, final_state, key, make_sandbox, ran
from tests.e2e.scripted_http import Hold, Say
from tests.unit.remote.hostkit import add_host
from tests.unit.remote.sshkit import Sshd, make_clone, sshd

pytestmark = pytest.mark.slow
__all__ = ["sshd"]  # the fixture, used by the SSH test


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "repo"
    yield repo
    kill_agents(repo)


def nothing(agent: str) -> list[object]:
    return [[Say(f"Nothing to change.\nwavedeck: done {ISSUES[agent]} already safe")]]


def sessions(home: Path) -> dict[str, list[dict[str, object]]]:
    """Gemini's session files under ``home``: session id -> its records, in order."""
    out = {}
    for path in home.glob(".gemini/tmp/*/chats/session-*.jsonl"):
        records = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
        out[str(records[0].get("sessionId"))] = records
    return out


def first_message_at(records: list[dict[str, object]]) -> str:
    return min(str(r["timestamp"]) for r in records if r.get("type") in ("user", "gemini"))


def check_in_order(folder: Path, done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """Both agents succeeded, both sessions kept, the second started after the first's first
    message; the agents' records."""
    evs = events(done.stdout)
    for agent in ("w1-a1", "w1-a2"):  # (the wave then has nothing to commit: exit 1)
        assert final_state(evs, agent)["state"] == "succeeded", ran(done)
    agents: dict[str, Any] = state(folder)["agents"]
    found = sessions(folder.parent / "repo-home")
    first, second = (found.get(agents[a]["session_id"]) for a in ("w1-a1", "w1-a2"))
    assert first and second, f"a session file is missing: {sorted(found)}"
    for records in (first, second):  # each starts with its metadata and holds its messages
        assert "startTime" in records[0] and first_message_at(records)
    # The second agent's Gemini started once the first had recorded its first message.
    assert str(second[0]["startTime"]) > first_message_at(first)
    return agents


@pytest.mark.timeout(240)
def test_gemini_agents_start_one_at_a_time_and_keep_their_sessions(folder: Path) -> None:
    script = {key(a): nothing(a) for a in ("w1-a1", "w1-a2")}
    with GeminiServer(script) as srv:
        make_sandbox(folder, require("gemini"), srv.url, cli="gemini")
        done = run(folder, "run", "--headless", "--all", "--yes", "--json", timeout=200)
    check_in_order(folder, done)


@pytest.mark.timeout(300)
def test_gemini_agents_on_one_ssh_host_start_there_one_at_a_time(
    folder: Path, sshd: Sshd, tmp_path: Path
) -> None:
    """Both agents on the loopback host (its state there: the same GEMINI_CLI_HOME, as the
    agent's env says): the host's queue asks the host for the first one's session file. The
    first one's model answers only once the second has asked: the second must start while the
    first still runs, so on the host's word that its session is recorded, not on its end."""
    first = Hold(key("w1-a2"), 0, nothing("w1-a1")[0])
    script = {key("w1-a1"): [first], key("w1-a2"): nothing("w1-a2")}
    with GeminiServer(script) as srv:
        make_sandbox(folder, require("gemini"), srv.url, cli="gemini")
        clone = make_clone(tmp_path / "host-clone")
        add_host(folder, sshd.cfg(clone, agents=["w1-a1", "w1-a2"]))
        done = run(folder, "run", "--headless", "--all", "--yes", "--json", timeout=260)
    agents = check_in_order(folder, done)
    for agent in ("w1-a1", "w1-a2"):
        assert agents[agent]["handle"]["host"] == "loop"
    # The session was found where Gemini wrote it on the host: no wait ran out (the order
    # alone could come from the launches over SSH taking their time).
    said = done.stdout + done.stderr
    assert "no session recorded" not in said and "could not be confirmed" not in said, said
