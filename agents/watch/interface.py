"""What the supervisor needs of a workspace watcher: ``ChangeWatcher``.

Two watchers implement it: ``wavedeck.agents.watch.watcher.WorkspaceWatcher`` (one tree, shared mode) and
``wavedeck.agents.watch.worktrees.WorktreeWatch`` (one watcher per agent's worktree plus the main tree).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from wavedeck.agents.events import Event


class ChangeWatcher(Protocol):
    """A running watch of a wave's workspace."""

    def events(self) -> AsyncIterator[Event]:
        """``FileTouched``, ``ViolationFound`` and ``Notice`` until ``stop()``."""
        ...

    async def wait_ready(self) -> None:
        """Until the OS watch is in place (or the stream ended)."""
        ...

    async def settled(self) -> None:
        """Until every report it holds back (waiting for the tool event naming its writer) is
        decided and handed to the consumer: what the tests and the checkpoint judge is final."""
        ...

    def stop(self) -> None: ...

    def forget(self, path: str, *, settle_s: float = 1.0) -> None:
        """A reported path was reverted: a later write is reported again."""
        ...

    def accept(self, path: str) -> None:
        """The operator accepted the path for this wave: never reported again in it."""
        ...
