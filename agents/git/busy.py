"""Whether a git operation is under way in a repository, by name.

A checkpoint (and a wave's start) is refused while a merge, rebase, cherry-pick, revert or bisect
is in progress, while HEAD is detached or while the index has unmerged paths:
``in_progress_state`` names which (a ``BusyState``), from git's state files and two read-only
commands. The refusal is ``CheckpointRefused("git-busy", detail=state)``; how to end each state
is the surface's to say (``wavedeck.agents.wave.refusals``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from wavedeck.agents.git.cmd import GitCmd

__all__ = ["BUSY_STATES", "BusyState", "in_progress_state"]

# What keeps a checkpoint from being made: an operation in progress, HEAD detached or unmerged
# index entries (without an operation: a tool that stopped half way left them).
BusyState = Literal[
    "merge", "rebase", "cherry-pick", "revert", "bisect", "detached HEAD", "unmerged paths"
]
BUSY_STATES: tuple[BusyState, ...] = get_args(BusyState)

_STATE_FILES: tuple[tuple[str, BusyState], ...] = (
    ("MERGE_HEAD", "merge"),
    ("rebase-merge", "rebase"),
    ("rebase-apply", "rebase"),
    ("CHERRY_PICK_HEAD", "cherry-pick"),
    ("REVERT_HEAD", "revert"),
    ("BISECT_LOG", "bisect"),
    ("sequencer", "cherry-pick"),
)


def in_progress_state(cmd: GitCmd, git_dir: Path) -> BusyState | None:
    """The operation in progress that forbids a checkpoint, or ``None``."""
    for name, state in _STATE_FILES:
        if (git_dir / name).exists():
            return state
    if cmd.run(["symbolic-ref", "-q", "HEAD"], check=False).rc != 0:
        return "detached HEAD"
    if cmd.run(["ls-files", "-u", "-z"]).out:
        return "unmerged paths"
    return None
