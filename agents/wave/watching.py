"""The supervisor's eyes: the workspace watchers of the running wave.

In shared mode one watcher covers the working tree and attributes each write with the plan's
ownership model; in worktree mode each agent's worktree has its own watcher, so every write is
attributed exactly, and one more on the main tree reports live what the worktrees share (a
``.git/config`` or hook tamper) and collisions between worktrees. A remote agent's writes are
judged as its host reports them (``HostWrites``: exact attribution, like a worktree's); the
patch that brings them into the local tree is attributed to it and not reported a second time.
Violations are kept per wave (in the ``WaveContext``) and every event goes to the supervisor's
stream. A snapshot of the parts of ``.git`` that make git run programs is taken when a wave
starts; each change of them is one ``tamper`` violation (``wavedeck.agents.wave.tamperlog``),
kept (``accept_finding``) or undone (``revert``) one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from wavedeck.agents.events import FileTouched, Notice, ViolationFound
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.presets import PRESETS
from wavedeck.agents.tasks import stop_task
from wavedeck.agents.watch.ignores import Ignores
from wavedeck.agents.watch.interface import ChangeWatcher
from wavedeck.agents.watch.rules import Attribution, Attributor
from wavedeck.agents.watch.writers import WriteLedger
from wavedeck.agents.wave import reverts
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.gates import OPERATOR_ACCEPT
from wavedeck.agents.wave.runners import Runners
from wavedeck.agents.wave.tamperlog import TAMPER_KIND, TamperLog, finding_key, is_tamper_key
from wavedeck.agents.wave.worktree_mode import WorktreeMode

RUN_GRACE_S = 2.0  # an agent counts as running this long after its end was recorded


def note_touched(ctx: WaveContext, agent: str | None, path: str) -> None:
    """Keep the files each agent wrote in its record: a re-opened control room shows the same
    ✎ count as the one that saw the writes (saved with the next state save)."""
    if agent is not None and ctx.in_plan(agent):
        touched = ctx.agent(agent).touched
        if path not in touched:
            touched.append(path)


def forget_touched(ctx: WaveContext, agent: str, path: str) -> None:
    """A later fact says ``agent`` did not write ``path`` after all (a corrected report)."""
    rec = ctx.state.agents.get(agent)
    if rec is not None and path in rec.touched:
        rec.touched.remove(path)


class HostWrites:
    """What remote agents changed on their hosts, judged as the hosts report it (exact
    attribution, like a worktree's); the patch that brings it here is not reported again."""

    def __init__(self, ctx: WaveContext) -> None:
        self.ctx = ctx
        # Paths remote agents changed on their hosts (path -> agent): their patch brings them
        # into the local tree, where the local watcher must not take them for stray writes.
        self._writes: dict[str, str] = {}

    def touched(self, agent_id: str, path: str, change: str) -> None:
        """A path a remote agent changed on its host (a runner's ``on_touched``)."""
        from wavedeck.agents.watch.rules import worktree_attributor

        ctx = self.ctx
        self._writes[path] = agent_id
        wave = ctx.plan.agent(agent_id).wave
        policy = ctx.config.policy
        attribute = worktree_attributor(
            ctx.plan,
            wave,
            agent_id,
            accept=[*policy.accept, *ctx.wave(wave).accepted],
            accept_undeclared=policy.accept_undeclared,
        )
        found = attribute(path)
        note_touched(ctx, found.agent, path)
        ctx.emit(FileTouched(path, found.agent, change, "exact"))
        if found.kind is not None and path not in ctx.wave(wave).accepted:
            violation = ViolationFound(
                found.agent, path, found.kind, found.names, found.why, "exact"
            )
            ctx.record_violation(wave, violation)
            ctx.emit(violation)

    def writer(self, path: str) -> str | None:
        """The remote agent that changed ``path`` on its host, if any."""
        return self._writes.get(path)


class WaveWatch:
    """Watching the running wave's workspace (a part of ``Supervisor``)."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        runners: Runners,
        hosts: HostWrites,
        writes: WriteLedger,
        worktrees: WorktreeMode,
        tamper: TamperLog,
        ignores: Ignores,
    ) -> None:
        """``writes``: the agents' tool events and the watcher's reports, who wrote what (the
        shared tree); ``ignores``: the run's one ignore rule (the checkpoint's too)."""
        self.ctx = ctx
        self.runners = runners
        self.hosts = hosts
        self.writes = writes
        self.ignores = ignores
        self.worktrees = worktrees
        self.tamper = tamper
        self._tasks: list[asyncio.Task[None]] = []
        self._watchers: list[ChangeWatcher] = []
        self.wave: int | None = None  # the wave being watched

    @property
    def own_paths(self) -> tuple[str, ...]:
        """The paths the run's agent CLI writes for itself (``Preset.own_paths``)."""
        return PRESETS[self.ctx.config.agent.preset].own_paths

    def running_at(self, agent_id: str, at: float) -> bool:
        """Whether ``agent_id`` ran at monotonic time ``at`` (from its record's start and
        end, with ``RUN_GRACE_S`` after its end: an exit is recorded after it happened)."""
        rec = self.ctx.state.agents.get(agent_id)
        if rec is None or rec.started_at is None:
            return False
        wall = time.time() - (time.monotonic() - at)
        if wall < rec.started_at - RUN_GRACE_S:
            return False
        return rec.ended_at is None or wall <= rec.ended_at + RUN_GRACE_S

    def remote_writer(self, path: str) -> str | None:
        """The remote agent whose changes brought ``path`` into the local tree, if any."""
        agent = self.hosts.writer(path)
        return agent if agent is not None else self.runners.applied_by(path)

    def _remote_aware(self, attribute: Attributor) -> Attributor:
        """``attribute``, except that a path a remote agent's patch brought into the local tree
        is that agent's and no violation here: it was judged when it changed on the host."""

        def wrapped(path: str) -> Attribution:
            agent = self.remote_writer(path)
            if agent is None:
                return attribute(path)
            return Attribution(agent, None, (), f"brought back from {agent}'s host", "exact")

        return wrapped

    async def start(self, wave: int) -> None:
        """Watch the working tree (shared mode) or each agent's worktree and the main tree
        (worktree mode: ``wavedeck.agents.watch.worktrees.WorktreeWatch``)."""
        from wavedeck.agents.watch.attribution import ledger_attributor
        from wavedeck.agents.watch.rules import worktree_attributor
        from wavedeck.agents.watch.watcher import WorkspaceWatcher

        ctx = self.ctx
        ctx.bind_loop()
        await self.stop()
        policy = ctx.config.policy
        accept = [*policy.accept, *ctx.wave(wave).accepted]
        watcher: ChangeWatcher
        if self.worktrees.enabled:
            from wavedeck.agents.watch.worktrees import WorktreeWatch

            # The main tree's watcher covers the .git/config and hooks the worktrees share (a
            # live tamper report) and writes outside the worktrees; paths live-collided in two
            # worktrees are reported as they happen.
            tree_watch = WorktreeWatch(
                ctx.plan,
                wave,
                self.worktrees.trees,
                repo_root=ctx.repo,
                ignores=[*ctx.config.watch.ignore, *self.own_paths],
                force_polling=ctx.config.watch.force_polling,
                accept=accept,
                accept_undeclared=policy.accept_undeclared,
            )
            tree_watch.watchers[""].set_attributor(
                self.worktrees.main_tree_attributor(wave, accept)
            )
            for agent_id, tree_watcher in tree_watch.watchers.items():
                if agent_id and self.runners.is_remote(agent_id):
                    # A remote agent's patch lands in its local worktree: judged on the host.
                    tree_watcher.set_attributor(
                        self._remote_aware(
                            worktree_attributor(
                                ctx.plan,
                                wave,
                                agent_id,
                                accept=accept,
                                accept_undeclared=policy.accept_undeclared,
                            )
                        )
                    )
            watcher = tree_watch
        else:
            watcher = WorkspaceWatcher(
                ctx.repo,
                ignore=self.ignores,
                force_polling=ctx.config.watch.force_polling,
                ledger=self.writes,
                attribute=self._remote_aware(
                    # who wrote a path: the agents' tool events, their shell commands, who
                    # ran then, else the plan's ownership (said to be a guess)
                    ledger_attributor(
                        ctx.plan,
                        wave,
                        self.writes,
                        accept=accept,
                        accept_undeclared=policy.accept_undeclared,
                        running=self.running_at,
                    )
                ),
            )
        self.wave = wave
        if self.tamper.recall(wave) is None:  # state from before tamper records: start now
            snap = await asyncio.to_thread(ctx.git.tamper_snapshot, self.tamper.copies)
            self.tamper.remember(wave, snap)
        await self.report_tamper(wave)  # made while no control room watched
        self._watchers.append(watcher)
        self._tasks.append(asyncio.create_task(self._loop(wave, watcher)))
        for path in ctx.wave(wave).accepted:  # exact, even where a glob would not accept
            self.accept(wave, path)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watcher.wait_ready(), 5.0)

    async def _loop(self, wave: int, watcher: ChangeWatcher) -> None:
        async for event in watcher.events():
            if isinstance(event, ViolationFound) and event.kind == TAMPER_KIND:
                await self.report_tamper(wave)  # one violation per setting, hook or file
                continue
            if isinstance(event, ViolationFound):
                known = self.ctx.violations.get(wave, [])
                if event.corrects is None and any(
                    v.path == event.path and v.kind == event.kind for v in known
                ):
                    continue  # reported already (by an earlier control room: a fresh watcher)
                self.ctx.record_violation(wave, event)
            elif isinstance(event, FileTouched):
                if event.corrects is not None:
                    forget_touched(self.ctx, event.corrects, event.path)
                note_touched(self.ctx, event.agent, event.path)
            self.ctx.emit(event)

    async def settled(self) -> None:
        """Until the watchers hold no report back (a write waiting for the tool event that
        names its writer): the tests and the checkpoint judge the final attribution."""
        for watcher in list(self._watchers):
            await watcher.settled()

    def forget(self, wave: int, path: str, settle_s: float = 1.0) -> None:
        """The supervisor reverted ``path`` (the next write is reported again), or recorded it
        as accepted: then it is accepted in the watchers instead, never reported again this
        wave (``forget`` would make the very next write a violation again)."""
        rec = self.ctx.state.waves.get(wave)
        if rec is not None and path in rec.accepted:
            self.accept(wave, path)
            return
        if self.wave == wave:
            for watcher in self._watchers:
                watcher.forget(path, settle_s=settle_s)

    def accept(self, wave: int, path: str) -> None:
        """The operator accepted ``path`` for ``wave``: the watchers stay quiet about it."""
        if self.wave == wave:
            for watcher in self._watchers:
                watcher.accept(path)

    async def report_tamper(self, wave: int) -> None:
        """Record and report each change of ``.git`` since the wave started, one violation
        each (under ``finding_key``); a change confirmed earlier that changed again is open
        again (its acceptance covered the value the operator saw)."""
        ctx = self.ctx
        try:
            findings = await asyncio.to_thread(self.tamper.findings, wave)
        except GitError as exc:
            ctx.emit(Notice("error", f"cannot read .git to check it for tampering: {exc}"))
            return
        accepted = ctx.wave(wave).accepted
        known = {(v.path, v.detail) for v in ctx.violations.get(wave, [])}
        for finding in findings:
            key = finding_key(finding)
            if accepted.pop(key, None) is not None:
                ctx.save()
            if (key, finding.text) in known:
                continue
            event = ViolationFound(None, key, TAMPER_KIND, (), finding.text)
            ctx.record_violation(wave, event)
            ctx.emit(event)

    async def accept_finding(self, wave: int, path: str, reason: str) -> None:
        """The operator confirms one change of ``.git`` (``TamperLog.confirm``), recorded with
        the reason for the checkpoint's trailers."""
        ctx = self.ctx
        if not await asyncio.to_thread(self.tamper.confirm, wave, path):
            ctx.refuse(Refusal("tamper-not-open", wave, paths=(path,)))
            return
        self.accept_path(wave, path, reason)

    def accept_path(self, wave: int, path: str, reason: str) -> None:
        """The operator accepts a path outside the plan for this wave's checkpoint (recorded
        with the reason; the watchers stay quiet about it)."""
        ctx = self.ctx
        ctx.wave(wave).accepted[path] = reason.strip() or OPERATOR_ACCEPT
        self.accept(wave, path)
        ctx.save()
        ctx.emit(Notice("info", f"wave {wave}: accepted {path}: {ctx.wave(wave).accepted[path]}"))

    async def revert(self, wave: int, path: str) -> None:
        """Put a path back as it was at the wave's start (a stray file an agent created goes)."""
        ctx = self.ctx
        # Back to the wave's start, the operator's own uncommitted work included.
        base = ctx.wave(wave).start_tree or ctx.wave(wave).base_commit
        if base is None:
            ctx.refuse(Refusal("wave-not-started", wave, paths=(path,)))
            return
        if is_tamper_key(path):
            why = await asyncio.to_thread(self.tamper.undo, wave, path)
            if why is not None:
                ctx.refuse(Refusal("tamper-not-revertible", wave, paths=(path,), detail=why))
                return
            ctx.violations[wave] = [v for v in ctx.violations.get(wave, []) if v.path != path]
            ctx.emit(Notice("info", f"wave {wave}: undone {path}"))
            ctx.changed()
            return
        self.forget(wave, path)
        try:
            await asyncio.to_thread(ctx.git.revert_file, path, base)
        except GitError as exc:
            ctx.refuse(Refusal("revert-failed", wave, paths=(path,), detail=str(exc)))
            return
        # Again, now that the file is written: the watchers take writes within a second of a
        # forget for the revert itself, and git (its lock, three processes) can take longer than
        # that on a loaded machine, when the revert's own write came back as a new violation.
        self.forget(wave, path)
        reverts.record_revert(ctx, wave, path)  # its violations go; its owner's issues reverted
        ctx.emit(Notice("info", f"wave {wave}: reverted {path}"))

    def record_revert(self, wave: int, path: str, *, partial: bool = False) -> None:
        """The operator put ``path`` back themselves (``partial``: some hunks), e.g. in a review
        screen: recorded like ``revert`` (the checkpoint says its issues were reverted); a
        whole revert is forgotten by the watchers (the next write is reported again)."""
        if not partial:
            self.forget(wave, path)
        reverts.record_revert(self.ctx, wave, path, partial=partial)

    async def stop(self) -> None:
        for watcher in self._watchers:
            watcher.stop()
        for task in self._tasks:
            await stop_task(task, failures=True)
        self._watchers, self._tasks, self.wave = [], [], None
