"""One start at a time, for the CLIs whose starts at once go wrong: ``StartQueue``.

Gemini CLI 0.61 deletes, at start-up, every session file of its project folder that holds no
message yet: the session of an agent started a moment earlier (its follow-up then fails).
opencode's first starts on a machine race on migrating its database. The local agents of such a
preset (``Preset.session_recorded``) start one at a time, each once the one before has its
session recorded (bounded by ``SESSION_WAIT_S``; past it, a notice saying what may go wrong).
opencode's only while its database does not exist yet (``Preset.starts_race``): once it does,
its agents start at once.

The wait may last minutes for a five-agent wave (each start waits for the previous agent's first
model reply), so it never holds the supervisor's action lock: a launch that must wait its turn
is *queued* here and the caller (a wave's start, a restart, a follow-up) returns at once. One
task, kept by the queue, launches the queued agents in order (through ``AgentProcesses``'s own
launch: the take-over lock, the record before the process). Why this is safe:

- one launcher: an agent queued or being started is never launched by another path
  (``holds``), and a second ask to launch it is a no-op;
- a queued agent is recorded ``pending`` with its reason (``transitions.agent_queued``), so the
  pane says so, the gates count it unfinished (no tests, no checkpoint, so no next wave) and
  a wait for the wave's agents waits for it too;
- the operator's stop drops a queued agent (never launched afterwards) and stops one whose
  launch is under way as soon as it is recorded; closing the control room clears
  ``ctx.launching``: the task launches nothing more and the close waits only for a launch
  already under way. What was queued goes back to what it was (a wave's agent never started
  stays ``pending``, so the next control room's start of the wave finishes it).

``turn`` lets another start of the same CLI in this control room (a reviewer agent of
``[review] preset``) take its turn too: after the queue and the last start's session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from wavedeck.agents.config import AgentConfig
from wavedeck.agents.events import Notice
from wavedeck.agents.kinds import AgentState
from wavedeck.agents.local import writepolicy
from wavedeck.agents.presets import PRESETS
from wavedeck.agents.presets.spec import Preset
from wavedeck.agents.presets.statedirs import state_entries
from wavedeck.agents.state import AgentRecord
from wavedeck.agents.wave import transitions
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.takeover import TakeoverLock
from wavedeck.plan.checking.api import RepoView

__all__ = ["SESSION_WAIT_S", "StartLock", "StartQueue", "starts_alone"]

SESSION_WAIT_S = 20.0  # how long the next start waits for a session to be recorded
CLOSE_WAIT_S = 10.0  # how long closing waits for a launch under way to be recorded
QUEUED = "queued: its CLI's agents start one at a time"  # the reason while it is (the pane's)
STOPPED = "stopped by the operator while queued: never started"


def state_of(agent: AgentConfig) -> tuple[list[Path], dict[str, str]]:
    """The CLI's state folders (``statedirs``) and the agents' environment, as they run here."""
    env = {**os.environ, **agent.env}
    paths = writepolicy.state_paths(state_entries(agent.preset), env)
    return [Path(path) for path, kind in paths if kind == "dir"], env


def starts_alone(agent: AgentConfig) -> bool:
    """A start of the ``[agent]`` preset's CLI here must not meet another start (its preset's
    ``session_recorded``, and ``starts_race`` says it still can go wrong)."""
    preset = PRESETS[agent.preset]
    if preset.session_recorded is None or agent.runs_command:
        return False
    return preset.starts_race is None or preset.starts_race(*state_of(agent))


@dataclass
class _Queued:
    view: RepoView | None
    was: AgentState  # its state before it was queued (given back when it is not started)
    reason: str


class StartLock(TakeoverLock):
    """``flock`` on ``.wavedeck/run/starts.lock``, held by whoever starts a CLI that must start
    alone: the queue's task, until its last start's session is recorded, and a take-over of
    such a CLI while it runs (``wavedeck.agents.tools.attach``; its start-up would delete a
    session not recorded yet, and a start during its own start-up would meet it). A lock of
    the kernel: it holds across processes (``wavedeck attach`` in another terminal), and goes
    with its holder however it ends. ``acquire`` never waits."""

    def __init__(self, wavedeck_dir: Path) -> None:
        super().__init__(wavedeck_dir, "starts")
        self.path = Path(wavedeck_dir) / "run" / "starts.lock"


class StartQueue:
    """The queue of launches that wait their turn (see the module docstring)."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        launch: Callable[[str, RepoView | None], Awaitable[None]],
        stop: Callable[[str], Awaitable[str]],
        is_remote: Callable[[str], bool],
    ) -> None:
        self.ctx = ctx
        self._launch = launch  # AgentProcesses's launch of one agent, now
        self._stop = stop
        self._is_remote = is_remote
        self._queued: dict[str, _Queued] = {}  # in order
        self._starting: str | None = None  # dequeued, its launch under way
        self._stop_asked: set[str] = set()  # stopped while its launch was under way
        self._task: asyncio.Task[None] | None = None
        self._turn = asyncio.Lock()  # the task's, or another start's (``turn``)
        # The last start in turn, its session maybe not recorded yet (the next one waits).
        self._unrecorded: str | None = None

    @property
    def preset(self) -> Preset:
        return PRESETS[self.ctx.config.agent.preset]

    def holds(self, agent_id: str) -> bool:
        """The agent is queued, or its launch from the queue is under way."""
        return agent_id in self._queued or agent_id == self._starting

    def needed(self, agent_id: str) -> bool:
        """A launch of the agent must wait its turn: a local agent of a preset whose starts at
        once go wrong, now (opencode: while its database is missing), or while others wait."""
        if self._is_remote(agent_id):
            return False  # on a host, its CLI's state is there: starts there never meet ours
        return starts_alone(self.ctx.config.agent) or (
            self.busy and self.preset.session_recorded is not None
        )

    def enqueue(self, agent_id: str, view: RepoView | None) -> None:
        """Queue the agent's launch (recorded ``pending``, the reason saying why)."""
        if self.holds(agent_id):
            return
        rec = self.ctx.agent(agent_id)
        self._queued[agent_id] = _Queued(view, rec.state, rec.reason)
        transitions.agent_queued(self.ctx, agent_id, QUEUED)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def under_way(self, agent_id: str) -> bool:
        """The agent was dequeued and its launch is being made now."""
        return agent_id == self._starting

    def drop(self, agent_id: str) -> str | None:
        """The operator's stop of a queued agent: never launched (what it says), or None."""
        if agent_id == self._starting:
            self._stop_asked.add(agent_id)
            return "stopping: its launch is under way"
        entry = self._queued.pop(agent_id, None)
        if entry is None:
            return None
        self._give_back(agent_id, entry, STOPPED, stopped=True)
        return "not started (it was queued)"

    def _give_back(self, agent_id: str, entry: _Queued, why: str, *, stopped: bool) -> None:
        """A queued agent not started: ``stopped`` (the operator) records a wave's agent never
        launched as stopped; otherwise it is back as it was."""
        rec = self.ctx.agent(agent_id)
        if rec.launches == 0:
            state: AgentState = "stopped" if stopped else "pending"
            reason = why if stopped else ""
        else:
            state, reason = entry.was, f"{why}; {entry.reason}" if entry.reason else why
        transitions.agent_unqueued(self.ctx, agent_id, state, reason)

    def forgotten(self, agent_id: str, rec: AgentRecord) -> None:
        """An agent recorded as queued by a control room that died first (a re-opened one):
        a wave's agent never started is ``pending`` again (the wave's start finishes it);
        another, ``stopped`` (its restart or follow-up was not made: the operator asks again)."""
        if rec.state != "pending" or rec.reason != QUEUED or self.holds(agent_id):
            return
        if rec.launches == 0:
            transitions.agent_unqueued(self.ctx, agent_id, "pending", "")
        else:
            why = "not started: the control room that queued it ended first"
            transitions.agent_unqueued(self.ctx, agent_id, "stopped", why)

    async def close(self) -> None:
        """Launch nothing more (``ctx.launching`` is cleared by then); a launch under way is
        awaited (bounded), what is still queued goes back to what it was."""
        task = self._task
        if task is not None and not task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), CLOSE_WAIT_S)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for agent_id, entry in list(self._queued.items()):
            del self._queued[agent_id]
            self._give_back(agent_id, entry, "not started: the control room closed", stopped=False)

    async def _run(self) -> None:
        """Launch the queued agents in order, each once the last start's session is recorded,
        holding the ``StartLock`` until the last one's is (a take-over waits for it)."""
        ctx = self.ctx
        lock = StartLock(ctx.wavedeck_dir)
        try:
            while ctx.launching:
                if not self._queued:
                    await self._until_recorded()  # the last start's, before the lock goes
                    if self._queued:
                        continue  # queued meanwhile
                    break
                async with self._turn:
                    await self._until_recorded()
                    if not await self._take(lock) or not self._queued:
                        break
                    await self._next()
        finally:
            lock.release()
        if not ctx.launching:
            for agent_id, entry in list(self._queued.items()):
                del self._queued[agent_id]
                self._give_back(agent_id, entry, "not started: launching stopped", stopped=False)

    async def _take(self, lock: StartLock) -> bool:
        """Take the lock, once a take-over's CLI holding it has ended (False: closing)."""
        while not lock.acquire(note="the control room's agent starts"):
            if not self.ctx.launching:
                return False
            await asyncio.sleep(0.2)  # a lock another process holds: nothing to await
        return self.ctx.launching

    async def _next(self) -> None:
        """Launch the first queued agent (through ``AgentProcesses``)."""
        ctx = self.ctx
        agent_id = next(iter(self._queued))
        entry = self._queued.pop(agent_id)
        self._starting = agent_id
        try:
            await self._launch(agent_id, entry.view)
        finally:
            self._starting = None
        rec = ctx.agent(agent_id)
        if rec.state == "pending" and rec.reason == QUEUED:
            self._give_back(agent_id, entry, "not started", stopped=False)  # refused
        self._unrecorded = agent_id if rec.state == "running" else None
        if agent_id in self._stop_asked:
            self._stop_asked.discard(agent_id)
            await self._stop(agent_id)

    @contextlib.asynccontextmanager
    async def turn(self, preset: str) -> AsyncIterator[None]:
        """Hold the turn for other starts of ``preset``'s CLI (reviewer agents): once every
        queued launch is made and the last start's session is recorded; nothing queued starts
        meanwhile. A no-op unless the agents' CLI is that one and must start alone."""
        agent = self.ctx.config.agent
        if preset != agent.preset or not (self.busy or starts_alone(agent)):
            yield
            return
        while (task := self._task) is not None and not task.done():
            await asyncio.wait([task])  # the wave's own agents first
        async with self._turn:
            await self._until_recorded()
            yield

    @property
    def busy(self) -> bool:
        """Launches are queued, under way, or the last one's session is not recorded yet."""
        return bool(self._queued) or self._starting is not None or self._unrecorded is not None

    async def _until_recorded(self) -> None:
        """Wait until the last start has its session recorded, or has ended (or the control
        room is closing); past ``SESSION_WAIT_S``, a notice and no longer."""
        agent_id = self._unrecorded
        recorded = self.preset.session_recorded
        if agent_id is None or recorded is None:
            return
        ctx = self.ctx
        rec = ctx.agent(agent_id)
        state, _ = state_of(ctx.config.agent)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SESSION_WAIT_S
        while rec.state == "running" and ctx.launching and loop.time() < deadline:
            # The session id is wavedeck's (Gemini) or comes on the agent's stream (opencode).
            session = rec.session_id
            if session is not None and await asyncio.to_thread(recorded, state, session):
                self._unrecorded = None
                return
            await asyncio.sleep(0.05)  # a file another program writes: nothing to await
        if rec.state == "running" and ctx.launching:
            ctx.emit(
                Notice(
                    "warning",
                    f"{agent_id}: no session recorded in {SESSION_WAIT_S:g} s; the next agent of "
                    f"its CLI starts without waiting longer ({self.preset.one_at_a_time})",
                    agent=agent_id,
                )
            )
        self._unrecorded = None
