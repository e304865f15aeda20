"""The supervisor: runs a plan's waves of agents, enforces the gates, and speaks in events.

One ``Supervisor`` per repository (a ``flock`` keeps a second control room out). It launches each
agent of a wave as a detached process, follows its log by byte offset, turns progress lines into
``IssueDone``, watches the working tree for ownership violations, runs the tests between waves,
and commits one checkpoint per wave. Everything it does is reported through ``events()`` (a single
consumer: the TUI or the headless ``wavedeck run``) and persisted in ``.wavedeck/state.json``, so
a control room that quits or dies leaves its agents running and the next one adopts them (pid and
start time), never launching a second copy, and resumes their logs where the consumer left off.

The supervisor is composed of parts that share one ``wavedeck.agents.wave.context.WaveContext``
(plan, config, repository, git, run state, event stream), built in dependency order, each given
what it uses as a typed port: ``WorktreeMode``, ``TamperLog``, ``HostWrites`` (what remote agents
changed), ``Runners`` (where each agent runs), ``PresetRuns``, ``RestartPolicy``,
``AgentProcesses``, ``WaveWatch``, ``WaveStart`` (a wave's start), ``Reviews``, ``HunkReverts``,
``Reviewers``, ``ChangeReader`` (what a checkpoint may take), ``Checkpointer``. Every state
change goes through ``wavedeck.agents.wave.transitions``; the gates live in
``wavedeck.agents.wave.gates``. The read-only half (the snapshot the UI reads) is
``wavedeck.agents.wave.queries.RunQueries``; this module adds the lifecycle and the operator's
commands on waves and follow-ups; those on one agent are ``wavedeck.agents.wave.agent_actions``,
the review's ``wavedeck.agents.wave.review_actions``. The actions that change a wave run one at a
time (the action lock); none waits there for an agent's turn to start (one start at a time,
``wavedeck.agents.wave.starts``: such a launch is queued and the action returns), so the
operator's stop, a restart or the control room's close never wait minutes for a wave's start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from wavedeck.agents.config import Config
from wavedeck.agents.events import Event, ViolationFound
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.presets import PRESETS
from wavedeck.agents.state import AlreadyRunning, StateError
from wavedeck.agents.watch.ignores import Ignores
from wavedeck.agents.watch.worktrees import WorktreeError
from wavedeck.agents.watch.writers import WriteLedger
from wavedeck.agents.wave import transitions
from wavedeck.agents.wave.agent_actions import AgentActions
from wavedeck.agents.wave.checkpoint import Checkpointer
from wavedeck.agents.wave.commit_scope import ChangeReader
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.gates import CheckpointPreview
from wavedeck.agents.wave.hunk_reverts import HunkReverts
from wavedeck.agents.wave.landing import Landing
from wavedeck.agents.wave.preset_runs import PresetRuns
from wavedeck.agents.wave.processes import AgentProcesses
from wavedeck.agents.wave.queries import RunQueries
from wavedeck.agents.wave.restart import RestartPolicy
from wavedeck.agents.wave.review_actions import ReviewActions
from wavedeck.agents.wave.reviewers import Reviewers
from wavedeck.agents.wave.reviews import Reviews
from wavedeck.agents.wave.runners import Runners
from wavedeck.agents.wave.takeovers import Takeovers
from wavedeck.agents.wave.tamperlog import TamperLog, is_tamper_key
from wavedeck.agents.wave.watching import HostWrites, WaveWatch
from wavedeck.agents.wave.wave_start import WaveStart
from wavedeck.agents.wave.worktree_mode import WorktreeMode
from wavedeck.plan.errors import WavedeckError
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


class SupervisorError(WavedeckError):
    """The supervisor cannot open or act; the message is complete for the operator."""


class Supervisor(ReviewActions, AgentActions, RunQueries):
    """Runs waves of agents for one repository and plan (see the module docstring)."""

    def __init__(
        self, repo: Path, plan: Plan, config: Config, *, plan_path: Path | None = None
    ) -> None:
        # The parts, each built after what it depends on and given it as a typed port.
        ctx = WaveContext(repo, plan, config)
        self._actions = asyncio.Lock()
        self.worktrees = WorktreeMode(ctx)
        self.tamper = TamperLog(ctx)
        preset = PRESETS[config.agent.preset]
        # who wrote what in the shared tree: the agents' tool events and the watcher's reports
        writes = WriteLedger(str(ctx.repo), lag_s=preset.tool_lag_s)
        # the one rule for what is nobody's work: the watcher's and the checkpoint's
        ignores = Ignores(ctx.repo, config.watch.ignore, preset.own_paths)
        hosts = HostWrites(ctx)  # what remote agents changed on their hosts
        self.runners = Runners(ctx, on_touched=hosts.touched)
        presets = PresetRuns(
            ctx, cwd_of=self.worktrees.cwd_for, is_remote=self.runners.is_remote, writes=writes
        )
        # [agent.restart]: off unless enabled; a relaunch is this supervisor's restart_agent
        # (the operator's path, same checks), called only once a failure's backoff is over.
        self.restarts = RestartPolicy(ctx, relaunch=self, is_remote=self.runners.is_remote)
        self.processes = AgentProcesses(
            ctx,
            runners=self.runners,
            presets=presets,
            restarts=self.restarts,
            cwd_for=self.worktrees.cwd_for,
        )
        self.watch = WaveWatch(
            ctx,
            runners=self.runners,
            hosts=hosts,
            writes=writes,
            worktrees=self.worktrees,
            tamper=self.tamper,
            ignores=ignores,
        )
        self.starts = WaveStart(
            ctx,
            runners=self.runners,
            worktrees=self.worktrees,
            tamper=self.tamper,
            watch=self.watch,
            processes=self.processes,
        )
        self.reviews = Reviews(ctx, worktrees=self.worktrees)
        self.reverts = HunkReverts(ctx, reviews=self.reviews)
        self.reviewers = Reviewers(
            ctx, runners=self.runners, reviews=self.reviews, turn=self.processes.starts.turn
        )
        self.landing = Landing(ctx, watch=self.watch, worktrees=self.worktrees)
        changes = ChangeReader(ctx, worktrees=self.worktrees, tamper=self.tamper, ignores=ignores)
        self.checkpoints = Checkpointer(
            ctx,
            watch=self.watch,
            worktrees=self.worktrees,
            changes=changes,
            reviews=self.reviews,
            landing=self.landing,
        )
        super().__init__(
            ctx,
            runners=self.runners,
            restarts=self.restarts,
            followed=self.processes,
            plan_path=plan_path,
        )
        # The operator's take-overs of agents' sessions (wavedeck attach, a).
        self.takeovers = Takeovers(
            ctx,
            runners=self.runners,
            cwd_for=self.worktrees.cwd_for,
            running=self._headless_going,
            consumed=self.processes.consumed,
            host_sink=hosts.touched,
        )

    def on_lock_wait(self, lock: str) -> None:
        """``GitRepo``'s ``on_lock_wait`` (see ``WaveContext.on_lock_wait``)."""
        self.ctx.on_lock_wait(lock)

    def remote_writer(self, path: str) -> str | None:
        """The remote agent whose changes brought ``path`` into the local tree, if any."""
        return self.watch.remote_writer(path)

    # -- lifecycle ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Lock the repository, load the state, adopt running agents, resume logs and watching."""
        ctx = self.ctx
        try:
            ctx.store.lock()
            ctx.load()
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
        self.takeovers.start()  # take-overs recorded while no control room was open
        try:
            for agent_id, rec in sorted(ctx.state.agents.items()):
                await self.processes.resume(agent_id, rec)
            await self.landing.resume()  # a checkpoint a killed control room left half done
            wave = ctx.open_wave()
            if wave is not None:
                await self.starts.keep_start_tree(wave)
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
            self.ctx.load()
        except StateError as exc:
            raise SupervisorError(str(exc)) from None

    async def close(self, *, stop_agents: bool = False) -> None:
        """Persist the state and stop following; agents keep running unless ``stop_agents``."""
        ctx = self.ctx
        ctx.launching = False
        await self.restarts.close()  # a pending restart is dropped, one under way finishes
        await self.takeovers.stop()
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

    # -- actions ------------------------------------------------------------------------------

    def refuse(self, refusal: Refusal) -> None:
        """Tell the consumer an action was refused (a ``GateRefused``)."""
        self.ctx.refuse(refusal)

    @_serialized
    async def start_wave(self, n: int) -> None:
        """Launch every agent of wave ``n`` (refused with a ``GateRefused`` unless allowed); an
        agent that waits its turn to start is queued (``pending``), not waited for."""
        ctx = self.ctx
        if ctx.open_wave() == n and ctx.unlaunched(n):
            await self.processes.launch_all(n)  # a wave whose start was interrupted: finish it
            return
        refused = self.can_start_wave(n)
        if refused is None:  # what the plan's rules allow must be startable here too
            refused = await self.starts.refusal(n)
        if refused is not None:
            ctx.refuse(refused)
            return
        await self.starts.start(n)

    def follow_up_problem(self, agent_id: str, message: str) -> str | None:
        """Why a follow-up to ``agent_id`` cannot be sent now, or None."""
        ctx = self.ctx
        if not ctx.in_plan(agent_id):
            return f"no agent {agent_id} in the plan"
        why = self.processes.presets.check_follow_up(agent_id, message)
        wave = self.plan.agent(agent_id).wave
        if why is None and ctx.open_wave() != wave:
            why = f"{agent_id}'s wave {wave} is not open (started and not committed)"
        if why is None and (holder := self.takeovers.holder(agent_id)) is not None:
            why = f"{agent_id} is taken over by the operator ({holder}): wait until they leave"
        return why

    @_serialized
    async def follow_up(self, agent_id: str, message: str) -> None:
        """Relaunch an ended agent resuming its CLI session with ``message`` (same log, same
        files); ``SupervisorError`` says why when it cannot be sent."""
        ctx, presets = self.ctx, self.processes.presets
        why = self.follow_up_problem(agent_id, message)
        if why is not None:
            raise SupervisorError(f"cannot send a follow-up: {why}")
        wave = self.plan.agent(agent_id).wave
        if self.worktrees.enabled and self.worktrees.is_collected(wave):
            # Collected already: it answers in its worktree, on what the review left of its
            # changes, and the next collection (the tests) brings the answer in.
            try:
                await self.worktrees.reopen(wave, agent_id)
            except OSError as exc:
                raise SupervisorError(f"cannot send a follow-up: {agent_id}: {exc}") from None
        transitions.agent_reopened(ctx, agent_id)
        self.restarts.cancel(agent_id, by_operator=True)
        presets.queue_follow_up(agent_id, message)
        await self.processes.launch(agent_id)

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

    def record_revert(self, wave: int, path: str, *, partial: bool = False) -> None:
        """Record that the operator put ``path`` back (all of it, or ``partial``: some hunks)
        by other means than ``revert_path`` (a review screen reverting hunks itself): the
        checkpoint then records the issues of the agents owning it as reverted, not fixed,
        and a whole revert drops its violations (``wavedeck.agents.wave.reverts``)."""
        self.watch.record_revert(wave, path, partial=partial)

    def violations(self, wave: int) -> list[ViolationFound]:
        return self.checkpoints.violations(wave)

    async def checkpoint_preview(self, n: int) -> CheckpointPreview:
        """What a checkpoint of wave ``n`` would commit, leave out, or why it is refused."""
        return await self.checkpoints.preview(n)

    @_serialized
    async def checkpoint(
        self,
        n: int,
        *,
        message: str | None = None,
        accept_violations: bool = False,
        adopt_head: bool = False,
    ) -> str | None:
        """Commit wave ``n``'s checkpoint; None (and a ``GateRefused``) when refused
        (``adopt_head``: see ``Checkpointer.commit``)."""
        return await self.checkpoints.commit(
            n, message=message, accept_violations=accept_violations, adopt_head=adopt_head
        )
