"""Saying what was read (#14): where each agent came from in ``plan show``, headings that could
not be placed in ``plan check``, JSON errors on exit 2, ownership tables and shared files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.errors import PlanError
from wavedeck.plan.ownership import OwnershipIndex
from wavedeck.plan.reading.loader import load_plan, parse_plan
from wavedeck.tui.cli.main import main

SHAPES = Path(__file__).resolve().parents[2] / "data" / "plans" / "shapes"


def run(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, list(args))
    return done.exit_code, done.stdout, done.stderr


def test_show_says_where_each_agent_came_from() -> None:
    code, out, _ = run("plan", "show", str(SHAPES / "w-prefixed.md"))
    assert code == 0
    assert (
        '│  ├─ w1-a2  W2: Scheduler loop  (line 13, heading "### W2: Scheduler loop" read as an '
        "agent)" in out.splitlines()
    )
    code, out, _ = run("plan", "show", str(SHAPES / "table-rows.md"))
    assert any(
        ln.startswith('│  └─ w1-a2  A2  (line 8, table row "| A2 | INFRA-002')
        for ln in out.splitlines()
    )


def test_show_json_carries_sources_for_other_shapes() -> None:
    code, out, _ = run("plan", "show", "--json", str(SHAPES / "w-prefixed.md"))
    assert code == 0
    data = json.loads(out)
    agent = data["waves"][0]["agents"][1]
    assert agent["source"] == {
        "line": 13,
        "how": "labelled-heading",
        "text": "### W2: Scheduler loop",
    }
    assert agent["issues"][0]["kind"] == "step"
    assert data["waves"][0]["source"]["how"] == "execution-order"


def test_strict_refuses_other_shapes_and_json_prints_the_error() -> None:
    path = str(SHAPES / "w-prefixed.md")
    code, out, err = run("plan", "check", "--strict", path)
    assert code == 2 and out == ""
    assert err.startswith(f"{path}: no waves with agents found (expected '## Wave N")
    code, out, err = run("plan", "show", "--strict", "--json", path)
    assert code == 2 and "no waves with agents found" in err
    error = json.loads(out)["error"]
    assert error["line"] is None and error["source"] == path
    assert error["message"].startswith("no waves with agents found (expected")


def test_json_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.md"
    path.write_text("# P\n\n## Wave 1: Setup\n\nProse only.\n\n## Wave 2: More\n\nStill prose.\n")
    code, out, err = run("plan", "check", "--json", str(path))
    assert code == 2
    error = json.loads(out)["error"]
    assert error["line"] == 3
    assert error["message"].startswith(
        "no waves with agents found: read 2 wave headings with no agent under them (lines 3, 7)"
    )
    assert f"{path}:3: no waves with agents found" in err


def test_agents_under_an_unreadable_wave_heading_are_reported() -> None:
    text = "# P\n\n## Wave One\n\n### W1: Alpha\nFiles: a.py\n\n### W2: Beta\nFiles: b.py\n"
    with pytest.raises(PlanError) as info:
        parse_plan(text, "p.md")
    assert info.value.line == 5
    assert info.value.message == (
        "no waves with agents found: heading '### W1: Alpha' reads as an agent but its section "
        "'## Wave One' is not a wave heading (a wave heading is '## Wave N — title', with N in "
        "digits)"
    )


def test_agent_like_heading_outside_the_waves_of_a_reference_plan_is_a_warning() -> None:
    text = (
        "# P\n\n## Wave 1 — Fixes\n\n### Agent 1: Core\n**Files**: `a.py`\n"
        "| Issue | Severity | Summary |\n|---|---|---|\n| c-1 | HIGH | x |\n\n"
        "## Notes\n\n### Track A: Docs later\n"
    )
    result = parse_plan(text, "p.md")
    [finding] = [f for f in result.findings if f.code == "unread-heading"]
    assert (finding.level, finding.line) == ("warning", 13)
    assert "'### Track A: Docs later' looks like an agent" in finding.message
    assert [a.id for a in result.plan.agents] == ["w1-a1"]


MATRIX = """# Matrix ownership

### W1: Alpha
**Files:** `src/a.py`, `src/c.py`

1. Do a

### W2: Beta
**Files:** `src/b.py`

1. Do b

## Ownership

| File | W1 | W2 |
|---|---|---|
| src/a.py | ✓ | |
| src/b.py | | ✓ |
| src/c.py | | ✓ |
| src/shared.py | ✓ | ✓ |
"""


def test_matrix_ownership_merges_and_reports_disagreements() -> None:
    result = parse_plan(MATRIX, "m.md")
    plan = result.plan
    alpha, beta = plan.agents
    assert alpha.paths == ("src/a.py", "src/c.py", "src/shared.py")
    assert beta.paths == ("src/b.py", "src/c.py", "src/shared.py")
    assert alpha.shared == beta.shared == ("src/shared.py",)
    findings = run_checks(plan, result.findings)
    assert [(f.code, f.line) for f in findings] == [("overlap", 9), ("ownership-mismatch", 19)]
    mismatch = findings[1]
    assert mismatch.message == (
        "src/c.py: the ownership table gives it to W2, but W1 lists it too (line 4)"
    )
    assert mismatch.agents == ("w1-a2", "w1-a1") and mismatch.path == "src/c.py"


def test_shared_ownership_classifies_writes_by_any_sharer_as_owned() -> None:
    plan = load_plan(SHAPES / "shared.md").plan
    index = OwnershipIndex(plan, 1)
    lib = "crates/parse/src/lib.rs"
    mine = index.classify(lib, writer="w1-a1")
    assert (mine.kind, mine.shared, mine.owners) == ("owned", True, ("w1-a1", "w1-a2"))
    assert [(r.start, r.end) for r in mine.ranges] == [(1, 700)]
    assert mine.describe() == "shared on purpose by w1-a1, w1-a2 (lines 1-700)"
    theirs = index.classify(lib, writer="w1-a2")
    assert theirs.kind == "owned" and [(r.start, r.end) for r in theirs.ranges] == [(701, None)]
    unknown = index.classify("crates/parse/src/tokens.rs")
    assert (unknown.kind, unknown.shared, unknown.ranges) == ("owned", True, ())
    assert index.classify(lib, writer="w9-a9").kind == "foreign"
    assert index.classify("crates/parse/src/expr.rs", writer="w1-a2").kind == "foreign"


def test_overlapping_line_ranges_are_a_warning() -> None:
    text = (SHAPES / "shared.md").read_text(encoding="utf-8").replace("lib.rs:701+", "lib.rs:650+")
    result = parse_plan(text, "s.md")
    [f] = run_checks(result.plan, result.findings)
    assert (f.code, f.level, f.line) == ("overlap", "warning", 14)
    assert f.message == (
        "crates/parse/src/lib.rs is split by line ranges, but w1-a1 and w1-a2 both claim lines "
        "650-700 in wave 1"
    )


def test_a_checklist_no_agent_holds_is_reported() -> None:
    text = (
        "# P\n\n### W1: A\nFiles: a.py\n\n- [ ] do a\n\n### W2: B\nFiles: b.py\n\n- [ ] do b\n\n"
        "## Final checks\n\n- [ ] run the suite\n- [ ] tag\n"
    )
    result = parse_plan(text, "p.md")
    [f] = [f for f in result.findings if f.code == "unread-heading"]
    assert (f.level, f.line) == ("warning", 15)
    assert f.message == (
        "a checklist of 2 items under '## Final checks', which is no agent: its items are not "
        "read as work"
    )


def test_no_agents_names_the_lists_it_could_not_place() -> None:
    with pytest.raises(PlanError) as info:
        parse_plan("# P\n\n## Backend\n\n- [ ] do a\n\n## Frontend\n\n1. do b\n", "p.md")
    assert info.value.line == 5
    assert info.value.message.startswith(
        "no waves with agents found: numbered lists or checklists outside any agent (lines 5, 9)."
    )
