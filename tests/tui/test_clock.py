"""The control room's clock: elapsed times and countdowns do not jump with the system clock."""

from __future__ import annotations

import time

import pytest

from tests.tui.helpers import reference_plan
from wavedeck.agents import events as ev
from wavedeck.tui.adapter import EventAdapter
from wavedeck.tui.runview import RunView, steady_wall_clock


@pytest.mark.parametrize("jump_s", [3600.0, -3600.0])
def test_an_agents_elapsed_time_ignores_a_wall_clock_jump(
    monkeypatch: pytest.MonkeyPatch, jump_s: float
) -> None:
    view = RunView(reference_plan())  # the default clock, as the app uses it
    started = time.time()
    assert abs(view.clock() - started) < 1.0  # comparable with start times in the run state
    EventAdapter(view).apply(ev.AgentStateChanged("w1-a1", "running"))
    wall = time.time
    monkeypatch.setattr(time, "time", lambda: wall() + jump_s)  # NTP, DST, or by hand
    elapsed = view.agents["w1-a1"].elapsed(view.clock())
    assert elapsed is not None and 0.0 <= elapsed < 1.0


def test_the_steady_clock_advances_with_real_time() -> None:
    clock = steady_wall_clock()
    first = clock()
    deadline = time.monotonic() + 5
    while clock() == first:  # advances (no fixed sleep: spin until it moves)
        assert time.monotonic() < deadline
    assert clock() > first
