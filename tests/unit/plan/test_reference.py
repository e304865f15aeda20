"""The reference plan (``security-waves.md``) reads into exactly what it says."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.reading.loader import load_plan
from wavedeck.plan.render import plan_dict
from wavedeck.tui.cli.main import main


@pytest.fixture(scope="module")
def result(reference_plan_path: Path):  # type: ignore[no-untyped-def]
    return load_plan(reference_plan_path)


def test_waves_agents_and_issue_counts(result) -> None:  # type: ignore[no-untyped-def]
    plan = result.plan
    assert plan.title == "Parallel Execution Plan — 94 Active Security Issues"
    assert [w.number for w in plan.waves] == [1, 2, 3]
    assert [a.id for a in plan.agents] == [f"w{w}-a{a}" for w in (1, 2, 3) for a in range(1, 6)]
    assert [len(w.issue_ids) for w in plan.waves] == [29, 38, 27]
    assert len(plan.issues) == 94
    assert len(plan.resolved) == 8
    assert plan.resolved[0].id == "server-5" and plan.resolved[0].severity == "HIGH"
    assert result.findings == ()


def test_wave_titles_scopes_and_stated_counts(result) -> None:  # type: ignore[no-untyped-def]
    w1, w2, w3 = result.plan.waves
    assert (w1.title, w1.scope, w1.stated_issues, w1.stated_agents) == (
        "CRITICAL + HIGH",
        ("CRITICAL", "HIGH"),
        29,
        5,
    )
    assert (w2.title, w2.scope) == ("MEDIUM severity", ("MEDIUM",))
    assert (w3.title, w3.scope) == ("LOW severity", ("LOW",))
    assert w1.text.startswith("All CRITICAL issues plus HIGH issues")


def test_test_commands_rules_and_strategy(result) -> None:  # type: ignore[no-untyped-def]
    plan = result.plan
    assert plan.test_commands == ("npm run test --workspaces", "cd packages/app && flutter test")
    assert [r.number for r in plan.rules] == [1, 2, 3, 4, 5, 6]
    assert plan.rules[0].text.startswith("**Never skip waves**")
    assert "`packages/headless-client/` (Python) — 38 issues" in plan.strategy
    strategy = {s.package: s.value for s in plan.stated if s.kind == "strategy"}
    assert strategy == {
        "packages/headless-client/": 38,
        "packages/server/": 25,
        "packages/server-vps/": 9,
        "packages/website/": 22,
    }
    kinds = {s.kind for s in plan.stated}
    assert {"summary-issues", "summary-agents", "distribution", "distribution-total"} <= kinds


def test_agents_packages_files_and_dependencies(result) -> None:  # type: ignore[no-untyped-def]
    plan = result.plan
    a = plan.agent("w1-a1")
    assert a.package == "packages/headless-client/zajel/"
    assert a.files == ("client.py", "crypto.py", "channels.py")
    assert "packages/headless-client/zajel/client.py" in a.paths
    assert [i.id for i in a.issues] == [
        "headless-05",
        "headless-06",
        "headless-08",
        "headless-04",
        "headless-11",
    ]
    h06 = a.issues[1]
    assert h06.depends_on == ("headless-05",)
    assert h06.summary == "Encrypted message tries all peers (depends on 05)"
    assert h06.line == 46
    w1a3 = plan.agent("w1-a3")
    assert "packages/server/src/durable-objects/attestation-registry-do.js" in w1a3.paths


def test_check_exit_zero_with_only_legitimate_warnings(result) -> None:  # type: ignore[no-untyped-def]
    findings = run_checks(result.plan, result.findings)
    assert [f for f in findings if f.level == "error"] == []
    scope = [(f.issue, f.wave) for f in findings if f.code == "severity-scope"]
    assert scope == [("headless-11", 1), ("website-6", 1), ("website-9", 1), ("website-21", 1)]
    # The other warnings are real: a CRITICAL after two HIGHs in w1-a2, HIGHs after MEDIUMs in w1-a5.
    order = [(f.issue, f.line) for f in findings if f.code == "severity-order"]
    assert order == [("headless-02", 59), ("website-2", 95), ("website-3", 96)]
    assert {f.code for f in findings} == {"severity-scope", "severity-order"}


def test_cli_check_and_show_json(reference_plan_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(main, ["plan", "check", str(reference_plan_path)])
    assert done.exit_code == 0, done.output
    lines = [ln for ln in done.stdout.splitlines() if ln]
    assert lines[0] == (
        f"{reference_plan_path}:49: warning[severity-scope]: "
        "headless-11 is MEDIUM but wave 1 is scoped CRITICAL + HIGH"
    )
    assert len(lines) == 7
    shown = runner.invoke(main, ["plan", "show", "--json", str(reference_plan_path)])
    assert shown.exit_code == 0
    data = json.loads(shown.stdout)
    assert list(data) == ["title", "waves", "resolved", "rules", "test_commands"]
    agent = data["waves"][0]["agents"][0]
    assert list(agent) == ["id", "number", "title", "package", "files", "paths", "issues"]
    assert list(agent["issues"][1]) == ["id", "order", "severity", "summary", "depends_on", "line"]
    assert agent["issues"][1]["depends_on"] == ["headless-05"]
    assert data == json.loads(json.dumps(plan_dict(load_plan(reference_plan_path).plan)))


def test_real_wavedeck_process_checks_the_reference_plan(reference_plan_path: Path) -> None:
    exe = shutil.which("wavedeck")
    command = (
        [exe] if exe else [sys.executable, "-c", "from wavedeck.tui.cli.main import main; main()"]
    )
    done = subprocess.run(
        [*command, "plan", "check", "--json", str(reference_plan_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    data = json.loads(done.stdout)
    assert data["errors"] == 0 and data["warnings"] == 7
    assert set(data["findings"][0]) == {
        "code",
        "level",
        "line",
        "message",
        "wave",
        "agents",
        "path",
        "issue",
    }
