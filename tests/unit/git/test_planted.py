"""Hooks, fsmonitor and other planted settings never run (matrix rows C6, C7), and what an agent
changed in ``.git`` is reported as facts (``GitRepo.tamper_findings``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.unit.git.repokit import Repo, wait_until
from wavedeck.agents.git.repo import GitRepo
from wavedeck.agents.git.tamper import TamperFinding


def _facts(found: list[TamperFinding]) -> set[tuple[str, str, str, bool]]:
    """What each finding says, as facts: where, which key, what change, whether it runs."""
    return {(f.where, f.key, f.change, f.program) for f in found}


def _canary_hook(repo: Repo, canary: Path, name: str, extra: str = "") -> None:
    repo.hook(name, f"touch '{canary}'\n{extra}")


@pytest.mark.slow
def test_failing_hanging_and_modifying_hooks_do_not_run(repo: Repo, tmp_path: Path) -> None:
    canary = tmp_path / "hook-ran"
    _canary_hook(repo, canary, "pre-commit", "exit 1")
    _canary_hook(repo, canary, "commit-msg", "sleep 60")
    _canary_hook(repo, canary, "post-commit", "echo hook >> a.txt")
    _canary_hook(repo, canary, "reference-transaction", "exit 1")
    _canary_hook(repo, canary, "post-index-change", "exit 1")
    repo.write("a.txt", "agent\n")
    git_repo = GitRepo(repo.root)
    started = time.monotonic()
    sha = git_repo.checkpoint(["a.txt"], "wave")
    assert time.monotonic() - started < 5
    assert not canary.exists()
    assert repo.show(sha, "a.txt") == "agent\n"
    assert repo.read("a.txt") == "agent\n"


def test_planted_fsmonitor_ssh_command_and_hooks_never_run_and_are_reported(
    repo: Repo, tmp_path: Path
) -> None:
    canary = tmp_path / "planted-ran"
    git_repo = GitRepo(repo.root)
    before = git_repo.tamper_snapshot()
    base = repo.head()
    # What an agent could do during its wave:
    monitor = repo.script("monitor.sh", f"touch '{canary}'\necho 0")
    repo.git("config", "core.fsmonitor", str(monitor))
    repo.git("config", "core.sshCommand", f"touch '{canary}'; ssh")
    _canary_hook(repo, canary, "pre-commit")
    _canary_hook(repo, canary, "post-index-change")
    repo.write("a.txt", "agent\n")
    repo.write("new.txt", "new\n")

    files = git_repo.changed_files(base)
    assert {f.path for f in files} == {"a.txt", "new.txt"}
    git_repo.file_diff("a.txt", base)
    git_repo.file_diff("new.txt", base)
    git_repo.in_progress_state()
    git_repo.checkpoint(["a.txt", "new.txt"], "wave")
    git_repo.revert_file("a.txt", base)
    assert not canary.exists()

    facts = _facts(git_repo.tamper_findings(before))
    assert (".git/config", "core.fsmonitor", "added", True) in facts
    assert (".git/config", "core.sshcommand", "added", True) in facts
    assert ("hook", ".git/hooks/pre-commit", "added", True) in facts
    assert ("hook", ".git/hooks/post-index-change", "added", True) in facts
    assert git_repo.tamper_findings(git_repo.tamper_snapshot()) == []

    # Regression guard: the planted monitor is real; a plain `git status` runs it ([observed]).
    repo.git("status")
    assert wait_until(canary.exists, 5)


def test_tamper_findings_report_changed_and_removed_entries(repo: Repo) -> None:
    repo.git("config", "diff.external", "/bin/true")
    hook = repo.hook("pre-push", "exit 0")
    git_repo = GitRepo(repo.root)
    before = git_repo.tamper_snapshot()
    repo.git("config", "diff.external", "/tmp/evil\x1b[2J")
    hook.unlink()
    repo.git("config", "--unset", "user.name")
    report = git_repo.tamper_findings(before)
    assert (".git/config", "diff.external", "changed", True) in _facts(report)
    [external] = [f for f in report if f.key == "diff.external"]
    assert external.value == "/tmp/evil␛[2J"  # neutralised: no escape reaches the terminal
    assert (".git/config", "user.name", "removed", False) in _facts(report)
    assert ("hook", ".git/hooks/pre-push", "removed", True) in _facts(report)


def test_tamper_flags_filters_includes_attributes_and_worktree_config(repo: Repo) -> None:
    git_repo = GitRepo(repo.root)
    before = git_repo.tamper_snapshot()
    repo.git("config", "filter.evil.clean", "sh -c 'touch /tmp/x'")
    repo.git("config", "include.path", "../agent.gitconfig")
    (repo.root / ".git" / "info").mkdir(exist_ok=True)
    (repo.root / ".git" / "info" / "attributes").write_text("* filter=evil\n")
    report = git_repo.tamper_findings(before)
    facts = _facts(report)
    assert (".git/config", "filter.evil.clean", "added", True) in facts
    assert [f.value for f in report if f.key == "filter.evil.clean"] == ["sh -c 'touch /tmp/x'"]
    assert (".git/config", "include.path", "added", True) in facts
    assert ("file", "info/attributes", "added", False) in facts
    # wavedeck's own exclude entry is not tampering.
    git_repo.ensure_excluded()
    assert git_repo.tamper_findings(git_repo.tamper_snapshot()) == []
