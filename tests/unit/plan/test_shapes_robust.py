"""Mutated plans of every shape (#14): the tolerant reader, the checks and the renderers only
ever raise ``PlanError``, every location points into the plan, and the CLI prints no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.errors import PlanError
from wavedeck.plan.ownership import OwnershipIndex
from wavedeck.plan.reading.loader import parse_plan
from wavedeck.plan.render import findings_json, plan_json, tree
from wavedeck.tui.cli.main import main

SHAPES = Path(__file__).resolve().parents[2] / "data" / "plans" / "shapes"
PLANS = [p.read_text(encoding="utf-8").split("\n") for p in sorted(SHAPES.glob("*.md"))]
FRAGMENTS = [
    "## Wave 0",
    "## Phase 2: Later",
    "### W9: Extra",
    "#### Wave 3 Agent C: More",
    "## Workstream Z: Late (Low Priority)",
    "- [ ] `src/x.py` task",
    "1. step",
    "**Files:** `a.rs:1-10`, `b.rs` (SHARED)",
    "Files to edit: ../escape.py",
    "| Agent ID | Task |",
    "|---|---|",
    "| A9 | T-1: x |",
    "| File | Agent | Wave |",
    "| x.py | W1, W2 | 1 |",
    "## 1. File Ownership",
    "#### A7: Task (depends on A7)",
    "**Owner:** Agent A",
    "`",
    "|",
    "\x1b[2J",
    "\u202e",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(draw(st.sampled_from(PLANS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "insert", "splice", "swap"]))
        if action == "delete" and len(lines) > 1:
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "insert":
            lines.insert(at, draw(st.sampled_from(FRAGMENTS)))
        elif action == "splice":
            cut = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:cut] + draw(st.sampled_from(FRAGMENTS)) + lines[at][cut:]
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
    return "\n".join(lines)


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_shapes_read_or_fail_cleanly(text: str) -> None:
    try:
        result = parse_plan(text, "m.md")
    except PlanError as exc:
        assert str(exc) and (exc.line is None or 1 <= exc.line <= text.count("\n") + 1)
        return
    plan = result.plan
    findings = run_checks(plan, result.findings)
    assert all(1 <= f.line <= plan.line_count for f in findings)
    assert all(1 <= i.line <= plan.line_count for i in plan.issues)
    assert all(1 <= a.line <= plan.line_count for a in plan.agents)
    assert all(w.number >= 1 and a.number >= 1 for w in plan.waves for a in w.agents)
    json.loads(findings_json(findings))
    json.loads(plan_json(plan))
    tree(plan)
    for wave in plan.waves:
        index = OwnershipIndex(plan, wave.number)
        for agent in wave.agents:
            for path in agent.paths:
                assert index.classify(path, agent.id).kind in ("owned", "unowned")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated(), as_json=st.booleans(), command=st.sampled_from(["check", "show"]))
def test_cli_on_mutated_shapes(tmp_path_factory, text: str, as_json: bool, command: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("shape") / "plan.md"
    path.write_text(text, encoding="utf-8", newline="")
    done = CliRunner().invoke(main, ["plan", command, str(path)] + (["--json"] if as_json else []))
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    assert done.exit_code in (0, 1, 2) and "Traceback" not in done.output
    if as_json:
        data = json.loads(done.stdout)
        assert ("error" in data) == (done.exit_code == 2)
