"""Shared helpers for the TUI tests: the reference plan, a fixed clock, a mid-wave event script,
and the waits: ``settle`` awaits what a test is really waiting for (never a fixed pause, which
is long enough on a quiet machine and not on a loaded one), ``hold`` is the one fixed wait, for a
check that something does NOT happen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.eventkit import until
from tests.tui.screen_text import screen_text
from wavedeck.agents import events as ev
from wavedeck.plan.models import Plan
from wavedeck.plan.reading.loader import load_plan
from wavedeck.tui.app import WavedeckApp
from wavedeck.tui.widgets.agent_pane import AgentPane, PaneHead, pack
from wavedeck.tui.widgets.log_view import LogView

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "data" / "plans" / "security-waves.md"
STRAY = "packages/headless-client/zajel/cli/daemon.py"


def reference_plan() -> Plan:
    return load_plan(REFERENCE).plan


class FixedClock:
    """A clock that only moves when told (elapsed times in snapshots never change)."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def feed_mid_wave(app: WavedeckApp, plan: Plan, clock: FixedClock) -> None:
    """Wave 1 running: agents started at different times, at different points, one failed, one
    stray file. The clock ends 60 s after the last start."""
    app.feed([ev.WaveStateChanged(1, "running")])
    for n, agent in enumerate(plan.wave(1).agents):
        app.feed([ev.AgentStateChanged(agent.id, "running")])
        clock.now += 37 * (5 - n)  # staggered: distinct elapsed times
        for k, issue in enumerate(agent.issues[: n + 1]):
            lines = [
                f"[{k:04d}] {step} {issue.id}: {issue.summary}"
                for step in ("reading", "editing", "checking")
            ]
            app.feed(ev.AgentOutput(agent.id, line) for line in lines)
            app.feed([ev.AgentOutput(agent.id, f"\x1b[32mwavedeck: done {issue.id}\x1b[0m")])
            app.feed([ev.IssueDone(agent.id, issue.id, "fixed")])
        app.feed(ev.FileTouched(path, agent.id) for path in agent.paths[: n + 1])
    app.feed([ev.ViolationFound("w1-a2", STRAY, "unowned", (), "no wave-1 agent declares it")])
    app.feed([ev.AgentOutput("w1-a4", "\x1b[31mError: tsc exited 2\x1b[0m")])
    app.feed([ev.AgentStateChanged("w1-a4", "failed", exit_code=2, reason="exit 2")])
    clock.now += 60


def static_app(plan: Plan | None = None, clock: FixedClock | None = None) -> WavedeckApp:
    """A view-only app (no engine) showing wave 1 mid-run, with a frozen clock."""
    plan = plan or reference_plan()
    clock = clock or FixedClock()
    app = WavedeckApp(plan, None, clock=clock)
    feed_mid_wave(app, plan, clock)
    return app


async def wait_for(
    predicate: Callable[[], bool], timeout: float = 20.0, step: float = 0.05
) -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(step)


async def panes_ready(app: WavedeckApp, count: int = 5) -> None:
    """Wait until the main screen shows ``count`` panes and one has focus."""
    from wavedeck.tui.widgets.agent_pane import AgentPane

    def ready() -> bool:
        main = app.main_screen
        return (
            main.is_mounted
            and len(list(main.query(AgentPane))) == count
            and main.focused_pane is not None
        )

    await wait_for(ready, timeout=20)


def pane_head(app: WavedeckApp, agent_id: str) -> str:
    """The status line of an agent's pane, as drawn."""
    pane = next(p for p in app.screen.query(AgentPane) if p.agent_id == agent_id)
    return pane.query_one(PaneHead).plain


async def settle(
    pilot: Pilot[Any], predicate: Callable[[], bool], what: str, timeout: float = 20.0
) -> None:
    """Await ``predicate`` (fails the test after ``timeout`` s saying ``what`` did not happen),
    then one refresh cycle, so that what the screen draws is what the state says. A failure
    shows the screen as it was."""
    try:
        await until(predicate, timeout, what)
    except AssertionError as error:
        raise AssertionError(f"{error}; the screen:\n{screen_text(pilot.app)}") from None
    await pilot.pause()


async def hold(pilot: Pilot[Any], seconds: float, why: str) -> None:
    """A negative check's window: the test asserts that something does NOT happen, which no
    event announces, so it can only wait a while. Await first a positive event proving the app
    took the input (so the check is not vacuous); ``why`` says why ``seconds`` suffices."""
    assert why, "say why the duration suffices"
    await asyncio.sleep(seconds)
    await pilot.pause()


def scrollbars_settled(view: LogView) -> bool:
    """Every scrollbar the view's content needs is shown. One that appears after the view
    scrolled to its tail takes a row from it until the next flush: a row of the tail hidden."""
    region, size = view.scrollable_content_region, view.virtual_size
    wide = size.width > region.width and view.styles.overflow_x != "hidden"
    tall = size.height > region.height and view.styles.overflow_y != "hidden"
    return (not wide or view.show_horizontal_scrollbar) and (
        not tall or view.show_vertical_scrollbar
    )


def log_at_tail(view: LogView) -> bool:
    """A log view has taken its buffer in, and a follower shows its tail (for good: the
    scrollbars it needs are in place)."""
    rows = view.virtual_size.height
    taken_in = view.repaints > 0 and (view.wrap or rows == len(view.buffer))
    at_tail = not view.follow or view.scroll_y == view.max_scroll_y
    return taken_in and at_tail and scrollbars_settled(view)


def room_drawn(app: WavedeckApp) -> bool:
    """The main screen is showing, laid out as drawn for good: every pane's status line as tall
    as its parts need, every pane's log taken in and at its tail, the key bar drawn."""
    main = app.main_screen
    if app.screen is not main or not main.is_mounted:
        return False
    for pane in main.query(AgentPane):
        head = pane.query_one(PaneHead)
        if head.size.height != len(pack(head.parts, head.size.width)):
            return False
        if not log_at_tail(pane.log_view):
            return False
    rows = screen_text(app).splitlines()
    return bool(rows) and "Commands" in rows[-1]


def mid_wave_drawn(app: WavedeckApp) -> bool:
    """``static_app``'s main screen drawn for good (``room_drawn``), its stray file in the strip."""
    return room_drawn(app) and "daemon.py" in screen_text(app).splitlines()[-2]


def checkpoint_drawn(app: WavedeckApp) -> bool:
    """The refused checkpoint of ``static_app`` drawn for good: its files, and its stray table's
    columns sized (a table drawn at its labels' widths shows "…/cl  unow"; the refusal above
    names daemon.py whole either way, its kind "unowned" is the table's)."""
    text = screen_text(app)
    names = ("Files to commit", "client.py", "crypto.py", "index.js", "unowned")
    return all(name in text for name in names)
