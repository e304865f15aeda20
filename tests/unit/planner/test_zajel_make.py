"""``plan make`` on the reference plan's own repository: the made plan passes ``plan check
--repo`` with no error (no predicted overlap), in at most 3 waves of at most 5 agents, where the
hand-written plan has 5 predicted overlaps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wavedeck.agents.repoview import repo_view
from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.reading.loader import load_plan
from wavedeck.tui.cli.main import main

Repo = tuple[Path, dict[str, str]]


def _make(repo: Path, *args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, ["plan", "make", "--repo", str(repo), *args])
    return done.exit_code, done.stdout, done.stderr


@pytest.fixture(scope="module")
def made(
    zajel_repo: Repo, reference_plan_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("made") / "made.md"
    code, _, err = _make(zajel_repo[0], "--from", str(reference_plan_path), "-o", str(out))
    assert code == 0, err
    return out


def test_made_plan_passes_plan_check_with_no_error(made: Path, zajel_repo: Repo) -> None:
    done = CliRunner().invoke(
        main, ["plan", "check", str(made), "--repo", str(zajel_repo[0]), "--json"]
    )
    report = json.loads(done.stdout)
    assert done.exit_code == 0 and report["errors"] == 0, report
    assert not [f for f in report["findings"] if f["code"] == "predicted-overlap"]


def test_made_plan_shape_against_the_hand_written_one(
    made: Path, zajel_repo: Repo, reference_plan_path: Path
) -> None:
    plan = load_plan(made).plan
    hand = load_plan(reference_plan_path).plan
    assert sorted(i.id for i in plan.issues) == sorted(i.id for i in hand.issues)
    assert len(plan.waves) <= 3
    assert all(len(w.agents) <= 5 for w in plan.waves)
    # What the README reports: one wave of five agents, one per package and two for the client.
    assert [[len(a.issues) for a in w.agents] for w in plan.waves] == [[19, 19, 25, 9, 22]]
    assert [a.package for a in plan.waves[0].agents] == [
        "packages/headless-client/zajel/",
        "packages/headless-client/zajel/",
        "packages/server/src/",
        "packages/server-vps/src/",
        "packages/website/",
    ]
    # The hand-written plan, held against the same repository, has 5 predicted overlaps.
    hand_codes = [f.code for f in run_checks(hand, (), repo_view(zajel_repo[0]))]
    assert hand_codes.count("predicted-overlap") == 5
    # Kept from the source plan: its rules (so its test commands) and its resolved issues.
    assert plan.test_commands == hand.test_commands
    assert [r.id for r in plan.resolved] == [r.id for r in hand.resolved]


@pytest.mark.parametrize(
    "extra", [["--max-issues", "11"], ["--max-agents", "3"], ["--max-waves", "3"]]
)
def test_limits_still_pass(zajel_repo: Repo, reference_plan_path: Path, extra: list[str]) -> None:
    code, out, err = _make(zajel_repo[0], "--from", str(reference_plan_path), "--json", *extra)
    assert code == 0, err
    data = json.loads(out)
    assert data["errors"] == 0
    assert all(len(w["agents"]) <= 5 for w in data["waves"]) and len(data["waves"]) <= 3


def test_same_input_same_plan(zajel_repo: Repo, reference_plan_path: Path) -> None:
    first = _make(zajel_repo[0], "--from", str(reference_plan_path))
    second = _make(zajel_repo[0], "--from", str(reference_plan_path))
    assert first[0] == 0 and first[1] == second[1]


def test_max_issues_11_three_waves_packages_apart(
    zajel_repo: Repo, reference_plan_path: Path
) -> None:
    # The README's second result: 3 waves of 5, 5 and 1 agents, each in one package, at most 11
    # issues an agent, every critical issue in wave 1.
    args = ["--from", str(reference_plan_path), "--json", "--max-issues", "11"]
    code, out, err = _make(zajel_repo[0], *args)
    assert code == 0, err
    data = json.loads(out)
    assert [len(w["agents"]) for w in data["waves"]] == [5, 5, 1]
    agents = [a for w in data["waves"] for a in w["agents"]]
    assert all(len(a["issues"]) <= 11 and a["package"] != "packages/" for a in agents)
    critical = {i["id"] for a in agents for i in a["issues"] if i["severity"] == "CRITICAL"}
    first = {i["id"] for a in data["waves"][0]["agents"] for i in a["issues"]}
    assert len(critical) == 5 and critical <= first
