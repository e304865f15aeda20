"""Hunk reverts of the review: ``HunkReverts`` puts one hunk of the working tree back as it was
when the wave started, and undoes the last such revert.

Only the working file is written (the operator's index is never touched), crash-safely and
keeping its mode (``wavedeck.agents.wave.file_write.replace_file``: a kill or a full disk
mid-write leaves the file as it was); a hunk moved by other edits is found where it went, one
changed since the diff was read is refused (``wavedeck.agents.git.hunks``), as are links, binary
files and paths git or the plan would refuse. A refusal is a ``revert-failed`` ``GateRefused``
naming the path. The undo stack is this control room's (it holds the bytes to put back); what was
reverted is recorded in the wave's review by its one writer,
``wavedeck.agents.wave.reviews.Reviews``.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass

from wavedeck.agents.git.hunks import HunkMismatch, revert_hunk
from wavedeck.agents.git.paths import link_problem, listed_path_problem
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.review.changes import FileChange
from wavedeck.agents.reviewrecord import HunkRevert
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.file_write import replace_file
from wavedeck.agents.wave.reviews import Reviews


@dataclass
class _Undo:
    wave: int
    path: str
    before: bytes | None  # None: the file did not exist
    after: bytes | None
    mode: int | None
    revert: HunkRevert


class HunkReverts:
    """The review's hunk reverts and their undo (see the module docstring)."""

    def __init__(self, ctx: WaveContext, *, reviews: Reviews) -> None:
        self.ctx = ctx
        self.reviews = reviews
        self._undo: list[_Undo] = []

    def _refuse(self, n: int, path: str, detail: str) -> None:
        self.ctx.refuse(Refusal("revert-failed", n, paths=(path,), detail=detail))

    async def revert_hunk(self, n: int, change: FileChange, index: int) -> bool:
        """Put hunk ``index`` of ``change`` back as it was when wave ``n`` started (the working
        tree only). False, with a ``GateRefused``, when it cannot be done."""
        ctx, patch = self.ctx, change.patch
        rec = ctx.state.waves.get(n)
        if rec is None or rec.base_commit is None or rec.checkpoint is not None:
            self._refuse(n, patch.path, "only an open wave's changes can be reverted")
            return False
        if not 0 <= index < len(patch.hunks):
            self._refuse(n, patch.path, f"it has no hunk {index + 1}")
            return False
        problem = listed_path_problem(patch.path) or link_problem(ctx.git.root, patch.path)
        if "120000" in (patch.old_mode, patch.new_mode) or patch.binary:
            problem = problem or "a link or a binary file: revert the whole file (X)"
        if problem:
            self._refuse(n, patch.path, problem)
            return False
        hunk = patch.hunks[index]
        target = ctx.repo / patch.path
        try:
            before = target.read_bytes() if target.exists() else None
            mode = stat.S_IMODE(os.stat(target).st_mode) if before is not None else None
            text = revert_hunk((before or b"").decode("utf-8", "surrogateescape"), hunk)
        except (OSError, HunkMismatch) as exc:
            self._refuse(n, patch.path, str(exc))
            return False
        after: bytes | None = text.encode("utf-8", "surrogateescape")
        try:
            if patch.status == "added" and not text and len(patch.hunks) == 1:
                target.unlink()  # the file did not exist when the wave started
                after = None
            else:
                keep = mode  # the file was deleted: it comes back with the mode the wave found
                if keep is None:
                    keep = 0o755 if patch.old_mode == "100755" else 0o644
                target.parent.mkdir(parents=True, exist_ok=True)
                replace_file(target, after or b"", mode=keep)
        except OSError as exc:
            self._refuse(n, patch.path, exc.strerror or str(exc))
            return False
        attribution_ = change.attribution(index)
        issue = attribution_.issues[0] if attribution_.kind == "exact" else None
        revert = HunkRevert(
            path=patch.path,
            header=hunk.header,
            agent=change.agent,
            issue=issue,
            lines=hunk.added + hunk.removed,
            reverted_at=time.time(),
        )
        self._undo.append(_Undo(n, patch.path, before, after, mode, revert))
        self.reviews.record_revert(n, revert)
        return True

    async def undo_revert(self, n: int) -> str | None:
        """Undo wave ``n``'s last hunk revert (this control room's); the path, or None when
        there is none. Refused when the file changed since."""
        undo = next((u for u in reversed(self._undo) if u.wave == n), None)
        if undo is None:
            return None
        target = self.ctx.repo / undo.path
        try:
            now = target.read_bytes() if target.exists() else None
        except OSError as exc:
            self._refuse(n, undo.path, exc.strerror or str(exc))
            return None
        if now != undo.after:
            self._refuse(n, undo.path, "the file changed since the revert: nothing undone")
            return None
        try:
            if undo.before is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                replace_file(target, undo.before, mode=0o644 if undo.mode is None else undo.mode)
        except OSError as exc:
            self._refuse(n, undo.path, exc.strerror or str(exc))
            return None
        self._undo.remove(undo)
        self.reviews.forget_revert(n, undo.revert, undo.path)
        return undo.path
