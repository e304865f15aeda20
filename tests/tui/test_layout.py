"""The control room in a terminal of any size (issue #24): what the snapshots show, asserted.

At 80x24, 120x40 and 200x50: every pane's status line is whole (its issues count, its host), five
panes fill the width (no hole beside the last row), the focused pane shows its log under its
checklist, paths are shortened in their middle and never cut in a file name, the checkpoint
keeps "Files to commit" in view under a long issue list, the violations screen shows each row's
status and its detail in full. Toasts: a stale one goes when the news changes, a refusal names
its key, and none covers the violations strip.
"""

from __future__ import annotations

import re

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.tui.helpers import (
    STRAY,
    checkpoint_drawn,
    mid_wave_drawn,
    panes_ready,
    settle,
    static_app,
    wait_for,
)
from tests.tui.screen_text import screen_text
from tests.tui.test_snapshots import SECOND, refused_preview
from wavedeck.tui.app import WavedeckApp
from wavedeck.tui.screens.checkpoint import CheckpointScreen
from wavedeck.tui.screens.main import grid_shape
from wavedeck.tui.screens.violations import ViolationsScreen
from wavedeck.tui.toasts import REFUSAL, wave_topic
from wavedeck.tui.widgets.agent_pane import AgentPane, PaneHead, pack
from wavedeck.tui.widgets.paths import fit_path

pytestmark = pytest.mark.timeout(60)
SIZES = [(80, 24), (120, 40), (200, 50)]
NAMES = ("client.py", "crypto.py", "index.js")  # the checkpoint's files' names


async def _main(pilot: Pilot[object]) -> WavedeckApp:
    app = pilot.app
    assert isinstance(app, WavedeckApp)
    await panes_ready(app)
    await settle(pilot, lambda: mid_wave_drawn(app), "the main screen drawn")
    return app


def test_every_row_of_the_grid_is_full() -> None:
    for count in range(1, 13):
        columns, rows, spans = grid_shape(count)
        assert len(spans) == count
        # every row's spans add up to the grid's width
        row, used = 0, 0
        for span in spans:
            used += span
            if used == columns:
                row, used = row + 1, 0
        assert used == 0 and row == rows, (count, spans)
    assert grid_shape(5) == (6, 2, [2, 2, 2, 3, 3])


def test_paths_are_shortened_in_the_middle_keeping_the_name() -> None:
    path = "packages/headless-client/zajel/file_transfer.py"
    assert fit_path(path, 60) == path
    assert fit_path(path, 30) == "…/zajel/file_transfer.py"
    assert fit_path(path, 16) == "file_transfer.py"
    for width in range(5, 60):
        shown = fit_path(path, width)
        assert len(shown) <= width
        if width >= len("file_transfer.py"):
            assert shown.endswith("file_transfer.py")


def test_a_status_line_wraps_between_its_parts_never_inside_one() -> None:
    from rich.text import Text

    parts = [("", Text("● running")), (" ", Text("⏱ 10:15")), (" ", Text("☑ 8/10")),
             (" ", Text("✎ 3")), (" ", Text("local"))]  # fmt: skip
    lines = [line.plain for line in pack(parts, 20)]
    assert lines == ["● running ⏱ 10:15", "☑ 8/10 ✎ 3 local"]
    assert [line.plain for line in pack(parts, 200)] == ["● running ⏱ 10:15 ☑ 8/10 ✎ 3 local"]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_main_screen_status_lines_are_whole_and_the_panes_fill_it(
    size: tuple[int, int],
) -> None:
    app = static_app()
    async with app.run_test(size=size) as pilot:
        await _main(pilot)
        panes = list(app.main_screen.query(AgentPane))
        for pane in panes:
            head = pane.query_one(PaneHead)
            # as many rows as its parts need, so nothing is cut
            assert head.size.height == len(pack(head.parts, head.size.width))
            done = f"☑ {len(pane.view.issues_done)}/{len(pane.view.agent.issues)}"
            assert done in screen_text(app).replace("\n", " ") or done in head.plain
            shown = re.sub(r"[┃│]", "\n", screen_text(app))
            assert done in shown and "…" not in head.plain
        # the panes of each row reach the right edge: no hole beside the last row
        width = size[0]
        for pane in panes:
            right = pane.region.right
            assert right == width or any(p.region.x == right for p in panes), pane.agent_id
        # the focused pane shows its log under its checklist
        focused = app.main_screen.focused_pane
        assert focused is not None
        assert focused.log_view.size.height >= 2
        strip = screen_text(app).splitlines()[-2]
        assert "daemon.py" in strip and "w1-a2" in strip  # the file name and its writer


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_checkpoint_keeps_the_files_in_view_with_whole_names(size: tuple[int, int]) -> None:
    app = static_app()
    async with app.run_test(size=size) as pilot:
        await _main(pilot)
        preview = refused_preview()
        assert len(preview.issues) > 20  # the whole wave's issues
        await app.push_screen(CheckpointScreen(preview))
        await settle(pilot, lambda: checkpoint_drawn(app), "the checkpoint drawn, columns sized")
        text = screen_text(app)
        assert "Files to commit" in text
        for name in NAMES:
            assert name in text, name
        assert "daemon.py" in text
        summary = str(app.screen.query_one("#cp-summary").render())
        assert "not done: website-2, website-3, website-21" in " ".join(summary.split())
        files = next(i for i, line in enumerate(text.splitlines()) if "Files to commit" in line)
        assert files < 8  # at the top of its column, whatever the issues
        for line in text.splitlines():
            assert not re.search(r"/[\w.-]*$", line.strip()), line  # a path cut at the edge


async def test_checkpoint_table_drawn_before_it_measures_keeps_whole_columns() -> None:
    """The stray table drawn right after a refill (a resize's), before the table goes idle and
    measures its new rows (what load does): its columns fit their cells already, and stay so
    (a frame drawn at the labels' widths was cached as "…/cl  unow" for good)."""
    app = static_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _main(pilot)
        await app.push_screen(CheckpointScreen(refused_preview()))
        await settle(pilot, lambda: checkpoint_drawn(app), "the checkpoint drawn, columns sized")
        screen = app.screen
        assert isinstance(screen, CheckpointScreen)
        table = screen.query_one(DataTable)
        screen._fill()  # what the screen does after a resize
        drawn = [table.render_line(y).text for y in range(table.size.height)]
        assert any("daemon.py" in line and "unowned" in line for line in drawn), drawn
        await pilot.pause()  # the table goes idle: it measures the rows it was given
        await settle(pilot, lambda: checkpoint_drawn(app), "the checkpoint drawn again")
        drawn = [table.render_line(y).text for y in range(table.size.height)]
        assert any("daemon.py" in line and "unowned" in line for line in drawn), drawn


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_violations_screen_shows_status_and_whole_detail(size: tuple[int, int]) -> None:
    app = static_app()
    async with app.run_test(size=size) as pilot:
        await _main(pilot)
        app.feed([SECOND])
        await app.push_screen(ViolationsScreen(1, None))

        def flat() -> str:
            return " ".join(screen_text(app).replace("│", " ").split())

        def header() -> list[str]:
            lines = screen_text(app).splitlines()
            return next((ln.split() for ln in lines if "status" in ln and "path" in ln), [])

        # Awaited, not a fixed pause: the table is first drawn before its columns are sized (a
        # header of "status path kind" only); under load 0.3 s was not always enough.
        try:
            await wait_for(lambda: header()[:4] == ["status", "path", "kind", "agent"])
            await wait_for(lambda: "session-registry-do.js" in flat() and STRAY in flat())
        except AssertionError as error:
            raise AssertionError(f"{error}; the screen:\n{screen_text(app)}") from None
        text = screen_text(app)
        assert header()[:4] == ["status", "path", "kind", "agent"]
        assert text.count(" open ") >= 2
        assert "daemon.py" in text and "session-registry-do.js" in text
        assert STRAY in flat()  # the selected row, in full, in the detail panel
        assert "no wave-1 agent declares it" in flat()
        await pilot.press("down")
        await wait_for(lambda: "written by one of w1-a3, w1-a4" in flat())
        assert "neither declares it in wave 1" in flat()


async def test_toasts_are_replaced_when_the_news_changes_and_name_the_key() -> None:
    app = static_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _main(pilot)
        await pilot.press("t")  # greyed out in a view-only app: says why, naming the key
        await wait_for(lambda: app.toasts.showing(REFUSAL) is not None)
        notes = list(app._notifications)
        assert any(n.title.startswith("t (Tests)") for n in notes), [n.title for n in notes]
        await pilot.press("c")  # the next refusal replaces it
        await wait_for(lambda: any(n.title.startswith("c (Commit)") for n in app._notifications))
        titles = [n.title for n in app._notifications]
        assert not any(t.startswith("t (Tests)") for t in titles), titles
        assert any(t.startswith("c (Commit)") for t in titles), titles
        # A wave's news replaces its older news and the refusal.
        app.toasts.show("wave 1 has not started", topic=wave_topic(1))
        app.toasts.show("starting wave 1", topic=wave_topic(1), clears=(REFUSAL,))

        def said() -> list[str]:
            return [n.message for n in app._notifications]

        await settle(
            pilot,
            lambda: "starting wave 1" in said() and "wave 1 has not started" not in said(),
            "the wave's news replaced",
        )
        messages = [n.message for n in app._notifications]
        assert "starting wave 1" in messages and "wave 1 has not started" not in messages
        assert app.toasts.showing(REFUSAL) is None

        # Toasts sit above the violations strip and the key bar.
        def shown() -> list[str]:
            return [str(t.render()) for t in app.screen.query("Toast") if t.region.height]

        await settle(
            pilot, lambda: any("starting wave 1" in t for t in shown()), "the toast laid out"
        )
        toasts = list(app.screen.query("Toast"))
        assert toasts and all(t.region.bottom <= 24 - 2 for t in toasts), [t.region for t in toasts]
        assert "daemon.py" in screen_text(app).splitlines()[-2]
