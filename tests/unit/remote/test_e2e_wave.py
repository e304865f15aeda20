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
from agents.demo import STRAY_PATH
from agents.events import FileTouched, HostConnectionChanged, IssueDone, ViolationFound
from agents.remote import RemoteRunner, runner_for
from agents.runtypes import Runner
from agents.supervisor import Supervisor
from agents.workspace import worktree_attributor
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
        runner = runner_for(
            agent_id,
            self.config,
            self.remote,
            repo=self.repo,
            on_event=self._emit,
            on_touched=self._remote_touched,
        )
        return runner if runner is not None else super()._runner_for(agent_id)

    def _remote_touched(self, agent_id: str, path: str, change: str) -> None:
        """A path a remote agent changed on its host: attributed exactly, checked live."""
        wave = self.plan.agent(agent_id).wave
        policy = self.config.policy
        attribute = worktree_attributor(
            self.plan,
            wave,
            agent_id,
            accept=[*policy.accept, *self._wave(wave).accepted],
            accept_undeclared=policy.accept_undeclared,
        )
        agent, kind, names, *why = attribute(path)
        self._emit(FileTouched(path, agent, change))
        if kind is not None:
            found = ViolationFound(agent, path, kind, names, why[0] if why else "")
            self._violations.setdefault(wave, []).append(found)
            self._emit(found)


@pytest.fixture
async def root(tmp_path: Path) -> AsyncIterator[Path]:
    folder = tmp_path / "repo"
    yield folder
    kill_agents(folder)


async def test_wave_one_with_two_agents_on_a_loopback_host(
    root: Path, sshd: Sshd, tmp_path: Path
) -> None:
    sandbox(root, extra={"w1-a3": ["--touch-unowned", STRAY_PATH]}, tests=["true"])
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
        # The agents worked on the host (in their worktrees there), not in this tree...
        for agent_id in REMOTE:
            tree = clone / ".wavedeck" / "worktrees" / agent_id
            assert git(tree, "status", "--porcelain").strip()
            assert sup.remote["loop"].applied[agent_id]  # ...and came back as patches.
        # Their changes came back into the local working tree, as a local agent's would.
        changed = set(git(root, "status", "--porcelain", "--untracked-files=all").split())
        for agent_id in REMOTE:
            paths = sup.plan.agent(agent_id).paths
            assert any(p in changed for p in paths), (agent_id, paths)
        # Seen live on the host and attributed exactly: w1-a3 wrote a file it does not own.
        remote_touched = {(e.agent, e.path) for e in col.of(FileTouched)}  # type: ignore[attr-defined]
        for agent_id in REMOTE:
            assert any((agent_id, p) in remote_touched for p in sup.plan.agent(agent_id).paths)
        stray = [v for v in sup.violations(1) if v.path == STRAY_PATH and v.agent == "w1-a3"]
        assert stray, (sup.violations(1), sorted(remote_touched, key=str))
        await sup.accept_violation(1, STRAY_PATH, "the daemon lives in cli/")
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
