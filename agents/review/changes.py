"""A wave's changes as the review reads them: by agent, with the agent's issues and outcomes.

``WaveChanges`` is what the review screen, ``wavedeck review`` and a reviewer agent's prompt are
made from: for each agent of the wave (``AgentChanges``) its issues with their outcome lines
(what it reported with ``wavedeck: done <id> <outcome>``, or that it did not), and its files
(``FileChange``: the patch, how the checkpoint treats the file, and per hunk the issue the
agent was working on when it wrote it). Files no agent can be given (stray, unattributed) form
a last group with ``agent`` None.

``group`` builds it from parts the caller read (the patch, each path's standing as the
checkpoint classifies it, the agents' records and their writes); nothing here runs git.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from wavedeck.agents.git.hunks import FilePatch
from wavedeck.agents.review.attribution import UNKNOWN, Attribution, Write, attribute
from wavedeck.agents.state import AgentRecord
from wavedeck.plan.models import Plan

# How the checkpoint treats a file: owned by its agent, accepted (policy or operator), stray
# (not staged without the operator's word), or the operator's own work mixed with the wave's.
Standing = Literal["owned", "accepted", "stray", "operator"]


@dataclass(frozen=True)
class PathStanding:
    """One changed path as the checkpoint treats it (``agent``: its owner, or its writer)."""

    agent: str | None
    standing: Standing
    reason: str = ""


@dataclass(frozen=True)
class FileChange:
    """One changed file of an agent."""

    patch: FilePatch
    agent: str | None
    standing: Standing = "owned"
    reason: str = ""
    hunk_issues: tuple[Attribution, ...] = ()

    @property
    def path(self) -> str:
        return self.patch.path

    def attribution(self, index: int) -> Attribution:
        return self.hunk_issues[index] if index < len(self.hunk_issues) else UNKNOWN


@dataclass(frozen=True)
class IssueLine:
    """An issue of an agent and what it said about it."""

    id: str
    severity: str
    summary: str
    done: bool
    outcome: str = ""  # the outcome line it reported ("" when none, or not done)


@dataclass(frozen=True)
class AgentChanges:
    """One agent's part of the review (``agent`` None: changes no agent can be given)."""

    agent: str | None
    title: str
    state: str = ""
    issues: tuple[IssueLine, ...] = ()
    files: tuple[FileChange, ...] = ()
    marked_done: str | None = None


@dataclass(frozen=True)
class WaveChanges:
    """Everything the wave changed between ``old`` and ``new`` (trees or commits)."""

    wave: int
    old: str
    new: str
    committed: bool = False
    agents: tuple[AgentChanges, ...] = ()
    # Worktree mode, before the tests collect the agents' changes (or an answer to a follow-up)
    # into the main tree: they are in the agents' worktrees, which the review does not read.
    in_worktrees: bool = False

    @property
    def files(self) -> list[FileChange]:
        return [f for a in self.agents for f in a.files]

    def file(self, path: str) -> FileChange | None:
        return next((f for f in self.files if f.path == path), None)

    def of(self, agent_id: str | None) -> AgentChanges | None:
        return next((a for a in self.agents if a.agent == agent_id), None)


def issue_lines(plan: Plan, agent_id: str, rec: AgentRecord | None) -> tuple[IssueLine, ...]:
    """The agent's issues in order, each with what it reported."""
    agent = plan.agent(agent_id)
    done = set(rec.issues_done) if rec else set()
    outcomes = rec.outcomes if rec else {}
    return tuple(
        IssueLine(i.id, i.severity, i.summary, i.id in done, outcomes.get(i.id, ""))
        for i in sorted(agent.issues, key=lambda i: i.order)
    )


def group(
    plan: Plan,
    wave: int,
    patches: Sequence[FilePatch],
    standing: Mapping[str, PathStanding],
    records: Mapping[str, AgentRecord],
    writes: Mapping[str, Sequence[Write] | None],
    *,
    old: str,
    new: str,
    committed: bool = False,
) -> WaveChanges:
    """The wave's changes by agent (see the module docstring).

    ``standing``: each path as the checkpoint treats it (a path missing here counts as stray,
    no agent's); ``writes``: each agent's writes read from its log (None: its preset's output
    does not name them).
    """
    by_agent: dict[str | None, list[FileChange]] = {}
    for patch in patches:
        place = standing.get(patch.path) or PathStanding(None, "stray")
        agent = place.agent if _in_wave(plan, wave, place.agent) else None
        mine = writes.get(agent or "")
        hunks = tuple(attribute(mine, patch.path, h) for h in patch.hunks)
        change = FileChange(patch, place.agent, place.standing, place.reason, hunks)
        by_agent.setdefault(agent, []).append(change)
    agents: list[AgentChanges] = []
    for spec in plan.wave(wave).agents:
        rec = records.get(spec.id)
        agents.append(
            AgentChanges(
                agent=spec.id,
                title=spec.title,
                state=rec.state if rec else "pending",
                issues=issue_lines(plan, spec.id, rec),
                files=tuple(by_agent.pop(spec.id, [])),
                marked_done=rec.marked_done if rec else None,
            )
        )
    rest = [f for files in by_agent.values() for f in files]
    if rest:
        agents.append(AgentChanges(None, "no agent's", files=tuple(rest)))
    return WaveChanges(wave, old, new, committed, tuple(agents))


def _in_wave(plan: Plan, wave: int, agent: str | None) -> bool:
    return agent is not None and any(a.id == agent for a in plan.wave(wave).agents)
