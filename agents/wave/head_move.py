"""A HEAD that moved during a wave: the operator's own commits, and the checkpoint on top of them.

A wave starts at a commit (its base). If the operator commits meanwhile, the branch no longer
points there, and a checkpoint built on the base would overwrite their commit. Instead:

- when HEAD descends from the base and no path the new commits changed was changed again in the
  working tree since (``both`` is empty), the wave is rebased: its base becomes the new HEAD,
  its start tree takes the committed paths as HEAD has them (``start_tree``), and the checkpoint
  is built on top of the operator's commits, holding exactly the wave's changes;
- a path the new commits changed *and* the working tree changed since (``both``) is refused by
  name (``head-moved``) until the operator adopts it (``wavedeck run --headless --adopt-head``,
  or accepting the file in the checkpoint screen): it is then committed as it is in the working
  tree, on top of their commit. A file whose working-tree content lacks what the commits
  changed in it (``lost``: merging the change in would alter it) is never adopted: committing it
  would undo the operator's commit;
- a HEAD that does not descend from the base (a reset, an amend, another branch) is refused
  (``head-rewritten``): nothing is built on it.

Blocking (git); the checkpoint calls ``read`` through ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

MOVED_DETAIL = (
    "you committed a change to this file during the wave, and it changed again since: adopt it "
    "to commit it as it is now, on top of your commit"
)
LOST_DETAIL = (
    "your commit changed this file during the wave, and the file as it is now lacks that change: "
    "committing it would undo your commit; bring your change back into the file first"
)


class _Git(Protocol):
    def is_ancestor(self, old: str, new: str) -> bool: ...
    def tree_changes(self, old: str, new: str) -> set[str]: ...
    def has_object(self, sha: str) -> bool: ...
    def overlay_tree(self, tree: str, old: str, new: str) -> str: ...
    def keeps_change(self, path: str, base: str, head: str) -> bool: ...


@dataclass(frozen=True)
class HeadMove:
    """HEAD at a checkpoint, when it is no longer the wave's base (see the module docstring)."""

    onto: str  # the commit HEAD points at now
    descends: bool  # from the wave's base (commits added on top); else history was rewritten
    committed: tuple[str, ...] = ()  # the paths the new commits changed
    both: tuple[str, ...] = ()  # of those, changed in the working tree since
    lost: tuple[str, ...] = ()  # of ``both``, files lacking the commits' change
    start_tree: str | None = None  # the wave's start tree moved onto ``onto``

    def blocked(self, adopted: Iterable[str]) -> tuple[str, ...]:
        """The paths that still hold the checkpoint back, given the ``adopted`` ones."""
        taken = set(adopted)
        return tuple(p for p in self.both if p not in taken or p in self.lost)


def read(
    git: _Git, base: str, head: str, start_tree: str | None, changed_since_head: Iterable[str]
) -> HeadMove:
    """How HEAD moved from ``base`` to ``head``, for a wave that started over ``start_tree``
    (``changed_since_head``: the paths the working tree changed since ``head``)."""
    if not git.is_ancestor(base, head):
        return HeadMove(head, descends=False)
    committed = git.tree_changes(base, head)
    both = tuple(sorted(committed & set(changed_since_head)))
    lost = tuple(p for p in both if not git.keeps_change(p, base, head))
    moved_tree = None
    if start_tree is not None and git.has_object(start_tree):
        moved_tree = git.overlay_tree(start_tree, base, head)
    return HeadMove(head, True, tuple(sorted(committed)), both, lost, moved_tree)
