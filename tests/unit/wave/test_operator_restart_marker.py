"""A restart by the operator leaves a separator in the agent's log, like the restart policy's
marker, so every run stays in one log and the pane shows where the new one begins (#12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.wave.enginekit import opened, sandbox, wait_agents
from wavedeck.agents.markers import marker_line
from wavedeck.agents.wave.restart import OPERATOR_RESTART

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

FAILING = "w1-a1"


async def test_a_manual_restart_writes_a_separator_between_the_runs(root: Path) -> None:
    sandbox(root, extra={FAILING: ["--fail", "3"]})
    async with opened(root) as (sup, _col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        assert sup.agent_state(FAILING) == "failed"
        await sup.restart_agent(FAILING)
        await wait_agents(sup, 1)
        assert sup.agent_record(FAILING).launches == 2
        text = sup.log_path(FAILING).read_text("utf-8").splitlines()
    assert text.count(marker_line(OPERATOR_RESTART)) == 1
    at = text.index(marker_line(OPERATOR_RESTART))
    assert any("started" in line for line in text[:at])  # the first run
    assert any("started" in line for line in text[at + 1 :])  # the second, after the marker
    assert sum("failing with exit code 3" in line for line in text) == 2
