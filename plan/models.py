"""The normalised wave plan as frozen pydantic models.

Every number the plan *states* (a wave heading's counts, the summary and distribution tables, the
strategy's per-package counts) is kept next to what the plan *contains*, so the checks can compare
them. Every element carries the 1-based source line it came from, for findings.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW"]
SEVERITIES: tuple[Severity, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
# The severity of a work item whose plan states none (never from an issue table).
UNSET = "UNSET"
# Lower rank = more severe.
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}

# How an agent or a wave was recognised (``Source.how``); the docstring of ``Source`` says each.
SourceHow = Literal[
    "agent-heading",
    "labelled-heading",
    "wave-agent-heading",
    "table-row",
    "wave-heading",
    "renumbered",
    "phase-heading",
    "execution-order",
    "wave-field",
    "implicit",
    "saw-manifest",
]
# What kind of document the plan was read from: wavedeck's Markdown (the reference format or the
# other shapes it reads), or a Scout-and-Wave IMPL doc in Markdown or as a YAML manifest.
PlanFormat = Literal["wavedeck", "saw-markdown", "saw-yaml"]
# A Scout-and-Wave convention wavedeck reads and names, but does not act on (``Convention``).
ConventionKind = Literal[
    "interface-contracts",
    "scaffolds",
    "wave-structure",
    "dependency-graph",
    "pre-mortem",
    "known-issues",
    "verdict",
    "state",
    "execution-loop",
    "status",
    "stub-report",
    "post-merge-checklist",
    "completion-report",
    "optional-gate",
    "gate-scope",
    "wiring",
    "integration",
    "reactions",
    "critic-report",
    "repositories",
    "agent-model",
    "launch-order",
    "wave-type",
    "record",
]
GateType = Literal["build", "lint", "test", "typecheck", "format", "custom"]
# How a work item was written (``Issue.kind``); ``saw-task`` is a Scout-and-Wave agent's task.
IssueKind = Literal[
    "table-row", "task-heading", "task-row", "checklist", "step", "bullet", "saw-task"
]
# What a number the plan states claims to count (``StatedCount.kind``).
StatedKind = Literal[
    "summary-issues",
    "summary-agents",
    "summary-total-issues",
    "summary-total-agents",
    "summary-total-waves",
    "distribution",
    "distribution-total",
    "strategy",
]

AGENT_ID_RE = re.compile(r"^w[1-9][0-9]*-a[1-9][0-9]*$")


def agent_id(wave: int, agent: int) -> str:
    """The id naming an agent everywhere (log, state, branch, CLI): ``w<wave>-a<agent>``."""
    return f"w{wave}-a{agent}"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Frozen):
    """Where an agent or a wave was read from and how it was recognised.

    ``how`` is one of: ``agent-heading`` (``### Agent N: title``, the reference format),
    ``labelled-heading`` (``### W1: …``, ``## Workstream A: …``, ``### Track 2 — …``),
    ``wave-agent-heading`` (``#### Wave 1 Agent B: …``), ``table-row`` (a row of an agents
    table), ``wave-heading`` (``## Wave N``), ``renumbered`` (a ``## Wave N`` heading moved up
    by one because the plan has a wave 0 holding agents), ``phase-heading`` (``## Phase N``
    holding agents), ``execution-order`` (a line naming a wave and its agents), ``wave-field``
    (a wave its agents name themselves: a Wave column or field), ``implicit`` (agents without
    waves: one wave), ``saw-manifest`` (a wave or an agent of a Scout-and-Wave YAML manifest).
    ``text`` is the heading or row as written.
    """

    line: int
    how: SourceHow
    text: str = ""


class LineRange(_Frozen):
    """Lines of a file one agent declares as its part (``lib.rs:1-700``); ``end`` None: to EOF."""

    start: int
    end: int | None = None


class Issue(_Frozen):
    """One scheduled issue: a row of an agent's issue table, or a work item of another shape."""

    id: str
    order: int
    # The severity as written, upper-cased; may be invalid (then ``bad-severity`` reports it).
    severity: str
    summary: str = ""
    depends_on: tuple[str, ...] = ()
    line: int
    extra: dict[str, str] = Field(default_factory=dict)
    # How the item was written: ``table-row`` (an issue table, the reference format),
    # ``task-heading``, ``task-row``, ``checklist``, ``step``, ``bullet``. Work items other than
    # table rows may have severity ``UNSET``.
    kind: IssueKind = "table-row"


class Agent(_Frozen):
    """One parallel agent of a wave: a package, the files it alone may touch, ordered issues."""

    id: str
    number: int
    wave: int
    title: str
    package: str  # repo-relative POSIX folder with a trailing slash, e.g. "packages/server/src/"
    # As written in the plan (relative to the package); a path refused by ``wavedeck.plan.paths`` is left
    # out of both ``files`` and ``paths`` and kept in ``bad_paths`` instead. Files an ownership
    # table gives the agent come last, repo-relative (``wavedeck.plan.reading.ownertable``).
    files: tuple[str, ...]
    paths: tuple[str, ...]  # normalised repo-relative POSIX paths, same order as ``files``
    issues: tuple[Issue, ...]
    line: int
    package_line: int | None = None
    files_line: int | None = None
    # Raw file text that failed normalisation is kept here for ``path-escape``; a package that
    # did is ``bad_package`` (then its files are not read at all).
    bad_paths: tuple[tuple[str, str], ...] = ()  # (raw text, reason)
    bad_package: tuple[str, str] | None = None  # (raw text, reason)
    # The agent's section as written (fields, prose, tables), kept for prompts.
    text: str = ""
    source: Source | None = None
    # Explicit shared ownership: paths (normalised, also in ``paths``) that this agent shares with
    # other agents of its wave on purpose, because the plan declares them shared or splits them
    # by line ranges. Both agents may write them; ``check_overlap`` does not report them.
    shared: tuple[str, ...] = ()
    # The line ranges this agent owns in a split file: (normalised path, ranges). A write outside
    # them cannot be told from the path alone; a watcher that sees the diff can report it.
    ranges: tuple[tuple[str, tuple[LineRange, ...]], ...] = ()
    # The plan's own name for the agent when it has one (``A`` in a Scout-and-Wave doc, ``W1``,
    # ``Backend agent``): shown, and matched against ownership tables and dependencies.
    label: str = ""
    # The agent's own prose for its prompt (its section without the heading, or a Scout-and-Wave
    # agent's task); empty for the reference format, whose sections are fields and an issue table.
    brief: str = ""
    # Entries of a files list that read as text, not paths (spaces with brackets, a checklist
    # item's words): never files, reported as ``not-a-path``.
    prose_files: tuple[str, ...] = ()
    # Paths (normalised, also in ``paths``) the plan says the agent creates (a Scout-and-Wave
    # ``action: new``): their absence from the repository is expected, not ``missing-file``.
    creates: tuple[str, ...] = ()

    def ranges_of(self, path: str) -> tuple[LineRange, ...]:
        """The line ranges this agent owns in ``path`` (empty: the whole file or not declared)."""
        for p, r in self.ranges:
            if p == path:
                return r
        return ()


class Wave(_Frozen):
    """One wave: agents that run fully in parallel."""

    number: int
    title: str
    # Severities the title states as its scope (``CRITICAL + HIGH``), empty when it states none.
    scope: tuple[Severity, ...] = ()
    stated_issues: int | None = None
    stated_agents: int | None = None
    agents: tuple[Agent, ...]
    line: int
    text: str = ""  # prose under the wave heading, kept for prompts
    source: Source | None = None

    @property
    def issue_ids(self) -> tuple[str, ...]:
        return tuple(i.id for a in self.agents for i in a.issues)


class ResolvedIssue(_Frozen):
    """An issue the plan lists as already resolved (removed from the schedule)."""

    id: str
    severity: str = ""
    cells: dict[str, str] = Field(default_factory=dict)
    line: int


class Rule(_Frozen):
    number: int
    text: str
    line: int
    code_spans: tuple[str, ...] = ()


class Gate(_Frozen):
    """A Scout-and-Wave quality gate: a shell command run between waves, with its type, whether
    it must pass (``required``; an optional gate is not run: it could only warn), and the
    options wavedeck keeps but does not act on (``timing``, ``fix``, ``repo``)."""

    type: GateType
    command: str
    required: bool = True
    description: str = ""
    timing: Literal["pre-merge", "post-merge"] = "pre-merge"
    fix: bool = False
    repo: str | None = None
    line: int


class Convention(_Frozen):
    """Something a Scout-and-Wave doc states that wavedeck reads but does not act on (interface
    contracts, scaffolds, completion reports, the protocol state, the verdict...), so that
    ``plan show`` names it rather than dropping it silently. ``detail`` says what it is."""

    kind: ConventionKind
    line: int
    detail: str


class StatedCount(_Frozen):
    """A number the plan states somewhere, with what it claims to count.

    ``kind`` is one of ``summary-issues``, ``summary-agents`` (of ``wave``),
    ``summary-total-issues``, ``summary-total-agents``, ``summary-total-waves``,
    ``distribution`` (issues of ``package`` in ``wave``; ``wave`` None = the row's total),
    ``distribution-total`` (all packages in ``wave``), ``strategy`` (issues of ``package``).
    """

    kind: StatedKind
    value: int
    line: int
    wave: int | None = None
    package: str | None = None


class Plan(_Frozen):
    """A whole wave plan."""

    title: str
    source: str = ""
    waves: tuple[Wave, ...]
    resolved: tuple[ResolvedIssue, ...] = ()
    rules: tuple[Rule, ...] = ()
    test_commands: tuple[str, ...] = ()
    strategy: str = ""
    stated: tuple[StatedCount, ...] = ()
    line_count: int = 0
    format: PlanFormat = "wavedeck"
    # A Scout-and-Wave doc's quality gates (the required ones are ``test_commands``) and the
    # conventions it holds that wavedeck does not act on.
    gates: tuple[Gate, ...] = ()
    conventions: tuple[Convention, ...] = ()

    @property
    def agents(self) -> tuple[Agent, ...]:
        return tuple(a for w in self.waves for a in w.agents)

    @property
    def issues(self) -> tuple[Issue, ...]:
        return tuple(i for a in self.agents for i in a.issues)

    def wave(self, number: int) -> Wave:
        for w in self.waves:
            if w.number == number:
                return w
        raise KeyError(number)

    def agent(self, agent_id: str) -> Agent:
        for a in self.agents:
            if a.id == agent_id:
                return a
        raise KeyError(agent_id)
