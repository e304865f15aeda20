"""Checks on the repo-relative paths handed to git, made before git ever sees them.

A declared path must name one file literally. The character-level rule is the plan's
(``wavedeck.plan.paths.name_problem``), so a path refused in a plan is refused here too: no
control, bidi or zero-width character, NFC text only, no pathspec magic (``:(exclude)x`` would
stage everything else), no glob (``*.py``), nothing that looks like an option (``-f``), nothing
absolute. On top of it, git's own: one name per component (no ``.``, ``..`` or empty one),
nothing inside ``.git``. And a path must not reach through a symbolic link: a path whose parent
folder is a link (``cfg -> /etc`` makes ``cfg/passwd`` a system file), or a link itself pointing
outside the repository, is refused. ``check_path`` raises ``GitError`` for a name git listed that
comes back unusable (a diff, a revert).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from wavedeck.agents.git.errors import GitError
from wavedeck.plan.paths import name_problem


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a plain, normalised, repo-relative file name; ``None`` if it is."""
    problem = name_problem(path)
    if problem is not None:
        return problem
    parts = path.split("/")
    if any(part == "" for part in parts):
        return "empty component (double or trailing slash)"
    if any(part in (".", "..") for part in parts):
        return "'.' or '..' component"
    if any(part.lower() == ".git" for part in parts):
        return "inside .git"
    return None


def listed_path_problem(path: str) -> str | None:
    """Why ``path`` (a name git listed, given back for a diff or revert) is unusable.

    Looser than ``path_problem``: any name git can track is accepted, as long as it stays
    inside the repository and out of ``.git``.
    """
    if not path or "\0" in path:
        return "empty path or NUL in the name"
    if path.startswith("/"):
        return "absolute path"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "empty, '.' or '..' component"
    if any(part.lower() == ".git" for part in parts):
        return "inside .git"
    return None


def check_path(path: str) -> None:
    """``GitError`` when ``path`` breaks the rules above (``listed_path_problem``)."""
    problem = listed_path_problem(path)
    if problem is not None:
        raise GitError(f"invalid path {path!r}: {problem}")


def bad_names(paths: Iterable[str]) -> list[tuple[str, str]]:
    """Every ``(path, problem)`` among ``paths`` (see ``path_problem``)."""
    found = []
    for path in paths:
        problem = path_problem(path)
        if problem is not None:
            found.append((path, problem))
    return found


def link_problem(root: Path, path: str) -> str | None:
    """Why ``path`` reaches through or to a symbolic link leaving ``root``; ``None`` if not.

    ``root`` must be resolved. A link in a parent folder is refused whatever it points to (git
    itself refuses "beyond a symbolic link"); a link as the last component is refused when its
    target resolves outside the repository.
    """
    parts = path.split("/")
    current = root
    for part in parts[:-1]:
        current = current / part
        if current.is_symlink():
            return f"parent folder {current.relative_to(root).as_posix()} is a symbolic link"
    full = root / path
    if full.is_symlink():
        target = os.readlink(full)
        # realpath follows a chain of links, so a link to an in-repo link to /etc is caught too.
        resolved = Path(os.path.realpath(full))
        if resolved != root and root not in resolved.parents:
            return f"symbolic link pointing outside the repository (-> {target})"
    return None
