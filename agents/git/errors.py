"""The git layer's exceptions: one operator-facing message each, never a traceback.

``GitError`` is anything git (or the repository's state) refused; ``CheckpointRefused`` is a
checkpoint that was deliberately not made, with the reason and the paths it concerns, so the
supervisor can show both and the operator can act.
"""

from __future__ import annotations

from collections.abc import Iterable

from wavedeck.plan.errors import WavedeckError


class GitError(WavedeckError):
    """A git operation failed; ``str(err)`` is a complete message for the operator."""


class CheckpointRefused(GitError):
    """A checkpoint was not committed, on purpose.

    Attributes:
        reason: one sentence saying why (``"nothing to commit"``, ``"merge in progress"``, …).
        paths: the declared paths concerned, if any (conflict markers, unsafe names, symlinks).
    """

    def __init__(self, reason: str, paths: Iterable[str] = ()) -> None:
        self.reason = reason
        self.paths: tuple[str, ...] = tuple(paths)
        shown = ", ".join(self.paths[:10])
        more = f" (+{len(self.paths) - 10} more)" if len(self.paths) > 10 else ""
        super().__init__(f"checkpoint refused: {reason}" + (f": {shown}{more}" if shown else ""))


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
