"""The review in worktree mode (``workspace = "worktree"``), through the real engine with the
stand-in Claude CLI of tests/unit/presets: until the tests collect the agents' changes into the
main tree, the review says they are in the worktrees (it reads the main tree, which has none of
them yet); once collected, it shows them by agent, and a change request is refused, because the
answer would be written in the agent's worktree, which is collected only once: it would never
reach the tests or the checkpoint while the review recorded it answered. The reviewer agents
read the changes once they are collected (the control room and ``run --headless --review`` ask
again after the tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sandboxkit import git
from tests.unit.presets.test_engine_presets import claude_sandbox
from tests.unit.review.test_review_engine import REVIEWER
from tests.unit.wave.enginekit import kill_agents, opened, wait_agents
from wavedeck.agents.local import landlock
from wavedeck.agents.wave.headless_review import review_data
from wavedeck.agents.wave.supervisor import SupervisorError
from wavedeck.tui.cli.review import IN_WORKTREES, review_text


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.skipif(landlock.abi() < landlock.MIN_ABI, reason="no Landlock on this kernel")
async def test_worktree_changes_are_reviewed_once_collected_and_no_answer_is_lost(
    tmp_path: Path,
) -> None:
    repo = claude_sandbox(tmp_path / "s", {})
    config = repo / "wavedeck.toml"
    review = f'\n[review]\npreset = "claude"\nprogram = {json.dumps(REVIEWER)}\n'
    config.write_text('workspace = "worktree"\n' + config.read_text("utf-8") + review, "utf-8")
    git(repo, "commit", "-q", "-m", "worktree mode, a reviewer", "--", "wavedeck.toml")
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
            a1 = after.of("w1-a1")
            assert a1 is not None and a1.files and all(f.standing == "owned" for f in a1.files)
            assert IN_WORKTREES not in review_text(review_data(after, sup.review_record(1)))
            assert await sup.run_reviewers(1) == 10  # now each agent's changes: two findings

            change = a1.files[0]
            await sup.comment(1, agent="w1-a1", path=change.path, line=1, text="Name it.")
            with pytest.raises(SupervisorError, match="answer would stay in its worktree"):
                await sup.request_changes(1, "w1-a1")
            record = sup.review_record(1)
            mine = [c for c in record.comments if c.author == "operator"]
            assert [c.status for c in mine] == ["open"]  # not sent: still the operator's
            assert not record.verdict("w1-a1").requests
            assert sup.agent_record("w1-a1").launches == 1  # nothing was launched
    finally:
        kill_agents(repo)
