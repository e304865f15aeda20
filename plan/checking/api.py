"""What a plan check receives and returns: the shared signature of every check function.

A check is ``Callable[[CheckContext], Iterable[Finding]]``. Repo-aware checks get a ``RepoView``:
the repository's paths and a way to read a file's text, handed in by the caller so that ``plan/``
itself does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from wavedeck.plan.errors import Finding
from wavedeck.plan.models import Plan


@dataclass(frozen=True)
class RepoView:
    """A repository as data: every tracked/untracked path, and a reader for small text files."""

    paths: frozenset[str]
    read_text: Callable[[str], str | None] = field(default=lambda _path: None)
    # Patterns that locate an issue's detail files, ``{id}`` replaced by the issue id.
    issue_file_patterns: tuple[str, ...] = ("issues/issue-{id}.md", "issues/issue-{id}-plan.md")


@dataclass(frozen=True)
class CheckContext:
    plan: Plan
    repo: RepoView | None = None


Check = Callable[[CheckContext], Iterable[Finding]]
