"""Starting a wave: what must hold before any agent starts, then the start recorded in order.

``WaveStart`` is the supervisor's part for ``start_wave`` once the plan's rules allow it
(``RunQueries.can_start_wave``). ``refusal`` adds what this machine and the repository must hold:
each local agent's program here (``[agent] preset``) and no git operation under way. ``start``
then records the start before any agent runs: the run data excluded from git, the base commit
and the working tree as a tree (the operator's own work, ``wavedeck.agents.wave.operator_work``),
kept from ``git gc`` by a ref; the agents' worktrees (worktree mode); the snapshot of ``.git``
the tamper check compares with; the wave's transition; the notices (the operator's own files,
programs planted in git's configuration, the sandbox); the watcher; and the launch. A step that
fails refuses the start (a ``GateRefused``) before any agent runs. ``keep_start_tree`` keeps an
open wave's start tree from ``git gc`` when a control room resumes it.
"""

from __future__ import annotations

import asyncio

from wavedeck.agents.events import Notice
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.local import sandbox
from wavedeck.agents.presets import preflight
from wavedeck.agents.watch.worktrees import WorktreeError
from wavedeck.agents.wave import operator_work, transitions
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.processes import AgentProcesses
from wavedeck.agents.wave.runners import Runners
from wavedeck.agents.wave.tamperlog import PLANTED_NOTICE, TamperLog
from wavedeck.agents.wave.watching import WaveWatch
from wavedeck.agents.wave.worktree_mode import WorktreeMode

__all__ = ["WaveStart"]


class WaveStart:
    """Starts a wave's agents (see the module docstring)."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        runners: Runners,
        worktrees: WorktreeMode,
        tamper: TamperLog,
        watch: WaveWatch,
        processes: AgentProcesses,
    ) -> None:
        self.ctx = ctx
        self.runners = runners
        self.worktrees = worktrees
        self.tamper = tamper
        self.watch = watch
        self.processes = processes
        self._sandbox_said = False  # the run's sandbox status is told once per run

    def _local(self, n: int) -> list[str]:
        """Wave ``n``'s agents that run on this machine."""
        return [a.id for a in self.ctx.plan.wave(n).agents if not self.runners.is_remote(a.id)]

    async def refusal(self, n: int) -> Refusal | None:
        """Why wave ``n`` cannot start here now, beyond the plan's rules: a local agent's
        program missing (``[agent] preset``), or a git operation under way; None when it can."""
        missing = preflight(self.ctx.config, self._local(n))
        if missing:
            return Refusal("program-missing", n, detail=missing)
        state = await asyncio.to_thread(self.ctx.git.in_progress_state)
        return Refusal("git-busy", n, detail=state) if state else None

    async def start(self, n: int) -> None:
        """Record wave ``n``'s start and launch its agents; a ``GateRefused`` when a step fails
        before any agent runs."""
        ctx, git = self.ctx, self.ctx.git
        await asyncio.to_thread(git.ensure_excluded)
        base = await asyncio.to_thread(git.head)
        try:
            start_tree, own = await asyncio.to_thread(operator_work.at_start, git, base)
            # Kept reachable until the checkpoint: a `git gc` mid-wave must not delete it.
            await asyncio.to_thread(git.keep_ref, operator_work.start_ref(n), start_tree)
        except GitError as exc:
            ctx.refuse(Refusal("tree-unrecorded", n, detail=str(exc)))
            return
        if self.worktrees.enabled:
            try:
                await self.worktrees.prepare(n, base)
            except WorktreeError as exc:
                ctx.refuse(Refusal("worktrees-failed", n, detail=str(exc)))
                return
        snap = await asyncio.to_thread(git.tamper_snapshot, self.tamper.copies)
        self.tamper.remember(n, snap)
        transitions.wave_started(ctx, n, base=base, start_tree=start_tree, start_dirty=own)
        if own:
            ctx.emit(Notice("info", operator_work.start_notice(n, own)))
        planted = await asyncio.to_thread(self.tamper.planted_programs)
        if planted:
            # The keys travel as a field: nobody needs to parse them back out of the text.
            text = PLANTED_NOTICE + "; ".join(f.text for f in planted)
            ctx.emit(Notice("warning", text, programs=tuple(f.key for f in planted)))
        await self.watch.start(n)
        await self._say_sandbox(n)
        await self.processes.launch_all(n)

    async def keep_start_tree(self, n: int) -> None:
        """The open wave's start tree kept from ``git gc`` (a wave an older wavedeck started
        has no ref yet); one already gone is the checkpoint's to refuse, not this."""
        git = self.ctx.git
        tree = self.ctx.wave(n).start_tree
        if tree is not None and await asyncio.to_thread(git.has_object, tree):
            await asyncio.to_thread(git.keep_ref, operator_work.start_ref(n), tree)

    async def _say_sandbox(self, n: int) -> None:
        """[agent] sandbox, before wave ``n``'s agents start: whether this machine confines
        them (once per run), and per local agent what its sandbox cannot protect."""
        ctx = self.ctx
        if not self._sandbox_said:
            self._sandbox_said = True
            ctx.emit(sandbox.local_status(ctx.config))
        if ctx.config.agent.sandbox == "off":
            return
        for event in await asyncio.to_thread(
            sandbox.before_wave,
            ctx.plan,
            ctx.config,
            self._local(n),
            self.worktrees.cwd_for,
            ctx.wavedeck_dir,
        ):
            ctx.emit(event)
