"""The git layer's exceptions, never a traceback.

``GitError`` is anything git (or the repository's state) refused, its text a message for the
operator; ``CheckpointRefused`` is a checkpoint that was deliberately not made: a
``CheckpointCode`` saying why, the paths it concerns and the detail git or the check gave, so the
supervisor can turn it into a ``Refusal`` (the codes are ``RefusalCode``s too) whose words the
surfaces choose (``wavedeck.agents.wave.refusals``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from wavedeck.plan.errors import WavedeckError

# Why a checkpoint was not made (``CheckpointRefused.code``), and what ``detail`` then holds.
# Every one is also a ``RefusalCode`` (the wave layer passes it on as it is).
CheckpointCode = Literal[
    # the request itself
    "no-paths",  # no path was given
    "empty-message",  # the commit message is blank
    "unsafe-paths",  # names git could misread (paths; detail: "'name': why; ..." for five)
    "folders-declared",  # folders, not files (paths)
    "symlinked-paths",  # a new link pointing outside, or a path through a linked folder
    # (paths; detail: "path: what is wrong; ..." for five)
    # the repository's state
    "git-busy",  # detail: the ``BusyState`` (merge, rebase, ..., detached HEAD, unmerged paths)
    "head-changed",  # HEAD is not the expected commit (detail: "expected <sha>, now <sha>")
    # the content
    "files-changing",  # files never stopped changing (paths; detail: the seconds waited, "5 s")
    "conflict-markers",  # leftover conflict markers (paths)
    "nothing-to-commit",  # the paths are as HEAD has them
    "hook-failed",  # an opted-in hook refused (detail: "<hook> exited <rc>: <its output>")
    "hook-timed-out",  # an opted-in hook was stopped (detail: "<hook>, stopped after <s> s")
    # the branch's move
    "branch-moved",  # a commit was made on the branch meanwhile (detail: what git said)
]
CHECKPOINT_CODES: tuple[CheckpointCode, ...] = get_args(CheckpointCode)


class GitError(WavedeckError):
    """A git operation failed; ``str(err)`` is a complete message for the operator."""


class CheckpointRefused(GitError):
    """A checkpoint was not committed, on purpose.

    Attributes:
        code: why (a ``CheckpointCode``); the words are the surface's.
        paths: the declared paths concerned, if any (conflict markers, unsafe names, symlinks).
        detail: what git, a hook or the check said, complete in itself (see ``CheckpointCode``).
    """

    def __init__(self, code: CheckpointCode, paths: Iterable[str] = (), detail: str = "") -> None:
        self.code: CheckpointCode = code
        self.paths: tuple[str, ...] = tuple(paths)
        self.detail = detail
        # For a log or a caller outside the wave layer; the operator reads the Refusal's words.
        shown = ", ".join(self.paths[:10])
        more = f" (+{len(self.paths) - 10} more)" if len(self.paths) > 10 else ""
        said = f" ({detail})" if detail else ""
        super().__init__(
            f"checkpoint refused: {code}{said}" + (f": {shown}{more}" if shown else "")
        )


class CheckpointIndexStale(GitError):
    """The checkpoint commit was made, but the user's index could not be brought up to date.

    The commit exists and the branch points at it (``sha``); only the index entries of the
    checkpointed ``paths`` still show the old content, which ``git reset -q -- <paths>`` fixes.
    """

    def __init__(self, sha: str, paths: Iterable[str], detail: str) -> None:
        self.sha = sha
        self.paths: tuple[str, ...] = tuple(paths)
        super().__init__(
            f"checkpoint {sha[:12]} committed, but your index could not be updated ({detail}); "
            "run `git reset -q -- <the checkpointed paths>` to refresh it"
        )
