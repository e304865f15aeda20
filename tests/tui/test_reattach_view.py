"""A re-opened control room shows exactly what the old one showed (issue #12.6).

Through the real engine and the adapter, no UI: a wave runs on a demo sandbox, one agent is
stopped by the operator (SIGTERM) after its work, the others succeed; every pane's status line is
read, the supervisor closed, a new one opened and its view built the way the app builds it
(``adapter.sync_view``, then the events it replays). The status lines must match: the signal, the
issues, the files touched (✎), the elapsed time.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import git, kill_agents, sandbox, supervisor
from wavedeck.agents.tools.demo import STRAY_AGENT, STRAY_PATH
from wavedeck.agents.wave.supervisor import Supervisor
from wavedeck.plan.models import Plan
from wavedeck.tui.adapter import EventAdapter, sync_view
from wavedeck.tui.runview import RunView
from wavedeck.tui.widgets.agent_pane import head_text

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

STOPPED = "w1-a1"
ELAPSED = re.compile(r"⏱ (\S+)")


async def _until(
    predicate: Callable[[], bool],
    what: str,
    timeout: float = 60,
    show: Callable[[], object] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            seen = f": {show()}" if show is not None else ""
            raise AssertionError(f"timed out waiting for {what}{seen}")
        await asyncio.sleep(0.02)  # the view changes as the consumer task applies events


def _consume(sup: Supervisor, view: RunView) -> asyncio.Task[None]:
    adapter = EventAdapter(view)

    async def run() -> None:
        async for batch in sup.batches():
            adapter.apply_batch(batch)

    return asyncio.create_task(run())


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


def _heads(view: RunView, plan: Plan, now: float) -> dict[str, str]:
    return {a.id: head_text(view.agents[a.id], now).plain for a in plan.wave(1).agents}


def _written_by(root: Path, plan: Plan) -> dict[str, set[str]]:
    """The files each agent of wave 1 changed, from git (what the panes' ✎ must count)."""
    changed = {line[3:] for line in git(root, "status", "--porcelain").splitlines()}
    changed |= {line[3:] for line in git(root, "status", "--porcelain", "-uall").splitlines()}
    return {a.id: changed & set(a.paths) for a in plan.wave(1).agents}


async def test_a_reopened_control_room_shows_what_the_old_one_showed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    try:
        # w1-a1 does its issues, then never exits; w1-a2 also writes a file it does not own.
        sandbox(root, extra={STOPPED: ["--hang"], STRAY_AGENT: ["--touch-unowned", STRAY_PATH]})
        sup = supervisor(root)
        plan = sup.plan
        await sup.open()
        view = RunView(plan, clock=time.time)
        consumer = _consume(sup, view)
        try:
            await sup.start_wave(1)
            others = [a.id for a in plan.wave(1).agents if a.id != STOPPED]
            await _until(
                lambda: (
                    all(view.agents[a].state == "succeeded" for a in others)
                    and len(view.agents[STOPPED].issues_done) == len(plan.agent(STOPPED).issues)
                ),
                "the wave's work",
            )
            ids = [a.id for a in plan.wave(1).agents]
            # Every write the watcher reported has reached the view (the record keeps them too).
            await _until(
                lambda: (
                    all(
                        view.agents[a].touched
                        and view.agents[a].touched == set(sup.agent_record(a).touched)
                        for a in ids
                    )
                    and bool(view.waves[1].violations)
                ),
                "every write reported",
                show=lambda: {a: view.agents[a].touched for a in ids},
            )
            expected = {a: set(view.agents[a].touched) for a in ids}
            assert _written_by(root, plan)["w1-a2"] <= expected["w1-a2"]
            assert await sup.stop_agent(STOPPED) == "terminated"
            await _until(lambda: view.agents[STOPPED].state == "stopped", "the stop")
            await sup.drain()
        finally:
            await _stop(consumer)
            await sup.close()
        now = time.time()
        before = _heads(view, plan, now)
        assert before[STOPPED].startswith("■ stopped (SIGTERM)"), before[STOPPED]
        found = [(v.path, v.kind, v.agent) for v in view.waves[1].violations]
        assert [path for path, _, _ in found] == [STRAY_PATH]

        again = supervisor(root)
        await again.open()
        reopened = RunView(plan, clock=time.time)
        sync_view(reopened, again)  # as the app does on mount
        consumer = _consume(again, reopened)
        try:
            await again.drain()
        finally:
            await _stop(consumer)
            await again.close()
        after = _heads(reopened, plan, now)
        # The violations too: listed once, not lost and not reported again by the new watcher.
        assert [(v.path, v.kind, v.agent) for v in reopened.waves[1].violations] == found
    finally:
        kill_agents(root)

    for agent_id in before:
        # The elapsed time was measured by two clocks (the old view's, the state's): to the
        # second they agree; everything else on the line is the same text.
        assert ELAPSED.sub("⏱", after[agent_id]) == ELAPSED.sub("⏱", before[agent_id])
        old = view.agents[agent_id].elapsed(now)
        new = reopened.agents[agent_id].elapsed(now)
        assert old is not None and new is not None and abs(old - new) < 1.0
        assert f"✎ {len(expected[agent_id])}" in after[agent_id]
        assert reopened.agents[agent_id].touched == expected[agent_id]
