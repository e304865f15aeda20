"""Worktree mode: collecting the agents' changes never overwrites the main tree (issue #20).

While agents work in their worktrees, the operator (or an agent escaping its worktree) may edit
the main tree. A path an agent changed in its worktree whose main-tree content changed too
(since the wave started, or already before it: the operator's own uncommitted work) is refused
by name, ``operator-conflict`` as in shared mode, and nothing is collected. Accepting the file
(one by one, never in bulk) collects it as a three-way merge of both versions, each side's
change kept; a merge with conflicting lines stays refused, both versions untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.wave.enginekit import git, opened, wait_agents, worktree_sandbox
from wavedeck.agents.events import GateRefused
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.wave.operator_work import CONFLICT_KIND

pytestmark = pytest.mark.timeout(120)

OWNED = "packages/headless-client/zajel/client.py"  # w1-a1's: the simulated agent appends to it
OTHER = "packages/headless-client/zajel/protocol.py"  # w1-a1's as well
MY_LINE = "# the operator's own line\n"


async def test_a_main_tree_edit_during_the_wave_is_refused_by_name_then_merged_when_accepted(
    root: Path,
) -> None:
    worktree_sandbox(root, extra={})
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        agents_copy = root / ".wavedeck" / "worktrees" / "w1-a1" / OWNED
        assert "wavedeck-sim" in agents_copy.read_text("utf-8")
        # The operator edits the same file in the main tree (at its top) while the wave runs.
        mine = MY_LINE + (root / OWNED).read_text("utf-8")
        (root / OWNED).write_text(mine, "utf-8")

        assert await sup.run_tests(1) is False
        await col.until(lambda _evs: bool(col.of(GateRefused)))
        refusal = col.of(GateRefused)[-1].refusal
        assert refusal == Refusal("operator-conflict", 1, paths=(OWNED,))
        assert (root / OWNED).read_text("utf-8") == mine  # never overwritten
        assert not (root / ".wavedeck" / "worktrees" / "wave-1.collected.json").exists()
        assert sup.wave_state(1) == "running"  # no tests ran
        preview = await sup.checkpoint_preview(1)  # the checkpoint screen lists it to accept
        assert OWNED not in preview.paths
        assert [s.kind for s in preview.stray if s.path == OWNED] == [CONFLICT_KIND]

        # Accepting the file (one by one) collects both sides' changes into it.
        await sup.accept_violation(1, OWNED, "keep both")
        assert await sup.run_tests(1)
        merged = (root / OWNED).read_text("utf-8")
        assert merged.startswith(MY_LINE) and "wavedeck-sim" in merged
        assert "wavedeck-sim" in (root / OTHER).read_text("utf-8")  # the rest collected too
        sha = await sup.checkpoint(1, accept_violations=True)
        assert sha is not None, [e.refusal for e in col.of(GateRefused)]
    assert git(root, "show", f"{sha}:{OWNED}") + "\n" == merged


async def test_the_operators_uncommitted_work_is_never_overwritten_and_conflicting_lines_stay_refused(
    root: Path,
) -> None:
    worktree_sandbox(root, extra={})
    # Uncommitted work of the operator's before the wave, at the file's end, where the
    # simulated agent appends too: the two versions cannot be merged line by line.
    mine = (root / OWNED).read_text("utf-8") + MY_LINE
    (root / OWNED).write_text(mine, "utf-8")
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        assert await sup.run_tests(1) is False
        await col.until(lambda _evs: bool(col.of(GateRefused)))
        refusal = col.of(GateRefused)[-1].refusal
        assert refusal == Refusal("operator-conflict", 1, paths=(OWNED,))
        assert (root / OWNED).read_text("utf-8") == mine

        await sup.accept_violation(1, OWNED, "keep both")
        assert await sup.run_tests(1) is False  # the merge conflicts: still refused
        refusal = col.of(GateRefused)[-1].refusal
        assert refusal.code == "operator-conflict" and refusal.paths == (OWNED,)
        assert (root / OWNED).read_text("utf-8") == mine
        agents_copy = root / ".wavedeck" / "worktrees" / "w1-a1" / OWNED
        assert "wavedeck-sim" in agents_copy.read_text("utf-8")  # the agent's side is kept too
