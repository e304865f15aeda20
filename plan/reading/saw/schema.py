"""The Scout-and-Wave IMPL manifest's schema as frozen models.

The models mirror ``protocol/impl-manifest.schema.json`` of Scout-and-Wave: every object, field,
enum, pattern (``Pattern``) and minimum (``Minimum``) it states. Fields the schema requires keep
a default here so that a manifest missing one can still be read and shown; ``REQUIRED`` says
which they are. ``wavedeck.plan.reading.saw.validate`` holds a loaded manifest against them and
reports each ``Problem``; the models then give typed access to what was valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

Path = tuple[object, ...]


@dataclass(frozen=True)
class Pattern:
    """A string must match this regular expression (the schema's ``pattern``)."""

    regex: str


@dataclass(frozen=True)
class Minimum:
    """An integer must be at least this (the schema's ``minimum``)."""

    value: int


@dataclass(frozen=True)
class Problem:
    """Where a manifest breaks the schema and how: ``unknown`` field, ``invalid`` value,
    ``missing`` required field."""

    path: Path
    kind: Literal["unknown", "invalid", "missing"]
    message: str


AgentId = Annotated[str, Pattern(r"[A-Z][2-9]?")]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    REQUIRED: ClassVar[tuple[str, ...]] = ()


class FileOwnership(Model):
    REQUIRED = ("file", "agent", "wave")
    file: str = ""
    agent: AgentId = ""
    wave: Annotated[int, Minimum(1)] = 0
    action: Literal["new", "modify", "delete"] | None = None
    depends_on: tuple[str, ...] = ()
    repo: str | None = None


class Agent(Model):
    REQUIRED = ("id", "task", "files")
    id: AgentId = ""
    task: str = ""
    files: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    model: str | None = None


class Wave(Model):
    REQUIRED = ("number", "agents")
    number: Annotated[int, Minimum(1)] = 0
    type: Literal["standard", "integration"] | None = None
    agents: tuple[Agent, ...] = ()
    agent_launch_order: tuple[str, ...] = ()
    base_commit: str | None = None


class InterfaceDeviation(Model):
    REQUIRED = ("description", "downstream_action_required")
    description: str = ""
    downstream_action_required: bool = False
    affects: tuple[str, ...] = ()


class DedupStats(Model):
    REQUIRED = ("hits", "misses", "tokens_saved_estimate")
    hits: int = 0
    misses: int = 0
    tokens_saved_estimate: int = 0


class CompletionReport(Model):
    REQUIRED = ("status",)
    status: Literal["complete", "partial", "blocked"] | None = None
    worktree: str | None = None
    branch: str | None = None
    commit: str | None = None
    files_changed: tuple[str, ...] = ()
    files_created: tuple[str, ...] = ()
    interface_deviations: tuple[InterfaceDeviation, ...] = ()
    out_of_scope_deps: tuple[str, ...] = ()
    tests_added: tuple[str, ...] = ()
    verification: str | None = None
    failure_type: Literal["transient", "fixable", "needs_replan", "escalate", "timeout"] | None = (
        None
    )
    notes: str | None = None
    dedup_stats: DedupStats | None = None
    repo: str | None = None


class InterfaceContract(Model):
    REQUIRED = ("name", "definition", "location")
    name: str = ""
    description: str | None = None
    definition: str = ""
    location: str = ""


GateKind = Literal["build", "lint", "test", "typecheck", "format", "custom"]


class QualityGate(Model):
    REQUIRED = ("type", "command", "required")
    type: GateKind = "custom"
    command: str = ""
    required: bool = True
    description: str | None = None
    repo: str | None = None
    fix: bool = False
    timing: Literal["pre-merge", "post-merge"] | None = None


class QualityGates(Model):
    REQUIRED = ("level", "gates")
    level: Literal["quick", "standard", "full"] | None = None
    gates: tuple[QualityGate, ...] = ()


class ScaffoldFile(Model):
    REQUIRED = ("file_path",)
    file_path: str = ""
    contents: str | None = None
    import_path: str | None = None
    status: Literal["pending", "committed"] | None = None
    commit: str | None = None


Level = Literal["low", "medium", "high"]


class PreMortemRow(Model):
    REQUIRED = ("scenario", "likelihood", "impact", "mitigation")
    scenario: str = ""
    likelihood: Level | None = None
    impact: Level | None = None
    mitigation: str = ""


class PreMortem(Model):
    REQUIRED = ("overall_risk", "rows")
    overall_risk: Level | None = None
    rows: tuple[PreMortemRow, ...] = ()


class KnownIssue(Model):
    REQUIRED = ("description",)
    title: str | None = None
    description: str = ""
    status: str | None = None
    workaround: str | None = None


class ChecklistItem(Model):
    REQUIRED = ("description",)
    description: str = ""
    command: str | None = None


class ChecklistGroup(Model):
    REQUIRED = ("title", "items")
    title: str = ""
    items: tuple[ChecklistItem, ...] = ()


class PostMergeChecklist(Model):
    REQUIRED = ("groups",)
    groups: tuple[ChecklistGroup, ...] = ()


class StubHit(Model):
    REQUIRED = ("file", "line", "pattern", "context")
    file: str = ""
    line: int = 0
    pattern: str = ""
    context: str = ""


class ScanStubsResult(Model):
    REQUIRED = ("hits",)
    hits: tuple[StubHit, ...] = ()


class WiringDeclaration(Model):
    REQUIRED = ("symbol", "defined_in", "must_be_called_from", "agent", "wave")
    symbol: str = ""
    defined_in: str = ""
    must_be_called_from: str = ""
    agent: str = ""
    wave: int = 0
    integration_pattern: Literal["append", "register", "inject", "call", "prop-pass"] | None = None


class WiringGap(Model):
    REQUIRED = ("declaration", "reason", "severity")
    declaration: WiringDeclaration | None = None
    reason: str = ""
    severity: str = ""


class WiringValidationData(Model):
    REQUIRED = ("gaps", "valid", "summary")
    gaps: tuple[WiringGap, ...] = ()
    valid: bool = False
    summary: str = ""


class IntegrationGap(Model):
    REQUIRED = (
        "export_name",
        "file_path",
        "agent_id",
        "category",
        "severity",
        "reason",
        "suggested_fix",
    )
    export_name: str = ""
    file_path: str = ""
    agent_id: str = ""
    category: Literal["function_call", "type_usage", "field_init"] | None = None
    severity: Literal["error", "warning", "info"] | None = None
    reason: str = ""
    suggested_fix: str = ""
    search_results: tuple[str, ...] = ()


class IntegrationReport(Model):
    REQUIRED = ("wave", "gaps", "valid", "summary")
    wave: int = 0
    gaps: tuple[IntegrationGap, ...] = ()
    valid: bool = False
    summary: str = ""


class IntegrationConnector(Model):
    REQUIRED = ("file", "reason")
    file: str = ""
    reason: str = ""


class ReactionEntry(Model):
    REQUIRED = ("action",)
    action: Literal["retry", "send-fix-prompt", "pause", "auto-scout"] | None = None
    max_attempts: int | None = None


class ReactionsConfig(Model):
    transient: ReactionEntry | None = None
    timeout: ReactionEntry | None = None
    fixable: ReactionEntry | None = None
    needs_replan: ReactionEntry | None = None
    escalate: ReactionEntry | None = None


class CriticData(Model):
    REQUIRED = ("verdict",)
    verdict: Literal["PASS", "ISSUES", "SKIPPED"] | None = None
    # The schema lets per-agent reviews hold any fields besides ``verdict``.
    agent_reviews: dict[str, Any] = {}
    summary: str | None = None
    reviewed_at: str | None = None
    issue_count: int | None = None


State = Literal[
    "SCOUT_PENDING",
    "SCOUT_VALIDATING",
    "REVIEWED",
    "SCAFFOLD_PENDING",
    "WAVE_PENDING",
    "WAVE_EXECUTING",
    "WAVE_MERGING",
    "WAVE_VERIFIED",
    "BLOCKED",
    "COMPLETE",
    "NOT_SUITABLE",
]


class Manifest(Model):
    REQUIRED = ("title", "feature_slug", "verdict")
    title: str = ""
    feature_slug: str = ""
    verdict: Literal["SUITABLE", "NOT_SUITABLE", "SUITABLE_WITH_CAVEATS"] | None = None
    feature: str | None = None
    repository: str | None = None
    repositories: tuple[str, ...] = ()
    plan_reference: str | None = None
    suitability_assessment: str | None = None
    suitability_reasoning: str | None = None
    test_command: str | None = None
    lint_command: str | None = None
    file_ownership: tuple[FileOwnership, ...] = ()
    interface_contracts: tuple[InterfaceContract, ...] = ()
    waves: tuple[Wave, ...] = ()
    quality_gates: QualityGates | None = None
    post_merge_checklist: PostMergeChecklist | None = None
    scaffolds: tuple[ScaffoldFile, ...] = ()
    completion_reports: dict[AgentId, CompletionReport] = {}
    stub_reports: dict[AgentId, ScanStubsResult] = {}
    pre_mortem: PreMortem | None = None
    known_issues: tuple[KnownIssue, ...] = ()
    wiring: tuple[WiringDeclaration, ...] = ()
    wiring_validation_reports: dict[str, WiringValidationData] = {}
    integration_reports: dict[str, IntegrationReport] = {}
    integration_connectors: tuple[IntegrationConnector, ...] = ()
    integration_gap_severity_threshold: Literal["error", "warning", "info"] | None = None
    reactions: ReactionsConfig | None = None
    critic_report: CriticData | None = None
    state: State | None = None
    merge_state: Literal["idle", "in_progress", "completed", "failed"] | None = None
    worktrees_created_at: str | None = None
    frozen_contracts_hash: str | None = None
    frozen_scaffolds_hash: str | None = None
    completion_date: str | None = None
