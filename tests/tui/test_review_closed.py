"""The review screen closing while it reads the wave's changes: the late result draws nothing
and the control room goes on. It crashed (``NoMatches`` for the screen's ``DiffView``, seen once
in the end-to-end review test): an agent's answer made the screen read again just as the
operator went back to the main screen, and Textual, closing a screen, removes its widgets a
moment before it cancels its workers; a reading that ended in that moment drew on nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.tui.helpers import settle
from tests.tui.room_kit import control_room, sandbox
from wavedeck.agents.review.changes import WaveChanges
from wavedeck.tui.screens.diff import ReviewScreen
from wavedeck.tui.widgets.diff_view import DiffView

pytestmark = pytest.mark.timeout(60)


async def test_a_reading_that_ends_after_the_screen_closed_draws_nothing(tmp_path: Path) -> None:
    repo = sandbox(tmp_path)
    async with control_room(repo) as (app, pilot):
        engine = app.engine
        assert engine is not None
        review = ReviewScreen(1, engine)
        await app.push_screen(review)
        await settle(pilot, lambda: review.loaded, "the first reading drawn")
        # The engine's own reading, held until the screen has closed (only its timing is ours).
        real, gate, read = engine.review_changes, asyncio.Event(), asyncio.Event()

        async def held(wave: int) -> WaveChanges:
            await gate.wait()
            try:
                return await real(wave)
            finally:
                read.set()

        engine.review_changes = held  # type: ignore[method-assign]
        review.reload()  # as an agent's end makes it: the changes read again
        reading = [w for w in app.workers if w.node is review and w.group == "review-load"]
        assert reading
        # The moment of a closing: the screen's widgets removed, its reading not cancelled yet.
        await review.query_one(DiffView).remove()
        gate.set()
        await asyncio.wait_for(read.wait(), 30)
        await settle(pilot, lambda: all(w.is_finished for w in reading), "the reading's end")
        assert app.is_running and app.return_code is None
        app.pop_screen()  # and the operator is back on the main screen
        await settle(pilot, lambda: app.screen is not review, "back on the main screen")
