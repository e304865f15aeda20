"""Wave 1 of the demo plan through the real supervisor, with w1-a3 and w1-a4 on a loopback host.

The supervisor's ``_runner_for`` hook is pointed at ``agents.remote.runner_for`` here (the one
line the supervisor needs to run agents on hosts): the two remote agents run the simulated agent
over SSH in their own worktrees on the host, their logs stream back, their changes come back as
patches, and the wave is tested and committed like an all-local one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.config import load_config
from agents.events import HostConnectionChanged, IssueDone
from agents.remote import RemoteRunner, runner_for
from agents.runtypes import Runner
from agents.supervisor import Supervisor
from plan.loader import load_plan
from tests.unit.engine.enginekit import Collector, kill_agents, sandbox, wait_agents
from tests.unit.remote.sshkit import Sshd, git, make_clone

pytestmark = [pytest.mark.timeout(120), pytest.mark.sshd]
REMOTE = ("w1-a3", "w1-a4")


class HostsSupervisor(Supervisor):
    """The supervisor with hosts wired in exactly as ``agents.agentproc`` should do it."""

    remote: dict[str, RemoteRunner]

    def _runner_for(self, agent_id: str) -> Runner:
        if not hasattr(self, "remote"):
            self.remote = {}
        runner = runner_for(agent_id, self.config, self.remote, repo=self.repo, on_event=self._emit)
        return runner if runner is not None else super()._runner_for(agent_id)


@pytest.fixture
async def root(tmp_path: Path) -> AsyncIterator[Path]:
    folder = tmp_path / "repo"
    yield folder
    kill_agents(folder)


async def test_wave_one_with_two_agents_on_a_loopback_host(
    root: Path, sshd: Sshd, tmp_path: Path
) -> None:
    sandbox(root, extra={}, tests=["true"])
    clone = make_clone(tmp_path / "host-clone")
    config = load_config(root)
    config.hosts["loop"] = sshd.cfg(clone, agents=list(REMOTE))
    plan_path = root / "plans" / "security-waves.md"
    sup = HostsSupervisor(root, load_plan(plan_path).plan, config, plan_path=plan_path)
    await sup.open()
    col = Collector(sup)
    try:
        await sup.start_wave(1)
        await wait_agents(sup, 1, timeout=90)
        wave = sup.plan.wave(1)
        assert {a.id: sup.agent_state(a.id) for a in wave.agents} == {
            a.id: "succeeded" for a in wave.agents
        }
        # The remote agents ran on the host: their handles name it, their logs live there.
        for agent_id in REMOTE:
            handle = sup.state.agents[agent_id].handle
            assert handle is not None and handle["host"] == "loop"
            assert str(clone) in handle["log_path"]
        assert any(isinstance(e, HostConnectionChanged) for e in col.events)
        done = {e.issue for e in col.of(IssueDone) if e.agent in REMOTE}  # type: ignore[attr-defined]
        expected = {i.id for a in wave.agents if a.id in REMOTE for i in a.issues}
        assert done == expected
        # Their changes came back into the local working tree, as a local agent's would.
        changed = set(git(root, "status", "--porcelain", "--untracked-files=all").split())
        for agent_id in REMOTE:
            paths = sup.plan.agent(agent_id).paths
            assert any(p in changed for p in paths), (agent_id, paths)
        assert await sup.run_tests(1) is True
        sha = await sup.checkpoint(1)
        assert sha is not None
        committed = git(root, "show", "--name-only", "--format=", sha).split()
        for agent_id in REMOTE:
            assert set(committed) & set(sup.plan.agent(agent_id).paths)
        assert sup.wave_state(1) == "committed"
    finally:
        await col.stop()
        await sup.close()
        for runner in getattr(sup, "remote", {}).values():
            await runner.close()
