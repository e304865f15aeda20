"""The supervisor's reviewer agents: ``Reviewers`` runs ``[review] preset`` once a wave's agents
have ended, one reviewer per agent that changed files, all at once.

Each reviewer gets its agent's issues and diff (``wavedeck.agents.review.findings``), runs
read-only (``wavedeck.agents.review.reviewer``: no path of the repository writable), and its
findings are recorded as reviewer comments on that agent (``Reviews.reviewer_ended``), with its
usage and cost, which the checkpoint counts in the wave's. An agent already reviewed is not
reviewed again unless it ran again since (a follow-up answering a change request). Reviewers
of the agents' own CLI, when it must start alone (Gemini), take their turn in the agents'
one-at-a-time starts (``wavedeck.agents.wave.starts.StartQueue.turn``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from wavedeck.agents.git.errors import GitError
from wavedeck.agents.presets import PresetError
from wavedeck.agents.review.changes import AgentChanges, WaveChanges
from wavedeck.agents.review.findings import reviewer_prompt
from wavedeck.agents.review.reviewer import (
    ReviewerResult,
    launch_spec,
    reviewer_id,
    run_reviewer,
)
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.reviews import Reviews
from wavedeck.agents.wave.runners import Runners


class Reviewers:
    """Reviewer agents of the supervisor's waves (see the module docstring)."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        runners: Runners,
        reviews: Reviews,
        turn: Callable[[str], AbstractAsyncContextManager[None]],
    ) -> None:
        self.ctx = ctx
        self.runners = runners
        self.reviews = reviews
        # One start at a time (``wavedeck.agents.wave.starts``): reviewers of the agents' own
        # CLI start once no agent's session waits to be recorded (Gemini's start-up would
        # delete it), and no queued agent starts while they run.
        self._turn = turn
        self._reviewed: dict[tuple[int, str], int] = {}  # (wave, agent) -> its launches then

    @property
    def enabled(self) -> bool:
        return self.ctx.config.review.preset is not None

    def due(self, n: int, changes: WaveChanges) -> list[AgentChanges]:
        """The agents of wave ``n`` a reviewer should read now."""
        out = []
        record = self.reviews.record(n)
        for agent in changes.agents:
            if agent.agent is None or not agent.files:
                continue
            launches = self.ctx.agent_record(agent.agent).launches
            seen = self._reviewed.get((n, agent.agent))
            if seen == launches or (seen is None and agent.agent in record.reviewers):
                continue  # reviewed since its last run (by this control room, or an earlier)
            out.append(agent)
        return out

    async def run(self, n: int) -> int:
        """Review wave ``n``'s agents that are due; the number of findings recorded."""
        if not self.enabled:
            return 0
        changes = await asyncio.to_thread(self.reviews.read_changes, n)
        agents = self.due(n, changes)
        if not agents:
            return 0
        async with self._turn(self.ctx.config.review.preset or "generic"):
            found = await asyncio.gather(*(self._one(n, changes, a) for a in agents))
        return sum(found)

    async def _one(self, n: int, changes: WaveChanges, agent: AgentChanges) -> int:
        ctx = self.ctx
        assert agent.agent is not None
        agent_id = agent.agent
        self._reviewed[(n, agent_id)] = ctx.agent_record(agent_id).launches
        self.reviews.reviewer_started(n, agent_id)
        preset = ctx.config.review.preset or "generic"
        rid = reviewer_id(agent_id)
        try:
            paths = [f.path for f in agent.files]
            patch = await asyncio.to_thread(ctx.git.tree_patch, changes.old, changes.new, paths)
            prompt = reviewer_prompt(n, agent, patch)
            spec = await asyncio.to_thread(
                launch_spec, ctx.repo, ctx.wavedeck_dir, ctx.plan, ctx.config, agent_id, prompt
            )
            result = await run_reviewer(
                self.runners.runner(rid),
                spec,
                preset,
                log_path=ctx.log_path(rid),
                timeout_s=ctx.config.review.timeout_s,
                grace_s=ctx.config.agent.stop_grace_s,
            )
        except (PresetError, GitError, OSError, ValueError) as exc:
            result = ReviewerResult(None, str(exc))
        self.reviews.reviewer_ended(n, agent_id, result, changes)
        return len(result.findings or ())
