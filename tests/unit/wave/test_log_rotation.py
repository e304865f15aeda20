"""Log rotation through the whole engine (issue #12.11): a flooding agent with a 16 KiB log
limit; the control room closes mid-flood and a new one re-attaches. Every line reaches a
consumer exactly once, in order, and the saved offset is the log's logical end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.wave.enginekit import opened, sandbox, wait_agents
from wavedeck.agents.config import load_config
from wavedeck.agents.events import AgentOutput
from wavedeck.agents.local.logfiles import logical_size
from wavedeck.agents.local.segments import list_segments

pytestmark = pytest.mark.slow

FLOOD = 60_000
MAX = 16 * 1024
PREFIX = "flood w1-a4 "


def _numbers(lines: list[str]) -> list[int]:
    return [int(line[len(PREFIX) :]) for line in lines if line.startswith(PREFIX)]


@pytest.mark.timeout(120)
async def test_every_line_once_across_rotations_and_a_reattach_mid_flood(root: Path) -> None:
    sandbox(root, extra={"w1-a4": ["--flood", str(FLOOD), "--flood-rate", "30000"]})
    config = load_config(root)
    config = config.model_copy(
        update={"agent": config.agent.model_copy(update={"log_max_bytes": MAX, "log_keep": 1000})}
    )

    def outputs(events: list[object]) -> list[str]:
        return [e.line for e in events if isinstance(e, AgentOutput) and e.agent == "w1-a4"]

    async with opened(root, config) as (first, col):
        await first.start_wave(1)
        await col.until(lambda evs: len(_numbers(outputs(evs))) >= 10_000, timeout=60)
    # Closed without stopping its agents: w1-a4 floods on, its log rotating.
    seen = outputs(col.events)
    log = root / ".wavedeck" / "logs" / "w1-a4.log"
    assert _numbers(seen)[-1] < FLOOD  # really closed mid-flood

    async with opened(root, config) as (second, col2):
        await col2.until(lambda evs: (_numbers(seen + outputs(evs)) or [0])[-1] == FLOOD, 90)
        await wait_agents(second, 1, timeout=60)
        numbers = _numbers(seen + outputs(col2.events))
        assert numbers == list(range(1, FLOOD + 1))
        assert second.agent_record("w1-a4").offset == logical_size(log)
    rotated, _ = list_segments(str(log))
    assert len(rotated) > 20 and all(Path(p).stat().st_size == MAX for _, p in rotated)
