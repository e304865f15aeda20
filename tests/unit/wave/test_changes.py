"""State changes are signalled without losing a wake-up, and travel as fields, not text.

``wait_changed`` used to clear a shared event and then wait: a change made between a caller's
check and the moment its wait began was lost (the headless run's 1 s poll hid it). The marked-done
reason and the restart status now travel as fields of ``AgentStateChanged`` and of the record.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import opened, sandbox
from wavedeck.agents.events import AgentStateChanged, RestartStatus
from wavedeck.agents.wave.stream import Changes


async def test_a_change_before_the_wait_begins_is_not_lost() -> None:
    changes = Changes()
    seen = changes.generation
    changes.notify()  # between the caller's check and its wait
    await asyncio.wait_for(changes.wait(seen), 1.0)
    waiter = changes.wait()  # the generation is read now, not when the wait first runs
    changes.notify()
    await asyncio.wait_for(waiter, 1.0)


async def test_every_waiter_wakes_and_none_wakes_without_a_change() -> None:
    changes = Changes()
    waiters = [asyncio.ensure_future(changes.wait()) for _ in range(3)]
    done, _ = await asyncio.wait(waiters, timeout=0.05)
    assert not done  # nothing changed yet
    changes.notify()
    await asyncio.wait_for(asyncio.gather(*waiters), 1.0)


@pytest.mark.slow
async def test_supervisor_wait_changed_sees_a_change_made_before_the_waiter_runs(
    root: Path,
) -> None:
    """The old ``wait_changed`` (clear, then wait) times out here: the waiter's task runs only
    after ``mark_done`` signalled, and clearing the event then forgot that signal."""
    sandbox(root)
    async with opened(root) as (sup, _col):
        waiter = asyncio.ensure_future(asyncio.wait_for(sup.wait_changed(), 10.0))
        await sup.mark_done("w1-a1", "done by hand")  # signals without yielding to the waiter
        await asyncio.wait_for(waiter, 10.0)
        seen = sup.change_count
        await sup.mark_done("w1-a2", "")
        await asyncio.wait_for(sup.wait_changed(seen), 10.0)  # already past ``seen``


async def test_marked_done_travels_as_a_field_and_keeps_the_json_keys(root: Path) -> None:
    sandbox(root)
    async with opened(root) as (sup, col):
        await sup.mark_done("w1-a1", "  finished by hand ")
        await col.until(lambda evs: any(isinstance(e, AgentStateChanged) for e in evs))
        event = next(e for e in col.events if isinstance(e, AgentStateChanged))
        assert event.marked_done == "finished by hand" and event.restart is None
        data = json.loads(json.dumps(event.as_dict()))
        # The keys a headless JSON consumer already reads are all still there.
        assert {"event", "agent", "state", "exit_code", "signal", "reason"} <= data.keys()
        assert data["marked_done"] == "finished by hand" and data["restart"] is None
        assert sup.agent_record("w1-a1").marked_done == "finished by hand"


def test_restart_status_round_trips_through_the_saved_record(tmp_path: Path) -> None:
    from wavedeck.agents.state import AgentRecord, RunState, StateStore

    store = StateStore(tmp_path / ".wavedeck")
    status = RestartStatus("waiting", "restart 1 of 3 in 2 s", 1, 3, 2.0, 1234.5)
    store.save(RunState(agents={"a": AgentRecord(state="failed", restart=status)}))
    assert store.load().agents["a"].restart == status
    event = AgentStateChanged("a", "failed", restart=status).as_dict()
    assert event["restart"] == {
        "kind": "waiting",
        "note": "restart 1 of 3 in 2 s",
        "attempt": 1,
        "of": 3,
        "delay_s": 2.0,
        "due_at": 1234.5,
    }
