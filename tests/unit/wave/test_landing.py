"""A checkpoint's intent, recorded before the branch moves, on a real sandbox (issue #20).

The window after the move is tested end to end (``tests/e2e/test_crash_windows.py``); here, the
window before it: a control room that recorded its intent and died before ``update-ref`` left a
commit on no branch. The next one drops the intent, says so, and makes the checkpoint again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.wave.enginekit import git, opened, sandbox, wait_agents, worktree_sandbox
from wavedeck.agents.events import CheckpointCommitted, Notice
from wavedeck.agents.watch.worktrees import create_worktrees
from wavedeck.agents.wave import transitions
from wavedeck.agents.wave.operator_work import start_ref

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]


async def test_an_intent_whose_branch_never_moved_is_dropped_and_the_checkpoint_made_again(
    root: Path,
) -> None:
    sandbox(root)
    base = git(root, "rev-parse", "HEAD")
    async with opened(root) as (sup, _col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        assert await sup.run_tests(1)
        await sup.accept_violation(1, "packages/headless-client/zajel/cli/daemon.py", "demo")
        preview = await sup.checkpoint_preview(1)
        assert preview.refusal is None
        prepared = sup.git.prepare_checkpoint(list(preview.paths), "wave 1", expected_head=base)
        # Recorded, then the control room dies before the branch moves.
        transitions.checkpoint_intended(
            sup.ctx, 1, prepared.commit, prepared.parent, prepared.paths
        )
    assert git(root, "rev-parse", "HEAD") == base

    async with opened(root) as (sup, col):
        record = sup.wave_record(1)
        assert record is not None and record.checkpoint_intent is None
        assert sup.wave_state(1) == "tested"
        await col.until(
            lambda _evs: any("never reached the branch" in e.message for e in col.of(Notice))
        )
        sha = await sup.checkpoint(1)
        assert sha is not None and sha != prepared.commit
        await col.until(lambda _evs: bool(col.of(CheckpointCommitted)))
    assert git(root, "rev-parse", f"{sha}^") == base


async def test_a_control_room_killed_after_recording_its_checkpoint_lets_go_at_the_next_open(
    root: Path,
) -> None:
    """Killed after the checkpoint was recorded, before the start tree's ref and the worktrees
    were removed: the next control room removes them (the ref would keep the tree forever)."""
    worktree_sandbox(root, extra={})
    async with opened(root) as (sup, _col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        assert await sup.run_tests(1)
        sha = await sup.checkpoint(1)
        assert sha is not None
        record = sup.wave_record(1)
        assert record is not None and record.start_tree is not None and record.base_commit
        # What the killed control room would have left: the ref and the worktrees, as they were.
        sup.git.keep_ref(start_ref(1), record.start_tree)
        folder = root / ".wavedeck" / "worktrees"
        left = create_worktrees(root, sup.plan, 1, record.base_commit, folder)
    assert git(root, "for-each-ref", "refs/wavedeck/") != ""
    assert all(path.is_dir() for path in left.values())

    async with opened(root) as (sup, _col):
        assert sup.wave_state(1) == "committed"
    assert git(root, "for-each-ref", "refs/wavedeck/") == ""
    assert not any(path.exists() for path in left.values())
    assert "wavedeck/" not in git(root, "branch", "--list", "wavedeck/*")
    assert git(root, "rev-parse", "HEAD") == sha
