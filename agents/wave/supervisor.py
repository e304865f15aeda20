"""The supervisor: runs a plan's waves of agents, enforces the gates, and speaks in events.

One ``Supervisor`` per repository (a ``flock`` keeps a second control room out). It launches each
agent of a wave as a detached process, follows its log by byte offset, turns progress lines into
``IssueDone``, watches the working tree for ownership violations, runs the tests between waves,
and commits one checkpoint per wave. Everything it does is reported through ``events()`` (a single
consumer: the TUI or the headless ``wavedeck run``) and persisted in ``.wavedeck/state.json``, so
a control room that quits or dies leaves its agents running and the next one adopts them (pid and
start time), never launching a second copy, and resumes their logs where the consumer left off.

Gates live in ``agents.wave.gates``, tests and checkpoints in ``agents.wave.checkpoint``, the agent
processes in ``agents.wave.processes``; this module holds the lifecycle, the snapshot the UI reads, the
actions and the workspace watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from agents.config import Config
from agents.events import AgentStateChanged, Event, Notice, ViolationFound, WaveStateChanged
from agents.git.errors import GitError
from agents.presets import preflight
from agents.state import AlreadyRunning, RunState, StateError, WaveRecord, handle_from_record
from agents.watch.worktrees import WorktreeError
from agents.wave import gates
from agents.wave import worktree_mode as wtmode
from agents.wave.checkpoint import PLANTED_NOTICE, TAMPER_KEY, planted_programs, remember_tamper
from agents.wave.processes import MAX_QUEUED
from agents.wave.restart import RestartPolicy
from agents.wave.watching import WaveWatch
from plan.models import Plan

if TYPE_CHECKING:
    from agents.wave.gates import CheckpointPreview


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


class Supervisor(WaveWatch):
    """Runs waves of agents for one repository and plan (see the module docstring)."""

    def __init__(
        self, repo: Path, plan: Plan, config: Config, *, plan_path: Path | None = None
    ) -> None:
        from agents.git.repo import GitRepo  # blocking git layer; used through asyncio.to_thread

        super().__init__(repo, plan, config)
        self.plan_path = plan_path
        # The whole [git] section applies; a held index.lock is shown while git waits for it.
        self.git = GitRepo.from_config(self.repo, config.git, on_lock_wait=self.on_lock_wait)
        self._testing: set[int] = set()
        self._opened = False
        self._actions = asyncio.Lock()
        self.restarts = RestartPolicy(self)  # [agent.restart]: off unless enabled
        self.presets.stop = self.stop_agent  # [agent] max_cost_usd stops through it

    # -- lifecycle ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Lock the repository, load the state, adopt running agents, resume logs and watching."""
        try:
            self._store.lock()
            self._state = self._store.load()
        except AlreadyRunning as exc:
            raise SupervisorError(f"already running: {exc}") from None
        except StateError as exc:
            self._store.unlock()
            raise SupervisorError(str(exc)) from None
        if self.plan_path is not None and self._state.plan_path is None:
            self._state.plan_path = str(self.plan_path)
        unknown = [a for a in self._state.agents if not self._in_plan(a)]
        if unknown:
            self._store.unlock()
            raise SupervisorError(
                f"{self._store.path}: the run state names agents the plan does not have "
                f"({', '.join(sorted(unknown))}): was the plan changed? Move .wavedeck/ aside "
                "to start over."
            )
        self._opened = True
        try:
            for agent_id, rec in sorted(self._state.agents.items()):
                await self._resume(agent_id, rec)
            wave = self._open_wave()
            if wave is not None:
                base = self._wave(wave).base_commit
                if wtmode.enabled(self) and base is not None:
                    await wtmode.prepare(self, wave, base)  # reuses the worktrees already there
                await self._start_watch(wave)
            self._save()
        except (OSError, GitError, WorktreeError) as exc:
            await self.close()
            raise SupervisorError(f"cannot resume the run in {self.repo}: {exc}") from None

    def peek(self) -> None:
        """Read the saved state without taking the lock (to describe a run before opening it)."""
        try:
            self._state = self._store.load()
        except StateError as exc:
            raise SupervisorError(str(exc)) from None

    async def close(self, *, stop_agents: bool = False) -> None:
        """Persist the state and stop following; agents keep running unless ``stop_agents``."""
        self.launching = False
        await self.restarts.close()  # a pending restart is dropped, one under way finishes
        if stop_agents:
            running = [a for a, r in self._state.agents.items() if r.state == "running"]
            await asyncio.gather(*(self.stop_agent(a) for a in running))
            # Let the followers drain the last lines and record "stopped".
            tasks = [t for a, t in self._follows.items() if a in running]
            if tasks:
                await asyncio.wait(tasks, timeout=5.0)
        for task in self._follows.values():
            task.cancel()
        for task in list(self._follows.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._follows.clear()
        await self._close_remote()
        await self._stop_watch()
        if self._opened:
            self._save()
        self._journal.close()
        self._store.unlock()
        self._opened = False

    async def batches(self) -> AsyncIterator[list[Event]]:
        """The event stream in batches (one log chunk, or one other event), one consumer.

        A batch counts as handled when the next one is asked for: only then does its agent's
        log offset advance. A consumer that shows a whole batch at once (one write) makes a
        restart after a crash resume each log with neither a gap nor a repeat.
        """
        while True:
            item = await self._queue.get()
            self._pending -= len(item.events)
            try:
                yield item.events
            finally:
                if item.ack is not None:
                    self._consumed(*item.ack)
                self._queue.task_done()
                if not self._room.is_set() and self._pending < MAX_QUEUED // 2:
                    self._room.set()

    async def events(self) -> AsyncIterator[Event]:
        """The event stream, one event at a time (one consumer)."""
        async for batch in self.batches():
            for event in batch:
                yield event

    async def drain(self) -> None:
        """Wait until the consumer has handled every event emitted so far."""
        await self._queue.join()

    # -- snapshot (sync, cheap) ---------------------------------------------------------------

    @property
    def state(self) -> RunState:
        return self._state

    @property
    def current_wave(self) -> int:
        """The open wave, else the first wave not committed, else the last wave."""
        open_wave = self._open_wave()
        if open_wave is not None:
            return open_wave
        for wave in self.plan.waves:
            rec = self._state.waves.get(str(wave.number))
            if rec is None or rec.checkpoint is None:
                return wave.number
        return self.plan.waves[-1].number if self.plan.waves else 1

    def wave_state(self, n: int) -> str:
        return gates.wave_state(self.plan, self._views(), n)

    def agent_state(self, agent_id: str) -> str:
        rec = self._state.agents.get(agent_id)
        return rec.state if rec is not None else "pending"

    def violations(self, wave: int) -> list[ViolationFound]:
        return list(self._violations.get(wave, []))

    def accepted(self, wave: int) -> dict[str, str]:
        rec = self._state.waves.get(str(wave))
        return dict(rec.accepted) if rec is not None else {}

    def can_start_wave(self, n: int) -> tuple[bool, str]:
        return gates.can_start_wave(self.plan, self._views(), n)

    def can_run_tests(self, n: int) -> tuple[bool, str]:
        return gates.can_run_tests(self.plan, self._views(), n, self.test_commands())

    def can_commit(self, n: int) -> tuple[bool, str]:
        return gates.can_commit(self.plan, self._views(), n)

    def test_commands(self) -> list[str]:
        """The config's test commands, else the plan's (shell commands, shown before running)."""
        if self.config.tests.commands is not None:
            return list(self.config.tests.commands)
        return list(self.plan.test_commands)

    def wave_agents_done(self, n: int) -> bool:
        """Every agent of wave ``n`` has ended (in any way), and none is about to restart."""
        return all(
            self.agent_state(a.id) in gates.TERMINAL for a in self.plan.wave(n).agents
        ) and not any(
            self._follows.get(a.id) or self.restarts.pending(a.id) for a in self.plan.wave(n).agents
        )

    async def wait_changed(self) -> None:
        """Wait for the next change of any agent's or wave's state."""
        self._changed.clear()
        await self._changed.wait()

    # -- actions ------------------------------------------------------------------------------

    @_serialized
    async def start_wave(self, n: int) -> None:
        """Launch every agent of wave ``n`` (refused with a ``GateRefused`` unless allowed)."""
        if self._open_wave() == n and self._unlaunched(n):
            await self._launch_all(n)  # a wave whose start was interrupted: finish starting it
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
            self._refuse(n, why)
            return
        await asyncio.to_thread(self.git.ensure_excluded)
        base = await asyncio.to_thread(self.git.head)
        if wtmode.enabled(self):
            from agents.watch.worktrees import WorktreeError

            try:
                await wtmode.prepare(self, n, base)
            except WorktreeError as exc:
                self._refuse(n, f"cannot create the agents' worktrees: {exc}")
                return
        rec = self._wave(n)
        rec.base_commit = base
        rec.started_at = time.time()
        rec.state = "running"
        remember_tamper(self, n, await asyncio.to_thread(self.git.tamper_snapshot))
        self._save()
        self._emit(WaveStateChanged(n, "running"))
        planted = await asyncio.to_thread(planted_programs, self)
        if planted:
            self._emit(Notice("warning", PLANTED_NOTICE + "; ".join(planted)))
        await self._start_watch(n)
        await self._launch_all(n)

    async def stop_agent(self, agent_id: str) -> str:
        """SIGTERM the agent's group, SIGKILL after the grace period; returns what happened.

        An agent waiting to be restarted ([agent.restart]) is not restarted."""
        if self.restarts.cancel(agent_id, "restart cancelled by the operator"):
            return "restart cancelled"
        rec = self._state.agents.get(agent_id)
        handle = handle_from_record(rec) if rec is not None else None
        if rec is None or handle is None or rec.state != "running":
            return "not running"
        self._stopping.add(agent_id)
        result = await self._runner_for(agent_id).stop(handle, self.config.agent.stop_grace_s)
        if agent_id not in self._follows:  # nobody follows it: record the end here
            await self._finish(agent_id, handle)
        return result

    @_serialized
    async def restart_agent(self, agent_id: str) -> None:
        """Launch an agent again after it failed, was stopped or was lost (never while running)."""
        rec = self._state.agents.get(agent_id)
        wave = self.plan.agent(agent_id).wave
        if rec is not None and rec.state == "running":
            self._refuse(wave, f"{agent_id} is still running: stop it before restarting it")
            return
        if self._open_wave() != wave or self._wave(wave).tests is not None:
            self._refuse(wave, f"{agent_id} can only be restarted while its wave runs, untested")
            return
        if rec is not None:
            rec.marked_done = None
        self.restarts.cancel(agent_id, by_operator=True)  # now, and its count starts afresh
        await self._launch(agent_id)

    @_serialized
    async def follow_up(self, agent_id: str, message: str) -> None:
        """Relaunch an ended agent resuming its CLI session with ``message`` (same log, same
        files); ``SupervisorError`` says why when it cannot be sent."""
        if not self._in_plan(agent_id):
            raise SupervisorError(f"no agent {agent_id} in the plan")
        why = self.presets.check_follow_up(agent_id, message)
        wave = self.plan.agent(agent_id).wave
        if why is None and self._open_wave() != wave:
            why = f"{agent_id}'s wave {wave} is not open (started and not committed)"
        if why is not None:
            raise SupervisorError(f"cannot send a follow-up: {why}")
        self._agent(agent_id).marked_done = None
        self.restarts.cancel(agent_id, by_operator=True)
        self.presets.queue_follow_up(agent_id, message)
        await self._launch(agent_id)

    async def mark_done(self, agent_id: str, reason: str) -> None:
        """Record that the operator counts an ended agent as done (the reason is kept)."""
        rec = self._agent(agent_id)
        wave = self.plan.agent(agent_id).wave
        if rec.state == "running":
            self._refuse(wave, f"{agent_id} is still running: stop it before marking it done")
            return
        self.restarts.cancel(agent_id, by_operator=True)  # done: not restarted
        rec.marked_done = reason.strip() or "marked done by the operator"
        self._save()
        self._emit(Notice("info", f"{agent_id} marked done: {rec.marked_done}"))
        self._emit(AgentStateChanged(agent_id, rec.state, reason=f"marked done: {rec.marked_done}"))
        self._changed.set()

    @_serialized
    async def run_tests(self, n: int) -> bool:
        from agents.wave.checkpoint import run_wave_tests

        return await run_wave_tests(self, n)

    async def accept_violation(self, wave: int, path: str, reason: str) -> None:
        """Accept a path outside the plan for this wave's checkpoint (recorded with the reason)."""
        self._wave(wave).accepted[path] = reason.strip() or gates.OPERATOR_ACCEPT
        self._accept(wave, path)
        self._save()
        self._emit(
            Notice("info", f"wave {wave}: accepted {path}: {self._wave(wave).accepted[path]}")
        )

    @_serialized
    async def revert_path(self, wave: int, path: str) -> None:
        """Put a path back as it was at the wave's start (a stray file an agent created goes)."""
        base = self._wave(wave).base_commit
        if base is None:
            self._refuse(wave, f"wave {wave} has not started: nothing to revert")
            return
        if path == TAMPER_KEY:
            self._refuse(
                wave,
                "wavedeck does not undo git configuration changes: inspect "
                ".git/config and .git/hooks yourself, then accept them",
                (path,),
            )
            return
        self._forget(wave, path)
        try:
            await asyncio.to_thread(self.git.revert_file, path, base)
        except GitError as exc:
            self._refuse(wave, f"cannot revert {path}: {exc}", (path,))
            return
        self._violations[wave] = [v for v in self._violations.get(wave, []) if v.path != path]
        self._emit(Notice("info", f"wave {wave}: reverted {path}"))

    async def checkpoint_preview(self, n: int) -> CheckpointPreview:
        from agents.wave.checkpoint import preview

        return await preview(self, n)

    @_serialized
    async def checkpoint(
        self, n: int, *, message: str | None = None, accept_violations: bool = False
    ) -> str | None:
        from agents.wave.checkpoint import commit_checkpoint

        return await commit_checkpoint(
            self, n, message=message, accept_violations=accept_violations
        )

    def _views(self) -> dict[int, gates.WaveView]:
        views = {}
        for wave in self.plan.waves:
            rec = self._state.waves.get(str(wave.number)) or WaveRecord()
            states = {a.id: self.agent_state(a.id) for a in wave.agents}
            done = {
                a.id: r.marked_done
                for a in wave.agents
                if (r := self._state.agents.get(a.id)) is not None and r.marked_done
            }
            views[wave.number] = gates.WaveView(
                number=wave.number,
                started=rec.base_commit is not None,
                committed=rec.checkpoint is not None,
                tests_passed=rec.tests.passed if rec.tests is not None else None,
                testing=wave.number in self._testing,
                agent_states=states,
                marked_done=done,
            )
        return views
