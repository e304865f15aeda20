"""The Scout-and-Wave IMPL manifest's schema as frozen models, and a validator that reports.

The models mirror ``protocol/impl-manifest.schema.json`` of Scout-and-Wave: every object, field,
enum, pattern and minimum it states. ``validate`` holds a loaded manifest against them the way
the schema does, but never stops at the first problem and never drops one silently: an unknown
field, a value of the wrong type or outside its enum, a missing required field is each a
``Problem`` with its path; the value is left out and the rest is read. Fields the schema
requires keep a default here so that a manifest missing one can still be shown;
``REQUIRED`` says which they are. The models then give typed access to what was valid.
"""

from __future__ import annotations

import difflib
import re
import types
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

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


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    REQUIRED: ClassVar[tuple[str, ...]] = ()


class FileOwnership(_Model):
    REQUIRED = ("file", "agent", "wave")
    file: str = ""
    agent: AgentId = ""
    wave: Annotated[int, Minimum(1)] = 0
    action: Literal["new", "modify", "delete"] | None = None
    depends_on: tuple[str, ...] = ()
    repo: str | None = None


class Agent(_Model):
    REQUIRED = ("id", "task", "files")
    id: AgentId = ""
    task: str = ""
    files: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    model: str | None = None


class Wave(_Model):
    REQUIRED = ("number", "agents")
    number: Annotated[int, Minimum(1)] = 0
    type: Literal["standard", "integration"] | None = None
    agents: tuple[Agent, ...] = ()
    agent_launch_order: tuple[str, ...] = ()
    base_commit: str | None = None


class InterfaceDeviation(_Model):
    REQUIRED = ("description", "downstream_action_required")
    description: str = ""
    downstream_action_required: bool = False
    affects: tuple[str, ...] = ()


class DedupStats(_Model):
    REQUIRED = ("hits", "misses", "tokens_saved_estimate")
    hits: int = 0
    misses: int = 0
    tokens_saved_estimate: int = 0


class CompletionReport(_Model):
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


class InterfaceContract(_Model):
    REQUIRED = ("name", "definition", "location")
    name: str = ""
    description: str | None = None
    definition: str = ""
    location: str = ""


GateKind = Literal["build", "lint", "test", "typecheck", "format", "custom"]


class QualityGate(_Model):
    REQUIRED = ("type", "command", "required")
    type: GateKind = "custom"
    command: str = ""
    required: bool = True
    description: str | None = None
    repo: str | None = None
    fix: bool = False
    timing: Literal["pre-merge", "post-merge"] | None = None


class QualityGates(_Model):
    REQUIRED = ("level", "gates")
    level: Literal["quick", "standard", "full"] | None = None
    gates: tuple[QualityGate, ...] = ()


class ScaffoldFile(_Model):
    REQUIRED = ("file_path",)
    file_path: str = ""
    contents: str | None = None
    import_path: str | None = None
    status: Literal["pending", "committed"] | None = None
    commit: str | None = None


Level = Literal["low", "medium", "high"]


class PreMortemRow(_Model):
    REQUIRED = ("scenario", "likelihood", "impact", "mitigation")
    scenario: str = ""
    likelihood: Level | None = None
    impact: Level | None = None
    mitigation: str = ""


class PreMortem(_Model):
    REQUIRED = ("overall_risk", "rows")
    overall_risk: Level | None = None
    rows: tuple[PreMortemRow, ...] = ()


class KnownIssue(_Model):
    REQUIRED = ("description",)
    title: str | None = None
    description: str = ""
    status: str | None = None
    workaround: str | None = None


class ChecklistItem(_Model):
    REQUIRED = ("description",)
    description: str = ""
    command: str | None = None


class ChecklistGroup(_Model):
    REQUIRED = ("title", "items")
    title: str = ""
    items: tuple[ChecklistItem, ...] = ()


class PostMergeChecklist(_Model):
    REQUIRED = ("groups",)
    groups: tuple[ChecklistGroup, ...] = ()


class StubHit(_Model):
    REQUIRED = ("file", "line", "pattern", "context")
    file: str = ""
    line: int = 0
    pattern: str = ""
    context: str = ""


class ScanStubsResult(_Model):
    REQUIRED = ("hits",)
    hits: tuple[StubHit, ...] = ()


class WiringDeclaration(_Model):
    REQUIRED = ("symbol", "defined_in", "must_be_called_from", "agent", "wave")
    symbol: str = ""
    defined_in: str = ""
    must_be_called_from: str = ""
    agent: str = ""
    wave: int = 0
    integration_pattern: Literal["append", "register", "inject", "call", "prop-pass"] | None = None


class WiringGap(_Model):
    REQUIRED = ("declaration", "reason", "severity")
    declaration: WiringDeclaration | None = None
    reason: str = ""
    severity: str = ""


class WiringValidationData(_Model):
    REQUIRED = ("gaps", "valid", "summary")
    gaps: tuple[WiringGap, ...] = ()
    valid: bool = False
    summary: str = ""


class IntegrationGap(_Model):
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


class IntegrationReport(_Model):
    REQUIRED = ("wave", "gaps", "valid", "summary")
    wave: int = 0
    gaps: tuple[IntegrationGap, ...] = ()
    valid: bool = False
    summary: str = ""


class IntegrationConnector(_Model):
    REQUIRED = ("file", "reason")
    file: str = ""
    reason: str = ""


class ReactionEntry(_Model):
    REQUIRED = ("action",)
    action: Literal["retry", "send-fix-prompt", "pause", "auto-scout"] | None = None
    max_attempts: int | None = None


class ReactionsConfig(_Model):
    transient: ReactionEntry | None = None
    timeout: ReactionEntry | None = None
    fixable: ReactionEntry | None = None
    needs_replan: ReactionEntry | None = None
    escalate: ReactionEntry | None = None


class CriticData(_Model):
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


class Manifest(_Model):
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


_DROP = object()  # a value left out of the cleaned manifest


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def bad(self, path: Path, message: str) -> object:
        self.problems.append(Problem(path, "invalid", message))
        return _DROP

    def model(self, cls: type[_Model], value: object, path: Path) -> object:
        if not isinstance(value, dict):
            return self.bad(path, f"must be a mapping, not {_kind(value)}")
        out: dict[str, object] = {}
        for key, item in value.items():
            info = cls.model_fields.get(key) if isinstance(key, str) else None
            if info is None:
                near = difflib.get_close_matches(str(key), list(cls.model_fields), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                message = f"unknown field {key!r}: the schema has no such field here{hint}"
                self.problems.append(Problem((*path, key), "unknown", message))
                continue
            got = self.value(info.annotation, tuple(info.metadata), item, (*path, key))
            if got is not _DROP:
                out[key] = got
        for name in cls.REQUIRED:
            if name not in value:
                self.problems.append(Problem((*path, name), "missing", f"{name!r} is required"))
        return out

    def value(self, ann: Any, meta: tuple[object, ...], value: object, path: Path) -> object:
        origin = get_origin(ann)
        if origin is Annotated:
            inner, *extra = get_args(ann)
            return self.value(inner, (*meta, *extra), value, path)
        if origin in (Union, types.UnionType):
            options = [a for a in get_args(ann) if a is not type(None)]
            if value is None:
                return None
            return self.value(options[0], meta, value, path)
        if origin is Literal:
            allowed = get_args(ann)
            if value not in allowed:
                choices = ", ".join(str(a) for a in allowed)
                return self.bad(path, f"{value!r} is not one of {choices}")
            return value
        if origin is tuple:
            if not isinstance(value, list):
                return self.bad(path, f"must be a list, not {_kind(value)}")
            item = get_args(ann)[0]
            items = (self.value(item, (), v, (*path, i)) for i, v in enumerate(value))
            return [v for v in items if v is not _DROP]
        if origin is dict:
            if not isinstance(value, dict):
                return self.bad(path, f"must be a mapping, not {_kind(value)}")
            key_ann, item_ann = get_args(ann)
            out = {}
            for k, v in value.items():
                if self.value(key_ann, (), k, (*path, k)) is _DROP:
                    continue
                got = self.value(item_ann, (), v, (*path, k))
                if got is not _DROP:
                    out[k] = got
            return out
        if isinstance(ann, type) and issubclass(ann, _Model):
            return self.model(ann, value, path)
        return self.scalar(ann, meta, value, path)

    def scalar(self, ann: Any, meta: tuple[object, ...], value: object, path: Path) -> object:
        if ann is Any:
            return value
        if ann is bool:
            return value if isinstance(value, bool) else self.bad(path, _must("a boolean", value))
        if ann is int:
            if isinstance(value, bool) or not isinstance(value, int):
                return self.bad(path, _must("an integer", value))
            for m in meta:
                if isinstance(m, Minimum) and value < m.value:
                    return self.bad(path, f"{value} is less than {m.value}")
            return value
        if not isinstance(value, str):
            return self.bad(path, _must("a string", value))
        for m in meta:
            if isinstance(m, Pattern) and re.fullmatch(m.regex, value) is None:
                return self.bad(path, f"{value!r} does not match {m.regex}")
        return value


def _must(what: str, value: object) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    return f"must be {what}, not {_kind(value)} ({shown})"


def validate(data: object) -> tuple[Manifest, list[Problem]]:
    """The manifest as far as it is valid, and every problem met (in the document's order)."""
    checker = _Checker()
    cleaned = checker.model(Manifest, data, ())
    manifest = Manifest.model_validate(cleaned if isinstance(cleaned, dict) else {})
    return manifest, checker.problems
