"""A repository on disk as a ``wavedeck.plan.checking.api.RepoView``, and an issue's detail files.

Paths come from ``git ls-files -z --cached --others --exclude-standard`` (tracked and untracked,
ignored files left out), or from a walk of the folder when it is not a git work tree. Reading is
confined to the repository (no ``..``, no symlink leading out) and capped in size, so a plan can
never make wavedeck read ``/etc/shadow`` or a 2 GB file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from wavedeck.agents.git.cmd import run_git
from wavedeck.agents.git.errors import GitError
from wavedeck.plan.checking.api import RepoView
from wavedeck.plan.errors import WavedeckError
from wavedeck.plan.fixplans import DEFAULT_PATTERNS, IssueFileIndex, issue_file_candidates

MAX_READ_BYTES = 1 << 20  # detail files are small; anything larger is not read
GIT_TIMEOUT_S = 60.0
# Folders a walk never enters: git's own data, wavedeck's, and dependency trees.
_WALK_SKIP = frozenset({".git", ".wavedeck", "node_modules", "__pycache__"})


class RepoViewError(WavedeckError):
    """The folder cannot be listed (missing, not a folder)."""


def git_paths(root: Path) -> frozenset[str] | None:
    """Tracked and untracked (not ignored) paths of the work tree at ``root``, or None."""
    try:
        done = run_git(
            root,
            [
                "-c",
                "core.quotepath=false",
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
                "--deduplicate",
            ],
            timeout_s=GIT_TIMEOUT_S,
            check=False,
        )
    except GitError:
        return None
    if done.rc != 0:
        return None
    # Paths are relative to ``root`` even when root is a subfolder of the work tree.
    out = done.out.decode("utf-8", "surrogateescape").split("\0")
    return frozenset(p for p in out if p)


def walk_paths(root: Path) -> frozenset[str]:
    """Every file under ``root`` (symlinks not followed), as POSIX paths relative to it."""
    out: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _WALK_SKIP]
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        out.extend(prefix + f for f in files)
    return frozenset(out)


class RepoReader:
    """``read_text(path)`` for repo-relative paths: UTF-8 text, or None (missing, outside the
    repository, too large, binary)."""

    def __init__(self, root: Path, max_bytes: int = MAX_READ_BYTES) -> None:
        self.root = root.resolve()
        self.max_bytes = max_bytes

    def __call__(self, path: str) -> str | None:
        if not path or "\0" in path or "\\" in path or path.startswith("/"):
            return None
        if any(part == ".." for part in path.split("/")):
            return None
        try:
            full = (self.root / path).resolve()
            full.relative_to(self.root)  # a symlink may point outside: refuse it
            if not full.is_file() or full.stat().st_size > self.max_bytes:
                return None
            with full.open("rb") as fh:
                data = fh.read(self.max_bytes + 1)
        except (OSError, ValueError, RuntimeError):
            return None
        if len(data) > self.max_bytes or b"\0" in data:
            return None
        return data.decode("utf-8", "replace")


def repo_view(
    root: Path | str,
    issue_file_patterns: Sequence[str] | None = None,
    max_read_bytes: int = MAX_READ_BYTES,
) -> RepoView:
    """The ``RepoView`` of the folder ``root``: its paths and a confined, size-capped reader."""
    base = Path(root)
    if not base.is_dir():
        raise RepoViewError(f"{base}: not a folder")
    paths = git_paths(base)
    if paths is None:
        paths = walk_paths(base)
    return RepoView(
        paths=paths,
        read_text=RepoReader(base, max_read_bytes),
        issue_file_patterns=tuple(issue_file_patterns or DEFAULT_PATTERNS),
    )


def read_issue_files(
    repo_root: Path | str,
    issue_id: str,
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    view: RepoView | None = None,
) -> list[tuple[str, str]]:
    """The detail files of one issue (description, fix plan) as ``(repo path, text)``.

    Found by the patterns (``{id}`` replaced, ``05``/``5`` spellings both tried), else by file
    name anywhere in the repository. Pass ``view`` to reuse a listing across many issues.
    """
    if view is None:
        # The patterns' own paths first: a few stat calls, no listing of the repository.
        reader = RepoReader(Path(repo_root))
        direct = []
        for path in issue_file_candidates(issue_id, patterns):
            text = reader(path)
            if text is not None:
                direct.append((path, text))
        if direct:
            return direct
    repo = view or repo_view(repo_root, patterns)
    out = []
    for path in IssueFileIndex(repo.paths, patterns).find(issue_id):
        text = repo.read_text(path)
        if text is not None:
            out.append((path, text))
    return out
