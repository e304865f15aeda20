"""A launch recorded as under way when a control room died, whose process never started: the
next control room forgets it (with a notice) and the agent is launched once (issue #20). The
launch that did start, running or ended, is adopted: ``tests/e2e/test_crash_windows.py``."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import git, opened, sandbox, wait_agents
from wavedeck.agents.events import Notice
from wavedeck.agents.wave import transitions

pytestmark = [pytest.mark.timeout(60), pytest.mark.slow]


async def test_a_recorded_launch_that_never_started_is_forgotten_and_launched_once(
    root: Path,
) -> None:
    sandbox(root)
    async with opened(root) as (sup, _col):
        # A control room that saved its launch of w1-a1 and died before starting the process.
        transitions.agent_launching(sup.ctx, "w1-a1", "never-started")
    async with opened(root) as (sup, col):
        await col.until(lambda _evs: any("never started" in e.message for e in col.of(Notice)))
        assert sup.agent_record("w1-a1").launching is None
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        assert sup.agent_record("w1-a1").launches == 1
        log = sup.log_path("w1-a1").read_text("utf-8").splitlines()
        assert sum(line.startswith("sim-agent w1-a1 started") for line in log) == 1


async def test_a_recorded_launch_on_a_host_that_does_not_answer_is_never_launched_again(
    root: Path, tmp_path: Path
) -> None:
    """Whether the run started there cannot be told: the agent is failed with that reason, the
    launch kept (a restart looks for that run first), and no second copy is started."""
    sandbox(root)
    with socket.socket() as probe:  # a port nothing listens on: the host does not answer
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    section = (
        "\n[hosts.gone]\n"
        'address = "127.0.0.1"\n'
        f"port = {port}\n"
        'workdir = "/nowhere"\n'
        f"known_hosts = {json.dumps(str(tmp_path / 'known_hosts'))}\n"
        'ssh_config = ""\n'
        'agents = ["w1-a3"]\n'
        "connect_timeout_s = 2\n"
        "reconnect_base_s = 0.1\n"
        "reconnect_cap_s = 0.2\n"
        "reconnect_attempts = 1\n"
    )
    config = root / "wavedeck.toml"
    config.write_text(config.read_text("utf-8") + section, "utf-8")
    git(root, "commit", "-q", "-m", "a host", "--", "wavedeck.toml")
    async with opened(root) as (sup, _col):
        transitions.agent_launching(sup.ctx, "w1-a3", "5e1d")  # then the control room died
    async with opened(root) as (sup, col):
        await col.until(lambda _evs: sup.agent_state("w1-a3") == "failed", timeout=30)
        rec = sup.agent_record("w1-a3")
        assert rec.launching == "5e1d"  # kept: the run may be going on there
        assert (rec.handle, rec.launches) == (None, 0)
        assert "cannot tell whether its last launch started" in rec.reason
