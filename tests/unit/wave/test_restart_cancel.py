"""B1's restart policy, cancelled: what the operator (or closing the control room) does to an
agent while its restart waits. Real ``asyncio.sleep`` and a 30 s backoff, so a restart that was
not cancelled would still be pending when asserted; each scenario on its own demo sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import Collector, collecting, sandbox, supervisor
from wavedeck.agents.config import RestartConfig
from wavedeck.agents.configread import load_config
from wavedeck.agents.events import AgentStateChanged
from wavedeck.agents.wave.supervisor import Supervisor

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

LONG_BACKOFF = RestartConfig(enabled=True, backoff_initial_s=30.0, backoff_max_s=60.0)


@asynccontextmanager
async def wave_with(
    root: Path, agent: str, flags: list[str]
) -> AsyncIterator[tuple[Supervisor, Collector]]:
    """Wave 1 of a demo sandbox started, ``agent`` run with ``flags``, restarts after 30 s."""
    sandbox(root, extra={agent: flags})
    config = load_config(root)
    config.agent.restart = LONG_BACKOFF
    sup = supervisor(root, config)
    async with collecting(sup) as col:  # closing it again after a test's own close is harmless
        await sup.start_wave(1)
        yield sup, col


def never_relaunched(sup: Supervisor, root: Path, agent: str) -> None:
    """One launch, no restart marker in its log, no relaunch in the policy's history."""
    assert sup.agent_record(agent).launches == 1
    assert "wavedeck: restart" not in (root / ".wavedeck" / "logs" / f"{agent}.log").read_text()
    assert all(h.relaunched_at is None for h in sup.restarts.history if h.agent == agent)


async def test_an_agent_the_operator_stopped_is_never_restarted(root: Path) -> None:
    async with wave_with(root, "w1-a1", ["--hang"]) as (sup, col):
        await col.until(lambda _: sup.agent_state("w1-a1") == "running")
        assert await sup.stop_agent("w1-a1") in ("terminated", "killed after grace")
        await col.until(lambda _: sup.agent_state("w1-a1") == "stopped")
        assert not sup.restarts.pending("w1-a1")
        never_relaunched(sup, root, "w1-a1")


async def test_stop_during_the_backoff_cancels_the_restart_and_says_why(root: Path) -> None:
    async with wave_with(root, "w1-a3", ["--fail", "3"]) as (sup, col):
        await col.until(lambda _: sup.restarts.pending("w1-a3"), timeout=30)
        assert await sup.stop_agent("w1-a3") == "restart cancelled"
        assert not sup.restarts.pending("w1-a3")
        rec = sup.agent_record("w1-a3")
        assert rec.state == "failed" and rec.reason.startswith("restart cancelled by the operator")
        assert rec.restart is not None and rec.restart.kind == "cancelled"
        assert (rec.restart.note, rec.restart.attempt) == ("restart cancelled by the operator", 1)
        await col.until(
            lambda evs: any(
                isinstance(e, AgentStateChanged)
                and e.agent == "w1-a3"
                and "restart cancelled" in e.reason
                for e in evs
            )
        )
        assert await sup.stop_agent("w1-a3") == "not running"
        never_relaunched(sup, root, "w1-a3")


async def test_marked_done_during_the_backoff_is_not_restarted(root: Path) -> None:
    async with wave_with(root, "w1-a4", ["--fail", "5"]) as (sup, col):
        await col.until(lambda _: sup.restarts.pending("w1-a4"), timeout=30)
        await sup.mark_done("w1-a4", "finished by hand")
        assert not sup.restarts.pending("w1-a4")
        assert sup.agent_record("w1-a4").restart is None  # marked done: no restart to show
        never_relaunched(sup, root, "w1-a4")


async def test_closing_the_control_room_drops_a_pending_restart(root: Path) -> None:
    """A signal death is restarted like an exit code; closing drops the waiting restart."""
    async with wave_with(root, "w1-a5", ["--exit-signal", "SIGUSR1"]) as (sup, col):
        await col.until(lambda _: sup.restarts.pending("w1-a5"), timeout=30)
        assert sup.agent_record("w1-a5").exit_signal == "SIGUSR1"
        assert sup.agent_record("w1-a5").reason.startswith("restart 1 of 3 in 30 s; killed by")
        tasks = list(sup.restarts._waiting.values())
        await sup.close()
        assert not sup.restarts.pending("w1-a5") and all(t.done() for t in tasks)
        closed = sup.agent_record("w1-a5").reason
        assert closed.startswith("restart cancelled: the control room closed; restart 1 of 3")
        cancelled = sup.agent_record("w1-a5").restart
        assert cancelled is not None and cancelled.kind == "cancelled"
        never_relaunched(sup, root, "w1-a5")
