"""The supervisor's eyes: the workspace watchers of the running wave.

In shared mode one watcher covers the working tree and attributes each write with the plan's
ownership model; in worktree mode each agent's worktree has its own watcher, so every write is
attributed exactly, and one more on the main tree reports live what the worktrees share (a
``.git/config`` or hook tamper) and collisions between worktrees. A remote agent's writes are
judged as its host reports them (exact attribution, like a worktree's); the patch that brings
them into the local tree is attributed to it and not reported a second time. Violations are kept per wave (``violations()``) and every event goes to the
supervisor's stream. A snapshot of the parts of ``.git`` that make git run programs is taken when
a wave starts, for the tamper check at the checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.config import Config
from agents.events import FileTouched, Notice, ViolationFound
from agents.wave import worktree_mode as wtmode
from agents.wave.checkpoint import recall_tamper, remember_tamper
from agents.wave.processes import AgentProcesses
from plan.models import Plan

if TYPE_CHECKING:
    from agents.git.repo import GitRepo
    from agents.watch.rules import Attribution, Attributor


# A lock still held is reported again after this long (git retries it many times a second).
LOCK_NOTICE_EVERY_S = 5.0


class WaveWatch(AgentProcesses):
    """Watching the running wave's workspace (the base of ``Supervisor``)."""

    git: GitRepo

    def __init__(self, repo: Path, plan: Plan, config: Config) -> None:
        super().__init__(repo, plan, config)
        self._violations: dict[int, list[ViolationFound]] = {}
        self._watch_tasks: list[asyncio.Task[None]] = []
        self._watchers: list[Any] = []
        self._watch_wave: int | None = None
        self._tamper: dict[int, Any] = {}
        # Worktree mode: {path: agent} collected (or being collected) into the main tree, per
        # wave, so the main tree's watcher does not take the copies for stray writes.
        self._collected: dict[int, dict[str, str]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock_noticed: dict[str, float] = {}  # lock path -> when last reported
        self._bind_loop()

    def _bind_loop(self) -> None:
        """Remember the running event loop (if any): ``on_lock_wait`` posts events to it."""
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()

    def on_lock_wait(self, lock: str) -> None:
        """``GitRepo``'s ``on_lock_wait``: git is waiting for a lock another git process holds.

        Called from the worker thread running git, with the repository's command lock held: it
        only posts a ``Notice`` to the event loop (at most one per lock every few seconds, not
        one per retry) and never calls back into ``GitRepo``.
        """
        now = time.monotonic()
        if now - self._lock_noticed.get(lock, -LOCK_NOTICE_EVERY_S) < LOCK_NOTICE_EVERY_S:
            return
        self._lock_noticed[lock] = now
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            shown = os.path.relpath(lock, self.repo)
        except ValueError:
            shown = lock
        notice = Notice(
            "warning",
            f"waiting for {shown}: another git process holds it "
            f"(up to {self.config.git.lock_wait_s:g} s)",
            {"lock": lock},
        )
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._emit, notice)

    def _remote_touched(self, agent_id: str, path: str, change: str) -> None:
        """A path a remote agent changed on its host: attributed exactly, judged live (the
        local watcher stays quiet about it when the agent's patch brings it here)."""
        from agents.watch.watcher import worktree_attributor

        self._remote_writes[path] = agent_id
        wave = self.plan.agent(agent_id).wave
        policy = self.config.policy
        attribute = worktree_attributor(
            self.plan,
            wave,
            agent_id,
            accept=[*policy.accept, *self._wave(wave).accepted],
            accept_undeclared=policy.accept_undeclared,
        )
        agent, kind, names, *why = attribute(path)
        self._emit(FileTouched(path, agent, change))
        if kind is not None and path not in self._wave(wave).accepted:
            found = ViolationFound(agent, path, kind, names, why[0] if why else "")
            self._violations.setdefault(wave, []).append(found)
            self._emit(found)

    def remote_writer(self, path: str) -> str | None:
        """The remote agent whose changes brought ``path`` into the local tree, if any."""
        agent = self._remote_writes.get(path)
        if agent is not None:
            return agent
        for runner in self._remote.values():
            for agent_id, paths in runner.applied.items():
                if path in paths:
                    return agent_id
        return None

    async def _close_remote(self) -> None:
        """Close every host's connections (its agents keep running, detached, on the host)."""
        runners, self._remote = list(self._remote.values()), {}
        for runner in runners:
            with contextlib.suppress(Exception):
                await runner.close()

    def _remote_aware(self, attribute: Attributor) -> Attributor:
        """``attribute``, except that a path a remote agent's patch brought into the local tree
        is that agent's and no violation here: it was judged when it changed on the host."""

        def wrapped(path: str) -> Attribution:
            agent = self.remote_writer(path)
            if agent is None:
                return attribute(path)
            return agent, None, (), f"brought back from {agent}'s host"

        return wrapped

    async def _start_watch(self, wave: int) -> None:
        """Watch the working tree (shared mode) or each agent's worktree and the main tree
        (worktree mode: ``agents.watch.worktrees.WorktreeWatch``)."""
        from agents.watch.watcher import WorkspaceWatcher, ownership_attributor, worktree_attributor

        self._bind_loop()
        await self._stop_watch()
        policy = self.config.policy
        accept = [*policy.accept, *self._wave(wave).accepted]
        watcher: Any
        if wtmode.enabled(self):
            from agents.watch.worktrees import WorktreeWatch

            # The main tree's watcher covers the .git/config and hooks the worktrees share (a
            # live tamper report) and writes outside the worktrees; paths live-collided in two
            # worktrees are reported as they happen.
            watcher = WorktreeWatch(
                self.plan,
                wave,
                self._worktrees,
                repo_root=self.repo,
                ignores=self.config.watch.ignore,
                force_polling=self.config.watch.force_polling,
                accept=accept,
                accept_undeclared=policy.accept_undeclared,
            )
            watcher.watchers[""].set_attributor(wtmode.main_tree_attributor(self, wave, accept))
            for agent_id, tree_watcher in watcher.watchers.items():
                if agent_id and self.is_remote(agent_id):
                    # A remote agent's patch lands in its local worktree: judged on the host.
                    tree_watcher.set_attributor(
                        self._remote_aware(
                            worktree_attributor(
                                self.plan,
                                wave,
                                agent_id,
                                accept=accept,
                                accept_undeclared=policy.accept_undeclared,
                            )
                        )
                    )
        else:
            watcher = WorkspaceWatcher(
                self.repo,
                ignores=self.config.watch.ignore,
                force_polling=self.config.watch.force_polling,
                attribute=self._remote_aware(
                    ownership_attributor(
                        self.plan,
                        wave,
                        # a path an agent's tool call wrote lately is that agent's (presets)
                        writer_of=self.presets.writes.writer,
                        accept=accept,
                        accept_undeclared=policy.accept_undeclared,
                    )
                ),
            )
        self._watch_wave = wave
        if recall_tamper(self, wave) is None:  # state from before tamper records: start now
            remember_tamper(self, wave, await asyncio.to_thread(self.git.tamper_snapshot))
        self._watchers.append(watcher)
        self._watch_tasks.append(asyncio.create_task(self._watch_loop(wave, watcher)))
        for path in self._wave(wave).accepted:  # exact, even where a glob would not accept
            self._accept(wave, path)
        ready = watcher.wait_ready() if wtmode.enabled(self) else watcher.ready.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready, 5.0)

    async def _watch_loop(self, wave: int, watcher: Any) -> None:
        async for event in watcher.events():
            if isinstance(event, ViolationFound):
                self._violations.setdefault(wave, []).append(event)
            self._emit(event)

    def _forget(self, wave: int, path: str, settle_s: float = 1.0) -> None:
        """The supervisor reverted ``path`` (the next write is reported again), or recorded it
        as accepted: then it is accepted in the watchers instead, never reported again this
        wave (``forget`` would make the very next write a violation again)."""
        rec = self._state.waves.get(str(wave))
        if rec is not None and path in rec.accepted:
            self._accept(wave, path)
            return
        if self._watch_wave == wave:
            for watcher in self._watchers:
                watcher.forget(path, settle_s=settle_s)

    def _accept(self, wave: int, path: str) -> None:
        """The operator accepted ``path`` for ``wave``: the watchers stay quiet about it."""
        if self._watch_wave == wave:
            for watcher in self._watchers:
                watcher.accept(path)

    async def _stop_watch(self) -> None:
        for watcher in self._watchers:
            watcher.stop()
        for task in self._watch_tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._watchers, self._watch_tasks, self._watch_wave = [], [], None
