"""End to end: watching the workspace of the demo sandbox, live and in worktree mode.

Real `wavedeck demo --no-ui --fast` sandboxes and real `wavedeck run --headless --json` processes:

- the demo's stray write (``w1-a2`` edits ``cli/daemon.py``, which no wave-1 agent declares) is
  reported by the live watcher while the agent still works, not found afterwards at the gate:
  the event stream, read line by line as it is produced, shows the ``violation_found`` before
  ``w1-a2`` finishes, with more of its issues done in between;
- ``workspace = "worktree"`` runs the whole reference plan to three checkpoint commits: each one
  names its wave's issues and holds their work, and no worktree or ``wavedeck/*`` branch is left.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.e2e.headless_kit import env, events, git_log, kill_agents, make_demo, run, wavedeck_argv
from wavedeck.agents.tools.demo import PLAN_IN_SANDBOX, STRAY_AGENT, STRAY_PATH, TEST_PATH
from wavedeck.plan.reading.loader import load_plan

pytestmark = pytest.mark.slow  # end-to-end runs of the wavedeck command

WAVE_ISSUES = {1: 29, 2: 38, 3: 27}
# Slow enough that w1-a2 (6 issues, ~4 paced steps each) works for seconds after its stray
# write, which the sim makes right after its first issue (``Agent.misbehave_midway``).
SLOW_SPEED = "0.25"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "sandbox"
    yield folder
    kill_agents(folder)


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)  # end of the stream


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=folder, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout


def _names(text: str, issue: str) -> bool:
    """``issue`` appears as a whole id (``server-1`` is not found in ``server-11``)."""
    return re.search(rf"(?<![\w-]){re.escape(issue)}(?![\w-])", text) is not None


def _added_lines(folder: Path, commit: str) -> dict[str, list[str]]:
    """``{path: [added line, ...]}`` of ``commit`` against its parent."""
    diff = _git(folder, "diff", "--unified=0", "--no-renames", f"{commit}^", commit)
    out: dict[str, list[str]] = {}
    path = ""
    for line in diff.splitlines():
        if line.startswith("+++ "):
            path = line[len("+++ b/") :] if line.startswith("+++ b/") else ""
            out.setdefault(path, [])
        elif line.startswith("+") and path:
            out[path].append(line[1:])
    return out


@pytest.mark.timeout(120)
def test_stray_write_is_reported_while_its_agent_still_runs(sandbox: Path) -> None:
    make_demo(sandbox, speed=SLOW_SPEED)
    proc = subprocess.Popen(
        wavedeck_argv("run", "--headless", "--wave", "1", "--yes", "--accept-violations", "--json"),
        cwd=sandbox,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env(),
    )
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 90
    try:
        # Read the stream as it is produced, up to w1-a2's end (no more is needed).
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, "the run ended before w1-a2 finished: " + str(seen[-5:])
            if not line.strip():
                continue
            event = json.loads(line)
            seen.append(event)
            if (
                event["event"] == "agent_state_changed"
                and event["agent"] == STRAY_AGENT
                and event["state"] not in ("pending", "starting", "running")
            ):
                break
        assert seen[-1]["state"] == "succeeded", seen[-1]
        code = proc.wait(60)
        if code != 0:  # say why: the run's reasons are the JSON events after w1-a2's end
            rest = []
            while (line := lines.get(timeout=10)) is not None:
                rest.append(line)
            events = map(json.loads, filter(str.strip, rest))
            why = [e for e in events if e["event"] != "agent_output"]
            raise AssertionError(f"the wave-1 run exited {code}: {why[-8:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    stray = [
        i for i, e in enumerate(seen) if e["event"] == "violation_found" and e["path"] == STRAY_PATH
    ]
    assert stray, f"no live violation_found for {STRAY_PATH} before {STRAY_AGENT} finished"
    assert seen[stray[0]]["kind"] == "unowned"
    assert STRAY_AGENT in seen[stray[0]]["candidates"]
    # The stray write was mid-run: the agent had done work before it and kept working after it.
    done = [
        i for i, e in enumerate(seen) if e["event"] == "issue_done" and e["agent"] == STRAY_AGENT
    ]
    assert len(done) == 6
    assert done[0] < stray[0] < done[-1], "the violation must be reported while w1-a2 works"
    assert len(git_log(sandbox)) == 2  # the accepted stray went into the wave-1 checkpoint


@pytest.mark.timeout(180)
def test_worktree_mode_runs_the_demo_plan_to_three_checkpoints(sandbox: Path) -> None:
    make_demo(sandbox)
    config = sandbox / "wavedeck.toml"
    text = config.read_text("utf-8")
    assert "workspace" not in text
    config.write_text(text.replace("plan = ", 'workspace = "worktree"\nplan = ', 1), "utf-8")
    # An uncommitted config change would itself be a stray file for the gate.
    _git(sandbox, "commit", "-q", "-m", "Run the demo in worktree mode", "--", "wavedeck.toml")
    before = _git(sandbox, "rev-parse", "HEAD").strip()

    done = run(
        sandbox, "run", "--headless", "--all", "--yes", "--accept-violations", "--json", timeout=170
    )
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    evs = events(done.stdout)
    commits = [e for e in evs if e["event"] == "checkpoint_committed"]
    assert [c["wave"] for c in commits] == [1, 2, 3]
    assert "Traceback" not in done.stderr
    # Every write in a worktree is its agent's: the stray is attributed exactly, not guessed.
    stray = [e for e in evs if e["event"] == "violation_found" and e["path"] == STRAY_PATH]
    assert stray and all(e["agent"] == STRAY_AGENT for e in stray)

    # Three new commits, one per wave, in order, on the branch.
    assert _git(sandbox, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    chain = _git(sandbox, "rev-list", "--reverse", f"{before}..HEAD").split()
    assert chain == [c["commit"] for c in commits]
    assert len(git_log(sandbox)) == 5

    plan = load_plan(sandbox / PLAN_IN_SANDBOX).plan
    for commit, wave in zip(commits, plan.waves, strict=True):
        n = wave.number
        assert commit["wave"] == n
        message = _git(sandbox, "log", "-1", "--format=%B", commit["commit"])
        wave_issues = {i.id: a for a in wave.agents for i in a.issues}
        assert len(wave_issues) == WAVE_ISSUES[n]
        assert sorted(commit["issues"]) == sorted(wave_issues)
        missing = [i for i in wave_issues if not _names(message, i)]
        assert not missing, f"wave {n} commit message does not name {missing}"
        # The work is in the commit: each issue's sim tag in one of its agent's own files.
        added = _added_lines(sandbox, commit["commit"])
        declared = {p for a in wave.agents for p in a.paths}
        extra = {STRAY_PATH, TEST_PATH} if n == 1 else set()
        assert set(added) <= declared | extra, set(added) - declared - extra
        if n == 1:
            assert extra <= set(added)  # the accepted strays were collected and committed
        for issue, agent in wave_issues.items():
            tag = f"wavedeck-sim: {issue} fixed"
            where = [p for p, lines in added.items() if any(tag in line for line in lines)]
            assert len(where) == 1 and where[0] in agent.paths, (issue, where)

    # The worktrees and their branches are gone (wtmode.cleanup deletes both); nothing is left
    # uncommitted in the main tree.
    listed = _git(sandbox, "worktree", "list", "--porcelain")
    assert [ln for ln in listed.splitlines() if ln.startswith("worktree ")] == [
        f"worktree {sandbox.resolve()}"
    ]
    assert _git(sandbox, "branch", "--list", "wavedeck/*").strip() == ""
    assert _git(sandbox, "for-each-ref", "refs/heads/").count("refs/heads/") == 1
    assert _git(sandbox, "status", "--porcelain") == ""
    status = run(sandbox, "status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["issues_done"] == 94
