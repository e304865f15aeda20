"""Agents of a CLI whose starts at once go wrong start one at a time (real processes, real git).

A stand-in for opencode (the preset's argv, its JSON events) notes when it started, says its
session after a moment and notes when: with the ``opencode`` preset, the second agent starts only
once the first has said its session; an agent that never says one holds the next start only
``SESSION_WAIT_S`` and a notice names it; the generic preset starts its agents at once, and so
does opencode once its database exists. The wait is the start queue's, never the action lock's:
a wave's start returns with the next agent queued (pending, its reason saying so), the operator's
stop drops it, closing the control room never launches it, a second ask launches it once; a
take-over or reviewers of the same CLI wait for the sessions of the agents starting.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import Collector, collecting, kill_agents, wait_agents
from tests.unit.wave.scriptkit import supervisor
from tests.unit.wave.startkit import note_time as _time
from tests.unit.wave.startkit import stand_in_repo as _repo
from wavedeck.agents.events import AgentStateChanged, Event, GateRefused, Notice
from wavedeck.agents.runtypes import LaunchSpec
from wavedeck.agents.tools.attach import Takeover
from wavedeck.agents.wave import startlane
from wavedeck.agents.wave.supervisor import Supervisor

pytestmark = pytest.mark.slow  # real agent processes, seconds each


async def _wave(repo: Path) -> Supervisor:
    """Wave 1 run to its agents' end; the supervisor, to ask how they ended."""
    sup = supervisor(repo)
    try:
        async with collecting(sup, stop_agents=True):
            await sup.start_wave(1)
            await wait_agents(sup, 1)
    finally:
        kill_agents(repo)
    return sup


@pytest.mark.timeout(60)
async def test_the_second_agent_starts_once_the_first_has_said_its_session(
    tmp_path: Path,
) -> None:
    notes = _repo(tmp_path, "opencode")
    sup = await _wave(tmp_path / "repo")
    assert sup.agent_state("w1-a1") == "succeeded"
    assert sup.agent_record("w1-a1").session_id == "ses_w1a1"
    assert _time(notes, "w1-a2.start") >= _time(notes, "w1-a1.session")


@pytest.mark.timeout(60)
async def test_the_generic_preset_starts_its_agents_at_once(tmp_path: Path) -> None:
    notes = _repo(tmp_path, "generic")
    await _wave(tmp_path / "repo")
    assert _time(notes, "w1-a2.start") < _time(notes, "w1-a1.session")


@pytest.mark.timeout(60)
async def test_a_session_never_said_holds_the_next_start_only_so_long_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(startlane, "SESSION_WAIT_S", 0.5)
    notes = _repo(tmp_path, "opencode", delay=3.0, says_session=False)
    sup = supervisor(tmp_path / "repo")
    began = time.time()
    try:
        async with collecting(sup, stop_agents=True) as col:
            await sup.start_wave(1)
            await col.until(lambda evs: any(isinstance(e, Notice) and e.agent for e in evs))
            (notice,) = [e for e in col.events if isinstance(e, Notice) and e.agent]
            assert notice.agent == "w1-a1" and "no session recorded" in notice.message
            await wait_agents(sup, 1)
    finally:
        kill_agents(tmp_path / "repo")
    # w1-a2 started while w1-a1 still ran (3 s), once the shortened wait had passed.
    assert _time(notes, "w1-a2.start") < _time(notes, "w1-a1.start") + 3.0
    assert _time(notes, "w1-a2.start") >= began


@pytest.mark.timeout(60)
async def test_opencode_with_its_database_made_starts_its_agents_at_once(tmp_path: Path) -> None:
    notes = _repo(tmp_path, "opencode", database=True)
    sup = await _wave(tmp_path / "repo")
    assert sup.agent_state("w1-a2") == "succeeded"
    assert _time(notes, "w1-a2.start") < _time(notes, "w1-a1.session")


def _running(events: list[Event], agent: str) -> bool:
    return any(
        isinstance(e, AgentStateChanged) and e.agent == agent and e.state == "running"
        for e in events
    )


def _queued(events: list[Event], agent: str) -> bool:
    return any(
        isinstance(e, AgentStateChanged)
        and e.agent == agent
        and e.state == "pending"
        and e.reason == startlane.QUEUED
        for e in events
    )


@pytest.mark.timeout(60)
async def test_a_wave_start_leaves_the_agent_waiting_its_turn_queued_and_a_stop_drops_it(
    tmp_path: Path,
) -> None:
    notes = _repo(tmp_path, "opencode", delay=3.0)
    sup = supervisor(tmp_path / "repo")
    try:
        async with collecting(sup, stop_agents=True) as col:
            # Returns with w1-a2 queued, not once w1-a1 has said its session (3 s on).
            await asyncio.wait_for(sup.start_wave(1), 2.0)
            assert sup.agent_state("w1-a2") == "pending" and sup.restart_pending("w1-a2")
            await col.until(lambda evs: _running(evs, "w1-a1") and _queued(evs, "w1-a2"))
            # The action lock is free: the tests are refused now, w1-a2 counted unfinished.
            assert not await asyncio.wait_for(sup.run_tests(1), 2.0)
            refusals = [e.refusal for e in col.events if isinstance(e, GateRefused)]
            assert refusals[-1].code == "agents-unfinished"
            assert ("w1-a2", "pending") in [(a.agent, a.state) for a in refusals[-1].agents]
            assert await sup.stop_agent("w1-a2") == "not started (it was queued)"
            await wait_agents(sup, 1)
    finally:
        kill_agents(tmp_path / "repo")
    assert sup.agent_state("w1-a1") == "succeeded"
    assert sup.agent_state("w1-a2") == "stopped"
    assert sup.agent_record("w1-a2").launches == 0
    assert not (notes / "w1-a2.starts").exists()


@pytest.mark.timeout(60)
async def test_closing_while_an_agent_waits_its_turn_launches_it_never(tmp_path: Path) -> None:
    notes = _repo(tmp_path, "opencode", delay=3.0)
    root = tmp_path / "repo"
    sup = supervisor(root)
    await sup.open()
    col = Collector(sup)
    try:
        start = asyncio.create_task(sup.start_wave(1))
        await col.until(lambda evs: _running(evs, "w1-a1"))
        await col.stop()
        await asyncio.wait_for(sup.close(stop_agents=True), 8.0)  # not w1-a1's 3 s + a launch
        await asyncio.wait_for(start, 5.0)
    finally:
        kill_agents(root)
    assert sup.agent_record("w1-a2").launches == 0
    assert not (notes / "w1-a2.starts").exists()
    # Back to pending (no longer "queued"): the next control room's start of the wave starts it.
    again = supervisor(root)
    again.peek()
    assert again.agent_state("w1-a2") == "pending" and again.agent_record("w1-a2").reason == ""
    assert again.unlaunched(1) == ["w1-a2"]
    # A control room killed while w1-a2 was queued left it so: the next one says it is not.
    state = root / ".wavedeck" / "state.json"
    data = json.loads(state.read_text("utf-8"))
    data["agents"]["w1-a2"]["reason"] = startlane.QUEUED
    state.write_text(json.dumps(data), "utf-8")
    reopened = supervisor(root)
    await reopened.open()
    try:
        assert reopened.agent_state("w1-a2") == "pending"
        assert reopened.agent_record("w1-a2").reason == ""
    finally:
        await reopened.close()


@pytest.mark.timeout(60)
async def test_a_second_ask_to_launch_a_queued_agent_launches_it_once(tmp_path: Path) -> None:
    notes = _repo(tmp_path, "opencode", delay=1.0)
    sup = supervisor(tmp_path / "repo")
    try:
        async with collecting(sup, stop_agents=True):
            await sup.start_wave(1)
            await sup.restart_agent("w1-a2")  # the operator's restart while it waits its turn
            await sup.start_wave(1)  # a second press of start
            await wait_agents(sup, 1)
    finally:
        kill_agents(tmp_path / "repo")
    assert sup.agent_state("w1-a2") == "succeeded"
    assert sup.agent_record("w1-a2").launches == 1
    assert (notes / "w1-a2.starts").read_text().splitlines() == ["started"]


@pytest.mark.timeout(60)
async def test_a_takeover_or_reviewers_of_the_cli_wait_for_the_sessions_of_the_agents_starting(
    tmp_path: Path,
) -> None:
    notes = _repo(tmp_path, "opencode", delay=1.0)
    root = tmp_path / "repo"
    sup = supervisor(root)
    spec = LaunchSpec("w1-a1", ("opencode",), root)
    job = Takeover(repo=root, plan=sup.plan, config=sup.config, spec=spec, session_id="s")

    def take_over() -> float:
        with job._alone():  # what `Takeover.run` holds while the CLI runs
            return time.time()

    try:
        async with collecting(sup, stop_agents=True):
            await sup.start_wave(1)
            async with sup.processes.starts.turn("claude"):  # another CLI: no turn to wait
                other = time.time()
            taken = await asyncio.wait_for(asyncio.to_thread(take_over), 20)
            async with sup.processes.starts.turn("opencode"):
                reviewers = time.time()
            await wait_agents(sup, 1)
    finally:
        kill_agents(root)
    assert other < _time(notes, "w1-a1.session")
    assert taken >= _time(notes, "w1-a2.session")
    assert reviewers >= _time(notes, "w1-a2.session")


@pytest.mark.timeout(60)
async def test_a_follow_up_stopped_while_queued_is_never_sent_by_a_later_restart(
    tmp_path: Path,
) -> None:
    notes = _repo(tmp_path, "opencode", delay=1.5)
    root = tmp_path / "repo"
    sup = supervisor(root)
    try:
        async with collecting(sup, stop_agents=True):
            await sup.start_wave(1)
            await wait_agents(sup, 1)
            await sup.restart_agent("w1-a1")  # starting: its session not said for 1.5 s
            await sup.follow_up("w1-a2", "please also fix the other handler")
            assert sup.processes.queued("w1-a2")
            assert await sup.stop_agent("w1-a2") == "not started (it was queued)"
            await wait_agents(sup, 1)
            await sup.restart_agent("w1-a2")
            await wait_agents(sup, 1)
    finally:
        kill_agents(root)
    assert sup.agent_state("w1-a2") == "succeeded"
    argv = json.loads((notes / "w1-a2.argv").read_text())
    assert "--session" not in argv and "please" not in " ".join(argv), argv
    log = (root / ".wavedeck" / "logs" / "w1-a2.log").read_text("utf-8")
    assert "follow-up 1 not sent: stopped before it started" in log
