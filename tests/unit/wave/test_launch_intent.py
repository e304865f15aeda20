"""A launch recorded as under way when a control room died, whose process never started: the
next control room forgets it (with a notice) and the agent is launched once (issue #20). The
launch that did start, running or ended, is adopted: ``tests/e2e/test_crash_windows.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.wave.enginekit import opened, sandbox, wait_agents
from wavedeck.agents.events import Notice
from wavedeck.agents.wave import transitions

pytestmark = pytest.mark.timeout(60)


async def test_a_recorded_launch_that_never_started_is_forgotten_and_launched_once(
    root: Path,
) -> None:
    sandbox(root)
    async with opened(root) as (sup, _col):
        # A control room that saved its launch of w1-a1 and died before starting the process.
        transitions.agent_launching(sup.ctx, "w1-a1", "never-started")
    async with opened(root) as (sup, col):
        await col.until(
            lambda _evs: any("never started" in e.message for e in col.of(Notice))  # type: ignore[attr-defined]
        )
        assert sup.agent_record("w1-a1").launching is None
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        assert sup.agent_record("w1-a1").launches == 1
        log = sup.log_path("w1-a1").read_text("utf-8").splitlines()
        assert sum(line.startswith("sim-agent w1-a1 started") for line in log) == 1
