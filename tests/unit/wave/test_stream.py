"""The event stream: bounded under a flooding agent, every line delivered once and in order,
and the headless printer's readable lines neutralised."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from tests.eventkit import until
from tests.unit.wave.enginekit import opened, sandbox, supervisor, wait_agents
from wavedeck.agents.events import AgentOutput, GateRefused, IssueDone, Notice, ViolationFound
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.wave.headless import describe, printer
from wavedeck.agents.wave.stream import MAX_QUEUED

FLOOD = 150_000


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_flooding_agent_waits_for_the_consumer(root: Path) -> None:
    sandbox(root, extra={"w1-a4": ["--flood", str(FLOOD)]})
    sup = supervisor(root)
    await sup.open()
    try:
        await sup.start_wave(1)
        exit_file = root / ".wavedeck" / "run" / "w1-a4.exit"
        # The flood ends on its own; nobody consumes anything meanwhile.
        await until(exit_file.exists, 60, "the flooding agent to end")
        log_lines = sup.log_path("w1-a4").read_text("utf-8").splitlines()
        assert len(log_lines) > FLOOD
        # The follower paused: parked for room, it adds nothing more, so the queue holds at
        # most the bound plus the chunk it had read.
        await until(lambda: sup.ctx.stream.waiting > 0, 30, "the flood's follower to wait for room")
        assert sup.ctx.stream.pending <= MAX_QUEUED + 20_000
        assert "w1-a4" in sup.processes.follows  # still following, waiting for room
        seen: list[str] = []

        async def consume() -> None:
            async for event in sup.events():
                if isinstance(event, AgentOutput) and event.agent == "w1-a4":
                    seen.append(event.line)
                    if len(seen) == len(log_lines):
                        return

        await asyncio.wait_for(consume(), 60)
        await wait_agents(sup, 1)
        assert seen == log_lines  # every line once, in order
        assert sup.agent_record("w1-a4").offset == sup.log_path("w1-a4").stat().st_size
    finally:
        await sup.close()


def test_readable_lines_are_neutralised() -> None:
    line = describe(AgentOutput("w1-a1", "\x1b[2Jwiped \x1b]52;c;aGk=\x07 \u202eevil"))
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
    assert "␛[2Jwiped" in line
    stray = Refusal("stray-paths", 1, paths=("a\x1b[31m.py", "b.py"))
    refused = describe(GateRefused(stray), {"stray-paths": "accept or revert them"})
    assert refused.splitlines() == [
        "wave 1: REFUSED: 2 changed path(s) are outside the plan for wave 1 and not accepted: "
        "a␛[31m.py, b.py; accept or revert them",
        "  a␛[31m.py",
        "  b.py",
    ]
    assert "unknown agent" in describe(ViolationFound(None, "x.py", "unowned"))


def test_json_lines_keep_text_exactly() -> None:
    out = io.StringIO()
    write = printer(out, as_json=True)
    write([AgentOutput("w1-a1", "\x1b[2J é"), IssueDone("w1-a1", "headless-05", "fixed")])
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first == {"event": "agent_output", "agent": "w1-a1", "line": "\x1b[2J é"}
    assert second["event"] == "issue_done" and second["issue"] == "headless-05"
    assert "\x1b" not in out.getvalue()  # escaped in the JSON text itself


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_a_log_that_cannot_be_read_is_told_to_the_operator(root: Path) -> None:
    """E4: the log of a running agent is truncated under it: the operator gets a warning naming
    the agent and why, and the agent runs on."""
    sandbox(root, extra={"w1-a1": ["--hang"]})
    async with opened(root, stop_agents=True) as (sup, col):
        await sup.start_wave(1)
        await col.until(
            lambda evs: any(isinstance(e, AgentOutput) and "hanging" in e.line for e in evs)
        )
        sup.log_path("w1-a1").write_bytes(b"")  # shrinks below the follower's offset
        await col.until(
            lambda evs: any(
                isinstance(e, Notice)
                and e.level == "warning"
                and "w1-a1: cannot read its log" in e.message
                for e in evs
            )
        )
        [notice] = [e for e in col.of(Notice) if "cannot read its log" in e.message]
        assert "truncated" in notice.message and notice.agent == "w1-a1"
        assert sup.agent_state("w1-a1") == "running"
