"""A new user's first hour, end to end with real processes (issue #12, items 7 and 10).

- The demo's printed suggestion is a command that completes: run as printed in the sandbox, it
  exits 0 with three checkpoints and says the plan is complete; run again, it says there is
  nothing left to do (exit 0).
- ``wavedeck status`` after a killed headless run: the agents finished with nobody watching and
  status says so (from their exit files and progress lines), without the control room's lock and
  without changing the state file.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.headless_kit import (
    alive_handles,
    git_log,
    kill_agents,
    make_demo,
    run,
    start,
    wait_for,
    wait_running,
)
from wavedeck.agents.state import StateStore

pytestmark = pytest.mark.slow  # end-to-end runs of the wavedeck command

SUGGESTION = re.compile(r"`cd (\S+) && (wavedeck run [^`]+)`")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "sandbox"
    yield folder
    kill_agents(folder)


@pytest.mark.timeout(300)
def test_the_demos_suggested_command_completes(sandbox: Path) -> None:
    made = run(sandbox.parent, "demo", "--no-ui", "--fast", "--dir", str(sandbox))
    assert made.returncode == 0, made.stderr
    found = SUGGESTION.search(made.stderr)
    assert found is not None, made.stderr
    assert Path(found.group(1)) == sandbox
    argv = shlex.split(found.group(2))[1:]  # without the program name: run as this Python

    done = run(sandbox, *argv, timeout=280)

    assert done.returncode == 0, done.stderr[-3000:]
    assert len(git_log(sandbox)) == 4  # the sandbox's commit and three checkpoints
    assert "plan complete" in done.stderr
    again = run(sandbox, *argv)
    assert again.returncode == 0, again.stderr
    assert "nothing left to do" in again.stderr
    one = run(sandbox, "run", "--headless", "--wave", "2", "--yes")
    assert one.returncode == 0 and "wave 2 is already committed" in one.stderr, one.stderr


@pytest.mark.timeout(180)
def test_status_sees_agents_that_ended_after_the_control_room_was_killed(sandbox: Path) -> None:
    make_demo(sandbox, speed="0.3")
    out = sandbox.parent / "run.jsonl"
    proc = start(sandbox, out, "run", "--headless", "--wave", "1", "--yes", "--json")
    try:
        wait_running(out)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    state_file = sandbox / ".wavedeck" / "state.json"
    recorded = json.loads(state_file.read_text("utf-8"))
    assert all(r["state"] == "running" for a, r in recorded["agents"].items())
    wait_for(lambda: not alive_handles(sandbox), 120, "the agents to finish on their own")
    saved = state_file.read_bytes()

    holder = StateStore(sandbox / ".wavedeck")
    holder.lock()  # as if a control room were running: status must not need the lock
    try:
        as_json = run(sandbox, "status", "--json")
        readable = run(sandbox, "status")
    finally:
        holder.unlock()

    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    wave1 = {a: r for a, r in data["agents"].items() if a.startswith("w1-")}
    assert len(wave1) == 5
    assert all(
        r["state"] == "succeeded" and r["recorded_state"] == "running" for r in wave1.values()
    )
    assert all(r["exit_code"] == 0 for r in wave1.values())
    assert data["issues_done"] == 29  # progress lines no control room read are counted too
    assert readable.returncode == 0, readable.stderr
    assert readable.stdout.count("succeeded") == 5
    assert "ended while no control room was watching" in readable.stdout
    assert "every agent has ended" in readable.stdout
    assert "issues done: 29" in readable.stdout
    assert state_file.read_bytes() == saved  # read-only
