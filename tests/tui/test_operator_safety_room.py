"""The control room on the operator-safety and crash-window fixes of issue #20 (real engine).

- A file the operator committed mid-wave and that changed again since is refused by name in the
  checkpoint screen (``head-moved``); accepting it there (``a``) adopts it, and the checkpoint
  goes on top of the operator's commit.
- A control room opening after a `wavedeck run --headless` killed right after its checkpoint
  moved the branch shows the wave committed, on that very commit (no second one).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from textual.widgets import DataTable

from tests.e2e.headless_kit import env, wavedeck_argv
from tests.sandboxkit import git
from tests.tui.helpers import panes_ready, settle, wait_for
from tests.tui.room_kit import control_room, sandbox
from wavedeck.agents.faults import ENV
from wavedeck.agents.tools.demo import STRAY_PATH
from wavedeck.tui.screens.checkpoint import CheckpointScreen
from wavedeck.tui.screens.dialogs import PromptScreen
from wavedeck.tui.widgets.agent_pane import AgentPane

OWNED = "packages/headless-client/zajel/client.py"
MY_LINE = "# the operator's own line\n"


def _cursor_path(screen: CheckpointScreen) -> str | None:
    table: DataTable[str] = screen.query_one(DataTable)
    if table.row_count == 0:
        return None
    row, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
    return str(row.value)


async def _accept(app: Any, pilot: Any, screen: CheckpointScreen, path: str) -> None:
    """Move to ``path`` in the checkpoint screen's list and accept it with a reason."""
    await wait_for(lambda: path in [s.path for s in screen.preview.stray])

    def listed() -> bool:
        table: DataTable[str] = screen.query_one(DataTable)
        return any(str(key.value) == path for key in table.rows)

    await settle(pilot, listed, f"{path} listed in the checkpoint screen")
    for _ in range(10):
        if _cursor_path(screen) == path:
            break
        await pilot.press("down")
    assert _cursor_path(screen) == path
    await pilot.press("a")
    await wait_for(lambda: isinstance(app.screen, PromptScreen))
    await pilot.press(*"reviewed", "enter")


async def test_a_file_both_changed_is_adopted_from_the_checkpoint_screen(tmp_path: Path) -> None:
    repo = sandbox(tmp_path)
    async with control_room(repo) as (app, pilot):
        view = app.view
        await pilot.press("s")
        await wait_for(lambda: all(a.state == "succeeded" for a in view.wave_agents(1)), 60)
        # The operator commits a line to the agent's file (its committed version), and keeps it
        # in the file too.
        committed = git(repo, "show", f"HEAD:{OWNED}") + "\n"
        blob = git(repo, "hash-object", "-w", "--stdin", input_text=MY_LINE + committed)
        git(repo, "update-index", "--cacheinfo", f"100644,{blob},{OWNED}")
        git(repo, "commit", "-qm", "my line")
        mine = git(repo, "rev-parse", "HEAD")
        (repo / OWNED).write_text(MY_LINE + (repo / OWNED).read_text("utf-8"), "utf-8")
        await pilot.press("t")
        await wait_for(lambda: view.waves[1].tests_passed is not None, timeout=60)
        await pilot.press("escape")

        await pilot.press("c")
        await wait_for(lambda: isinstance(app.screen, CheckpointScreen))
        screen = app.screen
        assert isinstance(screen, CheckpointScreen)
        await wait_for(lambda: screen.preview.refusal is not None)
        assert screen.preview.refusal is not None
        assert screen.preview.refusal.code == "head-moved"
        assert screen.preview.refusal.paths == (OWNED,)
        await _accept(app, pilot, screen, OWNED)
        await wait_for(lambda: OWNED in screen.preview.accepted)
        await _accept(app, pilot, screen, STRAY_PATH)
        await wait_for(lambda: screen.preview.refusal is None)
        await pilot.press("ctrl+s")
        await wait_for(lambda: view.waves[1].commit is not None, timeout=30)
        # The main screen moves on to wave 2's panes: let it, before the room closes.
        second = {a.id for a in app.view.wave_agents(2)}
        await wait_for(lambda: {p.agent_id for p in app.main_screen.query(AgentPane)} == second)
        await panes_ready(app, len(second))
        sha = view.waves[1].commit
    assert git(repo, "rev-parse", f"{sha}^") == mine
    assert git(repo, "show", f"{sha}:{OWNED}").startswith(MY_LINE.strip())


async def test_the_control_room_finishes_a_checkpoint_a_killed_run_left_half_done(
    tmp_path: Path,
) -> None:
    repo = sandbox(tmp_path)
    killed = subprocess.run(
        wavedeck_argv("run", "--headless", "--wave", "1", "--yes", "--accept-violations"),
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env(), ENV: "checkpoint-branch-moved"},
        check=False,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    landed = git(repo, "rev-parse", "HEAD")
    async with control_room(repo) as (app, _pilot):
        await wait_for(lambda: app.view.waves[1].commit == landed, timeout=30)
        assert app.engine.wave_state(1) == "committed"
    assert git(repo, "rev-parse", "HEAD") == landed
    assert git(repo, "diff", "--cached", "--name-only", "HEAD") == ""
