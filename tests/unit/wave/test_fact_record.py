"""A fast agent's progress survives its log's rotation (#27): an agent floods ten times
``log_max_bytes`` with its ``wavedeck: done`` lines spread through the flood while no control
room runs; the next control room adopts it and finds every issue done: in its events, the state
on disk (what ``wavedeck status`` reads) and the wave's checkpoint, although the log lines were
rotated away."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.eventkit import until
from tests.unit.wave.enginekit import opened, sandbox, wait_agents
from wavedeck.agents.configread import load_config
from wavedeck.agents.events import AgentOutput, IssueDone, Notice
from wavedeck.agents.local.logfiles import LogFile, facts_path
from wavedeck.agents.local.runner import read_exit_file

pytestmark = pytest.mark.slow

AGENT = "w1-a4"
MAX = 16 * 1024
EACH = 10 * MAX // 20  # "flood w1-a4 0000001\n" is 20 bytes: ten log_max_bytes per issue


@pytest.mark.timeout(120)
async def test_done_lines_rotated_away_while_no_control_room_runs_are_all_found(
    root: Path,
) -> None:
    sandbox(root, extra={AGENT: ["--flood-each", str(EACH), "--flood-rate", "40000"]})
    config = load_config(root)
    config = config.model_copy(
        update={"agent": config.agent.model_copy(update={"log_max_bytes": MAX, "log_keep": 1})}
    )
    async with opened(root, config) as (first, _col):
        await first.start_wave(1)
        issues = [i.id for i in first.ctx.plan.agent(AGENT).issues]
        handle = first.agent_record(AGENT).handle
    # Closed at once, its agents left running: the flood and every done line happen unwatched.
    assert handle is not None and len(issues) >= 2
    await until(lambda: read_exit_file(handle.exit_path) is not None, 60, "the agent's end")
    log = Path(handle.log_path)
    saved = json.loads((root / ".wavedeck" / "state.json").read_text("utf-8"))
    read_to = saved["agents"][AGENT]["offset"]
    assert read_to < LogFile(log).start(), "the unread bytes were rotated away"
    assert [i for i in issues if f"wavedeck: done {i} " in log.read_text("utf-8")] == issues[-1:]

    async with opened(root, config) as (second, col):
        await wait_agents(second, 1, timeout=60)
        done = [e.issue for e in col.of(IssueDone) if e.agent == AGENT]
        assert done == issues
        assert second.agent_record(AGENT).issues_done == issues
        assert second.agent_record(AGENT).state == "succeeded"
        skipped = [n for n in col.of(Notice) if n.agent == AGENT and "skipped" in n.message]
        assert len(skipped) == 1  # the operator is told display lines were lost
        shown = [e.line for e in col.of(AgentOutput) if e.agent == AGENT]
        assert len([line for line in shown if "rotated away unread" in line]) == 1  # and the pane
        preview = await second.checkpoint_preview(1)  # what the wave's checkpoint would say
        assert [i for i in preview.issues_done if i in issues] == issues
    state = json.loads((root / ".wavedeck" / "state.json").read_text("utf-8"))
    assert state["agents"][AGENT]["issues_done"] == issues
    record = facts_path(log).read_bytes()
    assert len(record) < MAX  # the record holds the facts, not the flood
    assert all(f"wavedeck: done {i} ".encode() in record for i in issues)
