"""The kernel sandbox on an SSH host: the test's sshd on 127.0.0.1 runs on this same kernel
(Landlock ABI >= 3) with Python 3, so a remote agent runs under the same ``landlock.py`` as a
local one (uploaded to the host's ``.wavedeck/bin``): its write outside its files is refused
there, on the host, and the run says the agent is confined (``sandbox_status`` naming the host).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.remote.sshkit import Sshd, git, make_clone
from tests.unit.wave.enginekit import Collector, kill_agents, sandbox, wait_agents
from wavedeck.agents.configread import load_config
from wavedeck.agents.events import SandboxStatus
from wavedeck.agents.local import landlock
from wavedeck.agents.tools.demo import STRAY_PATH
from wavedeck.agents.wave.supervisor import Supervisor
from wavedeck.plan.reading.loader import load_plan

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.sshd,
    pytest.mark.skipif(landlock.abi() < 3, reason="needs a kernel with Landlock ABI >= 3"),
]
REMOTE = "w1-a3"


@pytest.fixture
async def root(tmp_path: Path) -> AsyncIterator[Path]:
    folder = tmp_path / "repo"
    yield folder
    kill_agents(folder)


async def test_a_remote_agent_is_confined_on_its_host(
    root: Path, sshd: Sshd, tmp_path: Path
) -> None:
    sandbox(root, extra={REMOTE: ["--touch-unowned", STRAY_PATH]}, tests=["true"])
    config_file = root / "wavedeck.toml"
    text = config_file.read_text(encoding="utf-8").replace(
        'sandbox = "off"', 'sandbox = "landlock"'
    )
    clone = make_clone(tmp_path / "host-clone")
    cfg = sshd.cfg(clone, agents=[REMOTE])
    text += "\n[hosts.loop]\n" + "".join(
        f"{key} = {json.dumps(value)}\n"
        for key, value in cfg.model_dump().items()
        if value is not None and value != []
    )
    config_file.write_text(text, encoding="utf-8")
    git(root, "commit", "-q", "-m", "sandboxed, with a loopback host", "--", "wavedeck.toml")
    plan_path = root / "plans" / "security-waves.md"
    sup = Supervisor(root, load_plan(plan_path).plan, load_config(root), plan_path=plan_path)
    await sup.open()
    col = Collector(sup)
    try:
        await sup.start_wave(1)
        await wait_agents(sup, 1, timeout=90)
        await sup.drain()
        assert sup.agent_state(REMOTE) == "succeeded"
        statuses = [e for e in col.events if isinstance(e, SandboxStatus)]
        remote = [s for s in statuses if s.agent == REMOTE]
        assert [(s.state, s.host) for s in remote] == [("landlock", "loop")], statuses
        assert remote[0].abi >= 3
        run = [s for s in statuses if s.agent is None]
        assert [s.state for s in run] == ["landlock"]
        # The write was refused on the host: the agent said so, the file there is untouched.
        handle = sup.state.agents[REMOTE].handle
        assert handle is not None
        log = Path(handle.log_path).read_text(encoding="utf-8")
        assert f"cannot write {STRAY_PATH}: Permission denied" in log, log
        host_tree = clone / ".wavedeck" / "worktrees" / REMOTE
        assert git(host_tree, "status", "--porcelain", "--", STRAY_PATH).strip() == ""
        assert (clone / ".wavedeck" / "bin" / "wavedeck_landlock.py").is_file()
        assert sup.ctx.wave(1).sandbox[REMOTE].startswith("landlock ABI")
    finally:
        await col.stop()
        await sup.close()
