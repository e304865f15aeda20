"""Snapshots of the control room at 200x50, 120x40 and 80x24: main screen mid-wave, an agent's log view, the
diff review, a refused checkpoint and help. Deterministic: a view-only app fed fixed events, a
frozen clock, fixed diffs. ``WAVEDECK_SCREENSHOT=1`` also writes docs/screenshot.svg."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.tui.helpers import ROOT, STRAY, panes_ready, static_app, wait_for
from wavedeck.agents.events import ViolationFound
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.wave.gates import CheckpointPreview, StrayPath
from wavedeck.tui.app import WavedeckApp
from wavedeck.tui.screens.checkpoint import CheckpointScreen
from wavedeck.tui.screens.diff import DiffEntry, DiffScreen

pytestmark = pytest.mark.slow

SIZES = [
    pytest.param((200, 50), id="200x50"),
    pytest.param((120, 40), id="120x40"),
    pytest.param((80, 24), id="80x24"),  # the smallest terminal the layout is made for
]

DIFFS = {
    "packages/headless-client/zajel/client.py": (
        "diff --git a/packages/headless-client/zajel/client.py b/packages/headless-client/zajel/client.py\n"
        "--- a/packages/headless-client/zajel/client.py\n"
        "+++ b/packages/headless-client/zajel/client.py\n"
        "@@ -1,6 +1,9 @@\n"
        ' """client.py: part of the zajel headless client."""\n'
        " \n"
        "-def handshake(peer):\n"
        "-    return exchange(peer.key)\n"
        "+def handshake(peer, expected_id):\n"
        "+    # headless-05: bind the exchanged key to the peer we meant to talk to\n"
        "+    if peer.identity != expected_id:\n"
        "+        raise HandshakeError('peer identity mismatch')\n"
        "+    return exchange(peer.key)\n"
    ),
    "packages/headless-client/zajel/crypto.py": "@@ -3 +3 @@\n-salt = b''\n+salt = os.urandom(32)\n",
    STRAY: "@@ -1 +1,2 @@\n def main():\n+    os.umask(0o077)\n",
}


@dataclass
class FixedDiffs:
    """Fixed diff data for the review screen (what git would report for this wave)."""

    title: str = "Diffs — wave 1"
    root: Path | None = None
    wave: int | None = 1
    entries: list[DiffEntry] = field(
        default_factory=lambda: [
            DiffEntry("packages/headless-client/zajel/client.py", "M", "w1-a1", False, 5, 2),
            DiffEntry("packages/headless-client/zajel/crypto.py", "M", "w1-a1", False, 1, 1),
            DiffEntry(STRAY, "M", "w1-a2", True, 1, 0),
        ]
    )

    def files(self) -> list[DiffEntry]:
        return list(self.entries)

    def diff(self, entry: DiffEntry) -> str:
        return DIFFS[entry.path]

    async def revert(self, entry: DiffEntry) -> None:
        raise AssertionError("not in snapshots")


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
    async def review(pilot: Pilot[object]) -> None:
        await _ready(pilot)
        screen = DiffScreen(FixedDiffs())
        await pilot.app.push_screen(screen)
        await wait_for(lambda: screen.displayed is not None and screen.displayed == screen.shown)
        await pilot.pause(0.2)

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
