"""One change classification (issue #11): the diff screen, the violations screen and the
checkpoint preview treat each changed path alike. A test the ``[policy]`` accepts is accepted
everywhere (the diff screen used to mark it ``⚠ stray``); the undeclared daemon is stray
everywhere until the operator accepts it, then accepted everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.helpers import wait_for
from tests.tui.screen_text import screen_text
from tests.tui.test_engine_flow import control_room, sandbox
from wavedeck.agents.tools.demo import STRAY_PATH, TEST_PATH
from wavedeck.tui.screens.diff import ReviewScreen
from wavedeck.tui.screens.violations import ViolationsScreen

pytestmark = pytest.mark.slow


async def test_policy_accepted_path_is_accepted_in_diff_violations_and_checkpoint(
    tmp_path: Path,
) -> None:
    repo = sandbox(tmp_path)
    async with control_room(repo) as (app, pilot):
        view, engine = app.view, app.engine
        assert engine is not None
        await pilot.press("s")
        await wait_for(lambda: all(a.state == "succeeded" for a in view.wave_agents(1)), timeout=60)
        await wait_for(lambda: any(v.path == STRAY_PATH for v in view.waves[1].violations))

        preview = await engine.checkpoint_preview(1)
        assert TEST_PATH in preview.accepted and TEST_PATH in preview.paths
        assert STRAY_PATH in {s.path for s in preview.stray}

        await pilot.press("d")
        review = app.screen
        assert isinstance(review, ReviewScreen)
        await wait_for(lambda: review.loaded and review.changes.file(STRAY_PATH) is not None)
        files = {f.path: f for f in review.changes.files}
        accepted = files[TEST_PATH]
        assert accepted.standing == "accepted" and accepted.reason == preview.accepted[TEST_PATH]
        assert files[STRAY_PATH].standing == "stray"
        # Staged paths are exactly the checkpoint's; the stray ones exactly its strays.
        assert {p for p, f in files.items() if f.standing != "stray"} <= set(preview.paths)
        assert {p for p, f in files.items() if f.standing == "stray"} == {
            s.path for s in preview.stray
        }
        # The accepted test file is its agent's; the stray daemon no agent's alone.
        assert accepted in review.changes.of(accepted.agent).files  # type: ignore[union-attr]
        await pilot.press("escape")

        await engine.accept_violation(1, STRAY_PATH, "the daemon lives there")
        await pilot.press("v")
        assert isinstance(app.screen, ViolationsScreen)
        await wait_for(lambda: "accepted: the daemon lives there" in screen_text(app))
        await pilot.press("escape")
        preview = await engine.checkpoint_preview(1)
        assert not preview.stray and STRAY_PATH in preview.accepted
        await pilot.press("d")
        review = app.screen
        assert isinstance(review, ReviewScreen)
        await wait_for(lambda: review.loaded and review.changes.file(STRAY_PATH) is not None)
        daemon = review.changes.file(STRAY_PATH)
        assert daemon is not None and daemon.standing == "accepted"
        assert daemon.reason == "the daemon lives there"
