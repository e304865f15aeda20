"""Programs an agent plants never run (issue #20): filters (clean, smudge, process, a driver
named ``a=b``), textconv, diff and merge drivers, signers, pagers, editors, ssh commands,
askpass, credential helpers, fsmonitor and hooks, planted in the system, user (``HOME``, XDG),
repository and included configuration and named by ``.gitattributes``, ``.git/info/attributes``
and the XDG attributes file: every git command wavedeck runs leaves them alone, and a plain git
run on the same repository runs them (so a clean marker means something)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from tests.unit.git import plantkit
from tests.unit.git.repokit import Repo, stream_head_pack
from tests.unit.watch import watchkit
from wavedeck.agents.git.cmd import run_git
from wavedeck.agents.git.guard import FilterDriver, RunPolicy
from wavedeck.agents.git.repo import GitRepo
from wavedeck.agents.remote.sync import apply_patch, local_head
from wavedeck.agents.repoview import git_paths
from wavedeck.agents.tools.audit import changed_paths
from wavedeck.agents.watch.worktrees import create_worktrees, remove_worktrees, worktree_changes


@pytest.fixture
def planted(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Repo, plantkit.Planted]:
    """``repo`` with every planted file committed first (as the operator had them), then the
    plants: git's user configuration now comes from ``HOME``/``XDG_CONFIG_HOME`` and the system
    one from ``GIT_CONFIG_SYSTEM``, all planted."""
    for name in plantkit.tracked_files():
        repo.write(name, f"{name} at the start\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "files the attributes name")
    system = tmp_path / "system.gitconfig"
    found = plantkit.plant_everything(repo.root, tmp_path)
    system.write_text((found.home / ".gitconfig").read_text().replace("@global", "@system"))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL")
    monkeypatch.delenv("GIT_CONFIG_NOSYSTEM")
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(system))
    monkeypatch.setenv("HOME", str(found.home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(found.xdg))
    return repo, found


def _agent_writes(repo: Repo) -> None:
    for name in plantkit.tracked_files():
        repo.write(name, f"{name} changed by an agent\n")
    repo.write("new-f-repo.txt", "new\n")


def _plain_git_runs_them(repo: Repo, planted: plantkit.Planted) -> None:
    """The control: git run plainly in the same repository runs the plants."""
    for name in plantkit.tracked_files():
        repo.write(name, f"{name} changed for the control\n")
    # diff first (the planted fsmonitor, once run by status, says nothing changed), file by
    # file (a required filter failing on one file stops git for the rest).
    for name in plantkit.tracked_files():
        subprocess.run(["git", "diff", "--", name], cwd=repo.root, capture_output=True, timeout=60)
    # Without the planted diff.external, the textconv runs.
    subprocess.run(["git", "diff", "--no-ext-diff", "--", "ab-f-repo.txt"], cwd=repo.root)
    subprocess.run(
        ["git", "checkout", "--", "smudge-f-repo.txt"], cwd=repo.root, capture_output=True
    )
    subprocess.run(["git", "status"], cwd=repo.root, capture_output=True, timeout=60)
    ran = planted.ran()
    for label in (
        "core.fsmonitor@include",
        "clean@repo",
        "clean@include",
        "clean@global",
        "clean@xdg",
        "clean-a=b@repo",
        "diff-command@repo",
        "textconv@repo",
        "diff.external@include",
        "process@global",
        "smudge@repo",
    ):
        assert label in ran, (label, " ".join(ran))


def test_no_planted_program_runs_from_any_git_command_wavedeck_runs(
    planted: tuple[Repo, plantkit.Planted], tmp_path: Path
) -> None:
    repo, plants = planted
    base = repo.head()
    git_repo = GitRepo(repo.root)
    snapshot = git_repo.tamper_snapshot()
    _agent_writes(repo)
    assert git_repo.head() == base and git_repo.branch() == "main"
    assert git_repo.in_progress_state() is None
    git_repo.ensure_excluded()
    tree = git_repo.worktree_tree()
    assert "f-repo.txt" in git_repo.tree_changes(base, tree)
    changed = {f.path for f in git_repo.changed_files(base)}
    assert set(plantkit.tracked_files()) <= changed
    for path in plantkit.tracked_files():
        assert "+" + path + " changed by an agent" in git_repo.file_diff(path, base)
    assert "+new" in git_repo.file_diff("new-f-repo.txt", base)  # untracked: --no-index
    git_repo.revert_file("smudge-f-repo.txt", base)  # checkout-index: smudge filters
    assert repo.read("smudge-f-repo.txt") == "smudge-f-repo.txt at the start\n"
    sha = git_repo.checkpoint(sorted(changed - {"smudge-f-repo.txt"}), "wave 1")
    assert "f-xdg.txt" in git_repo.tree_changes(base, sha)
    assert git_repo.tamper_findings(snapshot) == []  # nothing changed since the snapshot

    # The commands other modules run through run_git and git_process.
    assert "f-repo.txt" in (git_paths(repo.root) or ())
    assert {c.path for c in changed_paths(repo.root, f"{base}..{sha}")} >= {"f-global.txt"}
    plan = watchkit.plan({1: [watchkit.agent(1, 1, ".", ["f-repo.txt"])]})
    trees = create_worktrees(repo.root, plan, 1, sha, tmp_path / "trees")
    (trees["w1-a1"] / "f-repo.txt").write_text("in the worktree\n")
    assert worktree_changes(trees["w1-a1"], sha) == {"f-repo.txt"}
    remove_worktrees(repo.root, trees, delete_branches=True)
    assert asyncio.run(local_head(repo.root)) == sha
    patch = run_git(repo.root, ["diff", "--binary", base, sha, "--", "f-repo.txt"]).out
    run_git(repo.root, ["checkout-index", "-f", "--", "f-repo.txt"], read_only=False)
    repo.write("f-repo.txt", "f-repo.txt at the start\n")

    assert stream_head_pack(repo.root).startswith(b"PACK")
    assert asyncio.run(apply_patch(repo.root, patch)) == ["f-repo.txt"]

    assert plants.ran() == []
    _plain_git_runs_them(repo, plants)


def test_team_signing_runs_the_default_signer_never_a_planted_one(
    planted: tuple[Repo, plantkit.Planted], tmp_path: Path
) -> None:
    repo, plants = planted
    key = tmp_path / "signing_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30
    )
    with (repo.root / ".git" / "config").open("a") as fh:
        fh.write(
            f"[gpg]\n\tformat = ssh\n[user]\n\tsigningkey = {key}\n[commit]\n\tgpgsign = true\n"
        )
    _agent_writes(repo)
    sha = GitRepo(repo.root).checkpoint(["f-repo.txt"], "wave 1")
    body = subprocess.run(
        ["git", "cat-file", "commit", sha], cwd=repo.root, capture_output=True, text=True
    ).stdout
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in body
    assert plants.ran() == []


def test_a_filter_the_operator_enabled_runs_with_the_program_wavedeck_toml_names(
    planted: tuple[Repo, plantkit.Planted], tmp_path: Path
) -> None:
    repo, plants = planted
    upper = tmp_path / "upper.sh"
    upper.write_text("#!/bin/sh\ntr a-z A-Z\n")
    upper.chmod(0o755)
    policy = RunPolicy({"cleanrepo": FilterDriver(clean=str(upper))})
    _agent_writes(repo)
    sha = GitRepo(repo.root, policy=policy).checkpoint(["f-repo.txt", "f-global.txt"], "wave 1")
    assert repo.show(sha, "f-repo.txt") == "F-REPO.TXT CHANGED BY AN AGENT\n"  # cleaned
    assert repo.show(sha, "f-global.txt") == "f-global.txt changed by an agent\n"  # raw
    assert plants.ran() == []


def test_a_filter_attribute_without_a_driver_runs_nothing_and_is_no_error(repo: Repo) -> None:
    repo.write(".gitattributes", "*.txt filter=nowhere diff=nothing merge=none\n")
    repo.write("a.txt", "changed\n")
    git_repo = GitRepo(repo.root)
    base = repo.head()
    assert {f.path for f in git_repo.changed_files(base)} == {".gitattributes", "a.txt"}
    sha = git_repo.checkpoint(["a.txt"], "wave")
    assert repo.show(sha, "a.txt") == "changed\n"
