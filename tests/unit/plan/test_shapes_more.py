"""The neighbours of #14's shapes: other agent words, prompts in fenced blocks, paths named in
checklists, plain ``Agent N`` sections without waves, a wave column in an agents table, agents
an execution order forgets, and the small grammars underneath."""

from __future__ import annotations

from pathlib import Path

import pytest

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.errors import PlanError
from wavedeck.plan.models import Plan
from wavedeck.plan.reading import fileentries as fe
from wavedeck.plan.reading import shapes as sh
from wavedeck.plan.reading.loader import load_plan, parse_plan

SHAPES = Path(__file__).resolve().parents[2] / "data" / "plans" / "shapes"


def read(text: str) -> Plan:
    return parse_plan(text, "p.md").plan


def test_prompts_in_fenced_blocks_declare_files() -> None:
    plan = load_plan(SHAPES / "prompt-fence.md").plan
    assert [(a.id, a.title, a.paths) for a in plan.agents] == [
        ("w1-a1", "W1: Job loop", ("src/jobs.rs", "src/queue.rs")),
        ("w1-a2", "W2: Storage", ("src/store.rs", "src/index.rs")),
    ]
    assert plan.agents[0].files_line == 11
    assert [i.summary for i in plan.issues] == ["Make the loop cancellable", "Batch writes"]


@pytest.mark.parametrize(
    ("heading", "label", "number"),
    [
        ("## Stream B: Importers", "Stream B", 2),
        ("## Lane 3 — Importers", "Lane 3", 3),
        ("## Worker 2: Importers", "Worker 2", 2),
        ("## Agent C: Importers", "Agent C", 3),
        ("## Team A - Importers", "Team A", 1),
        ("## Work Stream D: Importers", "Work Stream D", 4),
    ],
)
def test_other_words_for_an_agent(heading: str, label: str, number: int) -> None:
    plan = read(f"# P\n\n{heading}\nFiles: `imp/a.py`\n\n- [ ] Read CSV\n")
    [agent] = plan.agents
    assert (agent.id, agent.title) == (f"w1-a{number}", f"{label}: Importers")
    assert agent.paths == ("imp/a.py",)


def test_words_that_only_look_like_agents() -> None:
    assert sh.keyword_heading("Agent Responsibilities") is None
    assert sh.keyword_heading("Stream processing") is None
    assert sh.combined_heading("Wave 1 — Agent 3 fixes") is None  # a wave titled so
    assert sh.prefix_heading("Phase 1: Setup") is None


def test_paths_named_in_a_checklist_are_the_files() -> None:
    plan = read(
        "# P\n\n### W1: API\n\n- [ ] Create `lib/api.ts`\n- [ ] Wire `lib/routes.ts` into "
        "`npm run dev`\n\n### W2: UI\n\n- [ ] Create `ui/page.tsx`\n"
    )
    assert [a.paths for a in plan.agents] == [("lib/api.ts", "lib/routes.ts"), ("ui/page.tsx",)]


def test_agent_n_sections_without_waves_are_one_wave() -> None:
    """``Agent N`` sections read numbered lists as work only under a Tasks label or heading (in
    the reference format a numbered list is prose); a list left unread is said, not dropped."""
    result = parse_plan(
        "# P\n\n### Agent 1: Core\n**Files**: `a.py`\n**Tasks:**\n\n1. Fix a\n\n"
        "### Agent 2: Web\n**Files**: `b.py`\n\n1. Fix b\n",
        "p.md",
    )
    plan = result.plan
    assert [(a.id, a.title) for a in plan.agents] == [("w1-a1", "Core"), ("w1-a2", "Web")]
    assert [(i.id, i.summary) for i in plan.issues] == [("w1-a1-1", "Fix a")]
    [f] = result.findings
    assert (f.code, f.level, f.line) == ("unread-heading", "warning", 12)
    assert f.message == (
        "w1-a2 (Web) has a numbered list but no issue table; it is not read as work (put it "
        "under a 'Tasks' heading or label, or write a checklist)"
    )


def test_agents_table_with_a_wave_column() -> None:
    plan = read(
        "# P\n\n## Agents\n\n| Agent | Wave | Task | Files |\n|---|---|---|---|\n"
        "| Worker 1 | 1 | Parse input | `src/parse.py` |\n"
        "| Worker 2 | 1 | Render output | `src/render.py` |\n"
        "| Worker 3 | 2 | Glue both | `src/main.py` |\n"
    )
    assert [(a.id, a.title, a.paths) for a in plan.agents] == [
        ("w1-a1", "Worker 1: Parse input", ("src/parse.py",)),
        ("w1-a2", "Worker 2: Render output", ("src/render.py",)),
        ("w2-a3", "Worker 3: Glue both", ("src/main.py",)),
    ]


def test_an_agent_the_execution_order_forgets_runs_in_the_first_wave() -> None:
    text = (
        "# P\n\n### W1: A\nFiles: a.py\n\n1. a\n\n### W2: B\nFiles: b.py\n\n1. b\n\n"
        "### W3: C\nFiles: c.py\n\n1. c\n\n## Order\n\nWave 1: W1\nWave 2: W2\n"
    )
    result = parse_plan(text, "p.md")
    assert [[a.title for a in w.agents] for w in result.plan.waves] == [
        ["W1: A", "W3: C"],
        ["W2: B"],
    ]
    [f] = run_checks(result.plan, result.findings)
    assert (f.code, f.level, f.line) == ("implicit-wave", "warning", 13)
    assert f.message == "'W3' is named by no wave of the plan's execution order; it runs in wave 1"


def test_agent_n_in_a_phase_reads_work_items() -> None:
    plan = read("# P\n\n## Phase 1: Go\n\n### Agent 1: Core\nFiles: `a.py`\n\n- [ ] Fix a\n")
    assert [(i.id, i.kind) for i in plan.issues] == [("w1-a1-1", "checklist")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("`lib.rs:1-700`", [("lib.rs", False, ((1, 700),))]),
        ("`lib.rs:701+`", [("lib.rs", False, ((701, None),))]),
        ("`a.ts` (SHARED), `b.ts`", [("a.ts", True, ()), ("b.ts", False, ())]),
        ("`big.py` (lines 10-20)", [("big.py", False, ((10, 20),))]),
        ("x.py (shared with W2), y.py", [("x.py", True, ()), ("y.py", False, ())]),
        ("`a.py`, `b.py`", [("a.py", False, ()), ("b.py", False, ())]),
    ],
)
def test_file_entries(text: str, expected: list[tuple[str, bool, tuple[object, ...]]]) -> None:
    assert [(e.raw, e.shared, e.ranges) for e in fe.file_entries(text)] == expected


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("Workstream A: Tests (High Priority)", "HIGH"),
        ("**Priority:** P0", "CRITICAL"),
        ("[low] tidy", "LOW"),
        ("MEDIUM: rename", "MEDIUM"),
        ("High-traffic handlers", None),
    ],
)
def test_priority_words(text: str, severity: str | None) -> None:
    assert sh.priority_of(text) == severity


def test_task_headings_with_dotted_numbers() -> None:
    plan = read(
        "# P\n\n## Agent A: Backend\nFiles: `a.py`\n\n### Task 1.1: Set up\n\n### Task 1.2: Routes\n"
    )
    assert [(i.id, i.summary, i.kind) for i in plan.issues] == [
        ("w1-a1-1", "Task 1.1: Set up", "task-heading"),
        ("w1-a1-2", "Task 1.2: Routes", "task-heading"),
    ]


def test_phases_without_agents_are_named_when_nothing_is_read() -> None:
    text = "# P\n\n## Phase 1: Foundation\n\n### 1.1 Setup\n\n- [ ] tables\n\n## Phase 2: Build\n"
    with pytest.raises(PlanError) as info:
        parse_plan(text, "p.md")
    assert info.value.line == 3
    assert info.value.message.startswith(
        "no waves with agents found: read 2 phase headings with no agent (lines 3, 9); "
        "numbered lists or checklists outside any agent (lines 7)."
    )


def test_agents_naming_their_own_wave_are_sorted_by_it() -> None:
    plan = read(
        "# P\n\n## Workstream A: Later\n**Wave:** 2\nFiles: `a.py`\n\n- [ ] a\n\n"
        "## Workstream B: First\n**Wave:** 1\nFiles: `b.py`\n\n- [ ] b\n"
    )
    assert [(w.number, [a.id for a in w.agents]) for w in plan.waves] == [
        (1, ["w1-a2"]),
        (2, ["w2-a1"]),
    ]


def test_numbered_items_of_an_execution_order_section_are_waves() -> None:
    text = (
        "# P\n\n### W1: A\nFiles: a.py\n\n1. a\n\n### W2: B\nFiles: b.py\n\n1. b\n\n"
        "### W3: C\nFiles: c.py\n\n1. c\n\n## Execution order\n\n"
        "1. W1 and W2 in parallel\n2. W3, after W1 is merged\n"
    )
    result = parse_plan(text, "p.md")
    assert [(w.number, [a.id for a in w.agents]) for w in result.plan.waves] == [
        (1, ["w1-a1", "w1-a2"]),
        (2, ["w2-a3"]),
    ]
    source = result.plan.waves[1].source
    assert source is not None and (source.line, source.how) == (21, "execution-order")
    assert run_checks(result.plan, result.findings) == []


def test_task_table_rows_keep_their_ids_and_bad_ids_are_reported() -> None:
    result = parse_plan(
        "# P\n\n### W1: API\n**Files:** `api.py`\n\n| ID | Task | Priority |\n|---|---|---|\n"
        "| API-1 | Add auth | High |\n| bad id | Add logs | Low |\n|  | T9: Add limits | |\n\n"
        "### W2: UI\n**Files:** `ui.ts`\n\n| File |\n|---|\n| `ui/extra.ts` |\n\n- [ ] Draw\n",
        "p.md",
    )
    plan = result.plan
    assert [(i.id, i.severity, i.summary) for i in plan.agent("w1-a1").issues] == [
        ("API-1", "HIGH", "Add auth"),
        ("T9", "UNSET", "Add limits"),
    ]
    [bad] = [f for f in result.findings if f.code == "bad-row"]
    assert bad.line == 9 and "'bad id'" in bad.message
    assert plan.agent("w1-a2").paths == ("ui.ts", "ui/extra.ts")
