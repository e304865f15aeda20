"""End to end: every crash window of `wavedeck run --headless` resumes (issue #20).

Each window is reached deterministically: ``WAVEDECK_TEST_FAULT`` names a fault point
(``wavedeck.agents.faults``) where the process SIGKILLs itself, exactly between the two steps
that must both happen. The next run must finish what the killed one left half done.

- Killed right after the checkpoint's ``update-ref``, before the run state recorded it (and
  before the user's index was refreshed): the next run recognises wavedeck's own commit from
  the intent recorded before the branch moved, records it, refreshes the index (else the user's
  next ``git commit`` would revert the wave) and makes no second commit.
- Killed between an agent's launch and the state's record of it, the agent finishing before the
  next run: the launch recorded before it happened lets the next run adopt that run (its exit
  file, its log, every line shown) instead of launching the agent a second time.
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

WAVE_1 = ("run", "--headless", "--wave", "1", "--yes", "--json", "--accept-violations")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "sandbox"
    yield folder
    kill_agents(folder)


def _run(folder: Path, *args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    return run(folder, *args, timeout=120, fault=fault)


def _runs(log: list[str], agent: str) -> int:
    return sum(line.startswith(f"sim-agent {agent} started") for line in log)


@pytest.mark.timeout(180)
def test_killed_right_after_the_checkpoint_moved_the_branch_resumes_its_bookkeeping(
    sandbox: Path,
) -> None:
    make_demo(sandbox)
    base = git(sandbox, "rev-parse", "HEAD")
    killed = _run(sandbox, *WAVE_1, fault="checkpoint-branch-moved")
    assert killed.returncode == -9, killed.stderr[-2000:]
    moved = git(sandbox, "rev-parse", "HEAD")
    assert moved != base  # the checkpoint commit exists and the branch points at it...
    assert state(sandbox)["waves"]["1"]["checkpoint"] is None  # ...unrecorded
    # The user's index still holds the pre-wave blobs of the checkpointed files: a `git commit`
    # now would revert the wave. The next run must put that right.
    assert git(sandbox, "diff", "--cached", "--name-only", "HEAD") != ""

    again = _run(sandbox, *WAVE_1)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    assert git(sandbox, "rev-parse", "HEAD") == moved  # no second commit
    assert state(sandbox)["waves"]["1"]["checkpoint"] == moved
    committed = [e for e in events(again.stdout) if e["event"] == "checkpoint_committed"]
    assert [(e["wave"], e["commit"]) for e in committed] == [(1, moved)]
    assert git(sandbox, "diff", "--cached", "--name-only", "HEAD") == ""  # index refreshed
    assert git(sandbox, "status", "--porcelain") == ""
    assert git(sandbox, "for-each-ref", "refs/wavedeck/") == ""  # the start tree let go


@pytest.mark.timeout(180)
def test_killed_between_an_agents_launch_and_its_record_adopts_the_run_never_relaunches(
    sandbox: Path,
) -> None:
    make_demo(sandbox)
    killed = _run(sandbox, *WAVE_1, fault="agent-launched")
    assert killed.returncode == -9, killed.stderr[-2000:]
    first = "w1-a1"  # the first agent launched: the process died right after starting it
    record = state(sandbox)["agents"].get(first, {})
    assert record.get("handle") is None  # not recorded as launched
    exit_file = sandbox / ".wavedeck" / "run" / f"{first}.exit"
    wait_for(exit_file.exists, 60, f"{first} to finish on its own")  # before the next run
    log = sandbox / ".wavedeck" / "logs" / f"{first}.log"
    before = log.read_text("utf-8").splitlines()
    assert _runs(before, first) == 1

    again = _run(sandbox, *WAVE_1)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    lines = log.read_text("utf-8").splitlines()
    assert _runs(lines, first) == 1  # launched once: its edits landed once
    assert lines == before
    shown = [
        e["line"]
        for e in events(again.stdout)
        if e["event"] == "agent_output" and e["agent"] == first
    ]
    assert shown == lines  # every line of the run the killed control room started is shown
    assert state(sandbox)["agents"][first]["launches"] == 1
    assert state(sandbox)["agents"][first]["state"] == "succeeded"
    assert any(e["event"] == "checkpoint_committed" for e in events(again.stdout))
