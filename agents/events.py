"""The engine's events: frozen facts delivered through an async iterator.

The TUI is one consumer, the headless ``wavedeck run`` another. Each event has a stable ``name``
(the ``event`` key of ``--json`` output) and ``as_dict()`` for JSON.

The facts events carry are types from ``wavedeck.agents.kinds``, never text to parse back: the
states, ``ViolationKind``, ``Needs``, a gate's ``Refusal``.

Log lines travel in bulk: the engine queues an :class:`AgentOutputBatch` (consecutive lines of
one agent's log) inside an :class:`EventBatch`. Iterating an ``EventBatch`` yields one
:class:`AgentOutput` per line, so consumers that read events one by one see exactly the classic
stream; a consumer that can take lines in bulk (the TUI) reads ``EventBatch.compact()`` and skips
a per-line object.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from wavedeck.agents.kinds import (
    AgentState,
    AttributionBasis,
    HostLink,
    Needs,
    NoticeLevel,
    Refusal,
    RefusalCode,
    ViolationKind,
    WaveState,
)


@dataclass(frozen=True)
class Event:
    name: ClassVar[str] = "event"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        return {"event": self.name, **data}


@dataclass(frozen=True)
class AgentOutput(Event):
    """One line of an agent's log (already decoded; not yet neutralised for a terminal)."""

    name: ClassVar[str] = "agent_output"
    agent: str
    line: str


@dataclass(frozen=True)
class AgentOutputBatch(Event):
    """Consecutive lines of one agent's log, in order (one ``AgentOutput`` each when expanded)."""

    name: ClassVar[str] = "agent_output_batch"
    agent: str
    lines: tuple[str, ...]
    # The raw log lines these were rendered from, when an agent preset's parser rendered them
    # (the pane's raw view); empty when the lines are shown as they came.
    raw: tuple[str, ...] = ()

    def outputs(self) -> list[AgentOutput]:
        return [AgentOutput(self.agent, line) for line in self.lines]


class EventBatch(list[Event]):
    """Events handed to a consumer together, log lines held as :class:`AgentOutputBatch`.

    Iteration and ``len()`` are those of the expanded stream (one ``AgentOutput`` per line), so
    code written for single events keeps working unchanged; ``compact()`` iterates the events as
    stored, for consumers that append lines in bulk. Build it once; do not mutate it.
    """

    def __iter__(self) -> Iterator[Event]:
        for event in list.__iter__(self):
            if type(event) is AgentOutputBatch:
                agent = event.agent
                for line in event.lines:
                    yield AgentOutput(agent, line)
            else:
                yield event

    def __len__(self) -> int:
        return sum(len(e.lines) if type(e) is AgentOutputBatch else 1 for e in list.__iter__(self))

    def __bool__(self) -> bool:
        return list.__len__(self) > 0

    def compact(self) -> Iterator[Event]:
        """The events as stored: lines still in their batches."""
        return list.__iter__(self)


RestartKind = Literal["waiting", "cancelled", "gave-up"]


@dataclass(frozen=True)
class RestartStatus:
    """The restart policy's word on a failed agent ([agent.restart]), as a fact.

    ``waiting``: restart ``attempt`` of ``of`` is due ``delay_s`` after the failure (``due_at``,
    wall clock); ``cancelled``: a waiting restart was cancelled (``note`` says by whom);
    ``gave-up``: the policy stopped restarting it. ``note`` is the policy's sentence, as shown.
    """

    kind: RestartKind
    note: str
    attempt: int = 0
    of: int = 0
    delay_s: float = 0.0
    due_at: float | None = None


@dataclass(frozen=True)
class AgentStateChanged(Event):
    name: ClassVar[str] = "agent_state_changed"
    agent: str
    state: AgentState
    exit_code: int | None = None
    signal: str | None = None  # "SIGKILL" when killed by a signal
    reason: str = ""  # for the operator (the fields below are the same facts, structured)
    marked_done: str | None = None  # the operator's reason, when this event marks it done
    restart: RestartStatus | None = None  # the restart policy's word, when it has one
    needs: Needs | None = None  # why it needs the operator (state ``needs_you``)


@dataclass(frozen=True)
class IssueDone(Event):
    name: ClassVar[str] = "issue_done"
    agent: str
    issue: str
    outcome: str = ""


@dataclass(frozen=True)
class FileTouched(Event):
    """A file changed; ``agent`` wrote it as far as ``attribution`` says (``exact`` or
    ``inferred``). ``corrects``: a later fact named another writer than an earlier report of
    this path did (that agent's): the views move the path from it to ``agent``."""

    name: ClassVar[str] = "file_touched"
    path: str
    agent: str | None = None  # the agent it is attributed to, when known
    change: str = "modified"  # added | modified | deleted
    attribution: AttributionBasis = "inferred"
    corrects: str | None = None


@dataclass(frozen=True)
class ViolationFound(Event):
    """A changed path its writer may not write. ``agent``: who wrote it, as ``attribution``
    says (``exact``, or ``inferred``: a guess); ``corrects``: this report replaces an earlier
    one of the same path naming that agent (a late tool event named the real writer)."""

    name: ClassVar[str] = "violation_found"
    agent: str | None
    path: str
    kind: ViolationKind
    candidates: tuple[str, ...] = ()
    detail: str = ""
    attribution: AttributionBasis = "inferred"
    corrects: str | None = None


@dataclass(frozen=True)
class PathReverted(Event):
    """The operator put ``path`` back in ``wave`` (``partial``: some of its hunks); the issues
    of ``owners`` (the agents declaring it) are recorded reverted, and its violations are gone
    (unless partial)."""

    name: ClassVar[str] = "path_reverted"
    wave: int
    path: str
    owners: tuple[str, ...] = ()
    partial: bool = False


@dataclass(frozen=True)
class WaveStateChanged(Event):
    name: ClassVar[str] = "wave_state_changed"
    wave: int
    state: WaveState


@dataclass(frozen=True)
class TestsStarted(Event):
    name: ClassVar[str] = "tests_started"
    wave: int
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class TestOutput(Event):
    name: ClassVar[str] = "test_output"
    wave: int
    line: str


@dataclass(frozen=True)
class TestsFinished(Event):
    name: ClassVar[str] = "tests_finished"
    wave: int
    passed: bool
    duration_s: float
    results: tuple[tuple[str, int], ...] = ()  # (command, exit code)


@dataclass(frozen=True)
class CheckpointCommitted(Event):
    name: ClassVar[str] = "checkpoint_committed"
    wave: int
    commit: str
    issues: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateRefused(Event):
    """An action on a wave was refused (a start, the tests, the checkpoint, a revert, ...)."""

    name: ClassVar[str] = "gate_refused"
    refusal: Refusal

    @property
    def wave(self) -> int:
        return self.refusal.wave

    @property
    def code(self) -> RefusalCode:
        return self.refusal.code

    @property
    def paths(self) -> tuple[str, ...]:
        return self.refusal.paths

    def as_dict(self) -> dict[str, Any]:
        """Flat, like every event: ``wave``, ``code`` and what the refusal names."""
        data = super().as_dict()
        return {"event": self.name, **data.pop("refusal")}


@dataclass(frozen=True)
class HostConnectionChanged(Event):
    name: ClassVar[str] = "host_connection_changed"
    host: str
    state: HostLink
    detail: str = ""
    next_attempt_s: float | None = None


@dataclass(frozen=True)
class Notice(Event):
    """Something the operator should read (a warning, a fallback taken, tampering seen)."""

    name: ClassVar[str] = "notice"
    level: NoticeLevel
    message: str
    # What it is about, as facts (``None`` / empty when it does not apply):
    agent: str | None = None  # the agent
    paths: tuple[str, ...] = ()  # files: a git lock, an index left behind, the watched folder
    programs: tuple[str, ...] = ()  # what in .git can make git run a program (its keys)
    commit: str | None = None  # a commit made (a checkpoint whose index could not be refreshed)
    attempt: int | None = None  # the number of an agent's restart
    error: str | None = None  # the error behind it, as Python reported it
    fallback: Literal["polling"] | None = None  # what the watcher fell back to
    # the kernel's event queue overflowed (changes lost), then the rescan that found them
    watch_lost: Literal["overflow", "rescanned"] | None = None
    # what an agent's kernel sandbox cannot do (agents.local.sandbox.before_wave)
    sandbox: Literal["cannot-create", "closed", "exposed"] | None = None


@dataclass(frozen=True)
class AgentSession(Event):
    """The agent CLI's session (thread) id: what a follow-up resumes."""

    name: ClassVar[str] = "agent_session"
    agent: str
    session_id: str


@dataclass(frozen=True)
class AgentTool(Event):
    """A tool call the agent made (``path``: the file it names, relative when inside the repo)."""

    name: ClassVar[str] = "agent_tool"
    agent: str
    tool: str
    path: str | None
    summary: str


@dataclass(frozen=True)
class AgentUsage(Event):
    """The agent's tokens, cost and turns so far (totals over its runs)."""

    name: ClassVar[str] = "agent_usage"
    agent: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    turns: int


@dataclass(frozen=True)
class AgentDenied(Event):
    """A tool call the agent CLI's own permissions refused (a write outside its files)."""

    name: ClassVar[str] = "agent_denied"
    agent: str
    tool: str
    path: str


SandboxState = Literal["landlock", "off", "unavailable", "unprotected", "unsandboxed"]


@dataclass(frozen=True)
class SandboxStatus(Event):
    """Whether the kernel holds agents to their files (``[agent] sandbox``).

    ``agent`` None: every agent of the run on this machine; else one agent (a remote host's, or
    one whose repository lies beneath a path it may write). ``state``: ``landlock`` (enforced,
    at ``abi``), ``off`` (the setting), ``unavailable`` (this machine cannot: the watcher alone
    judges), ``unprotected`` (enforced, but the repository lies beneath a writable path),
    ``unsandboxed`` (a remote host that cannot). ``reason`` is a code (``no-landlock``,
    ``abi-too-old``, ``no-python``, ``beneath-writable``); ``detail`` says it for the operator.
    """

    name: ClassVar[str] = "sandbox_status"
    state: SandboxState
    agent: str | None = None
    abi: int = 0
    reason: str = ""
    detail: str = ""
    host: str | None = None
