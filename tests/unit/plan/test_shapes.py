"""Plans as people write them (issue #14): each shape in tests/data/plans/shapes reads into the
exact waves, agents, titles, issues and paths a person would expect, with the findings it earns."""

from __future__ import annotations

from pathlib import Path

import pytest

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.errors import Finding, PlanError
from wavedeck.plan.models import Plan
from wavedeck.plan.reading.loader import load_plan

SHAPES = Path(__file__).resolve().parents[2] / "data" / "plans" / "shapes"


def read(name: str) -> tuple[Plan, list[Finding]]:
    result = load_plan(SHAPES / name, source=name)
    return result.plan, run_checks(result.plan, result.findings)


def outline(plan: Plan) -> list[tuple[int, list[tuple[str, str]]]]:
    return [(w.number, [(a.id, a.title) for a in w.agents]) for w in plan.waves]


def issues(plan: Plan, agent: str) -> list[tuple[str, str, str]]:
    return [(i.id, i.severity, i.summary) for i in plan.agent(agent).issues]


def codes(findings: list[Finding]) -> list[tuple[str, str, int]]:
    return [(f.code, f.level, f.line) for f in findings]


def test_w_prefixed_agents_with_a_separate_execution_order() -> None:
    plan, findings = read("w-prefixed.md")
    assert outline(plan) == [
        (
            1,
            [
                ("w1-a1", "W1: Job intake"),
                ("w1-a2", "W2: Scheduler loop"),
                ("w1-a3", "W3: Node health"),
            ],
        ),
        (2, [("w2-a4", "W4: Metrics export")]),
    ]
    assert issues(plan, "w1-a1") == [
        ("w1-a1-1", "UNSET", "Validate job manifests before queueing them"),
        ("w1-a1-2", "UNSET", "Reject manifests over 2 MB"),
    ]
    assert [i.kind for i in plan.agent("w1-a3").issues] == ["checklist", "checklist"]
    assert plan.agent("w1-a1").paths == ("farm/intake.py", "farm/schema.py")
    assert plan.agent("w1-a2").paths == ("farm/scheduler.py", "farm/clock.py")
    assert plan.agent("w1-a3").paths == ("farm/health.py",)
    a2 = plan.agent("w1-a2").source
    assert a2 is not None and (a2.line, a2.how) == (13, "labelled-heading")
    w1 = plan.waves[0].source
    assert w1 is not None and (w1.line, w1.how) == (34, "execution-order")
    assert findings == []  # no severities anywhere: none are asked for


def test_strict_reads_none_of_it() -> None:
    with pytest.raises(PlanError, match="no waves with agents found"):
        load_plan(SHAPES / "w-prefixed.md", strict=True)


def test_workstream_letters_with_owner_priorities_and_checklists() -> None:
    plan, findings = read("workstreams.md")
    assert outline(plan) == [
        (
            1,
            [
                ("w1-a1", "Workstream A: Testing Infrastructure (High Priority)"),
                ("w1-a2", "Workstream B: Chart Rendering (Medium Priority)"),
                ("w1-a3", "Workstream C: Docs"),
            ],
        )
    ]
    source = plan.waves[0].source
    assert source is not None and source.how == "implicit"
    assert issues(plan, "w1-a1") == [
        ("w1-a1-1", "HIGH", "Add a fixture for the fake warehouse"),
        ("w1-a1-2", "CRITICAL", "[CRITICAL] Make the flaky export test deterministic"),
    ]
    assert issues(plan, "w1-a2") == [
        ("w1-a2-1", "MEDIUM", "Clamp axis ticks to the visible range"),
        ("w1-a2-2", "MEDIUM", "Memoise the series projection"),
    ]
    assert issues(plan, "w1-a3") == [("w1-a3-1", "UNSET", "Document the new export flags")]
    assert plan.agent("w1-a1").paths == ("tests/conftest.py", "tests/test_export.py")
    assert plan.agent("w1-a2").paths == ("web/charts/line.ts", "web/charts/axis.ts")
    assert plan.agent("w1-a3").paths == ("docs/dashboard.md",)
    # The plan states severities elsewhere, so Docs' unset one is worth a warning; the checklist
    # puts a CRITICAL item after a HIGH one, which the usual severity-order check reports.
    assert codes(findings) == [
        ("severity-order", "warning", 10),
        ("unset-severity", "warning", 23),
    ]


def test_combined_wave_agent_headings_with_task_headings_and_file_fields() -> None:
    plan, findings = read("combined.md")
    assert outline(plan) == [
        (1, [("w1-a1", "Agent A: Storage layer"), ("w1-a2", "Agent B: Network client")]),
        (2, [("w2-a1", "Agent A: Sync engine")]),
    ]
    assert [w.title for w in plan.waves] == ["foundations", "integration"]
    assert issues(plan, "w1-a1") == [
        ("A1", "UNSET", "Add a migration for the sync cursor"),
        ("A2", "UNSET", "Read the cursor in the repository (depends on A1)"),
    ]
    assert plan.agent("w1-a1").issues[1].depends_on == ("A1",)
    assert [i.kind for i in plan.agent("w1-a1").issues] == ["task-heading", "task-heading"]
    assert issues(plan, "w1-a2") == [
        ("B1", "UNSET", "Retry with jitter"),
        ("B2", "UNSET", "Cancel in-flight requests on logout"),
    ]
    assert issues(plan, "w2-a1") == [("A3", "UNSET", "Wire storage and network into the sync job")]
    assert plan.agent("w1-a1").paths == (
        "app/db/migrations/0042_cursor.sql",
        "app/db/CursorRepo.kt",
    )
    assert plan.agent("w1-a2").paths == ("app/net/Retry.kt", "app/net/Session.kt")
    assert plan.agent("w2-a1").paths == ("app/sync/SyncJob.kt",)
    source = plan.agent("w1-a2").source
    assert source is not None and (source.line, source.how) == (15, "wave-agent-heading")
    assert findings == []


def test_agents_as_table_rows_and_an_ownership_table() -> None:
    plan, findings = read("table-rows.md")
    assert outline(plan) == [
        (1, [("w1-a1", "A1: Create the billing package skeleton"), ("w1-a2", "A2")]),
        (2, [("w2-a3", "A3: Route invoice calls to the new package")]),
    ]
    assert issues(plan, "w1-a2") == [
        ("INFRA-002", "UNSET", "Move invoice models"),
        ("INFRA-003", "UNSET", "Move tax rules"),
    ]
    # A dependency on an issue is kept; one on agents (A1, A2) is no issue dependency.
    assert plan.agent("w1-a2").issues[1].depends_on == ("INFRA-002",)
    assert plan.agent("w2-a3").issues[0].depends_on == ()
    assert plan.agent("w2-a3").issues[0].extra == {"Duration": "4h", "Dependencies": "A1, A2"}
    assert plan.agent("w1-a1").paths == ("billing/__init__.py",)
    assert plan.agent("w1-a2").paths == ("billing/models.py", "billing/tax.py")
    assert plan.agent("w2-a3").paths == ("api/routes.py", "api/legacy.py")
    source = plan.agent("w1-a2").source
    assert source is not None and (source.line, source.how) == (8, "table-row")
    [mismatch] = findings
    assert (mismatch.code, mismatch.level, mismatch.line) == ("ownership-mismatch", "error", 25)
    assert mismatch.message == (
        "api/legacy.py: the ownership table puts A3 in wave 1, but the plan runs it in wave 2"
    )


def test_phase_sections_holding_agents_with_numbered_steps() -> None:
    plan, findings = read("phases.md")
    # Phase 0 (setup) and Phase 3 (merge) hold no agents: orchestration, not waves.
    assert outline(plan) == [
        (1, [("w1-a1", "Track 1: Query parser"), ("w1-a2", "Track 2: Ranking")]),
        (2, [("w2-a3", "Track 3: Evaluation")]),
    ]
    assert [w.title for w in plan.waves] == ["Parallel tracks", "Follow-up"]
    assert issues(plan, "w1-a1") == [
        ("w1-a1-1", "UNSET", "Parse quoted phrases as one token"),
        ("w1-a1-2", "UNSET", "Drop stop words only outside phrases"),
    ]
    # Track 2's prompt has its own '## 1. File Ownership' and '## 2. Steps' headings.
    assert issues(plan, "w1-a2") == [
        ("w1-a2-1", "UNSET", "Tune k1 and b from the click logs"),
        ("w1-a2-2", "UNSET", "Add a field boost for titles"),
    ]
    assert plan.agent("w1-a1").paths == ("search/query/parser.py", "search/query/tokens.py")
    assert plan.agent("w1-a2").paths == ("search/rank/bm25.py", "search/rank/boosts.py")
    assert plan.agent("w2-a3").paths == ("search/eval/judge.py",)
    assert [i.kind for i in plan.issues] == ["step"] * 5
    assert findings == []


def test_a_file_declared_shared_and_a_file_split_by_line_ranges() -> None:
    plan, findings = read("shared.md")
    a1, a2 = plan.waves[0].agents
    assert (a1.title, a2.title) == ("Expressions", "Statements")
    assert a1.paths == (
        "crates/parse/src/lib.rs",
        "crates/parse/src/expr.rs",
        "crates/parse/src/tokens.rs",
    )
    assert a2.paths == (
        "crates/parse/src/lib.rs",
        "crates/parse/src/stmt.rs",
        "crates/parse/src/tokens.rs",
    )
    assert (
        set(a1.shared)
        == set(a2.shared)
        == {"crates/parse/src/lib.rs", "crates/parse/src/tokens.rs"}
    )
    assert [(r.start, r.end) for r in a1.ranges_of("crates/parse/src/lib.rs")] == [(1, 700)]
    assert [(r.start, r.end) for r in a2.ranges_of("crates/parse/src/lib.rs")] == [(701, None)]
    assert [i.id for i in plan.issues] == ["parse-1", "parse-2", "parse-3"]
    assert findings == []  # shared on purpose: no overlap
    strict = load_plan(SHAPES / "shared.md", strict=True)
    strict_codes = {f.code for f in run_checks(strict.plan, strict.findings)}
    assert "overlap" in strict_codes  # the reference reader knows no sharing


def test_wave_zero_and_plain_files_to_edit_labels() -> None:
    plan, findings = read("wave-zero.md")
    assert outline(plan) == [
        (1, [("w1-a1", "W0: Fixtures")]),
        (2, [("w2-a1", "W1: Eviction"), ("w2-a2", "W2: Metrics")]),
    ]
    assert [w.title for w in plan.waves] == ["Preparation", "Fixes"]
    assert [w.source.how for w in plan.waves if w.source] == ["renumbered", "renumbered"]
    assert plan.agent("w1-a1").paths == ("tests/fixtures/cache.py",)
    assert plan.agent("w2-a1").paths == ("cache/evict.py", "cache/lru.py")
    assert plan.agent("w2-a2").paths == ("cache/metrics.py",)
    assert issues(plan, "w2-a1") == [("w2-a1-1", "UNSET", "Evict by size, not by count")]
    assert findings == []
