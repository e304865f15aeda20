"""Worktree mode (``workspace = "worktree"``): each agent of a wave works in its own git worktree.

The supervisor creates one worktree per agent at the wave's base commit (``wavedeck.agents.watch.worktrees``),
launches the agent there, and watches each worktree with an exact attribution (every write in
it is that agent's), and the main tree for what the worktrees share (``.git/config``, hooks:
a live tamper report) and for writes outside the worktrees (``main_tree_attributor``). When the wave's agents are done, ``collect`` brings each agent's changes
into the main working tree, uncommitted, like a remote agent's patch: from there the tests, the
review, the stray-file gate and the checkpoint work exactly as in shared mode, with the writer
of every path known. Paths two agents both changed are ``collision`` violations: nothing is
collected until the operator resolves them in the worktrees.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from wavedeck.agents.events import Notice
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.markers import read_marker, write_marker

if TYPE_CHECKING:
    from collections.abc import Sequence

    from wavedeck.agents.watch.rules import Attributor
    from wavedeck.agents.wave.context import WaveContext


def _copy_back(worktree: Path, repo: Path, path: str) -> None:
    source, target = worktree / path, repo / path
    if source.is_symlink() or source.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_dir():
            target.unlink() if not target.is_dir() else shutil.rmtree(target)
        shutil.copy2(source, target, follow_symlinks=False)
    elif target.exists() or target.is_symlink():
        target.unlink()


class WorktreeMode:
    """The wave's worktrees, one per agent, and what was collected from them (per wave)."""

    def __init__(self, ctx: WaveContext) -> None:
        self.ctx = ctx
        self.trees: dict[str, Path] = {}  # agent id -> its worktree (the open wave's)
        # {path: agent} collected (or being collected) into the main tree, per wave, so the
        # main tree's watcher does not take the copies for stray writes.
        self.collected: dict[int, dict[str, str]] = {}

    @property
    def enabled(self) -> bool:
        return self.ctx.config.workspace == "worktree"

    @property
    def folder(self) -> Path:
        return self.ctx.wavedeck_dir / "worktrees"

    def _marker(self, n: int) -> Path:
        return self.folder / f"wave-{n}.collected.json"

    def cwd_for(self, agent_id: str) -> Path:
        """Where the agent works: its own worktree in worktree mode, else the repository."""
        tree = self.trees.get(agent_id)
        if tree is None and self.enabled and (self.folder / agent_id).is_dir():
            tree = self.folder / agent_id  # a run not opened here (``wavedeck attach``)
        return tree if tree is not None else self.ctx.repo

    async def prepare(self, n: int, base: str) -> dict[str, Path]:
        """Create (or reuse) the wave's worktrees; remember them for ``cwd_for``."""
        from wavedeck.agents.watch.worktrees import create_worktrees

        ctx = self.ctx
        trees = await asyncio.to_thread(create_worktrees, ctx.repo, ctx.plan, n, base, self.folder)
        self.trees = dict(trees)
        return self.trees

    def writers(self, n: int) -> dict[str, str]:
        """``{path: agent}`` of the collected wave (empty before ``collect``)."""
        data = read_marker(self._marker(n))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def main_tree_attributor(self, n: int, accept: Sequence[str]) -> Attributor:
        """Attribution for the main tree's watcher during a worktree wave.

        Until the wave is collected, any write there is ``unowned`` (agents work in their
        worktrees). A path collected from a worktree is its agent's and no violation: its own
        watcher already judged it. After collecting, other writes are judged as in shared mode.
        """
        from wavedeck.agents.watch.rules import Attribution, ownership_attributor

        ctx = self.ctx
        shared = ownership_attributor(
            ctx.plan, n, accept=accept, accept_undeclared=ctx.config.policy.accept_undeclared
        )
        if n not in self.collected and self._marker(n).exists():  # collected before a restart
            self.collected[n] = self.writers(n)

        def attribute(path: str) -> Attribution:
            collected = self.collected.get(n)
            if collected is None:
                why = "changed in the main working tree while agents work in worktrees"
                return Attribution(None, "unowned", (), why)
            agent = collected.get(path)
            if agent is not None:
                return Attribution(agent, None, (), f"collected from {agent}'s worktree")
            return shared(path)

        return attribute

    async def collect(self, n: int) -> bool:
        """Bring every agent's changes into the main tree (once); False on a collision."""
        from wavedeck.agents.watch.worktrees import (
            collision_check,
            collision_violation,
            worktree_changes,
        )

        ctx = self.ctx
        if self._marker(n).exists():
            return True
        base = ctx.wave(n).base_commit
        if base is None:
            return False
        trees = self.trees or await self.prepare(n, base)
        changes = {
            agent: await asyncio.to_thread(worktree_changes, path, base)
            for agent, path in trees.items()
        }
        collisions = collision_check(changes)
        if collisions:
            known = {v.path for v in ctx.violations.get(n, []) if v.kind == "collision"}
            for path, agents in collisions:
                if path in known:
                    continue  # the watchers reported it live
                violation = collision_violation(path, agents)
                ctx.record_violation(n, violation)
                ctx.emit(violation)
            ctx.refuse(Refusal("worktree-collision", n, paths=tuple(p for p, _ in collisions)))
            return False
        owner = {path: agent for agent, paths in changes.items() for path in sorted(paths)}
        self.collected[n] = owner  # before copying: the main tree's watcher sees the copies
        for path, agent in owner.items():
            await asyncio.to_thread(_copy_back, trees[agent], ctx.repo, path)
        write_marker(self._marker(n), owner)
        ctx.emit(
            Notice("info", f"wave {n}: collected {len(owner)} changed path(s) from the worktrees")
        )
        return True

    async def cleanup(self, n: int) -> None:
        """After the checkpoint: remove the wave's worktrees and their branches."""
        from wavedeck.agents.watch.worktrees import WorktreeError, remove_worktrees

        if not self.trees:
            return
        try:
            await asyncio.to_thread(
                remove_worktrees, self.ctx.repo, self.trees, delete_branches=True
            )
        except (WorktreeError, OSError) as exc:
            self.ctx.emit(Notice("warning", f"wave {n}: could not remove the worktrees: {exc}"))
        self.trees = {}
