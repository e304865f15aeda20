"""The reference plan held against its own repository (the zajel skeleton): the findings are the
ones worked out by hand from the plan, the tree and the issues' fix plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from wavedeck.agents.repoview import read_issue_files, repo_view
from wavedeck.plan.checking.api import CheckContext
from wavedeck.plan.checking.repochecks import REPO_CHECKS, check_missing_files, check_predicted
from wavedeck.plan.errors import Finding
from wavedeck.plan.models import Plan
from wavedeck.plan.reading.loader import load_plan

Z = "packages/headless-client/zajel/"
CF = "packages/server/src/"
WEB = "packages/website/"


@pytest.fixture(scope="module")
def plan(reference_plan_path: Path) -> Plan:
    result = load_plan(reference_plan_path)
    assert result.plan is not None
    return result.plan


@pytest.fixture(scope="module")
def findings(plan: Plan, zajel_repo: tuple[Path, dict[str, str]]) -> list[Finding]:
    ctx = CheckContext(plan=plan, repo=repo_view(zajel_repo[0]))
    return [f for check in REPO_CHECKS for f in check(ctx)]


def _of(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


def test_predicted_overlaps_name_both_agents(findings: list[Finding]) -> None:
    # Wave 2: w2-a1 declares client.py + groups.py, w2-a2 declares channels.py among others.
    # headless-20 and -30 (w2-a1) need channels.py; headless-17 and -28 (w2-a2) need groups.py.
    # Wave 3: headless-38 (w3-a1) needs crypto.py, which w3-a2 declares.
    expected = {
        ("headless-20", ("w2-a1", "w2-a2"), Z + "channels.py"),
        ("headless-30", ("w2-a1", "w2-a2"), Z + "channels.py"),
        ("headless-17", ("w2-a2", "w2-a1"), Z + "groups.py"),
        ("headless-28", ("w2-a2", "w2-a1"), Z + "groups.py"),
        ("headless-38", ("w3-a1", "w3-a2"), Z + "crypto.py"),
    }
    got = _of(findings, "predicted-overlap")
    assert {(f.issue, f.agents, f.path) for f in got} == expected
    assert all(f.level == "error" for f in got)


def test_predicted_overlap_points_at_the_issue_row(findings: list[Finding], plan: Plan) -> None:
    rows = {i.id: i.line for i in plan.issues}
    for f in _of(findings, "predicted-overlap"):
        assert f.line == rows[f.issue]
    text = next(f.message for f in findings if f.issue == "headless-38")
    assert "w3-a2 owns" in text and "issues/issue-headless-38-plan.md" in text


def test_predicted_other_wave(findings: list[Finding]) -> None:
    # crypto.py is declared in waves 1 and 3 only; crypto/attestation.js in waves 1 and 2 only.
    expected = {
        ("headless-19", Z + "crypto.py", ("w2-a2", "w1-a1", "w3-a2")),
        ("server-37", CF + "crypto/attestation.js", ("w3-a3", "w1-a3", "w2-a3")),
        ("server-38", CF + "crypto/attestation.js", ("w3-a3", "w1-a3", "w2-a3")),
        ("server-39", CF + "crypto/attestation.js", ("w3-a3", "w1-a3", "w2-a3")),
    }
    got = _of(findings, "predicted-other-wave")
    assert {(f.issue, f.path, f.agents) for f in got} == expected
    assert all(f.level == "warning" for f in got)


def test_predicted_undeclared(findings: list[Finding]) -> None:
    # The plan says daemon.py / protocol.py; the fix plans name cli/daemon.py, cli/protocol.py.
    # The website's fix plans need files outside app/; server-4's names deleted dead code.
    cli_d, cli_p = Z + "cli/daemon.py", Z + "cli/protocol.py"
    expected = {
        ("headless-01", cli_d),
        ("headless-01", cli_p),
        ("headless-10", cli_d),
        ("headless-10", cli_p),
        ("headless-09", cli_p),
        ("server-4", CF + "durable-objects/relay-registry-do.js"),
        ("website-1", WEB + "package.json"),
        ("website-3", WEB + "public/_headers"),
        ("website-21", WEB + "public/_headers"),
        ("headless-21", cli_d),
        ("headless-26", cli_d),
        ("headless-27", cli_d),
        ("website-8", WEB + "public/fonts/"),
        ("headless-36", cli_p),
        ("website-17", WEB + "vite.config.ts"),
    }
    got = _of(findings, "predicted-undeclared")
    assert {(f.issue, f.path) for f in got} == expected
    by_key = {(f.issue, f.path): f.message for f in got}
    # The Files entry to add, relative to the package, and what the plan probably meant.
    assert "add `cli/daemon.py` to its Files" in by_key[("headless-01", cli_d)]
    assert (
        "`daemon.py` does not exist and probably means this file" in by_key[("headless-01", cli_d)]
    )
    assert (
        "outside its package packages/website/app/"
        in by_key[("website-3", WEB + "public/_headers")]
    )
    assert "(new file)" in by_key[("website-3", WEB + "public/_headers")]
    assert "(not in the repo)" in by_key[("server-4", CF + "durable-objects/relay-registry-do.js")]


def test_missing_files_with_suggestions(
    plan: Plan, zajel_repo: tuple[Path, dict[str, str]]
) -> None:
    ctx = CheckContext(plan=plan, repo=repo_view(zajel_repo[0]))
    got = {(f.agents, f.path): f.message for f in check_missing_files(ctx)}
    assert set(got) == {
        (("w1-a2",), Z + "daemon.py"),
        (("w2-a2",), Z + "daemon.py"),
        (("w1-a5",), WEB + "app/public/_headers"),
        (("w2-a5",), WEB + "app/vite.config.ts"),
        (("w3-a5",), WEB + "app/vite.config.ts"),
    }
    assert got[(("w1-a2",), Z + "daemon.py")].endswith(f"did you mean {Z}cli/daemon.py?")
    # The website's own vite.config.ts, not packages/web-client/vite.config.ts.
    assert got[(("w2-a5",), WEB + "app/vite.config.ts")].endswith(
        "did you mean packages/website/vite.config.ts?"
    )
    assert got[(("w1-a5",), WEB + "app/public/_headers")].endswith("no file of that name exists")


def test_without_repo_nothing(plan: Plan) -> None:
    ctx = CheckContext(plan=plan)
    assert [f for check in REPO_CHECKS for f in check(ctx)] == []
    assert list(check_predicted(ctx)) == []


def test_read_issue_files(zajel_repo: tuple[Path, dict[str, str]]) -> None:
    files = read_issue_files(zajel_repo[0], "headless-05")
    assert [p for p, _ in files] == [
        "issues/issue-headless-05.md",
        "issues/issue-headless-05-plan.md",
    ]
    assert files[1][1].startswith("# Plan: Handshake")
    # 05/5 spellings, and patterns pointing elsewhere fall back to the file name.
    assert len(read_issue_files(zajel_repo[0], "headless-5")) == 2
    assert read_issue_files(zajel_repo[0], "server-99") == []
    assert [p for p, _ in read_issue_files(zajel_repo[0], "server-01", ["a/issue-{id}.md"])] == [
        "issues/issue-server-1.md"
    ]
    assert [p for p, _ in read_issue_files(zajel_repo[0], "server-1", ["x/issue-{id}.md"])] == [
        "issues/issue-server-1.md"
    ]


def test_run_checks_runs_the_repo_checks(
    plan: Plan, zajel_repo: tuple[Path, dict[str, str]]
) -> None:
    from wavedeck.plan.checking.checks import run_checks

    codes = [f.code for f in run_checks(plan, (), repo_view(zajel_repo[0]))]
    assert codes.count("predicted-overlap") == 5
    assert codes.count("missing-file") == 5
    assert "predicted-overlap" not in [f.code for f in run_checks(plan, (), None)]
