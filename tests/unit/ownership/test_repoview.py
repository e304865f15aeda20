"""``wavedeck.agents.repoview``: listing a repository and reading from it safely."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.unit.ownership.skeleton import git
from wavedeck.agents.repoview import RepoViewError, read_issue_files, repo_view, walk_paths


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("a\n")
    (root / "big.md").write_text("x" * 5000)
    (root / "bin.dat").write_bytes(b"\0\1\2")
    (root / ".gitignore").write_text("ignored.txt\n")
    (root / "ignored.txt").write_text("i\n")
    (tmp_path / "secret.txt").write_text("outside\n")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "src/a.py", ".gitignore")
    (root / "untracked.py").write_text("u\n")
    return root


def test_paths_tracked_and_untracked_not_ignored(repo: Path) -> None:
    view = repo_view(repo)
    assert view.paths == {
        "src/a.py",
        ".gitignore",
        "untracked.py",
        "big.md",
        "bin.dat",
        "link.txt",
    }


def test_reads_are_confined_and_capped(repo: Path) -> None:
    view = repo_view(repo, max_read_bytes=1000)
    assert view.read_text("src/a.py") == "a\n"
    for bad in ("../secret.txt", "link.txt", "/etc/passwd", "src/../../secret.txt", "big.md"):
        assert view.read_text(bad) is None, bad
    assert view.read_text("bin.dat") is None  # binary
    assert view.read_text("src") is None  # a folder
    assert view.read_text("nope.py") is None
    assert repo_view(repo).read_text("big.md") == "x" * 5000


def test_walk_fallback_outside_git(tmp_path: Path) -> None:
    (tmp_path / "a" / "node_modules").mkdir(parents=True)
    (tmp_path / "a" / "node_modules" / "x.js").write_text("")
    (tmp_path / "a" / "b.py").write_text("")
    (tmp_path / ".git").mkdir()  # not a repository: git fails, the walk skips it
    (tmp_path / ".git" / "HEAD").write_text("")
    assert repo_view(tmp_path).paths == {"a/b.py"}
    assert walk_paths(tmp_path) == {"a/b.py"}
    with pytest.raises(RepoViewError):
        repo_view(tmp_path / "missing")


def test_read_issue_files_with_custom_patterns(tmp_path: Path) -> None:
    (tmp_path / "docs" / "audit").mkdir(parents=True)
    (tmp_path / "docs" / "audit" / "web-3.md").write_text("# web-3\n")
    (tmp_path / "docs" / "audit" / "web-3.fix.md").write_text("**Files to modify**: `a.ts`\n")
    got = read_issue_files(tmp_path, "web-03", ["docs/audit/{id}.md", "docs/audit/{id}.fix.md"])
    assert got == [
        ("docs/audit/web-3.md", "# web-3\n"),
        ("docs/audit/web-3.fix.md", "**Files to modify**: `a.ts`\n"),
    ]
