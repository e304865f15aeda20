"""The review in worktree mode (``workspace = "worktree"``), through the real engine with the
stand-in Claude CLI of tests/unit/presets: until the tests collect the agents' changes into the
main tree, the review says they are in the worktrees (it reads the main tree, which has none of
them yet) and the reviewer agents have nothing to read; once collected, the review shows them
by agent and the reviewers read them. A change request after that runs the agent in its
worktree again, on what the review left of its changes (a reverted hunk stays reverted); its
answer waits there (the review says so, the checkpoint counts the tests stale) until the tests
collect it, and the checkpoint then commits the answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sandboxkit import git
from tests.unit.review.test_review_engine import reviewer_sandbox
from tests.unit.wave.enginekit import kill_agents, opened, wait_agents
from wavedeck.agents.local import landlock
from wavedeck.agents.wave.headless_review import review_data
from wavedeck.tui.cli.review import IN_WORKTREES, review_text

ANSWER = "# fake-claude answer\n"


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.skipif(landlock.abi() < landlock.MIN_ABI, reason="no Landlock on this kernel")
async def test_worktree_changes_are_reviewed_once_collected_and_an_answer_is_collected(
    tmp_path: Path,
) -> None:
    repo = reviewer_sandbox(tmp_path / "s", worktrees=True)
    try:
        async with opened(repo) as (sup, _):
            await sup.start_wave(1)
            await wait_agents(sup, 1, timeout=60)
            before = await sup.review_changes(1)
            assert before.in_worktrees and not before.files  # in the worktrees, not here yet
            data = review_data(before, sup.review_record(1))
            assert data["in_worktrees"] and IN_WORKTREES in review_text(data)
            assert await sup.run_reviewers(1) == 0  # nothing to read yet: none ran
            assert not sup.review_record(1).reviewers

            assert await sup.run_tests(1)  # collects the worktrees into the main tree
            after = await sup.review_changes(1)
            assert not after.in_worktrees
            a1, a2 = after.of("w1-a1"), after.of("w1-a2")
            assert a1 is not None and a1.files and all(f.standing == "owned" for f in a1.files)
            assert a2 is not None and a2.files
            assert IN_WORKTREES not in review_text(review_data(after, sup.review_record(1)))
            assert await sup.run_reviewers(1) == 10  # now each agent's changes: two findings
            for finding in [c for c in sup.review_record(1).comments if c.severity == "high"]:
                await sup.dismiss_finding(1, finding.id)

            # w1-a2's hunk reverted here; w1-a1 asked for changes and answering in its worktree.
            reverted = a2.files[0]
            start = git(repo, "show", f"{sup.state.waves[1].base_commit}:{reverted.path}")
            assert await sup.revert_hunk(1, reverted, 0)
            assert (repo / reverted.path).read_text() == start + "\n"
            change = a1.files[0]
            target = repo / change.path
            collected = target.read_text()
            await sup.comment(
                1, agent="w1-a1", path=change.path, line=1, text="ANSWER-BY-EDITING: name it."
            )
            await sup.request_changes(1, "w1-a1")
            await wait_agents(sup, 1, timeout=60)
            tree = repo / ".wavedeck" / "worktrees" / "w1-a1" / change.path
            assert tree.read_text() == collected + ANSWER  # answered in its worktree
            assert target.read_text() == collected  # not here until collected
            waiting = await sup.review_changes(1)
            assert waiting.in_worktrees  # the review says the answer is in the worktree
            preview = await sup.checkpoint_preview(1)
            assert preview.tests_stale and preview.refusal is not None

            assert await sup.run_tests(1)  # brings the answer in, and only w1-a1's
            assert target.read_text() == collected + ANSWER
            assert (repo / reverted.path).read_text() == start + "\n"  # still reverted
            assert not (await sup.review_changes(1)).in_worktrees
            preview = await sup.checkpoint_preview(1)
            assert not preview.tests_stale and preview.refusal is None, preview.refusal
            sha = await sup.checkpoint(1)
            assert sha is not None
            assert git(repo, "show", f"{sha}:{change.path}") + "\n" == collected + ANSWER
            message = git(repo, "log", "-1", "--format=%B")
            assert "- w1-a1: changes requested in follow-up 1 (1 comment), answered" in message
    finally:
        kill_agents(repo)
