"""Revisions checked before they reach git's command line, and the refs wavedeck owns.

``check_rev`` refuses a revision that git could read as an option or that holds blanks or
unprintable characters. ``OWN_REFS`` is the namespace of the refs wavedeck creates and deletes
(a wave's start tree, kept from ``git gc``): ``keep``, ``owned`` and ``drop`` write, list and
delete them, and refuse any other ref (``check_own_ref``): no ref is ever written but those and
the branch a checkpoint moves. They run under the caller's repository lock (``GitRepo``'s).
"""

from __future__ import annotations

from wavedeck.agents.git.cmd import GitCmd
from wavedeck.agents.git.errors import GitError

__all__ = ["OWN_REFS", "check_own_ref", "check_rev", "drop", "keep", "owned"]

OWN_REFS = "refs/wavedeck/"


def check_rev(rev: str) -> None:
    """``GitError`` unless ``rev`` is a plain revision (a sha, a ref name, ``HEAD~1``)."""
    if not rev or rev.startswith("-") or any(ch.isspace() or not ch.isprintable() for ch in rev):
        raise GitError(f"invalid revision {rev!r}")


def check_own_ref(ref: str) -> None:
    """``GitError`` unless ``ref`` is a plain ref under ``OWN_REFS``."""
    check_rev(ref)
    if not ref.startswith(OWN_REFS) or ".." in ref:
        raise GitError(f"not a ref wavedeck owns: {ref!r}")


def keep(cmd: GitCmd, ref: str, sha: str) -> None:
    """Point ``ref`` (a ``refs/wavedeck/...`` name wavedeck owns) at ``sha``: whatever a ref
    reaches, ``git gc`` keeps, even an unreachable tree such as a wave's start tree."""
    check_own_ref(ref)
    check_rev(sha)
    cmd.run(["update-ref", "-m", "wavedeck: keep", ref, sha], read_only=False)


def owned(cmd: GitCmd) -> list[str]:
    """The refs wavedeck owns (under ``OWN_REFS``) that exist now, by name."""
    out = cmd.run(["for-each-ref", "--format=%(refname)", OWN_REFS]).out
    return out.decode("utf-8", "replace").split()


def drop(cmd: GitCmd, ref: str) -> None:
    """Delete ``ref`` (one wavedeck owns); nothing happens when it is not there."""
    check_own_ref(ref)
    cmd.run(["update-ref", "-d", ref], read_only=False, check=False)
