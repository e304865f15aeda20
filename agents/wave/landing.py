"""A checkpoint's last step, crash-safe: record the commit, move the branch, finish the wave.

``Landing.land`` takes a checkpoint commit made but not on the branch yet
(``wavedeck.agents.git.checkpoint.PreparedCheckpoint``), records it as the wave's intent
(``transitions.checkpoint_intended``, saved), and only then moves the branch to it and refreshes
the user's index; it then records the checkpoint, lets the wave's start tree go, stops the
watchers, removes the worktrees and announces it.

``Landing.resume`` runs when a control room opens. A wave with an intent and no checkpoint was
left by a control room killed between the two: if the branch holds the intended commit (HEAD is
it, or descends from it), wavedeck recognises its own commit, refreshes the user's index when
HEAD is still that commit (their next ``git commit`` would otherwise revert the wave) and
finishes the bookkeeping above, with a notice; if it does not, the branch never moved: the
intent is dropped and the wave stays tested, its checkpoint to be made again. A control room
killed after recording a checkpoint but before letting go of its start tree or its worktrees
leaves them: they are removed then too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from wavedeck.agents.events import Notice
from wavedeck.agents.git.checkpoint import PreparedCheckpoint
from wavedeck.agents.git.errors import CheckpointIndexStale, CheckpointRefused, GitError
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.wave import operator_work, transitions
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.worktree_mode import WorktreeMode


class Watch(Protocol):
    """The wave's watchers, stopped once its checkpoint is recorded."""

    async def stop(self) -> None: ...


class Landing:
    """Lands checkpoint commits and finishes the ones a killed control room left half done."""

    def __init__(self, ctx: WaveContext, *, watch: Watch, worktrees: WorktreeMode) -> None:
        self.ctx = ctx
        self.watch = watch
        self.worktrees = worktrees

    async def land(self, n: int, prepared: PreparedCheckpoint, issues: Sequence[str]) -> str | None:
        """Move the branch to wave ``n``'s prepared checkpoint and record it; None (and a
        ``GateRefused``) when the branch moved meanwhile or git failed. A checkpoint whose user
        index could not be refreshed counts as committed, with a warning saying how to."""
        ctx = self.ctx
        transitions.checkpoint_intended(ctx, n, prepared.commit, prepared.parent, prepared.paths)
        stale: CheckpointIndexStale | None = None
        try:
            sha: str = await asyncio.to_thread(ctx.git.land_checkpoint, prepared)
        except CheckpointIndexStale as exc:
            # The commit was made and the branch points at it: recording a failure would leave
            # the wave open on a committed checkpoint. Only the user's index is behind.
            sha, stale = exc.sha, exc
        except CheckpointRefused as exc:
            transitions.checkpoint_abandoned(ctx, n)
            ctx.refuse(Refusal(exc.code, n, paths=exc.paths, detail=exc.detail))
            return None
        except GitError as exc:
            transitions.checkpoint_abandoned(ctx, n)
            ctx.refuse(Refusal("git-error", n, detail=str(exc)))
            return None
        await self._finish(n, sha, tuple(issues), stale)
        return sha

    async def _tidy_committed(self) -> None:
        """What a control room killed after recording a checkpoint left: the wave's start-tree
        ref (one git listing for every wave) and its worktrees, removed as ``_finish`` would."""
        ctx = self.ctx
        committed = {n for n, rec in ctx.state.waves.items() if rec.checkpoint is not None}
        if not committed:
            return
        refs = set(await asyncio.to_thread(ctx.git.own_refs))
        for n in sorted(committed):
            if operator_work.start_ref(n) in refs:
                await asyncio.to_thread(ctx.git.drop_ref, operator_work.start_ref(n))
            if self.worktrees.enabled:
                await self.worktrees.cleanup(n)  # nothing to do when none is on disk

    async def _finish(
        self, n: int, sha: str, issues: tuple[str, ...], stale: CheckpointIndexStale | None
    ) -> None:
        ctx = self.ctx
        transitions.checkpoint_recorded(ctx, n, sha)
        # The start tree served its wave: git may collect it now.
        await asyncio.to_thread(ctx.git.drop_ref, operator_work.start_ref(n))
        await self.watch.stop()
        if self.worktrees.enabled:
            await self.worktrees.cleanup(n)
        if stale is not None:
            ctx.emit(Notice("warning", str(stale), commit=stale.sha, paths=tuple(stale.paths)))
        transitions.checkpoint_announced(ctx, n, sha, issues)

    async def resume(self) -> None:
        """Finish every checkpoint a killed control room left half done (module docstring)."""
        ctx = self.ctx
        await self._tidy_committed()
        for n, rec in sorted(ctx.state.waves.items()):
            intent = rec.checkpoint_intent
            if intent is None:
                continue
            if rec.checkpoint is not None:  # recorded after all: the intent is spent
                transitions.checkpoint_abandoned(ctx, n)
                continue
            head = await asyncio.to_thread(ctx.git.head)
            landed = head == intent.commit or await asyncio.to_thread(
                ctx.git.is_ancestor, intent.commit, head
            )
            if not landed:
                transitions.checkpoint_abandoned(ctx, n)
                ctx.emit(
                    Notice(
                        "info",
                        f"wave {n}: the checkpoint {intent.commit[:12]} a control room was making "
                        "when it stopped never reached the branch; it will be made again",
                        commit=intent.commit,
                    )
                )
                continue
            stale: CheckpointIndexStale | None = None
            if head == intent.commit:  # the user's index still shows the files before it
                try:
                    await asyncio.to_thread(ctx.git.refresh_index, intent.commit, intent.paths)
                except CheckpointIndexStale as exc:
                    stale = exc
            ctx.emit(
                Notice(
                    "warning",
                    f"wave {n}: the checkpoint {intent.commit[:12]} was committed by a control "
                    "room that stopped before recording it: recorded now"
                    + (", your index refreshed" if head == intent.commit and not stale else ""),
                    commit=intent.commit,
                )
            )
            await self._finish(n, intent.commit, ctx.plan.wave(n).issue_ids, stale)
