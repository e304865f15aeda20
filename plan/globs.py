"""Repo-relative, gitignore-like globs: one meaning for watch ignores and the accept policy.

``*`` and ``?`` stay inside one folder, ``**`` crosses folders, ``[abc]``/``[!abc]`` are classes.
A glob without ``/`` (a trailing one aside) matches a name at any depth (``package-lock.json``,
``*.lock``); one with a ``/`` inside, or a leading ``/``, is anchored at the repository root; a glob
that matches a folder matches everything below it (``node_modules``, ``packages/*/tests/``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence


def glob_pattern(glob: str) -> str:
    """The regex source (for a full match) of one glob."""
    g = glob.strip()
    anchored = "/" in g.rstrip("/")
    g = g.strip("/")
    out: list[str] = []
    i = 0
    while i < len(g):
        if g.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif g.startswith("**", i):
            out.append(".*")
            i += 2
        elif g[i] == "*":
            out.append("[^/]*")
            i += 1
        elif g[i] == "?":
            out.append("[^/]")
            i += 1
        elif g[i] == "[" and "]" in g[i + 2 :]:
            end = g.index("]", i + 2)
            body = g[i + 1 : end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body[:1] in "!^" and body else "[" + body + "]")
            i = end + 1
        else:
            out.append(re.escape(g[i]))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    return f"{prefix}{''.join(out)}(?:/.*)?"


def compile_glob(glob: str) -> re.Pattern[str]:
    """One glob compiled; use ``.fullmatch(path)`` (or ``.match``: the pattern ends in ``\\Z``)."""
    return re.compile(glob_pattern(glob) + r"\Z", re.DOTALL)


def glob_matcher(globs: Sequence[str]) -> Callable[[str], bool]:
    """A predicate telling whether a repo-relative POSIX path matches any of ``globs``."""
    parts = [glob_pattern(g) for g in globs if g.strip()]
    if not parts:
        return lambda _path: False
    pattern = re.compile("|".join(f"(?:{p})" for p in parts), re.DOTALL)
    return lambda path: pattern.fullmatch(path) is not None
