"""The operator's work survives ``git gc --prune=now`` mid-wave (issue #20).

When a wave starts, the working tree is recorded as a tree object; what differs there from the
wave's base is the operator's own work. That tree is kept reachable by a ref wavedeck owns
(``refs/wavedeck/wave-N/start``) until the checkpoint, so an aggressive ``git gc`` cannot delete
it. If it is missing all the same (the ref deleted, then a gc), the checkpoint is refused with
that reason (``start-tree-missing``) instead of taking the operator's files for the wave's.

The three cases, after a real ``git gc --prune=now`` between the wave's start and its checkpoint:
a file both the operator and an agent changed, a file only the operator changed, and the wave's
strays accepted in bulk: the operator's edits are never committed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.wave.enginekit import git, opened, sandbox, wait_agents
from wavedeck.agents.events import GateRefused
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.tools.demo import STRAY_PATH
from wavedeck.agents.wave.supervisor import Supervisor

pytestmark = pytest.mark.timeout(120)

OWNED = "packages/headless-client/zajel/client.py"  # w1-a1's: the simulated agent edits it
MINE = "README.md"  # a file no agent of wave 1 touches
MY_LINE = "# the operator's own line\n"


def _committed(root: Path, sha: str) -> set[str]:
    return set(git(root, "show", "--name-only", "--format=", sha).splitlines())


def _operator_edits(root: Path) -> str:
    """The operator's uncommitted work before the wave: a line in an agent's file, and an edit
    of a file no agent touches. Returns the agent's file as the operator left it."""
    mine = (root / OWNED).read_text("utf-8") + MY_LINE
    (root / OWNED).write_text(mine, "utf-8")
    (root / MINE).write_text("the operator's own readme\n", "utf-8")
    return mine


async def _gc_mid_wave(sup: Supervisor, root: Path) -> None:
    await sup.start_wave(1)
    await wait_agents(sup, 1)
    git(root, "gc", "--prune=now", "-q")  # every unreachable object goes, now
    assert await sup.run_tests(1)


async def test_gc_mid_wave_keeps_the_start_tree_and_never_commits_the_operators_edits(
    root: Path,
) -> None:
    sandbox(root)
    mine = _operator_edits(root)
    async with opened(root) as (sup, col):
        await _gc_mid_wave(sup, root)
        record = sup.wave_record(1)
        start_tree = record.start_tree if record is not None else None
        assert start_tree is not None
        assert git(root, "cat-file", "-t", start_tree) == "tree"  # kept through the gc
        assert git(root, "for-each-ref", "--format=%(objectname)", "refs/wavedeck/") == start_tree

        # Bulk acceptance takes the wave's stray, never the operator's files.
        assert await sup.checkpoint(1, accept_violations=True) is None
        await col.until(lambda _evs: bool(col.of(GateRefused)))
        refusal = col.of(GateRefused)[-1].refusal
        assert refusal == Refusal("operator-conflict", 1, paths=(OWNED,))
        preview = await sup.checkpoint_preview(1)
        assert MINE in preview.operator_own and MINE not in preview.paths

        # Reverting the file both changed needs the start tree: the operator's version is back.
        await sup.revert_path(1, OWNED)
        assert (root / OWNED).read_text("utf-8") == mine
        assert await sup.run_tests(1)
        sha = await sup.checkpoint(1, accept_violations=True)
        assert sha is not None, [e.refusal for e in col.of(GateRefused)]

    committed = _committed(root, sha)
    assert STRAY_PATH in committed  # the wave's stray, accepted in bulk
    assert not committed & {OWNED, MINE}
    assert MY_LINE not in git(root, "show", f"{sha}:{OWNED}")
    assert (root / OWNED).read_text("utf-8") == mine
    assert (root / MINE).read_text("utf-8") == "the operator's own readme\n"
    # The ref lived as long as the wave: gone after its checkpoint.
    assert git(root, "for-each-ref", "refs/wavedeck/") == ""


async def test_a_start_tree_gone_all_the_same_refuses_the_checkpoint_with_that_reason(
    root: Path,
) -> None:
    sandbox(root)
    _operator_edits(root)
    head_before = git(root, "rev-parse", "HEAD")
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        git(root, "update-ref", "-d", "refs/wavedeck/wave-1/start")  # someone removed it
        git(root, "gc", "--prune=now", "-q")
        record = sup.wave_record(1)
        start_tree = record.start_tree if record is not None else None
        assert start_tree is not None
        assert git(root, "cat-file", "-t", start_tree, check=False) == ""  # really gone
        assert await sup.run_tests(1)

        assert await sup.checkpoint(1, accept_violations=True) is None
        await col.until(lambda _evs: bool(col.of(GateRefused)))
        refusal = col.of(GateRefused)[-1].refusal
        # The files the operator had changed are named: wavedeck cannot tell their work from
        # the wave's any more, so none of them is committed unasked.
        assert refusal == Refusal("start-tree-missing", 1, paths=(MINE, OWNED))
        preview = await sup.checkpoint_preview(1)
        assert preview.refusal == refusal
        assert not {MINE, OWNED} & set(preview.paths)
    assert git(root, "rev-parse", "HEAD") == head_before  # nothing committed


def test_a_start_tree_git_no_longer_has_is_reported_missing(tmp_path: Path) -> None:
    from wavedeck.agents.git.repo import GitRepo
    from wavedeck.agents.wave.operator_work import read

    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text("a\n", "utf-8")
    git(repo, "add", "a.txt")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@e.invalid", "commit", "-qm", "a")
    with GitRepo(repo) as handle:
        work = read(handle, handle.head(), "0" * 40, ("a.txt",))
        assert work.missing and work.unknown == ("a.txt",)
        assert not work.own and not work.conflicts
