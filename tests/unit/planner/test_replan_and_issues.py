"""``plan make --issues`` from the repository's issue files, ``replan_remaining`` (the engine side
of the control room's "re-plan remaining waves"), and the CLI's refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from wavedeck.agents.replan import ReplanError, replan_remaining
from wavedeck.agents.repoview import repo_view
from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.making.inputs import package_of, specs_from_files
from wavedeck.plan.reading.loader import load_plan
from wavedeck.tui.cli.main import main

Repo = tuple[Path, dict[str, str]]


def test_issue_files_give_ids_severity_files_and_dependencies(zajel_repo: Repo) -> None:
    notes: list[str] = []
    specs = {
        s.id: s for s in specs_from_files("issues/issue-*.md", repo_view(zajel_repo[0]), notes)
    }
    assert len(specs) == 102  # the 94 planned and the 8 the plan lists as resolved
    six = specs["headless-06"]
    assert six.severity == "HIGH" and six.depends_on == ("headless-05",)
    assert six.paths == ("packages/headless-client/zajel/client.py",)
    assert six.group == "packages/headless-client/" and six.files_from == "fix plan"
    assert specs["website-3"].paths == ("packages/website/public/_headers",)
    assert specs["server-36"].title


def test_make_from_issue_files_passes_the_check(zajel_repo: Repo, tmp_path: Path) -> None:
    out = tmp_path / "made.md"
    done = CliRunner().invoke(
        main,
        [
            "plan",
            "make",
            "--repo",
            str(zajel_repo[0]),
            "--issues",
            "issues/issue-*.md",
            "-o",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.stderr
    plan = load_plan(out).plan
    assert len(plan.issues) == 102
    errors = [f for f in run_checks(plan, (), repo_view(zajel_repo[0])) if f.level == "error"]
    assert errors == []


def test_replan_keeps_done_waves_and_never_overwrites(
    zajel_repo: Repo, reference_plan_path: Path, tmp_path: Path
) -> None:
    plan_path = tmp_path / "plans" / "security-waves.md"
    plan_path.parent.mkdir()
    shutil.copy(reference_plan_path, plan_path)
    first = replan_remaining(plan_path, zajel_repo[0], {1})
    assert first == plan_path.with_name("security-waves.replanned.md")
    assert plan_path.read_bytes() == reference_plan_path.read_bytes()
    again = replan_remaining(plan_path, zajel_repo[0], {1})
    assert again.name == "security-waves.replanned-2.md"
    assert first.read_text() == again.read_text()
    new, old = load_plan(first).plan, load_plan(plan_path).plan
    assert new.waves[0].number == 1
    assert [a.paths for a in new.waves[0].agents] == [a.paths for a in old.waves[0].agents]
    assert [i.id for i in new.waves[0].agents[0].issues] == [
        i.id for i in old.waves[0].agents[0].issues
    ]
    assert all(w.number >= 2 for w in new.waves[1:])
    assert sorted(i.id for i in new.issues) == sorted(i.id for i in old.issues)
    errors = [f for f in run_checks(new, (), repo_view(zajel_repo[0])) if f.level == "error"]
    assert errors == []


def test_replan_refusals(zajel_repo: Repo, reference_plan_path: Path, tmp_path: Path) -> None:
    plan_path = tmp_path / "p.md"
    shutil.copy(reference_plan_path, plan_path)
    with pytest.raises(ReplanError, match="no wave 9"):
        replan_remaining(plan_path, zajel_repo[0], {9})
    with pytest.raises(ReplanError, match="nothing to re-plan"):
        replan_remaining(plan_path, zajel_repo[0], {1, 2, 3})
    with pytest.raises(ReplanError, match="no such file"):
        replan_remaining(tmp_path / "none.md", zajel_repo[0], set())
    with pytest.raises(ReplanError, match="at least"):
        replan_remaining(plan_path, zajel_repo[0], set(), max_issues=2, max_waves=1)


def test_cli_refusals(zajel_repo: Repo, reference_plan_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    repo = str(zajel_repo[0])
    done = runner.invoke(main, ["plan", "make", "--repo", repo])
    assert done.exit_code == 2 and "exactly one of --from" in done.stderr
    done = runner.invoke(main, ["plan", "make", "--repo", str(tmp_path / "no"), "--issues", "x"])
    assert done.exit_code == 2 and "not a folder" in done.stderr
    done = runner.invoke(main, ["plan", "make", "--repo", repo, "--from", str(tmp_path / "x.md")])
    assert done.exit_code == 2 and "no such file" in done.stderr and "Traceback" not in done.stderr
    done = runner.invoke(main, ["plan", "make", "--repo", repo, "--issues", "nothing/*.md"])
    assert done.exit_code == 1 and "matches no issue file" in done.stderr
    args = ["plan", "make", "--repo", repo, "--from", str(reference_plan_path)]
    done = runner.invoke(main, [*args, "--max-issues", "2", "--max-waves", "2"])
    assert done.exit_code == 1 and "--max-waves 2 is impossible: at least" in done.stderr
    done = runner.invoke(main, [*args, "--output", str(reference_plan_path)])
    assert done.exit_code == 2 and "write the new plan elsewhere" in done.stderr
    done = runner.invoke(main, [*args, "--json", "--explain"])
    assert done.exit_code == 0 and json.loads(done.stdout)["errors"] == 0
    assert "waves: 1 (lower bound 1" in done.stderr


def test_package_of_uses_the_nearest_manifest() -> None:
    manifests = frozenset({"packages/a/", "packages/a/sub/"})
    assert package_of("packages/a/x/y.py", manifests) == "packages/a/"
    assert package_of("packages/a/sub/y.py", manifests) == "packages/a/sub/"
    assert package_of("tools/y.py", manifests) == "tools/"
    assert package_of("y.py", manifests) == ""


def test_replan_refuses_unread_rows_and_late_done_waves(
    zajel_repo: Repo, reference_plan_path: Path, tmp_path: Path
) -> None:
    plan_path = tmp_path / "p.md"
    text = reference_plan_path.read_text(encoding="utf-8")
    plan_path.write_text(text, encoding="utf-8")
    with pytest.raises(ReplanError, match="first waves"):
        replan_remaining(plan_path, zajel_repo[0], {2})
    broken = text.replace("| 2 | headless-06 | HIGH |", "| 2 | headless-06 | HIGH | x | y |", 1)
    plan_path.write_text(broken, encoding="utf-8")
    with pytest.raises(ReplanError, match="fix the plan first"):
        replan_remaining(plan_path, zajel_repo[0], {1})
    done = CliRunner().invoke(
        main, ["plan", "make", "--repo", str(zajel_repo[0]), "--from", str(plan_path)]
    )
    assert done.exit_code == 2 and "cannot read every issue" in done.stderr
    assert not list(tmp_path.glob("*.replanned*.md"))


def test_issue_glob_skips_files_not_named_like_issues(zajel_repo: Repo) -> None:
    notes: list[str] = []
    specs = specs_from_files("issues/*.md", repo_view(zajel_repo[0]), notes)
    assert len(specs) == 102
    assert any("PARALLEL-EXECUTION-PLAN.md (skipped)" in n for n in notes)


def test_limits_are_checked_by_the_command_line(
    zajel_repo: Repo, reference_plan_path: Path
) -> None:
    args = ["plan", "make", "--repo", str(zajel_repo[0]), "--from", str(reference_plan_path)]
    done = CliRunner().invoke(main, [*args, "--max-agents", "0"])
    assert done.exit_code == 2 and "--max-agents" in done.stderr


def test_replan_without_fix_plans_keeps_each_issue_with_its_agents_files(tmp_path: Path) -> None:
    """The demo sandbox has no issue files: re-planning waves 2-3 must still give every issue an
    owner (the files its plan agent declared), and the new plan must pass the check."""
    from wavedeck.agents.tools.demo import PLAN_IN_SANDBOX, make_sandbox

    repo = make_sandbox(tmp_path / "sandbox", fast=True)
    plan = load_plan(repo / PLAN_IN_SANDBOX).plan
    written = replan_remaining(repo / PLAN_IN_SANDBOX, repo, [1])
    assert written.name == "security-waves.replanned.md"
    assert (repo / PLAN_IN_SANDBOX).read_text() != written.read_text()  # a new file, for review
    made = load_plan(written).plan
    later = sorted(i.id for w in plan.waves[1:] for a in w.agents for i in a.issues)
    assert sorted(i.id for w in made.waves[1:] for a in w.agents for i in a.issues) == later
    errors = [f for f in run_checks(made, repo=repo_view(repo)) if f.level == "error"]
    assert errors == []
    declared = {i.id: set(a.paths) for a in plan.agents for i in a.issues}
    for agent in (a for w in made.waves[1:] for a in w.agents):
        for issue in agent.issues:  # no fix plan: the issue owns what its plan agent declared
            assert declared[issue.id] <= set(agent.paths), issue.id


def test_replan_without_fix_plans_takes_packages_from_files_and_spreads_issues(
    tmp_path: Path,
) -> None:
    """Issue #23: without fix plans every agent was given ``packages/`` and one agent 38 issues
    (every plan agent sharing one file was joined into one). Each agent's package now comes from
    its files, and plan agents sharing a file go to successive waves instead."""
    from wavedeck.agents.tools.demo import PLAN_IN_SANDBOX, make_sandbox

    repo = make_sandbox(tmp_path / "sandbox", fast=True)
    out = tmp_path / "made.md"
    done = CliRunner().invoke(
        main,
        [
            "plan",
            "make",
            "--repo",
            str(repo),
            "--from",
            str(repo / PLAN_IN_SANDBOX),
            "-o",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.stderr
    made = load_plan(out).plan
    assert {a.package for a in made.agents} == {
        "packages/headless-client/zajel/",
        "packages/server/src/",
        "packages/server-vps/src/",
        "packages/website/app/",
    }
    assert max(len(a.issues) for a in made.agents) <= 12  # was 38
    assert sum(len(a.issues) for a in made.agents) == 94
    assert [f for f in run_checks(made, repo=repo_view(repo)) if f.level == "error"] == []


def test_make_accepts_work_items_without_severity(tmp_path: Path) -> None:
    """A plan ``plan check`` accepts with unset-severity warnings is planned: unset sorts last."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src/a.py").write_text("", encoding="utf-8")
    (tmp_path / "src/b.py").write_text("", encoding="utf-8")
    plan = tmp_path / "mixed.md"
    plan.write_text(
        "# Mixed\n\n## Phase 1\n\n### Agent A: Core\n\nFiles: `src/a.py`\n\n"
        "- [ ] Tidy the handler\n- [ ] Fix the crash (High Priority)\n\n"
        "### Agent B: Other\n\nFiles: `src/b.py`\n\n- [ ] Rename things\n",
        encoding="utf-8",
    )
    out = tmp_path / "made.md"
    done = CliRunner().invoke(
        main, ["plan", "make", "--repo", str(tmp_path), "--from", str(plan), "-o", str(out)]
    )
    assert done.exit_code == 0, done.stderr
    made = load_plan(out).plan
    core = next(a for a in made.agents if "src/a.py" in a.paths)
    assert [(i.id, i.severity) for i in core.issues] == [("w1-a1-2", "HIGH"), ("w1-a1-1", "UNSET")]
    assert core.package == "src/"
    found = run_checks(made, repo=repo_view(tmp_path))
    assert [f.code for f in found if f.level == "error"] == []


def test_the_replan_toast_prints_a_check_command_that_works_where_it_is_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``P`` toast said ``plan check security-waves.replanned.md --repo .``, which fails from
    the repository root (the file is under plans/): the paths are now as typed from here."""
    import shlex

    from wavedeck.agents.replan import check_command
    from wavedeck.agents.tools.demo import PLAN_IN_SANDBOX, make_sandbox

    repo = make_sandbox(tmp_path / "my sandbox", fast=True)
    written = replan_remaining(repo / PLAN_IN_SANDBOX, repo, [1])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for cwd, expected in [
        (repo, "wavedeck plan check plans/security-waves.replanned.md --repo ."),
        (repo / "plans", "wavedeck plan check security-waves.replanned.md --repo .."),
        (
            elsewhere,
            f"wavedeck plan check {shlex.quote(str(written))} --repo {shlex.quote(str(repo))}",
        ),
    ]:
        command = check_command(written, repo, cwd)
        assert command == expected
        monkeypatch.chdir(cwd)
        done = CliRunner().invoke(main, shlex.split(command)[1:])
        assert done.exit_code == 0, (command, done.output)


def test_a_kept_wave_of_a_plan_without_packages_reads_back_the_same_files(tmp_path: Path) -> None:
    for path in ("src/api/login.py", "web/src/Login.tsx"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("", encoding="utf-8")
    plan = tmp_path / "two.md"
    plan.write_text(
        "# Two\n\n## Phase 1\n\n### Agent A: Backend\n\nFiles: `src/api/login.py`\n\n- [ ] One\n\n"
        "## Phase 2\n\n### Agent B: Frontend\n\nFiles: `web/src/Login.tsx`\n\n- [ ] Two\n",
        encoding="utf-8",
    )
    made = load_plan(replan_remaining(plan, tmp_path, [1])).plan
    assert [(a.package, a.paths) for a in made.agents] == [
        ("src/api/", ("src/api/login.py",)),  # the package came from the files: kept as read
        ("web/src/", ("web/src/Login.tsx",)),
    ]
