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
from wavedeck.tui.screens.diff import DiffScreen, group_options
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
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        await wait_for(lambda: TEST_PATH in diff.entries and STRAY_PATH in diff.entries)
        accepted = diff.entries[TEST_PATH]
        assert not accepted.stray and accepted.accepted == preview.accepted[TEST_PATH]
        assert diff.entries[STRAY_PATH].stray
        # Staged paths are exactly the checkpoint's; the stray group holds exactly its strays.
        assert {p for p, e in diff.entries.items() if not e.stray} <= set(preview.paths)
        assert {p for p, e in diff.entries.items() if e.stray} == {s.path for s in preview.stray}
        labels = [str(o.prompt) for o in group_options(list(diff.entries.values())) if o]
        stray_header = labels.index("⚠ stray (not its writer's)")
        assert any(TEST_PATH.rsplit("/", 1)[-1] in label for label in labels[:stray_header])
        await pilot.press("escape")

        await engine.accept_violation(1, STRAY_PATH, "the daemon lives there")
        await pilot.press("v")
        assert isinstance(app.screen, ViolationsScreen)
        await wait_for(lambda: "accepted: the daemon lives there" in screen_text(app))
        await pilot.press("escape")
        preview = await engine.checkpoint_preview(1)
        assert not preview.stray and STRAY_PATH in preview.accepted
        await pilot.press("d")
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        await wait_for(lambda: STRAY_PATH in diff.entries)
        assert not diff.entries[STRAY_PATH].stray
        assert diff.entries[STRAY_PATH].accepted == "the daemon lives there"
