"""The supervisor: runs a plan's waves of agents, enforces the gates, and speaks in events.

One ``Supervisor`` per repository (a ``flock`` keeps a second control room out). It launches each
agent of a wave as a detached process, follows its log by byte offset, turns progress lines into
``IssueDone``, watches the working tree for ownership violations, runs the tests between waves,
and commits one checkpoint per wave. Everything it does is reported through ``events()`` (a single
consumer: the TUI or the headless ``wavedeck run``) and persisted in ``.wavedeck/state.json``, so
a control room that quits or dies leaves its agents running and the next one adopts them (pid and
start time), never launching a second copy, and resumes their logs where the consumer left off.

The supervisor is composed of parts that share one ``wavedeck.agents.wave.context.WaveContext`` (plan,
config, repository, git, run state, event stream): ``AgentProcesses`` (``wavedeck.agents.wave.processes``),
``WaveWatch`` (``wavedeck.agents.wave.watching``), ``Checkpointer`` (``wavedeck.agents.wave.checkpoint``: tests and
checkpoints), ``WorktreeMode`` (``wavedeck.agents.wave.worktree_mode``), ``RestartPolicy``
(``wavedeck.agents.wave.restart``) and ``TamperLog`` (``wavedeck.agents.wave.tamperlog``). Gates live in
``wavedeck.agents.wave.gates``. This module owns the parts and holds the lifecycle, the snapshot the UI
reads and the operator's actions.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from wavedeck.agents.config import Config
from wavedeck.agents.events import (
    AgentState,
    AgentStateChanged,
    Event,
    Notice,
    ViolationFound,
    WaveState,
    WaveStateChanged,
)
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.git.repo import GitRepo
from wavedeck.agents.presets import preflight
from wavedeck.agents.state import AgentRecord, AlreadyRunning, RunState, StateError
from wavedeck.agents.watch.worktrees import WorktreeError
from wavedeck.agents.wave import gates, operator_work
from wavedeck.agents.wave.checkpoint import Checkpointer
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.gates import CheckpointPreview
from wavedeck.agents.wave.processes import AgentProcesses
from wavedeck.agents.wave.restart import RestartPolicy
from wavedeck.agents.wave.tamperlog import PLANTED_NOTICE, TamperLog, is_tamper_key
from wavedeck.agents.wave.watching import WaveWatch
from wavedeck.agents.wave.worktree_mode import WorktreeMode
from wavedeck.plan.models import Plan

P = ParamSpec("P")
R = TypeVar("R")


def _serialized(
    method: Callable[Concatenate[Supervisor, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Supervisor, P], Coroutine[Any, Any, R]]:
    """Run an action that changes a wave alone: a double click cannot start a wave twice."""

    async def wrapper(self: Supervisor, /, *args: P.args, **kwargs: P.kwargs) -> R:
        async with self._actions:
            return await method(self, *args, **kwargs)

    wrapper.__name__, wrapper.__doc__ = method.__name__, method.__doc__
    wrapper.__qualname__ = method.__qualname__
    return wrapper


class SupervisorError(Exception):
    """The supervisor cannot open or act; the message is complete for the operator."""


class Supervisor:
    """Runs waves of agents for one repository and plan (see the module docstring)."""

    def __init__(
        self, repo: Path, plan: Plan, config: Config, *, plan_path: Path | None = None
    ) -> None:
        self.ctx = ctx = WaveContext(repo, plan, config)
        self.plan_path = plan_path
        self._actions = asyncio.Lock()
        self.worktrees = WorktreeMode(ctx)
        self.tamper = TamperLog(ctx)
        # [agent.restart]: off unless enabled; a relaunch is the operator's restart_agent.
        self.restarts = RestartPolicy(
            ctx, relaunch=self.restart_agent, is_remote=lambda a: self.processes.is_remote(a)
        )
        self.processes = AgentProcesses(
            ctx,
            restarts=self.restarts,
            cwd_for=self.worktrees.cwd_for,
            on_touched=lambda agent, path, change: self.watch.remote_touched(agent, path, change),
        )
        self.watch = WaveWatch(
            ctx, processes=self.processes, worktrees=self.worktrees, tamper=self.tamper
        )
        self.checkpoints = Checkpointer(
            ctx, watch=self.watch, worktrees=self.worktrees, tamper=self.tamper
        )
        self.processes.presets.stop = self.stop_agent  # [agent] max_cost_usd stops through it

    # -- what the context holds, as the callers know it ---------------------------------------

    @property
    def repo(self) -> Path:
        return self.ctx.repo

    @property
    def plan(self) -> Plan:
        return self.ctx.plan

    @property
    def config(self) -> Config:
        return self.ctx.config

    @property
    def wavedeck_dir(self) -> Path:
        return self.ctx.wavedeck_dir

    @property
    def git(self) -> GitRepo:
        return self.ctx.git

    @property
    def launching(self) -> bool:
        """Cleared when the control room is told to stop: no agent is launched any more (B9)."""
        return self.ctx.launching

    @launching.setter
    def launching(self, value: bool) -> None:
        self.ctx.launching = value

    def on_lock_wait(self, lock: str) -> None:
        """``GitRepo``'s ``on_lock_wait`` (see ``WaveContext.on_lock_wait``)."""
        self.ctx.on_lock_wait(lock)

    def log_path(self, agent_id: str) -> Path:
        return self.ctx.log_path(agent_id)

    def agent_record(self, agent_id: str) -> AgentRecord:
        return self.ctx.agent_record(agent_id)

    def host_of(self, agent_id: str) -> str | None:
        """The SSH host the agent runs on (its ``[hosts.NAME]``), None when it runs here."""
        return self.processes.host_of(agent_id)

    def is_remote(self, agent_id: str) -> bool:
        return self.processes.is_remote(agent_id)

    def remote_writer(self, path: str) -> str | None:
        """The remote agent whose changes brought ``path`` into the local tree, if any."""
        return self.watch.remote_writer(path)

    # -- lifecycle ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Lock the repository, load the state, adopt running agents, resume logs and watching."""
        ctx = self.ctx
        try:
            ctx.store.lock()
            ctx.state = ctx.store.load()
        except AlreadyRunning as exc:
            raise SupervisorError(f"already running: {exc}") from None
        except StateError as exc:
            ctx.store.unlock()
            raise SupervisorError(str(exc)) from None
        if self.plan_path is not None and ctx.state.plan_path is None:
            ctx.state.plan_path = str(self.plan_path)
        unknown = [a for a in ctx.state.agents if not ctx.in_plan(a)]
        if unknown:
            ctx.store.unlock()
            raise SupervisorError(
                f"{ctx.store.path}: the run state names agents the plan does not have "
                f"({', '.join(sorted(unknown))}): was the plan changed? Move .wavedeck/ aside "
                "to start over."
            )
        ctx.opened = True
        ctx.restore_violations()  # what the last control room's watcher found
        try:
            for agent_id, rec in sorted(ctx.state.agents.items()):
                await self.processes.resume(agent_id, rec)
            wave = ctx.open_wave()
            if wave is not None:
                base = ctx.wave(wave).base_commit
                if self.worktrees.enabled and base is not None:
                    await self.worktrees.prepare(wave, base)  # reuses the worktrees already there
                await self.watch.start(wave)
            ctx.save()
        except (OSError, GitError, WorktreeError) as exc:
            await self.close()
            raise SupervisorError(f"cannot resume the run in {self.repo}: {exc}") from None

    def peek(self) -> None:
        """Read the saved state without taking the lock (to describe a run before opening it)."""
        try:
            self.ctx.state = self.ctx.store.load()
        except StateError as exc:
            raise SupervisorError(str(exc)) from None

    async def close(self, *, stop_agents: bool = False) -> None:
        """Persist the state and stop following; agents keep running unless ``stop_agents``."""
        ctx = self.ctx
        ctx.launching = False
        await self.restarts.close()  # a pending restart is dropped, one under way finishes
        await self.processes.close(stop_agents=stop_agents)
        await self.watch.stop()
        if ctx.opened:
            ctx.save()
        ctx.store.unlock()
        ctx.opened = False

    def batches(self) -> AsyncIterator[list[Event]]:
        """The event stream in batches (one log chunk, or one other event), one consumer.

        A batch counts as handled when the next one is asked for: only then does its agent's
        log offset advance. A consumer that shows a whole batch at once (one write) makes a
        restart after a crash resume each log with neither a gap nor a repeat.
        """
        # The stream's own generator, not a wrapper: a consumer that leaves closes it (and
        # acknowledges its last batch) as directly as before the supervisor was composed.
        return self.ctx.stream.batches(self.processes.consumed)

    async def events(self) -> AsyncIterator[Event]:
        """The event stream, one event at a time (one consumer)."""
        async for batch in self.batches():
            for event in batch:
                yield event

    async def drain(self) -> None:
        """Wait until the consumer has handled every event emitted so far."""
        await self.ctx.stream.drain()

    # -- snapshot (sync, cheap) ---------------------------------------------------------------

    @property
    def state(self) -> RunState:
        return self.ctx.state

    @property
    def current_wave(self) -> int:
        """The open wave, else the first wave not committed, else the last wave."""
        return self.ctx.current_wave()

    def views(self) -> dict[int, gates.WaveView]:
        """Every wave as the gates see it."""
        return self.ctx.views()

    def wave_state(self, n: int) -> WaveState:
        return gates.wave_state(self.plan, self.ctx.views(), n)

    def agent_state(self, agent_id: str) -> AgentState:
        return self.ctx.agent_state(agent_id)

    def violations(self, wave: int) -> list[ViolationFound]:
        return self.checkpoints.violations(wave)

    def accepted(self, wave: int) -> dict[str, str]:
        rec = self.ctx.state.waves.get(str(wave))
        return dict(rec.accepted) if rec is not None else {}

    def can_start_wave(self, n: int) -> tuple[bool, str]:
        return gates.can_start_wave(self.plan, self.ctx.views(), n)

    def can_run_tests(self, n: int) -> tuple[bool, str]:
        return self.checkpoints.can_run_tests(n)

    def can_commit(self, n: int) -> tuple[bool, str]:
        return self.checkpoints.can_commit(n)

    def test_commands(self) -> list[str]:
        """The config's test commands, else the plan's (shell commands, shown before running)."""
        return self.ctx.test_commands()

    def unlaunched(self, n: int) -> list[str]:
        """Agents of wave ``n`` never launched (a start interrupted by a signal leaves some)."""
        return self.processes.unlaunched(n)

    def restart_pending(self, agent_id: str) -> bool:
        """A restart of the agent is scheduled or under way ([agent.restart])."""
        return self.restarts.pending(agent_id)

    def wave_agents_done(self, n: int) -> bool:
        """Every agent of wave ``n`` has ended (in any way), and none is about to restart."""
        agents = self.plan.wave(n).agents
        return all(self.agent_state(a.id) in gates.TERMINAL for a in agents) and not any(
            self.processes.follows.get(a.id) or self.restarts.pending(a.id) for a in agents
        )

    @property
    def change_count(self) -> int:
        """How many agent or wave state changes happened so far (for ``wait_changed``)."""
        return self.ctx.changes.generation

    def wait_changed(self, since: int | None = None) -> Awaitable[None]:
        """Wait for a change of any agent's or wave's state after ``change_count`` was
        ``since`` (default: its value when this is called). Never misses one: a change made
        after the caller read the count (or called this) ends the wait at once."""
        return self.ctx.wait_changed(since)

    # -- actions ------------------------------------------------------------------------------

    def refuse(self, wave: int, reason: str, paths: tuple[str, ...] = ()) -> None:
        """Tell the consumer an action on ``wave`` was refused (a ``GateRefused``)."""
        self.ctx.refuse(wave, reason, paths)

    @_serialized
    async def start_wave(self, n: int) -> None:
        """Launch every agent of wave ``n`` (refused with a ``GateRefused`` unless allowed)."""
        ctx = self.ctx
        if ctx.open_wave() == n and self.processes.unlaunched(n):
            await self.processes.launch_all(n)  # a wave whose start was interrupted: finish it
            return
        ok, why = self.can_start_wave(n)
        if ok:  # [agent] preset: its program must be here before any agent starts
            local = [a.id for a in self.plan.wave(n).agents if not self.is_remote(a.id)]
            missing = preflight(self.config, local)
            ok, why = (False, missing) if missing else (ok, why)
        if ok:
            state = await asyncio.to_thread(self.git.in_progress_state)
            if state:
                ok, why = False, f"a git {state} is in progress: finish or abort it first"
        if not ok:
            ctx.refuse(n, why)
            return
        await asyncio.to_thread(self.git.ensure_excluded)
        base = await asyncio.to_thread(self.git.head)
        try:
            start_tree, own = await asyncio.to_thread(operator_work.at_start, self.git, base)
        except GitError as exc:
            ctx.refuse(n, f"cannot record the working tree: {exc}")
            return
        if self.worktrees.enabled:
            try:
                await self.worktrees.prepare(n, base)
            except WorktreeError as exc:
                ctx.refuse(n, f"cannot create the agents' worktrees: {exc}")
                return
        rec = ctx.wave(n)
        rec.base_commit = base
        rec.start_tree = start_tree
        rec.started_at = time.time()
        rec.state = "running"
        self.tamper.remember(n, await asyncio.to_thread(self.git.tamper_snapshot))
        ctx.save()
        ctx.emit(WaveStateChanged(n, "running"))
        if own:
            ctx.emit(Notice("info", operator_work.start_notice(n, own)))
        planted = await asyncio.to_thread(self.tamper.planted_programs)
        if planted:
            # The keys travel as a field: nobody needs to parse them back out of the text.
            keys = {"programs": json.dumps([f.key for f in planted])}
            ctx.emit(Notice("warning", PLANTED_NOTICE + "; ".join(f.text for f in planted), keys))
        await self.watch.start(n)
        await self.processes.launch_all(n)

    async def stop_agent(self, agent_id: str) -> str:
        """SIGTERM the agent's group, SIGKILL after the grace period; returns what happened.

        An agent waiting to be restarted ([agent.restart]) is not restarted."""
        if self.restarts.cancel(agent_id, "restart cancelled by the operator"):
            return "restart cancelled"
        return await self.processes.stop(agent_id)

    @_serialized
    async def restart_agent(self, agent_id: str) -> None:
        """Launch an agent again after it failed, was stopped or was lost (never while running)."""
        ctx = self.ctx
        rec = ctx.state.agents.get(agent_id)
        wave = self.plan.agent(agent_id).wave
        if rec is not None and rec.state == "running":
            ctx.refuse(wave, f"{agent_id} is still running: stop it before restarting it")
            return
        if ctx.open_wave() != wave or ctx.wave(wave).tests is not None:
            ctx.refuse(wave, f"{agent_id} can only be restarted while its wave runs, untested")
            return
        if rec is not None:
            rec.marked_done = None
        if rec is not None and rec.launches:
            self.restarts.mark_manual_restart(agent_id)
        self.restarts.cancel(agent_id, by_operator=True)  # now, and its count starts afresh
        await self.processes.launch(agent_id)

    @_serialized
    async def follow_up(self, agent_id: str, message: str) -> None:
        """Relaunch an ended agent resuming its CLI session with ``message`` (same log, same
        files); ``SupervisorError`` says why when it cannot be sent."""
        ctx, presets = self.ctx, self.processes.presets
        if not ctx.in_plan(agent_id):
            raise SupervisorError(f"no agent {agent_id} in the plan")
        why = presets.check_follow_up(agent_id, message)
        wave = self.plan.agent(agent_id).wave
        if why is None and ctx.open_wave() != wave:
            why = f"{agent_id}'s wave {wave} is not open (started and not committed)"
        if why is not None:
            raise SupervisorError(f"cannot send a follow-up: {why}")
        ctx.agent(agent_id).marked_done = None
        self.restarts.cancel(agent_id, by_operator=True)
        presets.queue_follow_up(agent_id, message)
        await self.processes.launch(agent_id)

    async def mark_done(self, agent_id: str, reason: str) -> None:
        """Record that the operator counts an ended agent as done (the reason is kept)."""
        ctx = self.ctx
        rec = ctx.agent(agent_id)
        wave = self.plan.agent(agent_id).wave
        if rec.state == "running":
            ctx.refuse(wave, f"{agent_id} is still running: stop it before marking it done")
            return
        self.restarts.cancel(agent_id, by_operator=True)  # done: not restarted
        rec.marked_done = reason.strip() or "marked done by the operator"
        rec.restart = None  # a restart it waited for was cancelled: done, never restarted
        ctx.save()
        ctx.emit(Notice("info", f"{agent_id} marked done: {rec.marked_done}"))
        ctx.emit(
            AgentStateChanged(
                agent_id,
                rec.state,
                reason=f"marked done: {rec.marked_done}",
                marked_done=rec.marked_done,
            )
        )
        ctx.changed()

    @_serialized
    async def run_tests(self, n: int) -> bool:
        """Run wave ``n``'s tests (``Checkpointer.run_tests``); True when all passed."""
        return await self.checkpoints.run_tests(n)

    async def accept_violation(self, wave: int, path: str, reason: str) -> None:
        """Accept a path outside the plan for this wave's checkpoint (recorded with the reason);
        a change of ``.git`` is confirmed one finding at a time (``tamperlog``)."""
        if is_tamper_key(path):
            await self.watch.accept_finding(wave, path, reason)
        else:
            self.watch.accept_path(wave, path, reason)

    @_serialized
    async def revert_path(self, wave: int, path: str) -> None:
        """Put a path back as it was at the wave's start (a stray file an agent created goes)."""
        await self.watch.revert(wave, path)

    async def checkpoint_preview(self, n: int) -> CheckpointPreview:
        """What a checkpoint of wave ``n`` would commit, leave out, or why it is refused."""
        return await self.checkpoints.preview(n)

    @_serialized
    async def checkpoint(
        self, n: int, *, message: str | None = None, accept_violations: bool = False
    ) -> str | None:
        """Commit wave ``n``'s checkpoint; None (and a ``GateRefused``) when refused."""
        return await self.checkpoints.commit(
            n, message=message, accept_violations=accept_violations
        )
