"""Snapshots of the control room at 200x50, 120x40 and 80x24: main screen mid-wave, an agent's log view, the
diff review, a refused checkpoint (the whole wave's issues listed), the violations screen and help.
``test_layout.py`` asserts on the same screens what these show: whole status lines, whole file
names. Deterministic: a view-only app fed fixed events, a frozen clock, fixed diffs.
``WAVEDECK_SCREENSHOT=1`` also writes docs/screenshot.svg and docs/review.svg."""

from __future__ import annotations

import os

import pytest
from textual.pilot import Pilot

from tests.tui.helpers import (
    ROOT,
    STRAY,
    checkpoint_drawn,
    log_at_tail,
    mid_wave_drawn,
    panes_ready,
    reference_plan,
    settle,
    static_app,
    wait_for,
)
from tests.tui.review_kit import review_changes, review_record
from tests.tui.screen_text import screen_text
from wavedeck.agents.events import ViolationFound
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.wave.gates import CheckpointPreview, StrayPath
from wavedeck.tui.app import WavedeckApp
from wavedeck.tui.screens.checkpoint import CheckpointScreen
from wavedeck.tui.screens.diff import ReviewScreen
from wavedeck.tui.screens.help import HelpScreen
from wavedeck.tui.screens.logs import LogScreen
from wavedeck.tui.screens.violations import ViolationsScreen

pytestmark = pytest.mark.slow

SIZES = [
    pytest.param((200, 50), id="200x50"),
    pytest.param((120, 40), id="120x40"),
    pytest.param((80, 24), id="80x24"),  # the smallest terminal the layout is made for
]


WAVE1_ISSUES = tuple(i.id for a in reference_plan().wave(1).agents for i in a.issues)


def refused_preview() -> CheckpointPreview:
    return CheckpointPreview(
        wave=1,
        files_by_agent={
            "w1-a1": (
                "packages/headless-client/zajel/client.py",
                "packages/headless-client/zajel/crypto.py",
            ),
            "w1-a3": ("packages/server/src/index.js",),
        },
        accepted={},
        stray=(StrayPath(STRAY, "unowned", "no wave-1 agent declares it", "w1-a2"),),
        violations=(ViolationFound("w1-a2", STRAY, "unowned", (), "no wave-1 agent declares it"),),
        # The whole wave's issues: a long list must not push the files out of view.
        issues=WAVE1_ISSUES,
        issues_done=WAVE1_ISSUES[:-3],
        tests_passed=True,
        tests_summary="2 commands, 0.5s",
        message="Wave 1 — CRITICAL + HIGH (29 issues)\n\n- HIGH headless-05: fixed\n",
        refusal=Refusal("stray-paths", 1, paths=(STRAY,)),
    )


async def _ready(pilot: Pilot[object]) -> None:
    app = pilot.app
    assert isinstance(app, WavedeckApp)
    await panes_ready(app)
    # The picture, not a time: every pane laid out with its log at its tail, the strip drawn.
    await settle(pilot, lambda: mid_wave_drawn(app), "the main screen drawn")


@pytest.mark.parametrize("size", SIZES)
def test_main_mid_wave(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def ready(pilot: Pilot[object]) -> None:
        await _ready(pilot)
        if os.environ.get("WAVEDECK_SCREENSHOT") and size == (200, 50):
            docs = ROOT / "docs" / "screenshot.svg"
            docs.write_text(pilot.app.export_screenshot(title="wavedeck"), encoding="utf-8")

    assert snap_compare(static_app(), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_log_view(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def zoom(pilot: Pilot[object]) -> None:
        await _ready(pilot)
        await pilot.press("2", "z")
        screen = pilot.app.screen
        assert isinstance(screen, LogScreen)

        def drawn() -> bool:
            live = screen.log_view
            text = screen_text(pilot.app)
            return (
                live is not None
                and log_at_tail(live)
                and "wavedeck: done headless-10" in text
                and "live tail: the lines the pane holds" in text
            )

        await settle(pilot, drawn, "the log view drawn at its tail")

    assert snap_compare(static_app(), terminal_size=size, run_before=zoom)


@pytest.mark.parametrize("size", SIZES)
def test_diff_review(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """The review: agents with their issues, files stated plainly, hunks with the issue their
    agent worked on, a comment and a reviewer's finding inline (side by side at 200 columns),
    the cursor on the second hunk."""

    async def review(pilot: Pilot[object]) -> None:
        await _ready(pilot)
        plan = pilot.app.plan  # type: ignore[attr-defined]
        screen = ReviewScreen(1, changes=review_changes(plan), record=review_record())
        await pilot.app.push_screen(screen)
        await settle(pilot, lambda: len(screen.view.rows) > 0, "the review laid out")
        await pilot.press("n", "n")
        await wait_for(lambda: not screen.view.colouring)  # every line on screen coloured
        await pilot.pause()
        if os.environ.get("WAVEDECK_SCREENSHOT") and size == (200, 50):
            docs = ROOT / "docs" / "review.svg"
            docs.write_text(pilot.app.export_screenshot(title="wavedeck review"), "utf-8")

    assert snap_compare(static_app(), terminal_size=size, run_before=review)


@pytest.mark.parametrize("size", SIZES)
def test_checkpoint_refused(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def checkpoint(pilot: Pilot[object]) -> None:
        app = pilot.app
        assert isinstance(app, WavedeckApp)
        await _ready(pilot)
        await pilot.app.push_screen(CheckpointScreen(refused_preview()))
        await settle(pilot, lambda: checkpoint_drawn(app), "the checkpoint drawn, columns sized")

    assert snap_compare(static_app(), terminal_size=size, run_before=checkpoint)


# A second violation for the violations screen: no single writer, a long detail.
SECOND = ViolationFound(
    None,
    "packages/server/src/durable-objects/session-registry-do.js",
    "unowned",
    ("w1-a3", "w1-a4"),
    "written while two agents that could own it were running; neither declares it in wave 1",
)


@pytest.mark.parametrize("size", SIZES)
def test_violations_screen(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def violations(pilot: Pilot[object]) -> None:
        app = pilot.app
        assert isinstance(app, WavedeckApp)
        await _ready(pilot)
        app.feed([SECOND])
        await app.push_screen(ViolationsScreen(1, None))

        def drawn() -> bool:  # the table's columns sized (first drawn without), both rows
            text = screen_text(app)
            header = next((ln.split() for ln in text.splitlines() if "status" in ln), [])
            return header[:4] == ["status", "path", "kind", "agent"] and (
                "session-registry-do.js" in text
            )

        await settle(pilot, drawn, "the violations table drawn")

    assert snap_compare(static_app(), terminal_size=size, run_before=violations)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def help_(pilot: Pilot[object]) -> None:
        await _ready(pilot)
        await pilot.press("f1")
        await settle(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, HelpScreen)
                and "esc: close" in screen_text(pilot.app)
                and "Start the selected wave" in screen_text(pilot.app)
            ),
            "the help drawn",
        )

    assert snap_compare(static_app(), terminal_size=size, run_before=help_)
