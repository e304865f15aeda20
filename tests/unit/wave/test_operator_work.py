"""The operator's own work is never swept into a checkpoint (issue #12.2), on a real sandbox.

Files dirty when a wave starts (staged, unstaged, untracked) belong to the operator: the
checkpoint leaves them out and leaves them staged or unstaged exactly as they were, even when the
operator accepts every stray path of the wave. A file the operator had dirty and an agent changed
too is refused by name until the operator accepts it (the whole file is committed) or reverts it
(back to the operator's version, the wave's change dropped); ``--accept-violations`` does not
accept it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.wave.enginekit import git, opened, sandbox, wait_agents
from wavedeck.agents.events import CheckpointCommitted, GateRefused, Notice
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.tools.demo import STRAY_PATH
from wavedeck.agents.wave.operator_work import CONFLICT_KIND

pytestmark = pytest.mark.timeout(120)

OWNED = "packages/headless-client/zajel/client.py"  # w1-a1's: the simulated agent edits it


def _committed_files(root: Path, sha: str) -> set[str]:
    return set(git(root, "show", "--name-only", "--format=", sha).splitlines())


@pytest.mark.slow
async def test_staged_unstaged_and_untracked_work_stays_the_operators(root: Path) -> None:
    sandbox(root)
    (root / "NOTES.md").write_text("my notes\n", "utf-8")
    git(root, "add", "NOTES.md")
    (root / "README.md").write_text("my unstaged edit\n", "utf-8")
    (root / "scratch.txt").write_text("untracked\n", "utf-8")
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        assert await sup.run_tests(1)
        await col.until(
            lambda _evs: any(
                "your own uncommitted work in 3 file(s)" in e.message for e in col.of(Notice)
            )
        )
        preview = await sup.checkpoint_preview(1)
        assert set(preview.operator_own) == {"NOTES.md", "README.md", "scratch.txt"}
        assert {s.path for s in preview.stray} == {STRAY_PATH}  # the wave's stray only

        sha = await sup.checkpoint(1, accept_violations=True)
        assert sha is not None, [e.refusal for e in col.of(GateRefused)]

    committed = _committed_files(root, sha)
    assert STRAY_PATH in committed and OWNED in committed
    assert not committed & {"NOTES.md", "README.md", "scratch.txt"}
    assert git(root, "diff", "--cached", "--name-only") == "NOTES.md"  # still staged
    assert git(root, "show", ":NOTES.md") == "my notes"
    assert (root / "README.md").read_text("utf-8") == "my unstaged edit\n"
    status = set(git(root, "status", "--porcelain").splitlines())
    assert status == {"A  NOTES.md", " M README.md", "?? scratch.txt"}


@pytest.mark.slow
async def test_a_file_both_changed_is_refused_then_reverted_to_the_operators_version(
    root: Path,
) -> None:
    sandbox(root)
    original = (root / OWNED).read_text("utf-8")
    mine = original + "# the operator's own line\n"
    (root / OWNED).write_text(mine, "utf-8")
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        assert (root / OWNED).read_text("utf-8") != mine  # the agent changed it too
        assert await sup.run_tests(1)

        assert await sup.checkpoint(1, accept_violations=True) is None  # never accepted in bulk
        await col.until(lambda _evs: bool(col.of(GateRefused)))
        refused = col.of(GateRefused)[-1]
        assert refused.refusal == Refusal("operator-conflict", 1, paths=(OWNED,))
        preview = await sup.checkpoint_preview(1)
        assert [s.kind for s in preview.stray if s.path == OWNED] == [CONFLICT_KIND]
        assert len(git(root, "log", "--format=%H").splitlines()) == 2  # nothing committed

        await sup.revert_path(1, OWNED)
        assert (root / OWNED).read_text("utf-8") == mine  # the operator's version, not the base's
        assert await sup.run_tests(1)  # files changed since the tests: they run again
        sha = await sup.checkpoint(1, accept_violations=True)
        assert sha is not None
    assert OWNED not in _committed_files(root, sha)
    assert (root / OWNED).read_text("utf-8") == mine
    assert git(root, "status", "--porcelain", "--", OWNED) == f"M {OWNED}"


@pytest.mark.slow
async def test_a_file_both_changed_is_committed_whole_once_accepted(root: Path) -> None:
    sandbox(root)
    mine = (root / OWNED).read_text("utf-8") + "# the operator's own line\n"
    (root / OWNED).write_text(mine, "utf-8")
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        assert await sup.run_tests(1)
        await sup.accept_violation(1, OWNED, "my line belongs with the fix")
        sha = await sup.checkpoint(1, accept_violations=True)
        assert sha is not None, [e.refusal for e in col.of(GateRefused)]
        await col.until(lambda _evs: bool(col.of(CheckpointCommitted)))
    assert OWNED in _committed_files(root, sha)
    assert "the operator's own line" in git(root, "show", f"{sha}:{OWNED}")
    message = git(root, "log", "-1", "--format=%B", sha)
    assert "my line belongs with the fix" in message  # the acceptance is recorded
