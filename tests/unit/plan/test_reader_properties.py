"""Properties of every plan the reader accepts (issue #23), whatever its shape: two agents never
share an id, and every file an agent lists is a path, never a checklist item's text. Mutated
Scout-and-Wave manifests only ever raise ``PlanError``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.errors import PlanError
from wavedeck.plan.reading.loader import parse_plan
from wavedeck.plan.render import plan_json, tree

DATA = Path(__file__).resolve().parents[2] / "data" / "plans"
CHECKBOX = re.compile(r"^\s*[-*+]?\s*\[[ xX✓✔]?\]\s")

HEADINGS = [
    "## Wave 1 — core",
    "## Wave 2",
    "## Phase 1",
    "## Phase 2",
    "### Agent 1: Core",
    "### Agent 1: Twin",
    "### Agent 2: Web",
    "### Agent A: Backend",
    "### Agent B: Frontend",
    "### Backend agent",
    "### Frontend Agent",
    "### W1: Jobs",
    "### W2: Store",
    "#### Wave 1 Agent A: Token bucket",
    "#### Wave 1 Agent A: Again",
    "### Agent A - Completion Report",
    "#### Completion Report",
    "### File Ownership",
    "### Status",
]
BODIES = [
    "Files:",
    "**Files**: `src/a.py`, `src/b.py`",
    "Files: `[ ] Add a login form`",
    "**Package**: `src/`",
    "- `src/a.py`",
    "- src/b.py (new)",
    "- [ ] Add a login form",
    "- [x] Show errors",
    "- [ ] Create `lib/api.ts`",
    "1. Step one",
    "",
    "Build the form in React.",
    "| Issue | Severity | Summary |\n|---|---|---|\n| c-1 | HIGH | x |",
    "| File | Agent | Wave |\n|---|---|---|\n| src/a.py | A | 1 |",
    "```\n## 1. File Ownership\n- `src/c.py` - create\n```",
    "```yaml type=impl-completion-report\nstatus: complete\n```",
    "**Status:** partial",
]


@st.composite
def natural_plans(draw: st.DrawFn) -> str:
    lines = ["# Plan", ""]
    for _ in range(draw(st.integers(1, 14))):
        lines.append(draw(st.sampled_from(HEADINGS)))
        lines.append("")
        for _ in range(draw(st.integers(0, 4))):
            lines.append(draw(st.sampled_from(BODIES)))
        lines.append("")
    return "\n".join(lines)


def holds(text: str, strict: bool = False) -> None:
    try:
        result = parse_plan(text, "p.md", strict=strict)
    except PlanError:
        return
    plan = result.plan
    ids = [a.id for a in plan.agents]
    assert len(ids) == len(set(ids)), ids
    for agent in plan.agents:
        for path in (*agent.files, *agent.paths):
            assert not CHECKBOX.match(path), (agent.id, path)
            assert "[ ]" not in path and "[x]" not in path, (agent.id, path)
    findings = run_checks(plan, result.findings)
    assert all(1 <= f.line <= max(plan.line_count, 1) for f in findings)
    json.loads(plan_json(plan))
    tree(plan)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(natural_plans())
def test_accepted_plans_have_unique_ids_and_only_paths_as_files(text: str) -> None:
    holds(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(natural_plans())
def test_the_same_holds_for_strict_reading(text: str) -> None:
    holds(text, strict=True)


MANIFEST = (DATA / "saw" / "IMPL-audit-log.yaml").read_text(encoding="utf-8").split("\n")
YAML_BITS = [
    "  ",
    "- ",
    ": ",
    "[",
    "]",
    "{",
    "}",
    "&a",
    "*a",
    "!!str",
    "'",
    '"',
    "#",
    "\t",
    "id: A",
]


@st.composite
def mutated_manifests(draw: st.DrawFn) -> str:
    lines = list(MANIFEST)
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "splice", "swap"]))
        if action == "delete" and len(lines) > 1:
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "splice":
            cut = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:cut] + draw(st.sampled_from(YAML_BITS)) + lines[at][cut:]
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
    return "\n".join(lines)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_manifests())
def test_mutated_manifests_only_raise_plan_errors(text: str) -> None:
    try:
        result = parse_plan(text, "IMPL-x.yaml")
    except PlanError as exc:
        assert exc.line is None or exc.line >= 1
        return
    ids = [a.id for a in result.plan.agents]
    assert len(ids) == len(set(ids))
    findings = run_checks(result.plan, result.findings)
    assert all(1 <= f.line <= result.plan.line_count for f in findings)
    json.loads(plan_json(result.plan))
    tree(result.plan)
