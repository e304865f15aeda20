"""``wavedeck plan check/show``: exit codes, output formats, ``--repo`` and the repo reader."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from click.testing import CliRunner
from plan_testkit import render, small_spec

import wavedeck.plan.checking.repochecks
from wavedeck.agents.repoview import RepoReader as make_reader
from wavedeck.agents.repoview import repo_view as build_repo_view
from wavedeck.plan.checking.api import CheckContext, RepoView
from wavedeck.plan.errors import Finding
from wavedeck.tui.cli.main import main
from wavedeck.tui.cli.plan import COMMANDS, plan_group

VALID = render(small_spec())


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "packages/core/src").mkdir(parents=True)
    (root / "packages/core/src/util.py").write_text("x = 1\n")
    (root / "packages/web").mkdir(parents=True)
    (root / "packages/web/app.ts").write_text("export {}\n")
    (root / "issues").mkdir()
    (root / "issues/issue-core-01.md").write_text("# core-01\n")
    (root / ".gitignore").write_text("ignored.log\n")
    (root / "ignored.log").write_text("noise\n")
    git(root, "init", "-q")
    git(root, "add", "packages", ".gitignore")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "init")
    return root


def write_plan(tmp_path: Path, text: str = VALID) -> Path:
    path = tmp_path / "plan.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_commands_export_and_help() -> None:
    assert [plan_group] == COMMANDS
    runner = CliRunner()
    for args in (["plan", "--help"], ["plan", "check", "--help"], ["plan", "show", "-h"]):
        done = runner.invoke(main, args)
        assert done.exit_code == 0 and "Usage:" in done.stdout
    assert "--repo" in runner.invoke(main, ["plan", "check", "--help"]).stdout


def test_exit_codes_0_1_2(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["plan", "check", str(write_plan(tmp_path))])
    assert ok.exit_code == 0 and ok.stdout == ""
    assert "0 errors, 0 warnings" in ok.stderr
    bad = write_plan(tmp_path, VALID.replace("| CRITICAL |", "| SEVERE |"))
    done = runner.invoke(main, ["plan", "check", str(bad)])
    assert done.exit_code == 1
    [line] = done.stdout.splitlines()
    assert line.startswith(f"{bad}:14: error[bad-severity]: core-01 has severity 'SEVERE'")
    assert runner.invoke(main, ["plan", "check", str(tmp_path / "x.md")]).exit_code == 2
    unreadable = write_plan(tmp_path, "# only a title\n")
    done = runner.invoke(main, ["plan", "check", str(unreadable)])
    assert done.exit_code == 2 and "no waves with agents" in done.stderr


def test_check_json_shape_and_nulls(tmp_path: Path) -> None:
    bad = write_plan(tmp_path, VALID.replace("| CRITICAL |", "| SEVERE |"))
    done = CliRunner().invoke(main, ["plan", "check", "--json", str(bad)])
    assert done.exit_code == 1
    data = json.loads(done.stdout)
    assert data["errors"] == 1 and data["warnings"] == 0
    [f] = data["findings"]
    assert f == {
        "code": "bad-severity",
        "level": "error",
        "line": 14,
        "message": "core-01 has severity 'SEVERE'; allowed: CRITICAL, HIGH, MEDIUM, LOW",
        "wave": 1,
        "agents": ["w1-a1"],
        "path": None,
        "issue": "core-01",
    }


def test_show_tree(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["plan", "show", str(write_plan(tmp_path))])
    assert done.exit_code == 0
    out = done.stdout.splitlines()
    assert out[0] == "Small plan"
    assert out[1].startswith("├─ Wave 1: CRITICAL + HIGH (3 issues, 2 agents)")
    assert any("w1-a1  Core" in ln for ln in out)
    assert any("core-02 HIGH: Path traversal (depends on 01)  (after core-01)" in ln for ln in out)


def test_repo_view_from_git_ls_files(repo: Path) -> None:
    (repo / "untracked.txt").write_text("new\n")
    view = build_repo_view(repo)
    assert "packages/core/src/util.py" in view.paths
    assert "untracked.txt" in view.paths  # --others
    assert "issues/issue-core-01.md" in view.paths
    assert "ignored.log" not in view.paths  # --exclude-standard
    assert not any(p.startswith(".git/") for p in view.paths)
    assert view.read_text("issues/issue-core-01.md") == "# core-01\n"


def test_repo_view_falls_back_to_walking_a_plain_folder(tmp_path: Path) -> None:
    (tmp_path / "a/b").mkdir(parents=True)
    (tmp_path / "a/b/c.py").write_text("")
    (tmp_path / ".git").mkdir()  # a broken .git folder is not a repository
    (tmp_path / ".git/config").write_text("")
    view = build_repo_view(tmp_path)
    assert view.paths == frozenset({"a/b/c.py"})


def test_reader_stays_inside_the_repo(tmp_path: Path) -> None:
    """Reliability matrix D2: a lexically fine path that escapes through a symlink is refused."""
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path, root / "cfg")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    (root / "inside.txt").write_text("ok")
    os.symlink(root / "inside.txt", root / "alias.txt")
    (root / "big.txt").write_bytes(b"x" * (2 * 1024 * 1024))
    read = make_reader(root)
    assert read("cfg/secret.txt") is None
    assert read("link.txt") is None
    assert read("../secret.txt") is None
    assert read(str(tmp_path / "secret.txt")) is None
    assert read("big.txt") is None
    assert read("cfg") is None
    assert read("missing.txt") is None
    assert read("inside.txt") == "ok"
    assert read("alias.txt") == "ok"


def test_check_with_repo_hands_the_repo_checks_a_view(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[RepoView] = []

    def probe(ctx: CheckContext) -> Iterable[Finding]:
        assert ctx.repo is not None
        seen.append(ctx.repo)
        yield Finding("missing-file", "warning", 3, "probe")

    monkeypatch.setattr(wavedeck.plan.checking.repochecks, "REPO_CHECKS", [probe])
    runner = CliRunner()
    path = write_plan(tmp_path)
    done = runner.invoke(main, ["plan", "check", "--repo", str(repo), "--json", str(path)])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["warnings"] == 1
    assert "packages/web/app.ts" in seen[0].paths
    # Without --repo, repo checks do not run.
    assert runner.invoke(main, ["plan", "check", str(path)]).exit_code == 0
    assert len(seen) == 1
    missing = runner.invoke(main, ["plan", "check", "--repo", str(tmp_path / "no"), str(path)])
    assert missing.exit_code == 2 and "--repo is not a folder" in missing.stderr
