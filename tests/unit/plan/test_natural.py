"""Plans in a natural style (issue #23): never misread quietly.

A checklist is work wherever it stands (even right after a ``Files:`` list, which Markdown joins
to it), ``### Backend agent`` headings are agents, an agent's prose reaches its prompt, an agent
with no work and a "file" that reads as text are errors.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from wavedeck.agents.wave.prompt import render_prompt
from wavedeck.plan.checking.api import RepoView
from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.reading.loader import load_plan, parse_plan
from wavedeck.tui.cli.main import main


def codes(text: str, repo: RepoView | None = None) -> list[tuple[str, str, int]]:
    result = parse_plan(text, "p.md")
    return [(f.level, f.code, f.line) for f in run_checks(result.plan, result.findings, repo)]


def test_a_checklist_after_a_files_list_is_work_not_files(plans_dir: Path) -> None:
    result = load_plan(plans_dir / "natural" / "login-phases.md")
    backend, frontend = result.plan.agents
    assert backend.paths == ("src/api/login.py", "src/api/session.py")
    assert frontend.paths == ("web/src/Login.tsx",)
    assert [(i.summary, i.kind) for i in frontend.issues] == [
        ("Add a login form", "checklist"),
        ("Show errors inline", "checklist"),
    ]
    assert run_checks(result.plan, result.findings) == []


def test_an_agents_prose_reaches_its_prompt(plans_dir: Path, tmp_path: Path) -> None:
    plan = load_plan(plans_dir / "natural" / "login-phases.md").plan
    prompt = render_prompt(plan, "w1-a2", tmp_path)
    assert "Build the form in React; keep the existing styles." in prompt
    assert "`w1-a2-1` [UNSET] Add a login form" in prompt
    assert "Sessions live in Redis" not in prompt  # the other agent's prose stays its own


def test_named_agent_headings_are_agents(plans_dir: Path) -> None:
    result = load_plan(plans_dir / "natural" / "named-agents.md")
    plan = result.plan
    got = [(a.id, a.title, len(a.issues)) for a in plan.agents]
    assert got == [
        ("w1-a1", "Backend agent", 1),
        ("w1-a2", "Frontend Agent", 1),
        ("w2-a1", "Docs agent: user guide", 1),
    ]
    assert run_checks(plan, result.findings) == []


def test_named_agents_come_after_numbered_ones_in_their_wave() -> None:
    text = (
        "# P\n\n## Phase 1\n\n### Agent 1: Core\nFiles: `a.py`\n- [ ] one\n\n"
        "### Backend agent\nFiles: `b.py`\n- [ ] two\n"
    )
    assert [a.id for a in parse_plan(text).plan.agents] == ["w1-a1", "w1-a2"]


def test_phrases_about_agents_are_not_agents() -> None:
    text = (
        "# P\n\n## Phase 1\n\n### Agent A: Core\nFiles: `a.py`\n- [ ] one\n\n"
        "### The agent\nNotes.\n\n### Each agent\nMore notes.\n"
    )
    assert [a.title for a in parse_plan(text).plan.agents] == ["Agent A: Core"]


def test_an_agent_with_no_work_items_is_an_error(plans_dir: Path) -> None:
    text = (plans_dir / "natural" / "no-work.md").read_text(encoding="utf-8")
    assert codes(text) == [("error", "no-work", 5)]


def test_checklist_text_is_never_a_file() -> None:
    text = (
        "# P\n\n## Phase 1\n\n### Agent A: Core\nFiles: `a.py`, `[ ] Add a login form`\n- [ ] x\n"
    )
    result = parse_plan(text)
    [agent] = result.plan.agents
    assert agent.files == ("a.py",)
    assert agent.prose_files == ("[ ] Add a login form",)
    assert codes(text) == [("error", "not-a-path", 6)]


def test_a_file_with_spaces_and_brackets_that_exists_nowhere_is_an_error() -> None:
    text = "# P\n\n## Phase 1\n\n### Agent A: Core\nFiles: `a.py`, `Add the form (new)`\n- [ ] x\n"
    missing = RepoView(paths=frozenset({"a.py"}))
    assert codes(text, missing) == [("error", "not-a-path", 6)]
    present = RepoView(paths=frozenset({"a.py", "Add the form (new)"}))
    assert codes(text, present) == []  # a strange name, but a real file


def test_a_path_with_a_note_is_the_path() -> None:
    text = "# P\n\n## Phase 1\n\n### Agent A: Core\n\nFiles:\n- src/a.py (new)\n- src/b.py\n\n- [ ] x\n"
    assert parse_plan(text).plan.agents[0].paths == ("src/a.py", "src/b.py")


def test_a_checklist_in_an_agent_n_section_without_an_issue_table_is_its_work() -> None:
    text = (
        "# P\n\n## Wave 1 — core\n\n### Agent 1: Core\n**Package**: `src/`\n**Files**: `a.py`\n\n"
        "- [ ] Fix the parser\n"
    )
    [agent] = parse_plan(text).plan.agents
    assert [(i.summary, i.kind) for i in agent.issues] == [("Fix the parser", "checklist")]
    strict = parse_plan(text, strict=True)  # --strict reads issue tables only: reported
    assert [f.code for f in run_checks(strict.plan, strict.findings)] == ["no-work"]


def test_plan_check_cli_on_the_natural_plan(plans_dir: Path) -> None:
    path = plans_dir / "natural" / "login-phases.md"
    done = CliRunner().invoke(main, ["plan", "check", str(path)])
    assert done.exit_code == 0, done.output
    shown = CliRunner().invoke(main, ["plan", "show", str(path)])
    assert "[ ]" not in shown.stdout and "w1-a2-1 UNSET: Add a login form" in shown.stdout
