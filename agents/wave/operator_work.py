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

from wavedeck.agents.git.errors import GitError
from wavedeck.agents.kinds import ViolationKind

CONFLICT_KIND: ViolationKind = "operator-conflict"
CONFLICT_DETAIL = (
    "you had uncommitted changes in this file when the wave started, and the wave changed it too"
)


class _Trees(Protocol):
    def worktree_tree(self) -> str: ...
    def tree_changes(self, old: str, new: str) -> set[str]: ...


@dataclass(frozen=True)
class OperatorWork:
    """The operator's files at a checkpoint (see the module docstring)."""

    own: frozenset[str] = field(default_factory=frozenset)
    conflicts: tuple[str, ...] = ()


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


def read(git: _Trees, base_commit: str, start_tree: str | None) -> OperatorWork:
    """The operator's work for a wave that started at ``base_commit`` with ``start_tree``.

    A wave recorded without a start tree (by an older wavedeck), or whose tree git no longer
    has, has none. When the operator had nothing uncommitted, the working tree is not read
    again.
    """
    if start_tree is None:
        return OperatorWork()
    try:
        dirty = git.tree_changes(base_commit, start_tree)
    except GitError:
        # The recorded tree is gone (an aggressive ``git gc --prune=now`` during the wave): the
        # operator's files then show as the wave's strays, listed, never committed unasked.
        return OperatorWork()
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
