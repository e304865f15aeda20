"""The engine's vocabulary: the states of agents and waves, and the facts that travel as types.

- ``AgentState`` and ``WaveState`` (and the groups of them the gates use);
- ``ViolationKind``: what is wrong with a changed path (watcher, checkpoint, audit);
- ``Needs``: why an agent's run needs the operator (a question, a refused tool call, issues it
  did not report done), told apart by ``kind``;
- ``Refusal``: why a gate refused an action, a stable ``RefusalCode`` plus the waves, agents and
  paths it names. The words are the surface's (``wavedeck.agents.wave.refusals.describe``, with
  the key hints or flags the control room or the CLI chooses); tests assert codes.

Nothing here is text to be parsed back. The events (``wavedeck.agents.events``), the run state
(``wavedeck.agents.state``), the gates and the TUI all use these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# The one definition of the states an agent and a wave can be in (the run state, the events,
# the gates and the TUI all use these).
AgentState = Literal["pending", "running", "succeeded", "failed", "stopped", "lost", "needs_you"]
WaveState = Literal["locked", "ready", "running", "testing", "tested", "committed"]
AGENT_STATES: tuple[AgentState, ...] = get_args(AgentState)
WAVE_STATES: tuple[WaveState, ...] = get_args(WaveState)
# An agent that has ended, in any way; and the ways an agent ends without succeeding.
# needs_you: the agent ended asking a question or refused a tool call (agent presets).
AGENT_ENDED: tuple[AgentState, ...] = ("succeeded", "failed", "stopped", "lost", "needs_you")
AGENT_UNSUCCESSFUL: tuple[AgentState, ...] = ("failed", "stopped", "lost", "needs_you")
# A wave nobody has started yet.
WAVE_NOT_STARTED: tuple[WaveState, ...] = ("locked", "ready")

# What a watcher, a checkpoint or an audit found wrong with a changed path: the ownership kinds
# (``wavedeck.plan.ownership``) but ``owned``, a path two worktrees both changed, a change of
# .git's configuration or hooks, a file mixing the operator's own work with the wave's, and a
# file replaced by (or created as) a symbolic link (a write through it lands elsewhere).
ViolationKind = Literal[
    "undeclared",
    "foreign",
    "other-wave",
    "unowned",
    "collision",
    "tamper",
    "operator-conflict",
    "symlink",
]
VIOLATION_KINDS: tuple[ViolationKind, ...] = get_args(ViolationKind)
# How the writer of a change is known. ``exact``: its own worktree or host, or a tool event of
# exactly one agent naming that path; ``inferred``: anything else (the plan's ownership, a shell
# command naming the path, who was running then): a guess, and said to be one.
AttributionBasis = Literal["exact", "inferred"]
NoticeLevel = Literal["info", "warning", "error"]
# The control room's connection to an SSH host.
HostLink = Literal["connected", "reconnecting", "unreachable"]


@dataclass(frozen=True)
class AsksQuestion:
    """The run ended asking the operator a question."""

    question: str
    kind: Literal["asks"] = "asks"

    @property
    def text(self) -> str:
        return f"asks: {self.question}"


@dataclass(frozen=True)
class ToolRefused:
    """A tool call the agent CLI's own permissions refused (a write outside its files)."""

    tool: str
    path: str = ""
    kind: Literal["refused"] = "refused"
    # who refused it: the CLI's own permissions (the agent then needs you), or the kernel's
    # sandbox (the agent, told by the kernel, goes on)
    by: Literal["cli", "sandbox"] = "cli"

    @property
    def text(self) -> str:
        return f"refused: {self.tool} {self.path}".rstrip()


@dataclass(frozen=True)
class IssuesUnreported:
    """The run ended (exit 0) without reporting these issues of the agent done: incomplete.

    Exit 0 is no evidence that an issue is done; the operator resolves it with a follow-up, a
    restart, or by marking the agent done (with a reason, kept in the checkpoint)."""

    issues: tuple[str, ...]
    kind: Literal["issues-unreported"] = "issues-unreported"

    @property
    def text(self) -> str:
        return "incomplete: issues not reported done: " + ", ".join(self.issues)


# Why an agent's run needs the operator (``AgentRecord.needs``; ``kind`` tells them apart).
Needs = AsksQuestion | ToolRefused | IssuesUnreported

# Why a gate refused an action (``Refusal.code``); the words are the surface's
# (``wavedeck.agents.wave.refusals.describe``).
RefusalCode = Literal[
    # starting a wave (rule 1: never skip waves)
    "no-such-wave",
    "wave-started",
    "wave-committed",
    "previous-not-run",
    "previous-unfinished",
    "previous-untested",
    "previous-uncommitted",
    "other-wave-open",
    "no-agent",
    "program-missing",
    "tree-unrecorded",
    "worktrees-failed",
    # a started wave's tests and checkpoint
    "wave-not-started",
    "agents-unfinished",
    "tests-running",
    "no-test-commands",
    "tests-not-run",
    "tests-failed",
    "tests-stale",
    "worktree-collision",
    "head-rewritten",
    "head-moved",
    "start-tree-missing",
    "operator-conflict",
    "git-tampered",
    "stray-paths",
    "nothing-to-commit",
    # the commit itself, refused by the git layer (its ``CheckpointCode``s, passed on as they
    # are; ``nothing-to-commit`` and ``git-busy`` are among them)
    "no-paths",
    "empty-message",
    "unsafe-paths",
    "folders-declared",
    "symlinked-paths",
    "head-changed",
    "files-changing",
    "conflict-markers",
    "hook-failed",
    "hook-timed-out",
    "branch-moved",
    # the review: changes asked of an agent not answered, reviewer findings still open
    "review-unanswered",
    "review-findings-open",
    # git itself
    "git-busy",
    "git-error",
    # one agent or one path
    "agent-running",
    "agent-attached",  # the operator has its session in a terminal (wavedeck attach)
    "restart-closed",
    "tamper-not-open",
    "tamper-not-revertible",
    "revert-failed",
]
REFUSAL_CODES: tuple[RefusalCode, ...] = get_args(RefusalCode)


@dataclass(frozen=True)
class AgentStanding:
    """An agent a refusal names, with its state then."""

    agent: str
    state: AgentState


@dataclass(frozen=True)
class Refusal:
    """Why an action on ``wave`` is not possible now: a stable ``code`` and what it names.

    ``other``: another wave it names (the previous one, one still open); ``agents``: agents
    that did not succeed, or the one acted on; ``paths``: the paths that block it; ``detail``:
    text from elsewhere, complete in itself (a git error, the git operation in progress, a
    preset's missing program); ``programs``: the agent CLIs found on PATH (``no-agent``: what
    the operator could configure).
    """

    code: RefusalCode
    wave: int
    other: int | None = None
    agents: tuple[AgentStanding, ...] = ()
    paths: tuple[str, ...] = ()
    detail: str = ""
    programs: tuple[str, ...] = ()
