"""What changed, read from git: changed-file lists and unified diffs, cut at a byte limit.

- ``changed_files``: every path that differs between a commit and the working tree (untracked
  files included), as ``wavedeck.agents.git.diff.ChangedFile`` rows;
- ``tree_files``: the same between two trees (what a wave changed since its start tree), and
  ``tree_paths`` just their names;
- ``file_diff`` and ``tree_patch``: the patch of one file against the working tree, or between
  two trees, read up to ``max_bytes`` only (git is stopped there) and cut with a note.

Each takes the repository's ``GitCmd`` and runs under the caller's repository lock (``GitRepo``
holds it); external diff drivers and textconv never run, and patches have one shape (``a/``,
``b/``) whatever the user's diff settings say.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from wavedeck.agents.git.cmd import GitCmd
from wavedeck.agents.git.diff import (
    BIG_FILE,
    ChangedFile,
    merge_untracked,
    parse_raw_numstat,
    split_z,
    untracked_file,
)
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.git.paths import check_path
from wavedeck.agents.git.refs import check_rev
from wavedeck.agents.git.result import failure_message

__all__ = ["DIFF_LIMIT", "changed_files", "file_diff", "tree_files", "tree_patch", "tree_paths"]

_DIFF_OPTS = ("--no-ext-diff", "--no-textconv", "--no-color")
# Patch output in one shape whatever the user's diff.noprefix / diff.mnemonicPrefix say.
_PATCH_OPTS = (*_DIFF_OPTS, "--src-prefix=a/", "--dst-prefix=b/")
DIFF_LIMIT = 4 * 1024 * 1024  # the default ``max_bytes`` of a patch
# Untracked files past this many (an unignored node_modules) are listed without line counts.
_COUNTED_UNTRACKED = 2000


def _cut_note(max_bytes: int) -> str:
    return f"\n[wavedeck: diff cut at {max_bytes} of more than {max_bytes} bytes]\n"


def changed_files(cmd: GitCmd, root: Path, base: str) -> list[ChangedFile]:
    """Every path that differs between commit ``base`` and the working tree, sorted.

    Tracked changes (with renames, line counts, binary flags and modes) come from one
    ``git diff --raw --numstat -z -M base``; untracked files (not ignored) from
    ``git ls-files -o --exclude-standard`` and are reported as ``A`` with ``untracked``.
    """
    check_rev(base)
    # Both commands only read; running them side by side halves the wall time.
    listing = cmd.spawn(["ls-files", "-o", "--exclude-standard", "-z"])
    try:
        diff = cmd.run(["diff", "--raw", "--numstat", "-z", "-M", *_DIFF_OPTS, base, "--"])
    except BaseException:
        with suppress(GitError):
            listing()  # reap it; the diff's error is the one to report
        raise
    others = listing()
    tracked = parse_raw_numstat(diff.out)
    names = split_z(others.out)
    untracked = [untracked_file(root, p, count=i < _COUNTED_UNTRACKED) for i, p in enumerate(names)]
    return merge_untracked(tracked, untracked)


def file_diff(
    cmd: GitCmd,
    root: Path,
    path: str,
    base: str,
    *,
    old_path: str | None = None,
    max_bytes: int = DIFF_LIMIT,
) -> str:
    """The unified diff of one file between ``base`` and the working tree.

    An untracked file is diffed against ``/dev/null``. Pass ``old_path`` for a rename to get a
    rename diff. Output beyond ``max_bytes`` is cut and says so.
    """
    check_rev(base)
    check_path(path)
    if old_path is not None:
        check_path(old_path)
    names = [old_path, path] if old_path else [path]
    # git's output is read up to max_bytes and git stopped there: a diff of a huge file costs
    # max_bytes of memory, not the file's size.
    result, cut = cmd.run_capped(["diff", "-M", *_PATCH_OPTS, base, "--", *names], max_bytes)
    if result.rc != 0:
        raise GitError(failure_message(["diff"], result))
    untracked = (
        not result.out
        and os.path.lexists(root / path)
        and not cmd.run(["ls-files", "-z", "--", path]).out
    )
    size = os.lstat(root / path).st_size if untracked else 0
    if untracked and size > BIG_FILE:
        # git would read it all to call it binary (seconds for a gigabyte): say so.
        return (
            f"new file {path}: {size} bytes, not shown (over {BIG_FILE} bytes; listed as binary)\n"
        )
    if untracked:
        no_index = ["diff", "--no-index", *_PATCH_OPTS, "--", "/dev/null", path]
        result, cut = cmd.run_capped(no_index, max_bytes)
        if result.rc not in (0, 1):
            raise GitError(f"git diff --no-index failed: {result.err.strip()}")
    text = result.out[:max_bytes].decode("utf-8", "replace")
    return text + _cut_note(max_bytes) if cut else text


def tree_files(cmd: GitCmd, old: str, new: str) -> list[ChangedFile]:
    """The files that differ between two trees (or commits), renames found, sorted."""
    check_rev(old)
    check_rev(new)
    diff = cmd.run(["diff", "--raw", "--numstat", "-z", "-M", *_DIFF_OPTS, old, new, "--"])
    return sorted(parse_raw_numstat(diff.out), key=lambda f: f.path)


def tree_paths(cmd: GitCmd, old: str, new: str) -> set[str]:
    """Every path whose content or mode differs between two trees (or commits); no renames: a
    renamed file is its old and its new path."""
    check_rev(old)
    check_rev(new)
    if old == new:
        return set()
    out = cmd.run(["diff-tree", "-r", "--name-only", "--no-renames", "-z", old, new]).out
    return set(split_z(out))


def tree_patch(
    cmd: GitCmd, old: str, new: str, paths: Sequence[str] = (), *, max_bytes: int = DIFF_LIMIT
) -> str:
    """The patch between two trees (or commits), for ``paths`` or every file; decoded with
    ``surrogateescape`` (a hunk revert writes the bytes back exactly); cut at ``max_bytes``
    with a note (``wavedeck.agents.git.hunks.CUT_MARK``)."""
    check_rev(old)
    check_rev(new)
    for path in paths:
        check_path(path)
    # Read up to max_bytes and git stopped there: a wave's huge file costs max_bytes of memory
    # in the review, not its size.
    result, cut = cmd.run_capped(["diff", "-M", *_PATCH_OPTS, old, new, "--", *paths], max_bytes)
    if result.rc != 0:
        raise GitError(failure_message(["diff"], result))
    text = result.out[:max_bytes].decode("utf-8", "surrogateescape")
    return text + _cut_note(max_bytes) if cut else text
