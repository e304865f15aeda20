"""A commit the operator makes mid-wave is a way on, never a dead end (issue #20).

Paths the commits did not touch: the checkpoint is rebased onto the new HEAD (the wave's
changes on top, the operator's commit its parent, real git). A file both the commits and the
working tree changed since: refused by name (``head-moved``) until adopted, and never adopted
while the file lacks the commit's change (that would undo it). A HEAD that no longer descends
from the wave's base: refused (``head-rewritten``). Neither side's work is ever lost.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.wave.enginekit import Collector, git, opened, sandbox, wait_agents
from wavedeck.agents.events import GateRefused, Notice
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.tools.demo import STRAY_PATH
from wavedeck.agents.wave.supervisor import Supervisor

pytestmark = pytest.mark.timeout(120)

OWNED = "packages/headless-client/zajel/client.py"  # w1-a1's: the simulated agent appends to it
MY_LINE = "# the operator's own line\n"


def _committed(root: Path, sha: str) -> set[str]:
    return set(git(root, "show", "--name-only", "--format=", sha).splitlines())


def _last_refusal(col: Collector) -> Refusal:
    return col.of(GateRefused)[-1].refusal


async def _agents_done(sup: Supervisor) -> None:
    await sup.start_wave(1)
    await wait_agents(sup, 1)


async def test_an_operator_commit_mid_wave_stays_and_the_checkpoint_goes_on_top(
    root: Path,
) -> None:
    sandbox(root)
    async with opened(root) as (sup, col):
        await _agents_done(sup)
        (root / "README.md").write_text("the operator's own docs\n", "utf-8")
        git(root, "commit", "-qm", "docs, mid-wave", "--", "README.md")
        mine = git(root, "rev-parse", "HEAD")
        assert await sup.run_tests(1)
        sha = await sup.checkpoint(1, accept_violations=True)
        if sha is None:  # say why
            await col.until(lambda _evs: bool(col.of(GateRefused)))
        assert sha is not None, [e.refusal for e in col.of(GateRefused)]
        await col.until(lambda _evs: any("built on top of" in e.message for e in col.of(Notice)))
        record = sup.wave_record(1)
        assert record is not None and record.base_commit == mine  # the wave was rebased
    assert git(root, "rev-parse", f"{sha}^") == mine  # the operator's commit is the parent
    assert git(root, "rev-parse", "HEAD") == sha
    committed = _committed(root, sha)
    assert OWNED in committed and STRAY_PATH in committed and "README.md" not in committed
    assert git(root, "show", f"{sha}:README.md") == "the operator's own docs"
    assert "wavedeck-sim" in git(root, "show", f"{sha}:{OWNED}")
    assert git(root, "status", "--porcelain") == ""


async def test_a_file_both_changed_is_refused_by_name_and_adopted_only_with_the_commits_change(
    root: Path,
) -> None:
    sandbox(root)
    async with opened(root) as (sup, col):
        await _agents_done(sup)
        # The operator commits a line of theirs to the agent's file, from its committed
        # version: the agent's lines stay uncommitted in the working tree.
        committed_text = git(root, "show", f"HEAD:{OWNED}") + "\n"
        blob = git(root, "hash-object", "-w", "--stdin", input_text=MY_LINE + committed_text)
        git(root, "update-index", "--cacheinfo", f"100644,{blob},{OWNED}")
        git(root, "commit", "-qm", "my line")
        mine = git(root, "rev-parse", "HEAD")
        assert await sup.run_tests(1)

        assert await sup.checkpoint(1, accept_violations=True) is None
        await col.until(lambda _evs: bool(col.of(GateRefused)))
        assert _last_refusal(col) == Refusal("head-moved", 1, paths=(OWNED,), detail=mine)
        # The file lacks the commit's line: adopting it as it is would undo the commit.
        count = len(col.of(GateRefused))
        assert await sup.checkpoint(1, accept_violations=True, adopt_head=True) is None
        await col.until(lambda _evs: len(col.of(GateRefused)) > count)
        assert _last_refusal(col) == Refusal("head-moved", 1, paths=(OWNED,), detail=mine)
        assert git(root, "rev-parse", "HEAD") == mine

        # With the operator's line back in the file, it is adopted on top of their commit.
        (root / OWNED).write_text(MY_LINE + (root / OWNED).read_text("utf-8"), "utf-8")
        assert await sup.run_tests(1)
        sha = await sup.checkpoint(1, accept_violations=True, adopt_head=True)
        assert sha is not None, [e.refusal for e in col.of(GateRefused)]
    assert git(root, "rev-parse", f"{sha}^") == mine
    text = git(root, "show", f"{sha}:{OWNED}")
    assert text.startswith(MY_LINE.strip()) and "wavedeck-sim" in text
    assert "adopted" in git(root, "log", "-1", "--format=%B", sha)  # recorded in the message


async def test_a_head_that_no_longer_descends_from_the_base_is_refused(root: Path) -> None:
    sandbox(root)
    async with opened(root) as (sup, col):
        await _agents_done(sup)
        base = git(root, "rev-parse", "HEAD")
        git(root, "commit", "-q", "--amend", "-m", "rewritten", "--allow-empty")
        assert await sup.run_tests(1)
        assert await sup.checkpoint(1, accept_violations=True, adopt_head=True) is None
        await col.until(lambda _evs: bool(col.of(GateRefused)))
        rewritten = git(root, "rev-parse", "HEAD")
        assert _last_refusal(col) == Refusal("head-rewritten", 1, detail=rewritten)
    assert git(root, "rev-parse", "HEAD") == rewritten != base
    assert "wavedeck-sim" in (root / OWNED).read_text("utf-8")  # the wave's work is still there
