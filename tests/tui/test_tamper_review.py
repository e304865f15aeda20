"""Issue #20: a change of ``.git`` during a wave is reviewed one finding at a time in the
violations screen: each setting its own row, undone (``x``: back to its wave-start value) or
kept (``a``, with a reason), and the checkpoint waits until every one is reviewed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.tui.helpers import settle, wait_for
from tests.tui.room_kit import control_room, sandbox
from tests.tui.screen_text import screen_text
from wavedeck.tui.screens.dialogs import ConfirmScreen, PromptScreen
from wavedeck.tui.screens.violations import ViolationsScreen

FSMONITOR = "(git) .git/config core.fsmonitor"
PAGER = "(git) .git/config core.pager"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


async def test_each_change_of_git_is_undone_or_kept_on_its_own(tmp_path: Path) -> None:
    repo = sandbox(tmp_path, extra={})
    async with control_room(repo) as (app, pilot):
        view = app.view
        await pilot.press("s")
        await wait_for(lambda: all(a.state == "succeeded" for a in view.wave_agents(1)), timeout=60)
        _git(repo, "config", "core.fsmonitor", "/tmp/planted-monitor")
        _git(repo, "config", "core.pager", "/tmp/planted-pager")

        def rows() -> set[str]:
            return {v.path for v in view.waves[1].violations}

        await wait_for(lambda: {FSMONITOR, PAGER} <= rows(), timeout=15)
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, ViolationsScreen)

        def keys() -> list[str]:
            table = screen.query_one("#violations-table")
            return [str(k.value) for k in table.rows]  # type: ignore[attr-defined]

        await settle(pilot, lambda: {FSMONITOR, PAGER} <= set(keys()), "both rows in the table")
        table = screen.query_one("#violations-table")
        assert keys().index(FSMONITOR) >= 0 and keys().index(PAGER) >= 0
        table.move_cursor(row=keys().index(FSMONITOR))  # type: ignore[attr-defined]
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Undo (git) .git/config core.fsmonitor" in screen_text(app)
        await pilot.press("y")
        await wait_for(lambda: _git(repo, "config", "--get", "core.fsmonitor") == "")
        await wait_for(lambda: FSMONITOR not in {v.path for v in app.engine.violations(1)})
        await settle(pilot, lambda: "undone" in screen_text(app), "the row drawn undone")
        assert "undone" in screen_text(app)
        table.move_cursor(row=keys().index(PAGER))  # type: ignore[attr-defined]
        await pilot.press("a")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"our pager")
        await pilot.press("enter")
        await wait_for(lambda: app.engine.accepted(1).get(PAGER) == "our pager")
        assert _git(repo, "config", "--get", "core.pager") == "/tmp/planted-pager"  # kept
        preview = await app.engine.checkpoint_preview(1)
        assert preview.tamper == ()
        assert preview.accepted.get(PAGER) == "our pager"
