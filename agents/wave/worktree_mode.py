"""Worktree mode (``workspace = "worktree"``): each agent of a wave works in its own git worktree.

The supervisor creates one worktree per agent at the wave's base commit (``wavedeck.agents.watch.worktrees``),
launches the agent there, and watches each worktree with an exact attribution (every write in
it is that agent's), and the main tree for what the worktrees share (``.git/config``, hooks:
a live tamper report) and for writes outside the worktrees (``main_tree_attributor``). When the wave's agents are done, ``collect`` brings each agent's changes
into the main working tree, uncommitted, like a remote agent's patch: from there the tests, the
review, the stray-file gate and the checkpoint work exactly as in shared mode, with the writer
of every path known. Paths two agents both changed are ``collision`` violations: nothing is
collected until the operator resolves them in the worktrees.

Collecting never overwrites the main tree's own changes: a path an agent changed whose main-tree
content differs from the wave's base too (the operator's edit during the wave or before it, or
an agent escaping its worktree), and from the agent's version, is refused by name
(``operator-conflict``, as in shared mode) and nothing is collected. Once the operator accepts
such a file (one by one), it is collected as a three-way merge keeping both sides' changes; a
merge whose lines conflict stays refused, both versions untouched.

A follow-up after the collection (a change request of the review, an answer to a question)
runs in the agent's worktree again: ``reopen`` first gives that worktree the main tree's content
of the paths collected from it (what the review left of them: reverted hunks stay reverted),
notes what that content was, and marks the agent ``pending``; the next ``collect`` (the tests)
brings in only the reopened agents' answers, refusing (``operator-conflict``) a path whose
main-tree content changed meanwhile, and until then the checkpoint counts the tests as stale.
"""

from __future__ import annotations

import asyncio
import filecmp
import hashlib
import os
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


def _same(one: Path, other: Path) -> bool:
    """The two paths hold the same thing: both absent, the same link, or the same bytes."""
    if one.is_symlink() or other.is_symlink():
        return one.is_symlink() and other.is_symlink() and os.readlink(one) == os.readlink(other)
    if not one.exists() or not other.exists():
        return not one.exists() and not other.exists()
    return one.is_file() and other.is_file() and filecmp.cmp(one, other, shallow=False)


def _digest(path: Path) -> str:
    """What ``path`` holds, in short: a link's target, a file's sha256, "" when absent."""
    if path.is_symlink():
        return "link:" + os.readlink(path)
    if not path.is_file():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_merged(target: Path, merged: bytes) -> None:
    tmp = target.with_name(f".{target.name}.wavedeck-merge")
    tmp.write_bytes(merged)
    shutil.copymode(target, tmp)
    tmp.replace(target)


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

    def is_collected(self, n: int) -> bool:
        """Wave ``n``'s changes were brought into the main tree (by ``collect``)."""
        return self._marker(n).exists()

    def _pending_file(self, n: int) -> Path:
        return self.folder / f"wave-{n}.recollect.json"

    def _pending(self, n: int) -> dict[str, dict[str, str]]:
        """Reopened agents -> {path: the main tree's content (``_digest``) given to them}."""
        data = read_marker(self._pending_file(n))
        if not isinstance(data, dict):
            return {}
        return {
            str(a): {str(p): str(d) for p, d in paths.items()}
            for a, paths in data.items()
            if isinstance(paths, dict)
        }

    def pending(self, n: int) -> list[str]:
        """Agents of wave ``n`` reopened after its collection, whose answers wait in their
        worktrees for the next ``collect``."""
        return sorted(self._pending(n))

    async def reopen(self, n: int, agent_id: str) -> None:
        """Before a follow-up of ``agent_id`` once wave ``n`` was collected: its worktree gets
        the main tree's content of the paths collected from it, and it is collected again."""
        base = self.ctx.wave(n).base_commit
        if base is None:
            return
        trees = self.trees or await self.prepare(n, base)
        given: dict[str, str] = {}
        for path, agent in self.writers(n).items():
            if agent == agent_id:
                await asyncio.to_thread(_copy_back, self.ctx.repo, trees[agent_id], path)
                given[path] = await asyncio.to_thread(_digest, self.ctx.repo / path)
        write_marker(self._pending_file(n), {**self._pending(n), agent_id: given})

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
        pending = self._pending(n)
        again = self._marker(n).exists()  # collected: only the reopened agents' answers come in
        if again and not pending:
            return True
        base = ctx.wave(n).base_commit
        if base is None:
            return False
        trees = self.trees or await self.prepare(n, base)
        earlier = self.writers(n) if again else {}
        changes = {
            agent: await asyncio.to_thread(worktree_changes, path, base)
            for agent, path in trees.items()
            if not again or agent in pending
        }
        for path, agent in earlier.items():  # what the others brought in counts as theirs
            if agent not in pending:
                changes.setdefault(agent, set()).add(path)
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
        # Again: a reopened agent's paths, its answer and what it put back to the base since.
        copy = {p: a for p, a in {**earlier, **owner}.items() if not again or a in pending}
        if again:
            merged, blocked = await asyncio.to_thread(self._changed_since_reopen, n, base, copy)
        else:
            merged, blocked = await asyncio.to_thread(self._main_tree_changes, n, base, owner)
        if blocked:
            ctx.refuse(Refusal("operator-conflict", n, paths=tuple(blocked)))
            return False
        self.collected[n] = {**earlier, **owner}  # before copying: the watcher sees the copies
        for path, agent in copy.items():
            if path in merged:
                await asyncio.to_thread(_write_merged, ctx.repo / path, merged[path])
            else:
                await asyncio.to_thread(_copy_back, trees[agent], ctx.repo, path)
        write_marker(self._marker(n), owner)
        self._pending_file(n).unlink(missing_ok=True)
        ctx.emit(
            Notice("info", f"wave {n}: collected {len(copy)} changed path(s) from the worktrees")
        )
        return True

    def _changed_since_reopen(
        self, n: int, base: str, copy: dict[str, str]
    ) -> tuple[dict[str, bytes], list[str]]:
        """Of a reopened agent's paths to collect again, those whose main-tree content is no
        longer what ``reopen`` gave its worktree (blocked); a path it did not have then is
        judged as a first collection is. Blocking."""
        pending = self._pending(n)
        given = {p: d for paths in pending.values() for p, d in paths.items()}
        fresh = {p: a for p, a in copy.items() if p not in given}
        merged, blocked = self._main_tree_changes(n, base, fresh) if fresh else ({}, [])
        for path in copy:
            if path in given and _digest(self.ctx.repo / path) != given[path]:
                blocked.append(path)
        return merged, sorted(blocked)

    def _main_tree_changes(
        self, n: int, base: str, owner: dict[str, str]
    ) -> tuple[dict[str, bytes], list[str]]:
        """Of the paths to collect (``owner``), those whose main-tree content changed too:
        merged (accepted and merging cleanly: path -> both sides' content), and blocked (the
        rest: collecting would overwrite them). Blocking (git)."""
        ctx = self.ctx
        accepted = ctx.wave(n).accepted
        changed = set()
        for item in ctx.git.changed_files(base):
            changed.add(item.path)
            if item.old_path:
                changed.add(item.old_path)
        merged: dict[str, bytes] = {}
        blocked: list[str] = []
        for path, agent in owner.items():
            mine, theirs = ctx.repo / path, self.trees[agent] / path
            if path not in changed or _same(mine, theirs):
                continue  # the main tree has the base's version, or already the agent's
            both = ctx.git.merge_file(path, base, mine, theirs) if path in accepted else None
            if both is None:
                blocked.append(path)
            else:
                merged[path] = both
        return merged, sorted(blocked)

    async def blocked(self, n: int) -> list[str]:
        """The paths collecting wave ``n`` would refuse now (``operator-conflict``): none
        once it is collected."""
        ctx = self.ctx
        base = ctx.wave(n).base_commit
        if base is None or self._marker(n).exists():
            return []
        from wavedeck.agents.watch.worktrees import worktree_changes

        trees = self.trees or await self.prepare(n, base)
        owner = {
            path: agent
            for agent, tree in trees.items()
            for path in sorted(await asyncio.to_thread(worktree_changes, tree, base))
        }
        _merged, blocked = await asyncio.to_thread(self._main_tree_changes, n, base, owner)
        return blocked

    async def cleanup(self, n: int) -> None:
        """After the checkpoint: remove the wave's worktrees and their branches."""
        from wavedeck.agents.watch.worktrees import WorktreeError, remove_worktrees

        # Not prepared by this control room (a checkpoint finished after a restart): the
        # wave's worktrees as they lie on disk.
        trees = self.trees or {
            a.id: self.folder / a.id
            for a in self.ctx.plan.wave(n).agents
            if (self.folder / a.id).is_dir()
        }
        if not trees:
            return
        try:
            await asyncio.to_thread(remove_worktrees, self.ctx.repo, trees, delete_branches=True)
        except (WorktreeError, OSError) as exc:
            self.ctx.emit(Notice("warning", f"wave {n}: could not remove the worktrees: {exc}"))
        self.trees = {}
