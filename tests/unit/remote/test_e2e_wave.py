"""Wave 1 of the demo plan through the plain supervisor, with w1-a3 and w1-a4 on a loopback host.

The host is configured like an operator would: a ``[hosts.loop]`` section in ``wavedeck.toml``
(through a fault proxy in front of the test's sshd). The two remote agents run the simulated
agent over SSH in their own worktrees on the host, their logs stream back, their changes come
back as patches, and the wave is tested and committed like an all-local one. The SSH connection
is reset mid-run: every remote log line is still delivered, exactly once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.unit.remote.faultkit import Proxy
from tests.unit.remote.sshkit import Sshd, git, make_clone
from tests.unit.wave.enginekit import Collector, kill_agents, sandbox, wait_agents
from wavedeck.agents.configread import load_config
from wavedeck.agents.events import (
    AgentOutput,
    AgentOutputBatch,
    Event,
    FileTouched,
    HostConnectionChanged,
    IssueDone,
    ViolationFound,
)
from wavedeck.agents.tools.demo import STRAY_PATH
from wavedeck.agents.wave.supervisor import Supervisor
from wavedeck.plan.reading.loader import load_plan

pytestmark = [pytest.mark.timeout(120), pytest.mark.sshd]
REMOTE = ("w1-a3", "w1-a4")


@pytest.fixture
async def root(tmp_path: Path) -> AsyncIterator[Path]:
    folder = tmp_path / "repo"
    yield folder
    kill_agents(folder)


def add_host(root: Path, sshd: Sshd, port: int, clone: Path) -> None:
    """The ``[hosts.loop]`` section an operator would write (committed with the config)."""
    cfg = sshd.cfg(clone, port=port, agents=list(REMOTE))
    section = "\n[hosts.loop]\n" + "".join(
        f"{key} = {json.dumps(value)}\n"
        for key, value in cfg.model_dump().items()
        if value is not None and value != []
    )
    config = root / "wavedeck.toml"
    config.write_text(config.read_text(encoding="utf-8") + section, encoding="utf-8")
    git(root, "commit", "-q", "-m", "a loopback host", "--", "wavedeck.toml")


def delivered(events: list[Event], agent_id: str) -> list[str]:
    """The log lines of ``agent_id`` the consumer was given, in order."""
    out: list[str] = []
    for e in events:
        if isinstance(e, AgentOutputBatch) and e.agent == agent_id:
            out.extend(e.lines)
        elif isinstance(e, AgentOutput) and e.agent == agent_id:
            out.append(e.line)
    return out


async def test_wave_one_with_two_agents_on_a_loopback_host(
    root: Path, sshd: Sshd, proxy: Callable[[int], Awaitable[Proxy]], tmp_path: Path
) -> None:
    sandbox(root, speed="0.3", extra={"w1-a3": ["--touch-unowned", STRAY_PATH]}, tests=["true"])
    clone = make_clone(tmp_path / "host-clone")
    faults = await proxy(sshd.port)
    add_host(root, sshd, faults.port, clone)
    config = load_config(root)
    assert set(config.hosts["loop"].agents) == set(REMOTE)
    plan_path = root / "plans" / "security-waves.md"
    sup = Supervisor(root, load_plan(plan_path).plan, config, plan_path=plan_path)
    await sup.open()
    col = Collector(sup)
    try:
        await sup.start_wave(1)
        # Both remote agents are streaming: cut every SSH connection under them.
        await col.until(lambda ev: all(delivered(ev, a) for a in REMOTE), timeout=60)
        resets = faults.accepted
        faults.reset()
        await wait_agents(sup, 1, timeout=90)
        assert faults.accepted > resets  # the runner reconnected through the proxy
        wave = sup.plan.wave(1)
        assert {a.id: sup.agent_state(a.id) for a in wave.agents} == {
            a.id: "succeeded" for a in wave.agents
        }
        await sup.drain()
        # The remote agents ran on the host: their handles name it, their logs live there.
        for agent_id in REMOTE:
            handle = sup.state.agents[agent_id].handle
            assert handle is not None and handle.host == "loop"
            assert str(clone) in handle.log_path
            # Not a line lost or repeated across the reset.
            remote_log = Path(handle.log_path).read_text(encoding="utf-8").splitlines()
            assert delivered(col.events, agent_id) == remote_log
        states = {e.state for e in col.of(HostConnectionChanged)}
        assert "connected" in states and "reconnecting" in states, states
        done = {e.issue for e in col.of(IssueDone) if e.agent in REMOTE}
        expected = {i.id for a in wave.agents if a.id in REMOTE for i in a.issues}
        assert done == expected
        # The agents worked on the host (in their worktrees there), not in this tree.
        for agent_id in REMOTE:
            tree = clone / ".wavedeck" / "worktrees" / agent_id
            assert git(tree, "status", "--porcelain").strip()
        # Seen live on the host and attributed exactly: w1-a3 wrote a file it does not own,
        # reported once (the local watcher attributes the patch it came back in to w1-a3).
        touched = {(e.agent, e.path) for e in col.of(FileTouched)}
        for agent_id in REMOTE:
            assert any((agent_id, p) in touched for p in sup.plan.agent(agent_id).paths)
        stray = [v for v in sup.violations(1) if v.path == STRAY_PATH]
        assert [v.agent for v in stray] == ["w1-a3"], sup.violations(1)
        remote_paths = {p for a in REMOTE for p in sup.plan.agent(a).paths}
        local_reports = [v for v in col.of(ViolationFound) if v.path in remote_paths]
        assert not local_reports
        # The review reads the remote agents' changes like a local agent's (a change request
        # to one: test_relaunch_remote, R12).
        changes = await sup.review_changes(1)
        a4 = changes.of("w1-a4")
        assert a4 is not None and a4.files and all(f.standing == "owned" for f in a4.files)
        await sup.accept_violation(1, STRAY_PATH, "the daemon lives in cli/")
        assert await sup.run_tests(1) is True
        sha = await sup.checkpoint(1)
        assert sha is not None
        assert sup.wave_state(1) == "committed"
        stat = git(root, "show", "--stat=1000", "--format=", sha)
        for agent_id in REMOTE:
            assert any(p in stat for p in sup.plan.agent(agent_id).paths), (agent_id, stat)
        assert STRAY_PATH in stat
    finally:
        await col.stop()
        await sup.close()
    assert sup.runners.hosts_open == ()  # the hosts' connections were closed with the supervisor
