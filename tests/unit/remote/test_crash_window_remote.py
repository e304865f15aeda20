"""End to end: `wavedeck run --headless` killed between a remote agent's launch and its record
resumes by adopting that run on its host, never launching it again (issue #20).

The demo sandbox with w1-a3 on a loopback SSH host (a ``[hosts.loop]`` section, as an operator
writes it). ``WAVEDECK_TEST_FAULT=agent-launched:w1-a3`` kills the run right after w1-a3 started
on the host, before the state recorded it; w1-a3 ends on the host before the next run. The next
run finds it by the launch id recorded before it started: its log shown from its first line,
its changes brought back, one launch, the wave committed. The local window:
``tests/e2e/test_crash_windows.py``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.headless_kit import (
    events,
    kill_agents,
    make_demo,
    run,
    state,
    wait_for,
)
from tests.sandboxkit import git
from tests.unit.remote.hostkit import add_host
from tests.unit.remote.sshkit import Sshd, make_clone

pytestmark = [pytest.mark.timeout(240), pytest.mark.sshd]
REMOTE = "w1-a3"
WAVE_1 = ("run", "--headless", "--wave", "1", "--yes", "--json", "--accept-violations")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "sandbox"
    yield folder
    kill_agents(folder)


def _run(folder: Path, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    return run(folder, *WAVE_1, timeout=150, fault=fault)


def test_killed_between_a_remote_agents_launch_and_its_record_adopts_the_run_on_its_host(
    sandbox: Path, sshd: Sshd, tmp_path: Path
) -> None:
    make_demo(sandbox)
    clone = make_clone(tmp_path / "host-clone")
    add_host(sandbox, sshd.cfg(clone, agents=[REMOTE]))

    killed = _run(sandbox, fault=f"agent-launched:{REMOTE}")
    assert killed.returncode == -9, killed.stderr[-2000:]
    record = state(sandbox)["agents"].get(REMOTE, {})
    assert record.get("handle") is None and record.get("launching")  # launched, unrecorded
    run = clone / ".wavedeck" / "run"
    wait_for((run / f"{REMOTE}.exit").exists, 90, f"{REMOTE} to finish on its host")
    log = clone / ".wavedeck" / "logs" / f"{REMOTE}.log"
    before = log.read_text("utf-8").splitlines()
    assert sum(line.startswith(f"sim-agent {REMOTE} started") for line in before) == 1

    again = _run(sandbox)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    after = log.read_text("utf-8").splitlines()
    assert after == before  # not launched again: its edits landed once
    shown = [
        e["line"]
        for e in events(again.stdout)
        if e["event"] == "agent_output" and e["agent"] == REMOTE
    ]
    assert shown == before  # every line of the run the killed control room started
    agent = state(sandbox)["agents"][REMOTE]
    assert (agent["launches"], agent["state"], agent["launching"]) == (1, "succeeded", None)
    assert agent["handle"]["host"] == "loop"
    committed = [e for e in events(again.stdout) if e["event"] == "checkpoint_committed"]
    assert len(committed) == 1
    # What it changed on the host came back once and is in the checkpoint.
    tree = clone / ".wavedeck" / "worktrees" / REMOTE
    changed = set(git(tree, "ls-files", "-m", "-o", "--exclude-standard").split())
    assert changed
    commit = committed[0]["commit"]
    assert changed <= set(git(sandbox, "show", "--name-only", "--format=", commit).split())
