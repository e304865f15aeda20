"""One rule for what is nobody's work: the watcher and the checkpoint ignore exactly the same.

A path is ignored when it is

- under ``.git/`` (but the tamper targets the watcher reports as such) or ``.wavedeck/``;
- an editor's temporary file (vim swap files, backups, emacs locks, atomic-write temporaries);
- matched by a ``[watch] ignore`` glob, or by one of the paths the run's agent CLI writes for
  itself (``Preset.own_paths``: Codex's sandbox mount points, aider's chat and tag files);
- untracked and ignored by git (``.gitignore`` files, ``.git/info/exclude``,
  ``core.excludesFile``): what the checkpoint's ``git ls-files -o --exclude-standard`` leaves
  out. Tracked files are never ignored by git's rules, here as there.

``static`` answers the first three from the path alone (cheap: the watcher's filter runs it on
every raw event); ``git_ignored`` asks git itself for a batch of paths (``git check-ignore``, one
process per batch, answers cached until a ``.gitignore`` changes).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from wavedeck.agents.git.cmd import run_git
from wavedeck.agents.git.errors import GitError
from wavedeck.plan.globs import glob_matcher

# Editor temp files: vim swap files and its ``4913`` write probe, backups, emacs lock files; and
# atomic-write temporaries ``<name>.tmp.<pid>.<random>`` (Claude Code's Write renames one over the
# file it writes: the rename is the write, reported under the file's own name).
EDITOR_TEMP = re.compile(r"\.swp$|^\..+\.sw[a-px]$|~$|^4913$|^\.#|^#.*#$|\.tmp\.\d+\.[0-9A-Za-z]+$")
CACHE_LIMIT = 100_000  # answers kept; past this the cache starts over
GIT_TIMEOUT_S = 10.0


def is_wavedeck_or_git(rel: str) -> bool:
    """``rel`` lies in ``.git`` (a repository's, or a nested one's) or in ``.wavedeck``."""
    return (
        rel == ".git"
        or rel.startswith((".git/", ".wavedeck/"))
        or rel == ".wavedeck"
        or "/.git/" in rel
        or rel.endswith("/.git")
    )


def is_editor_temp(rel: str) -> bool:
    return EDITOR_TEMP.search(rel.rpartition("/")[2]) is not None


class Ignores:
    """What the run ignores in the repository at ``root`` (see the module docstring)."""

    def __init__(
        self, root: Path | str, globs: Sequence[str] = (), own_paths: Sequence[str] = ()
    ) -> None:
        self.root = Path(root)
        self._globs = glob_matcher([*globs, *own_paths])
        self._cache: dict[str, bool] = {}
        self._git: bool | None = None  # the root is a git working tree (asked once)

    def static(self, rel: str) -> bool:
        """Ignored whatever git says: .git/, .wavedeck/, editor temps, the globs."""
        return is_wavedeck_or_git(rel) or is_editor_temp(rel) or self._globs(rel)

    def forget(self) -> None:
        """A ``.gitignore`` (or an exclude file) changed: ask git afresh."""
        self._cache.clear()

    def git_ignored(self, rels: Iterable[str]) -> set[str]:
        """Which of ``rels`` git ignores (untracked and excluded). Blocking: one ``git
        check-ignore`` for the paths it has not answered yet; none outside a git tree."""
        rels = list(rels)  # read twice: a generator would be spent by the first
        wanted = [r for r in dict.fromkeys(rels) if r not in self._cache]
        if wanted and self._is_git():
            found = self._ask(wanted)
            if len(self._cache) + len(wanted) > CACHE_LIMIT:
                self._cache.clear()
            for rel in wanted:
                self._cache[rel] = rel in found
        return {r for r in rels if self._cache.get(r)}

    def ignored(self, rels: Iterable[str]) -> set[str]:
        """Which of ``rels`` the run ignores, by every rule (blocking)."""
        rels = list(rels)
        out = {r for r in rels if self.static(r)}
        return out | self.git_ignored(r for r in rels if r not in out)

    @property
    def uses_git(self) -> bool:
        """Git's rules apply: the root is a git working tree."""
        return self._is_git()

    def _is_git(self) -> bool:
        if self._git is None:
            self._git = (self.root / ".git").exists()
        return self._git

    def _ask(self, rels: list[str]) -> set[str]:
        # check-ignore refuses wavedeck's literal pathspecs (GIT_LITERAL_PATHSPECS=1: "pathspec
        # magic not supported"), so they are off for it; the ``./`` keeps a name starting with
        # ``:`` from being read as magic. git answers each path as it was given.
        data = b"".join(b"./" + os.fsencode(r) + b"\0" for r in rels)
        try:
            done = run_git(
                self.root,
                ["check-ignore", "--stdin", "-z"],
                env={"GIT_LITERAL_PATHSPECS": "0"},
                stdin=data,
                check=False,
                lock=False,
                timeout_s=GIT_TIMEOUT_S,
            )
        except GitError:
            return set()
        if done.rc not in (0, 1):  # 128: not a repository, a bad path: nothing ignored
            return set()
        return {os.fsdecode(p).removeprefix("./") for p in done.out.split(b"\0") if p}
