"""Trees and files written through a temporary index: the user's own index is never touched.

- ``worktree_tree``: the working tree as ``git add -A`` sees it, written as a tree (a wave
  records it when it starts: what differs there from HEAD is the operator's own work);
- ``overlay_tree``: a tree with the changes of later commits laid over it (a wave's start tree
  moved onto commits the operator made during the wave);
- ``revert_file``: one working-tree file put back to a commit's content, with its mode,
  link-ness and the repository's filters.

Each takes the repository's ``GitCmd`` (``wavedeck.agents.git.cmd``) and runs under the caller's
repository lock (``GitRepo`` holds it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from wavedeck.agents.git.cmd import GitCmd
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.git.paths import check_path, link_problem
from wavedeck.agents.git.refs import check_rev

__all__ = ["overlay_tree", "revert_file", "worktree_tree"]


def worktree_tree(cmd: GitCmd, git_dir: Path) -> str:
    """The tree of the working tree as ``git add -A`` sees it (tracked files as they are now,
    untracked files that are not ignored), written without touching the user's index."""
    with tempfile.TemporaryDirectory(prefix="wavedeck-tree-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        try:
            # A copy of the user's index keeps its stat data: unchanged files are not read.
            # copy2 keeps the index's own mtime too: git judges a "racily clean" entry (a file
            # rewritten in the second the index was written, same size) against it, and a
            # fresh mtime made such an edit look unchanged (the operator's wavedeck.toml).
            shutil.copy2(git_dir / "index", Path(tmp) / "index")
            cmd.run(["add", "-A", "--", "."], env=env, read_only=False)
        except (OSError, GitError):
            # No index yet, or one this copy cannot use (split index): start from HEAD.
            Path(tmp, "index").unlink(missing_ok=True)
            head = cmd.run(["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
            base = ["read-tree", head.text.strip()] if head.rc == 0 else ["read-tree", "--empty"]
            cmd.run(base, env=env, read_only=False)
            cmd.run(["add", "-A", "--", "."], env=env, read_only=False)
        return cmd.run(["write-tree"], env=env, read_only=False).text.strip()


def overlay_tree(cmd: GitCmd, tree: str, old: str, new: str) -> str:
    """``tree`` with every path that differs between commits ``old`` and ``new`` as ``new``
    has it (added, changed or removed), written without touching the user's index."""
    check_rev(tree)
    check_rev(old)
    check_rev(new)
    with tempfile.TemporaryDirectory(prefix="wavedeck-tree-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        raw = cmd.run(["diff-tree", "-r", "-z", "--no-renames", old, new]).out
        fields = raw.split(b"\0")
        entries = []
        for head, name in zip(fields[0::2], fields[1::2], strict=False):
            if not head.startswith(b":"):
                continue
            _old_mode, mode, _old_sha, sha, _status = head[1:].decode().split()
            if set(sha) == {"0"}:
                mode = "0"  # removed in ``new``: mode 0 removes the entry
            entries.append(f"{mode} {sha}\t".encode() + name + b"\0")
        cmd.run(["read-tree", tree], env=env, read_only=False)
        if entries:
            cmd.run(
                ["update-index", "-z", "--index-info"],
                env=env,
                stdin=b"".join(entries),
                read_only=False,
            )
        return cmd.run(["write-tree"], env=env, read_only=False).text.strip()


def revert_file(cmd: GitCmd, root: Path, path: str, base: str) -> None:
    """Put ``path`` in the working tree at ``root`` back to its content at ``base``.

    A file that did not exist at ``base`` is deleted. Only the working tree changes; the user's
    index is not touched. For a rename, revert both the new and the old path.
    """
    check_rev(base)
    check_path(path)
    problem = link_problem(root, path)
    if problem is not None and problem.startswith("parent"):
        raise GitError(f"cannot revert {path}: {problem}")
    full = root / path
    listed = cmd.run(["ls-tree", "-z", base, "--", path]).out
    if not listed:
        if full.is_dir() and not full.is_symlink():
            raise GitError(f"cannot revert {path}: it is a folder now")
        if os.path.lexists(full):
            full.unlink()
        return
    mode, kind, sha = listed.split(b"\t", 1)[0].decode().split()
    if kind != "blob":
        raise GitError(f"cannot revert {path}: it is a {kind} at {base}, not a file")
    if full.is_dir() and not full.is_symlink():
        raise GitError(f"cannot revert {path}: it is a folder now")
    # A one-entry temporary index lets checkout-index write the file with its mode,
    # link-ness and the repository's filters, without touching the user's index.
    with tempfile.TemporaryDirectory(prefix="wavedeck-revert-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        cmd.run(
            ["update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}"],
            env=env,
            read_only=False,
        )
        cmd.run(["checkout-index", "-f", "--", path], env=env, read_only=False)
