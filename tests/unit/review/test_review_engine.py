"""The review through the real engine (a Supervisor over a demo sandbox, real detached agents):
the wave's changes by agent with their issues, a hunk reverted to the wave's start without
touching the index and undone, comments kept in the run state across a restart, a change
request sent as one follow-up resuming the agent's session (the stand-in Claude CLI of
tests/unit/presets), the checkpoint held until it is answered and recording the review, and a
reviewer agent that reads but cannot write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sandboxkit import git
from tests.unit.presets.test_engine_presets import claude_sandbox
from tests.unit.wave.enginekit import kill_agents, opened, sandbox, wait_agents
from wavedeck.agents.events import AgentOutput, GateRefused
from wavedeck.agents.local import landlock
from wavedeck.agents.tools.demo import STRAY_AGENT, STRAY_PATH
from wavedeck.agents.wave.reviews import ReviewError
from wavedeck.agents.wave.supervisor import SupervisorError

REVIEWER = str(Path(__file__).parent / "fake_reviewer.py")


def reviewer_sandbox(folder: Path, *, worktrees: bool = False) -> Path:
    """``claude_sandbox`` whose ``[review]`` runs fake_reviewer.py as Claude Code (committed);
    ``worktrees``: the agents work in worktrees."""
    repo = claude_sandbox(folder, {})
    config = repo / "wavedeck.toml"
    mode = 'workspace = "worktree"\n' if worktrees else ""
    review = f'\n[review]\npreset = "claude"\nprogram = {json.dumps(REVIEWER)}\n'
    config.write_text(mode + config.read_text("utf-8") + review, "utf-8")
    git(repo, "commit", "-q", "-m", "a reviewer", "--", "wavedeck.toml")
    return repo


@pytest.mark.timeout(120)
async def test_changes_by_agent_and_a_hunk_revert_that_leaves_the_index_alone(root: Path) -> None:
    repo = sandbox(root)
    async with opened(repo) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        changes = await sup.review_changes(1)
        plan_wave = sup.plan.wave(1)
        assert [a.agent for a in changes.agents][:5] == [a.id for a in plan_wave.agents]
        a1 = changes.of("w1-a1")
        assert a1 is not None and a1.files
        assert [i.id for i in a1.issues] == [i.id for i in plan_wave.agents[0].issues]
        assert all(i.done and i.outcome == "fixed" for i in a1.issues)
        assert all(f.standing == "owned" for f in a1.files)
        # The demo's simulated agents print no tool calls: the log cannot say which issue.
        assert {h.kind for f in a1.files for h in f.hunk_issues} == {"unknown"}
        # The stray file could be either of two agents': in the last group, no agent's.
        stray = changes.file(STRAY_PATH)
        assert stray is not None and stray.standing == "stray" and stray.agent is None
        assert changes.agents[-1].agent is None and stray in changes.agents[-1].files
        assert STRAY_AGENT in stray.reason

        path = a1.files[0].path
        target = repo / path
        agent_text = target.read_text()
        target.write_text("# the operator's own line at the top\n" + agent_text)
        change = (await sup.review_changes(1)).file(path)
        assert change is not None and len(change.patch.hunks) == 2
        index = (repo / ".git" / "index").read_bytes()
        assert await sup.revert_hunk(1, change, 1)  # the agent's hunk, at the end
        reverted = target.read_text()
        assert reverted.startswith("# the operator's own line") and "sim-agent" not in reverted
        assert (repo / ".git" / "index").read_bytes() == index  # the index is untouched
        assert git(repo, "diff", "--cached", "--name-only") == ""
        (revert,) = sup.review_record(1).reverts
        assert (revert.path, revert.agent, revert.header) == (
            path,
            "w1-a1",
            change.patch.hunks[1].header,
        )
        assert await sup.undo_revert(1) == path
        assert target.read_text() == "# the operator's own line at the top\n" + agent_text
        assert not sup.review_record(1).reverts
        assert await sup.undo_revert(1) is None  # nothing left to undo

        # The file moved under the diff: the hunk is not where it was, nor anywhere.
        target.write_text("rewritten\n")
        assert not await sup.revert_hunk(1, change, 1)
        await col.until(lambda ev: any(isinstance(e, GateRefused) for e in ev))
        refused = [e for e in col.of(GateRefused) if e.code == "revert-failed"]
        assert refused and refused[-1].paths == (path,) and "nowhere" in refused[-1].refusal.detail
        assert target.read_text() == "rewritten\n"


@pytest.mark.timeout(120)
async def test_comments_survive_a_restart_and_a_generic_agent_cannot_be_asked(root: Path) -> None:
    repo = sandbox(root, extra={})
    async with opened(repo) as (sup, _):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        changes = await sup.review_changes(1)
        change = changes.of("w1-a1").files[0]  # type: ignore[union-attr]
        line = change.patch.hunks[0].lines[-1]
        comment = await sup.comment(
            1, agent="w1-a1", path=change.path, line=line.new or 0, text="Say why.",
            quote=(line.text,),
        )  # fmt: skip
        with pytest.raises(ReviewError, match="yours"):
            await sup.dismiss_finding(1, comment.id)
    async with opened(repo) as (sup, _):
        (kept,) = sup.review_record(1).comments
        assert (kept.id, kept.text, kept.quote, kept.status) == (
            comment.id, "Say why.", [line.text], "open",
        )  # fmt: skip
        with pytest.raises(SupervisorError, match="cannot resume"):
            await sup.request_changes(1, "w1-a1")
        # Nothing was sent: the comment is still open, no request recorded.
        assert sup.review_record(1).comments[0].status == "open"
        assert not sup.review_record(1).verdict("w1-a1").requests
        with pytest.raises(ReviewError, match="no open comment"):
            await sup.request_changes(1, "w1-a2")
        await sup.delete_comment(1, comment.id)
        assert not sup.review_record(1).comments


@pytest.mark.timeout(180)
async def test_a_change_request_resumes_the_session_and_the_review_is_committed(
    tmp_path: Path,
) -> None:
    repo = claude_sandbox(tmp_path / "s", {})
    try:
        async with opened(repo) as (sup, col):
            await sup.start_wave(1)
            await wait_agents(sup, 1, timeout=60)
            changes = await sup.review_changes(1)
            a1 = changes.of("w1-a1")
            assert a1 is not None
            first = a1.issues[0].id
            # Claude's Edit is a write of its file, reported done next: for the first issue.
            change = a1.files[0]
            assert change.hunk_issues[0].kind == "exact"
            assert change.hunk_issues[0].issues == (first,)
            line = change.patch.hunks[0].lines[-1]
            await sup.comment(
                1, agent="w1-a1", path=change.path, line=line.new or 0,
                text="Name the constant.", quote=(line.text,),
            )  # fmt: skip
            request = await sup.request_changes(1, "w1-a1")
            assert request.follow_up == 1 and request.launch == 2
            # Its run started: the wave waits for its answer (no await in between).
            assert [a.agent for a in sup.reviews.waiting(1)] == ["w1-a1"]
            await wait_agents(sup, 1, timeout=60)
            assert not sup.reviews.waiting(1)
            shown = "\n".join(e.line for e in col.of(AgentOutput) if e.agent == "w1-a1")
            assert "follow-up received: Review of your changes in wave 1 (w1-a1)" in shown
            assert f"{change.path}:{line.new}" in shown and "Name the constant." in shown
            assert f"> {line.text}" in shown
            assert sup.review_record(1).comments[0].status == "sent"
            assert await sup.run_tests(1)
            who = await sup.approve(1, "w1-a1")
            sha = await sup.checkpoint(1)
            assert sha is not None
            message = git(repo, "log", "-1", "--format=%B")
            assert f"Wavedeck-Reviewed-By: {who}" in message
            assert (
                "Wavedeck-Review: 1 of 5 agents approved; 1 change request, 1 answered; 1 comment"
                in message
            )
            assert "- w1-a1: changes requested in follow-up 1 (1 comment), answered; approved" in (
                message
            )
    finally:
        kill_agents(repo)


@pytest.mark.timeout(180)
@pytest.mark.skipif(landlock.abi() < landlock.MIN_ABI, reason="no Landlock on this kernel")
async def test_a_reviewer_agent_reads_but_cannot_write_and_holds_high_findings(
    tmp_path: Path,
) -> None:
    repo = reviewer_sandbox(tmp_path / "s")
    try:
        async with opened(repo) as (sup, _):
            await sup.start_wave(1)
            await wait_agents(sup, 1, timeout=60)
            before = {p: (repo / p).read_text() for a in sup.plan.wave(1).agents for p in a.paths
                      if (repo / p).exists()}  # fmt: skip
            found = await sup.run_reviewers(1)
            assert found == 10, sup.review_record(1).reviewers  # two per agent
            for path, text in before.items():
                assert (repo / path).read_text() == text  # the reviewer wrote nothing
            record = sup.review_record(1)
            highs = [c for c in record.comments if c.severity == "high"]
            assert len(highs) == 5 and all(c.author == "reviewer" for c in highs)
            assert all("my write was refused (Permission denied)" in c.text for c in highs)
            assert {c.severity for c in record.comments} == {"high", "info"}  # "nit" read as info
            assert all(r.state == "done" and r.cost_usd == pytest.approx(0.1)
                       for r in record.reviewers.values())  # fmt: skip
            assert await sup.run_reviewers(1) == 0  # reviewed since each agent's last run
            assert await sup.run_tests(1)
            preview = await sup.checkpoint_preview(1)
            assert preview.refusal is not None and preview.refusal.code == "review-findings-open"
            assert len(preview.refusal.paths) == 5
            # Reviewers end in any order: forward w1-a1's own high finding, dismiss the others.
            highs.sort(key=lambda c: c.agent != "w1-a1")
            assert highs[0].agent == "w1-a1"
            await sup.forward_finding(1, highs[0].id)
            for finding in highs[1:]:
                await sup.dismiss_finding(1, finding.id)
            preview = await sup.checkpoint_preview(1)
            assert preview.refusal is None
            # The reviewers' usage counts in the wave's: 5 agents at $0.25, 5 reviewers at $0.10.
            assert "Wavedeck-Usage: " in preview.message and "$1.75" in preview.message
            assert "reviewer agent (claude) on w1-a1: 2 findings (1 forwarded, 0 dismissed)" in (
                preview.message
            )
    finally:
        kill_agents(repo)
