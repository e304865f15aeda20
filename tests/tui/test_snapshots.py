"""Snapshots of the control room at 200x50, 120x40 and 80x24: main screen mid-wave, an agent's log view, the
diff review, a refused checkpoint and help. Deterministic: a view-only app fed fixed events, a
frozen clock, fixed diffs. ``WAVEDECK_SCREENSHOT=1`` also writes docs/screenshot.svg and
docs/review.svg."""

from __future__ import annotations

import os

import pytest
from textual.pilot import Pilot

from tests.tui.helpers import ROOT, STRAY, panes_ready, static_app, wait_for
from tests.tui.review_kit import review_changes, review_record
from wavedeck.agents.events import ViolationFound
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.wave.gates import CheckpointPreview, StrayPath
from wavedeck.tui.app import WavedeckApp
from wavedeck.tui.screens.checkpoint import CheckpointScreen
from wavedeck.tui.screens.diff import ReviewScreen

pytestmark = pytest.mark.slow

SIZES = [
    pytest.param((200, 50), id="200x50"),
    pytest.param((120, 40), id="120x40"),
    pytest.param((80, 24), id="80x24"),  # the smallest terminal the layout is made for
]


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
        issues=("headless-05", "headless-06", "server-1"),
        issues_done=("headless-05", "server-1"),
        tests_passed=True,
        tests_summary="2 commands, 0.5s",
        message="Wave 1 — CRITICAL + HIGH (29 issues)\n\n- HIGH headless-05: fixed\n",
        refusal=Refusal("stray-paths", 1, paths=(STRAY,)),
    )


async def _ready(pilot: Pilot[object]) -> None:
    app = pilot.app
    assert isinstance(app, WavedeckApp)
    await panes_ready(app)
    await pilot.pause(1.0)  # let the first layout settle before pushing screens


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
        await pilot.pause(0.2)

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
        await pilot.pause(0.3)
        await pilot.press("n", "n")
        await wait_for(lambda: not screen.view.colouring)  # every line on screen coloured
        await pilot.pause(0.2)
        if os.environ.get("WAVEDECK_SCREENSHOT") and size == (200, 50):
            docs = ROOT / "docs" / "review.svg"
            docs.write_text(pilot.app.export_screenshot(title="wavedeck review"), "utf-8")

    assert snap_compare(static_app(), terminal_size=size, run_before=review)


@pytest.mark.parametrize("size", SIZES)
def test_checkpoint_refused(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def checkpoint(pilot: Pilot[object]) -> None:
        await _ready(pilot)
        await pilot.app.push_screen(CheckpointScreen(refused_preview()))
        await pilot.pause(0.2)

    assert snap_compare(static_app(), terminal_size=size, run_before=checkpoint)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def help_(pilot: Pilot[object]) -> None:
        await _ready(pilot)
        await pilot.press("f1")
        await pilot.pause(0.2)

    assert snap_compare(static_app(), terminal_size=size, run_before=help_)
