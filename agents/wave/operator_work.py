"""The operator's own work: files dirty when a wave started are theirs, never the wave's.

When a wave starts, the working tree is recorded as a tree object (``WaveRecord.start_tree``,
from ``GitRepo.worktree_tree``). At the checkpoint, a path that differs between the wave's base
commit and that tree was changed by the operator before the wave:

- untouched since (``own``): left out of the checkpoint, neither committed nor listed as stray;
  the operator's staged and unstaged work stays exactly as it was;
- changed since as well (``conflicts``): the operator's work and the wave's are mixed in one
  file, so the checkpoint is refused naming the files until the operator accepts each one (the
  whole file is committed, their changes included) or reverts the wave's change (back to the
  file as they left it).

Blocking functions (git); the supervisor calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from wavedeck.agents.kinds import ViolationKind

CONFLICT_KIND: ViolationKind = "operator-conflict"
CONFLICT_DETAIL = (
    "you had uncommitted changes in this file when the wave started, and the wave changed it too"
)
MISSING_DETAIL = (
    "the working tree recorded when the wave started is gone from git: your own changes in "
    "this file cannot be told from the wave's"
)


def start_ref(wave: int) -> str:
    """The ref that keeps wave ``wave``'s start tree reachable until its checkpoint."""
    return f"refs/wavedeck/wave-{int(wave)}/start"


class _Trees(Protocol):
    def worktree_tree(self) -> str: ...
    def tree_changes(self, old: str, new: str) -> set[str]: ...
    def has_object(self, sha: str) -> bool: ...


@dataclass(frozen=True)
class OperatorWork:
    """The operator's files at a checkpoint (see the module docstring).

    ``missing``: the start tree is gone; then ``unknown`` names the files the operator had
    changed when the wave started (None: not recorded, every changed path may be theirs).
    """

    own: frozenset[str] = field(default_factory=frozenset)
    conflicts: tuple[str, ...] = ()
    missing: bool = False
    unknown: tuple[str, ...] | None = ()


def at_start(git: _Trees, base_commit: str) -> tuple[str, set[str]]:
    """The working tree as a tree when a wave starts, and the files in it that are the
    operator's own work (differing from ``base_commit``)."""
    tree = git.worktree_tree()
    return tree, git.tree_changes(base_commit, tree)


def split(dirty_at_start: Iterable[str], changed_since_start: Iterable[str]) -> OperatorWork:
    """Which of the operator's files the wave left alone, and which it changed too."""
    dirty = set(dirty_at_start)
    since = set(changed_since_start)
    return OperatorWork(frozenset(dirty - since), tuple(sorted(dirty & since)))


def read(
    git: _Trees,
    base_commit: str,
    start_tree: str | None,
    dirty_at_start: Iterable[str] | None = None,
) -> OperatorWork:
    """The operator's work for a wave that started at ``base_commit`` with ``start_tree``
    (``dirty_at_start``: the operator's files as named when it started, if recorded).

    A wave recorded without a start tree (by an older wavedeck) has none. A start tree git no
    longer has is ``missing`` (see the module docstring). When the operator had nothing
    uncommitted, the working tree is not read again.
    """
    if start_tree is None:
        return OperatorWork()
    if not git.has_object(start_tree):
        named = None if dirty_at_start is None else tuple(sorted(set(dirty_at_start)))
        return OperatorWork(missing=True, unknown=named)
    dirty = git.tree_changes(base_commit, start_tree)
    if not dirty:
        return OperatorWork()
    return split(dirty, git.tree_changes(start_tree, git.worktree_tree()))


def start_notice(wave: int, own: Iterable[str]) -> str:
    """What the operator is told when a wave starts over their own uncommitted work."""
    paths = sorted(own)
    shown = ", ".join(paths[:5]) + (f" (+{len(paths) - 5} more)" if len(paths) > 5 else "")
    return (
        f"wave {wave} starts with your own uncommitted work in {len(paths)} file(s) ({shown}): "
        "it stays yours, staged or not, and is left out of the wave's checkpoint"
    )
