"""One file's three-way merge, and whether the working tree keeps a commit's change to a file.

``merge_file`` merges two versions of a file (the working tree's and another) from a commit's
version with ``git merge-file``: both sides' changes, or None when they touch the same lines or
either is no regular file (a file both the operator and an agent in its worktree changed,
``wavedeck.agents.wave.worktree_mode``). ``keeps_change`` asks the same question the other way round: does the
working tree's file already hold what a commit changed in it (the operator's commits made during
a wave, ``wavedeck.agents.wave.head_move``). Both run under the caller's repository lock.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from wavedeck.agents.git.cmd import GitCmd
from wavedeck.agents.git.paths import check_path
from wavedeck.agents.git.refs import check_rev

__all__ = ["keeps_change", "merge_file"]


def merge_file(cmd: GitCmd, path: str, base: str, current: Path, other: Path) -> bytes | None:
    """Both sides' changes to ``path``: a three-way merge of the files ``current`` and
    ``other`` from the version at commit ``base`` (none: both added it). None when they
    change the same lines, or either is not a regular file (binary files do not merge)."""
    check_rev(base)
    check_path(path)
    for side in (current, other):
        if side.is_symlink() or not side.is_file():
            return None
    with tempfile.TemporaryDirectory(prefix="wavedeck-merge-") as tmp:
        old = cmd.run(["cat-file", "blob", f"{base}:{path}"], check=False)
        ancestor = Path(tmp) / "base"
        ancestor.write_bytes(old.out if old.rc == 0 else b"")
        result = cmd.run(
            ["merge-file", "-p", "--quiet", str(current), str(ancestor), str(other)],
            check=False,
        )
    return result.out if result.rc == 0 else None


def keeps_change(cmd: GitCmd, root: Path, path: str, base: str, head: str) -> bool:
    """False when the working tree's ``path`` lacks what commit ``head`` changed in it since
    ``base`` (merging that change in would change the file); True when it has it, or when the
    two cannot be compared line by line (their changes overlap, or either is no regular file:
    the operator judges those)."""
    check_rev(head)
    check_path(path)
    current = root / path
    version = cmd.run(["cat-file", "blob", f"{head}:{path}"], check=False)
    if version.rc != 0:  # the commit removed it: kept only if it is gone here too
        return not os.path.lexists(current)
    if not current.is_file() or current.is_symlink():
        return False
    with tempfile.TemporaryDirectory(prefix="wavedeck-keeps-") as tmp:
        theirs = Path(tmp) / "head"
        theirs.write_bytes(version.out)
        merged = merge_file(cmd, path, base, current, theirs)
    return merged is None or merged == current.read_bytes()
