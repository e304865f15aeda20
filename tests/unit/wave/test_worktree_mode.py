"""Worktree mode: each agent in its own worktree, exact attribution, changes collected for the
tests and the checkpoint, collisions refused, worktrees removed after the checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.wave.enginekit import (
    git,
    opened,
    wait_agents,
    worktree_sandbox,
)
from wavedeck.agents.events import GateRefused, ViolationFound
from wavedeck.agents.tools.demo import STRAY_PATH

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]
SHARED = "packages/headless-client/zajel/shared_helper.py"


async def test_agents_work_in_worktrees_and_the_checkpoint_collects_them(root: Path) -> None:
    worktree_sandbox(root)
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        trees = {a.id: root / ".wavedeck" / "worktrees" / a.id for a in sup.plan.wave(1).agents}
        assert all(t.is_dir() for t in trees.values())
        await wait_agents(sup, 1)
        # Nothing reached the main tree while the agents worked.
        assert git(root, "status", "--porcelain") == ""
        assert (
            "wavedeck-sim"
            in (trees["w1-a1"] / "packages/headless-client/zajel/client.py").read_text()
        )
        await col.until(
            lambda evs: any(isinstance(e, ViolationFound) and e.path == STRAY_PATH for e in evs)
        )
        stray = next(v for v in sup.violations(1) if v.path == STRAY_PATH)
        assert stray.agent == "w1-a2"  # exact: it was written in w1-a2's worktree
        assert await sup.run_tests(1)
        assert "wavedeck-sim" in (root / "packages/headless-client/zajel/client.py").read_text()
        preview = await sup.checkpoint_preview(1)
        assert [(s.path, s.agent) for s in preview.stray] == [(STRAY_PATH, "w1-a2")]
        sha = await sup.checkpoint(1, accept_violations=True)
        assert sha is not None
        assert git(root, "status", "--porcelain") == ""
        assert not any(t.exists() for t in trees.values())
        assert "wavedeck/w1-a1" not in git(root, "branch", "--list")


async def test_a_path_two_agents_changed_is_a_collision_and_blocks_the_tests(root: Path) -> None:
    worktree_sandbox(
        root, extra={"w1-a1": ["--touch-unowned", SHARED], "w1-a2": ["--touch-unowned", SHARED]}
    )
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        assert await sup.run_tests(1) is False
        await col.until(lambda evs: any(isinstance(e, GateRefused) for e in evs))
        refused = col.of(GateRefused)[0]
        assert refused.paths == (SHARED,)
        collision = [v for v in sup.violations(1) if v.kind == "collision"]
        assert collision and collision[0].candidates == ("w1-a1", "w1-a2")
        assert not (root / SHARED).exists()  # nothing was collected
        assert sup.wave_state(1) == "running"
