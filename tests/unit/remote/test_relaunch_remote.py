"""A remote agent's second run (a restart, a follow-up) shows its lines exactly once, as a
local one does: the host appends every run to the agent's log (never empties it), so the offset
the control room consumed to, and its journal, stay right across runs (#20's remote relaunch).

The loopback sshd is the host (``tests.unit.remote.sshkit``); the supervisor is the real one.
Checked: a restart by the operator (with a forgotten run's output already in the host's log:
not shown), a follow-up of a claude session, and a control room SIGKILLed during the second run
of a restart policy's relaunch, resumed by the next one from its journal: the two runs' output
is the log exactly once.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from tests.e2e.headless_kit import start, wait_for
from tests.sandboxkit import configure
from tests.unit.presets.test_engine_presets import claude_sandbox
from tests.unit.remote.hostkit import add_host, agent_on_host, settled
from tests.unit.remote.sshkit import Sshd, make_clone
from tests.unit.remote.test_e2e_wave import delivered
from tests.unit.wave.enginekit import kill_agents, opened, sandbox, wait_agents
from wavedeck.agents.kinds import IssuesUnreported

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180), pytest.mark.sshd]
REMOTE = "w1-a3"


def host_log(clone: Path, agent_id: str) -> Path:
    return clone / ".wavedeck" / "logs" / f"{agent_id}.log"


async def test_a_remote_restart_shows_the_new_runs_lines_exactly_once(
    tmp_path: Path, sshd: Sshd
) -> None:
    root = sandbox(tmp_path / "repo", extra={}, tests=["true"])
    with agent_on_host(root, tmp_path, sshd, REMOTE) as clone:
        # Output of a run no control room remembers is in the host's log: never shown as ours.
        log = host_log(clone, REMOTE)
        log.parent.mkdir(parents=True)
        log.write_text("a forgotten run's line\n")
        async with opened(root) as (sup, col):
            await sup.start_wave(1)
            await settled(sup)
            first = delivered(col.events, REMOTE)
            assert first and first[0].startswith(f"sim-agent {REMOTE} started")
            await sup.restart_agent(REMOTE)
            await settled(sup)
            both = delivered(col.events, REMOTE)
            rec = sup.agent_record(REMOTE)
            assert (rec.launches, rec.state) == (2, "succeeded")
        lines = log.read_text("utf-8").splitlines()
        # The log holds both runs after the forgotten line; each was shown once, in order.
        assert lines[0] == "a forgotten run's line"
        assert both == lines[1:]
        second = both[len(first) :]
        assert second and second[0].startswith(f"sim-agent {REMOTE} started")
        assert sum(line.startswith(f"sim-agent {REMOTE} started") for line in both) == 2
        assert rec.offset == log.stat().st_size  # consumed to the end, across both runs


async def test_a_remote_follow_up_shows_the_resumed_sessions_lines_exactly_once(
    tmp_path: Path, sshd: Sshd
) -> None:
    agent = "w1-a2"
    root = claude_sandbox(tmp_path / "s", {agent: ["--replay", "question"]})
    with agent_on_host(root, tmp_path, sshd, agent) as clone:
        async with opened(root) as (sup, col):
            await sup.start_wave(1)
            await settled(sup)
            rec = sup.agent_record(agent)
            assert rec.state == "needs_you" and rec.handle is not None and rec.handle.host
            first = delivered(col.events, agent)
            await sup.follow_up(agent, "Keep the code. Go on.")
            await settled(sup)
            rec = sup.agent_record(agent)
            assert (rec.launches, rec.follow_ups) == (2, 1)
            # The stand-in's resumed session reports no issue done: no evidence, so it is
            # incomplete (#19), never "succeeded" on its exit code alone.
            assert rec.state == "needs_you" and isinstance(rec.needs, IssuesUnreported)
            shown = delivered(col.events, agent)
        # The first run's lines once, then the resumed session's, once.
        assert shown[: len(first)] == first
        second = shown[len(first) :]
        assert second.count("follow-up received: Keep the code. Go on.") == 1
        assert sum(line.startswith("✎ Edit") for line in shown) == 1  # the first run's edit
        # Consumed to the end of the host's log, which holds both runs (two sessions' inits).
        data = host_log(clone, agent).read_bytes()
        assert rec.offset == len(data) and data.count(b'"subtype": "init"') == 2
        assert rec.cost_usd == pytest.approx(0.5)  # both runs' usage, counted once


# Every agent of the wave runs this. The remote one fails its first run (the restart policy
# relaunches it); its second run waits at the gate halfway, so the control room dies during it.
GATED = r"""
import os, sys, time
runs, gate = sys.argv[1], sys.argv[2]
if os.environ["WAVEDECK_AGENT_ID"] != "w1-a3":
    print("nothing to do"); sys.exit(0)
with open(runs, "a") as f:
    f.write("run\n")
with open(runs) as f:
    n = len(f.read().splitlines())
for i in range(1, 31):
    print(f"run {n} line {i:03d}", flush=True)
if n == 1:
    sys.exit(3)
deadline = time.monotonic() + 120  # a failed test never leaves it waiting for ever
while not os.path.exists(gate) and time.monotonic() < deadline:
    time.sleep(0.02)
for i in range(31, 61):
    print(f"run {n} line {i:03d}", flush=True)
"""


async def test_a_control_room_killed_during_a_remote_relaunch_resumes_it_exactly(
    tmp_path: Path, sshd: Sshd
) -> None:
    root = sandbox(tmp_path / "repo", extra={}, tests=["true"])
    script, runs, gate = tmp_path / "gated.py", tmp_path / "runs", tmp_path / "gate"
    script.write_text(GATED)
    config = root / "wavedeck.toml"
    text = config.read_text("utf-8")
    head, _, rest = text.partition("command = [")
    command = json.dumps([sys.executable, str(script), str(runs), str(gate)])
    config.write_text(head + "command = " + command + rest.partition("]")[2], "utf-8")
    configure(root, restart={"enabled": True, "backoff_initial_s": 0.1}, commit=True)
    clone = make_clone(tmp_path / "host-clone")
    add_host(root, sshd.cfg(clone, agents=[REMOTE]))
    log, journal = host_log(clone, REMOTE), root / ".wavedeck" / "offsets" / REMOTE

    def consumed() -> int:
        raw = journal.read_bytes()[:20] if journal.exists() else b""
        return int(raw) if raw.isdigit() else 0

    def second_run_begins() -> int:
        data = log.read_bytes() if log.exists() else b""
        return data.find(b"run 2 line 001\n")

    out = tmp_path / "out.jsonl"
    room = start(root, out, "run", "--headless", "--wave", "1", "--yes", "--json")
    try:
        # Killed once it has shown part of the second run (which waits at the gate).
        wait_for(
            lambda: (
                second_run_begins() > 0
                and b"run 2 line 030\n" in log.read_bytes()
                and consumed() > second_run_begins()
            ),
            120,
            "the control room to show the relaunched run's first lines",
        )
        room.send_signal(signal.SIGKILL)
        room.wait(10)
    finally:
        if room.poll() is None:
            room.kill()
    at_kill = consumed()
    shown_before = log.read_bytes()[:at_kill].decode().splitlines()
    assert shown_before[:30] == [f"run 1 line {i:03d}" for i in range(1, 31)]
    assert shown_before[30].startswith("run 2 line")
    try:
        async with opened(root) as (sup, col):
            gate.touch()  # the second run goes on, followed by this control room
            await wait_agents(sup, 1, timeout=90)
            await sup.drain()
            rec = sup.agent_record(REMOTE)
            assert rec.launches == 2  # adopted, not launched again
            # It printed no done line: incomplete (#19), never lost or failed.
            assert rec.state == "needs_you" and isinstance(rec.needs, IssuesUnreported)
            resumed = delivered(col.events, REMOTE)
        # What the killed control room had shown, then what this one showed: the log, once.
        lines = log.read_text("utf-8").splitlines()
        assert shown_before + resumed == lines
        assert lines == [f"run {n} line {i:03d}" for n, last in ((1, 30), (2, 60))
                         for i in range(1, last + 1)]  # fmt: skip
        assert runs.read_text().count("run") == 2
    finally:
        kill_agents(root)


async def test_a_remote_follow_up_builds_on_its_earlier_changes_and_its_answer_comes_back(
    tmp_path: Path, sshd: Sshd
) -> None:
    """R12: a relaunch on the host starts from what the agent's tree holds locally (its first
    run's edit, brought back), so the follow-up's edit applies and comes back; the host's
    worktree is no longer reset to the bare base under a resumed session."""
    agent = "w1-a2"
    root = claude_sandbox(tmp_path / "s", {agent: ["--replay", "question"]})
    with agent_on_host(root, tmp_path, sshd, agent) as clone:
        async with opened(root) as (sup, _col):
            await sup.start_wave(1)
            await settled(sup)
            owned = sup.plan.agent(agent).paths[0]
            target = root / owned
            first = target.read_text("utf-8")
            assert first.endswith("# fake-claude edit\n")  # the first run's edit came back
            await sup.follow_up(agent, f"ANSWER-BY-EDITING\n1. {owned}:1 keep the code")
            await settled(sup)
            rec = sup.agent_record(agent)
            # Its state is #19's business (the stand-in's resumed run reports no issue done).
            assert rec.launches == 2 and rec.state != "failed"
        # The answer applied on top of the first run's edit, locally; nothing left on the host.
        assert target.read_text("utf-8") == first + "# fake-claude answer\n"
        hosted = clone / ".wavedeck" / "worktrees" / agent / owned
        assert hosted.read_text("utf-8") == first + "# fake-claude answer\n"
        assert (clone / ".wavedeck" / "run" / f"{agent}.applied").exists()


async def test_a_change_request_to_a_remote_agent_is_answered_on_its_changes(
    tmp_path: Path, sshd: Sshd
) -> None:
    """R12 through the review: the comment's follow-up resumes the remote agent on its changes
    as they are here, and its answer comes back on top of them."""
    agent = "w1-a1"
    root = claude_sandbox(tmp_path / "s", {})
    with agent_on_host(root, tmp_path, sshd, agent):
        async with opened(root) as (sup, _col):
            await sup.start_wave(1)
            await settled(sup)
            changes = (await sup.review_changes(1)).of(agent)
            assert changes is not None and changes.files
            target = root / changes.files[0].path
            reviewed = target.read_text("utf-8")
            await sup.comment(
                1, agent=agent, path=changes.files[0].path, line=1, text="ANSWER-BY-EDITING"
            )
            assert sup.change_request_problem(1, agent) is None  # no longer refused (R12)
            await sup.request_changes(1, agent)
            await settled(sup)
            assert sup.agent_record(agent).launches == 2
        assert target.read_text("utf-8") == reviewed + "# fake-claude answer\n"
