"""The plan fixtures in tests/data/plans: every style at once, and every problem at once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.models import AGENT_ID_RE
from wavedeck.plan.reading.loader import load_plan
from wavedeck.tui.cli.main import main


def test_variations_plan_reads_cleanly(plans_dir: Path) -> None:
    result = load_plan(plans_dir / "variations.md")
    plan = result.plan
    assert run_checks(plan, result.findings) == []
    core, web = plan.waves[0].agents
    assert core.package == "packages/core/"
    assert core.paths == ("packages/core/src/util.py", "packages/core/src/io.py")
    assert [(i.id, i.order, i.severity) for i in core.issues] == [
        ("core-01", 1, "CRITICAL"),
        ("core-02", 2, "HIGH"),
    ]
    assert core.issues[1].depends_on == ("core-01",)
    assert core.issues[0].extra == {"Effort": "2d"}
    assert web.paths == ("packages/web/app.ts", "packages/web/routes/home.tsx")
    assert web.title == "Web, colon outside the bold, comma-separated files"
    w2 = plan.waves[1]
    assert (w2.title, w2.scope) == ("MEDIUM severity", ("MEDIUM",))
    assert w2.agents[0].issues[0].depends_on == ("core-02",)
    assert w2.agents[1].issues[0].depends_on == ("web-1",)  # "01" == "1", same prefix
    assert plan.test_commands == ("pytest -q", "npm test")


def test_several_problems_are_all_reported(plans_dir: Path) -> None:
    path = plans_dir / "several-problems.md"
    done = CliRunner().invoke(main, ["plan", "check", str(path)])
    assert done.exit_code == 1
    got = [ln.split(": ", 2)[:2] for ln in done.stdout.splitlines()]
    assert got == [
        [f"{path}:9", "error[count-mismatch]"],
        [f"{path}:16", "warning[severity-scope]"],
        [f"{path}:17", "error[unknown-dependency]"],
        [f"{path}:17", "warning[severity-order]"],
        [f"{path}:18", "error[resolved-scheduled]"],
        [f"{path}:18", "warning[severity-order]"],
        [f"{path}:22", "error[overlap]"],
        [f"{path}:22", "error[path-escape]"],
        [f"{path}:25", "error[bad-severity]"],
        [f"{path}:25", "error[dependency-order]"],
        [f"{path}:25", "error[duplicate-issue]"],
        [f"{path}:26", "error[bad-row]"],
        [f"{path}:28", "error[no-files]"],
        [f"{path}:28", "error[no-work]"],
    ]


@pytest.mark.parametrize(
    "issue_id", ["a:b", "a/b", "..", "a..b", "a b", ".a", "-a", "a;b", "$(id)"]
)
def test_ids_unsafe_for_names_and_refs_are_refused(issue_id: str) -> None:
    """Reliability matrix D12: issue ids end up in file names, commit trailers and prompts."""
    from wavedeck.plan.reading.loader import parse_plan

    text = (
        "# P\n\n## Wave 1\n\n### Agent 1: A\n**Package**: `a/`\n**Files**: `a.py`\n"
        f"| Issue | Severity |\n|---|---|\n| ok-1 | HIGH |\n| {issue_id} | HIGH |\n"
    )
    result = parse_plan(text)
    assert [i.id for i in result.plan.issues] == ["ok-1"]
    assert [(f.code, f.line) for f in result.findings] == [("bad-row", 11)]


def test_agent_ids_are_valid_git_ref_components(reference_plan_path: Path) -> None:
    for agent in load_plan(reference_plan_path).plan.agents:
        assert AGENT_ID_RE.match(agent.id)
        done = subprocess.run(
            ["git", "check-ref-format", f"refs/heads/wavedeck/{agent.id}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
        assert done.returncode == 0
