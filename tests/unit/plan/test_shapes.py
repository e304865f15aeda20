"""Plans as people write them (issue #14): each shape in tests/data/plans/shapes reads into the
exact waves, agents, titles, issues and paths a person would expect, with the findings it earns."""

from __future__ import annotations

from pathlib import Path

import pytest

from plan.checks import run_checks
from plan.errors import Finding, PlanError
from plan.loader import load_plan
from plan.models import Plan

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
