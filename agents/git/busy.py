"""Whether a git operation is under way in a repository, and the refusal that says so.

A checkpoint (and a wave's start) is refused while a merge, rebase, cherry-pick, revert or bisect
is in progress, while HEAD is detached or while the index has unmerged paths:
``in_progress_state`` names which, from git's state files and two read-only commands;
``refusal_for_state`` is the ``CheckpointRefused`` telling the operator how to finish it.
"""

from __future__ import annotations

from pathlib import Path

from wavedeck.agents.git.cmd import GitCmd
from wavedeck.agents.git.errors import CheckpointRefused

__all__ = ["in_progress_state", "refusal_for_state"]

_STATE_FILES = (
    ("MERGE_HEAD", "merge"),
    ("rebase-merge", "rebase"),
    ("rebase-apply", "rebase"),
    ("CHERRY_PICK_HEAD", "cherry-pick"),
    ("REVERT_HEAD", "revert"),
    ("BISECT_LOG", "bisect"),
    ("sequencer", "cherry-pick"),
)


def in_progress_state(cmd: GitCmd, git_dir: Path) -> str | None:
    """The operation in progress that forbids a checkpoint, or ``None``.

    One of ``merge``, ``rebase``, ``cherry-pick``, ``revert``, ``bisect``, ``detached HEAD``,
    ``unmerged paths``.
    """
    for name, state in _STATE_FILES:
        if (git_dir / name).exists():
            return state
    if cmd.run(["symbolic-ref", "-q", "HEAD"], check=False).rc != 0:
        return "detached HEAD"
    if cmd.run(["ls-files", "-u", "-z"]).out:
        return "unmerged paths"
    return None


def refusal_for_state(state: str) -> CheckpointRefused:
    """The refusal for an ``in_progress_state``: what is under way and how to end it."""
    if state == "detached HEAD":
        return CheckpointRefused(
            "HEAD is detached; check out the branch the wave runs on (git switch <branch>)"
        )
    if state == "unmerged paths":
        return CheckpointRefused("unmerged paths in the index; resolve them first (git status)")
    how = "git bisect reset" if state == "bisect" else f"git {state} --continue / --abort"
    return CheckpointRefused(f"a {state} is in progress; finish or abort it first ({how})")
