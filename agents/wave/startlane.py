"""One place's start queue: ``StartLane``, and what it asks its place (``Place``).

A *place* is where an agent's CLI keeps its state: this machine, or one SSH host. The agents of
a CLI whose starts at once go wrong (``wavedeck.agents.wave.starts``) start one at a time per
place: each place has its lane, its own task launching its queued agents in order, each once
the last start there has its session recorded (bounded by ``SESSION_WAIT_S``). Lanes never wait
for each other. What a lane asks its place:

- ``races``: can a start there still go wrong now (opencode: no database yet)? Asked before
  each launch: only a start made while it races holds the next one until its session is
  recorded. ``LocalPlace`` reads this machine's files (``Preset.starts_race``); a host's is
  ``wavedeck.agents.remote.startcheck.HostStartCheck`` (unknown there counts as yes).
- ``recorded``: has the CLI recorded the session there? None: it cannot be told (then the lane
  waits the whole bound and its notice says the session could not be confirmed, never that it
  was recorded).

Each lane holds its place's ``StartLock`` while it starts agents (a take-over of an agent of the
CLI on that place waits for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from wavedeck.agents.config import AgentConfig
from wavedeck.agents.events import Notice
from wavedeck.agents.kinds import AgentState
from wavedeck.agents.local import writepolicy
from wavedeck.agents.presets import PRESETS
from wavedeck.agents.presets.statedirs import state_entries
from wavedeck.agents.tasks import stop_task
from wavedeck.agents.wave import transitions
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.takeover import RunLock
from wavedeck.plan.checking.api import RepoView

__all__ = [
    "QUEUED",
    "SESSION_WAIT_S",
    "LocalPlace",
    "Place",
    "StartLane",
    "StartLock",
    "one_at_a_time",
    "starts_alone",
    "state_of",
]

SESSION_WAIT_S = 20.0  # how long the next start waits for a session to be recorded
CLOSE_WAIT_S = 10.0  # how long closing waits for a launch under way to be recorded
QUEUED = "queued: its CLI's agents start one at a time"  # the reason while it is (the pane's)
STOPPED = "stopped by the operator while queued: never started"
HOST_POLL_S = 0.25  # between two checks on a host (each one a round trip there)


def state_of(agent: AgentConfig) -> tuple[list[Path], dict[str, str]]:
    """The CLI's state folders (``statedirs``) and the agents' environment, as they run here."""
    env = {**os.environ, **agent.env}
    paths = writepolicy.state_paths(state_entries(agent.preset), env)
    return [Path(path) for path, kind in paths if kind == "dir"], env


def one_at_a_time(agent: AgentConfig) -> bool:
    """The ``[agent]`` preset's CLI starts one at a time on a machine (its preset's
    ``session_recorded``; not a ``command``); whether a start there can go wrong now is the
    place's question (``starts_alone`` here)."""
    return PRESETS[agent.preset].session_recorded is not None and not agent.runs_command


def starts_alone(agent: AgentConfig) -> bool:
    """A start of the ``[agent]`` preset's CLI here must not meet another start
    (``one_at_a_time``, and ``starts_race`` says it still can go wrong)."""
    if not one_at_a_time(agent):
        return False
    starts_race = PRESETS[agent.preset].starts_race
    return starts_race is None or starts_race(*state_of(agent))


class StartLock(RunLock):
    """``flock`` on ``.wavedeck/run/starts.lock`` (a host's: ``starts-<host>.lock``), held by
    whoever starts a CLI that must start alone on that machine: its lane, until its last
    start's session is recorded, and a take-over of such a CLI there while it runs
    (``wavedeck.agents.tools.attach``; its start-up would delete a session not recorded yet,
    and a start during its own start-up would meet it). A lock of this machine's kernel: it
    holds across processes (``wavedeck attach`` in another terminal), and goes with its holder
    however it ends. ``acquire`` never waits."""

    def __init__(self, wavedeck_dir: Path, host: str | None = None) -> None:
        super().__init__(Path(wavedeck_dir) / "run" / f"starts{lock_suffix(host)}.lock")


def lock_suffix(host: str | None) -> str:
    """``-<host>`` as a file name (a ``[hosts.NAME]`` may hold any character), '' for here."""
    if host is None:
        return ""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", host)[:40]
    return f"-{safe}" if safe == host else f"-{safe}-{zlib.crc32(host.encode()):08x}"


class Place(Protocol):
    """Where a lane's agents start (see the module docstring)."""

    @property
    def name(self) -> str | None:
        """The host, None for this machine."""

    @property
    def why_unknown(self) -> str:
        """Why the last ``recorded`` could not tell."""

    async def races(self) -> bool: ...

    async def recorded(self, session: str) -> bool | None: ...


class LocalPlace:
    """This machine: the CLI's state files read here."""

    name: str | None = None
    why_unknown = ""

    def __init__(self, agent: AgentConfig) -> None:
        self.agent = agent

    async def races(self) -> bool:
        return await asyncio.to_thread(starts_alone, self.agent)

    async def recorded(self, session: str) -> bool | None:
        check = PRESETS[self.agent.preset].session_recorded
        if check is None:
            return True
        state, _ = state_of(self.agent)
        return await asyncio.to_thread(check, state, session)


@dataclass
class Queued:
    view: RepoView | None
    was: AgentState  # its state before it was queued (given back when it is not started)
    reason: str


class StartLane:
    """The queued launches of one place (see the module docstring)."""

    def __init__(
        self,
        ctx: WaveContext,
        place: Place,
        *,
        launch: Callable[[str, RepoView | None], Awaitable[None]],
        stop: Callable[[str], Awaitable[str]],
    ) -> None:
        self.ctx = ctx
        self.place = place
        self._launch = launch  # AgentProcesses's launch of one agent, now
        self._stop = stop
        self.queued: dict[str, Queued] = {}  # in order
        self.starting: str | None = None  # dequeued, its launch under way
        self._stop_asked: set[str] = set()  # stopped while its launch was under way
        self.task: asyncio.Task[None] | None = None
        self.turn = asyncio.Lock()  # the task's, or another start's (``StartQueue.turn``)
        # The last start in turn, its session maybe not recorded yet (the next one waits).
        self._unrecorded: str | None = None

    def holds(self, agent_id: str) -> bool:
        return agent_id in self.queued or agent_id == self.starting

    @property
    def busy(self) -> bool:
        """Launches are queued, under way, or the last one's session is not recorded yet."""
        return bool(self.queued) or self.starting is not None or self._unrecorded is not None

    def enqueue(self, agent_id: str, view: RepoView | None) -> None:
        rec = self.ctx.agent(agent_id)
        self.queued[agent_id] = Queued(view, rec.state, rec.reason)
        transitions.agent_queued(self.ctx, agent_id, QUEUED)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())
            self.task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        """The lane's task failed (a bug): said, and what it held is given back, never left
        queued in silence."""
        if task.cancelled() or task.exception() is None:
            return
        where = f" for {self.place.name}" if self.place.name else ""
        why = f"not started: the start queue{where} failed ({task.exception()!r})"
        self.ctx.emit(Notice("error", why))
        self.give_back_all(why)

    def drop(self, agent_id: str) -> str | None:
        """The operator's stop of a queued agent: never launched (what it says), or None."""
        if agent_id == self.starting:
            self._stop_asked.add(agent_id)
            return "stopping: its launch is under way"
        entry = self.queued.pop(agent_id, None)
        if entry is None:
            return None
        self.give_back(agent_id, entry, STOPPED, stopped=True)
        return "not started (it was queued)"

    def give_back(self, agent_id: str, entry: Queued, why: str, *, stopped: bool) -> None:
        """A queued agent not started: ``stopped`` (the operator) records a wave's agent never
        launched as stopped; otherwise it is back as it was."""
        rec = self.ctx.agent(agent_id)
        if rec.launches == 0:
            state: AgentState = "stopped" if stopped else "pending"
            reason = why if stopped else ""
        else:
            state, reason = entry.was, f"{why}; {entry.reason}" if entry.reason else why
        transitions.agent_unqueued(self.ctx, agent_id, state, reason)

    def give_back_all(self, why: str) -> None:
        for agent_id, entry in list(self.queued.items()):
            del self.queued[agent_id]
            self.give_back(agent_id, entry, why, stopped=False)

    async def close(self) -> None:
        """Launch nothing more; a launch under way is awaited (bounded), what is still queued
        goes back to what it was."""
        task = self.task
        if task is not None and not task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), CLOSE_WAIT_S)
            await stop_task(task, failures=True)
        self.give_back_all("not started: the control room closed")

    async def _run(self) -> None:
        """Launch the queued agents in order, each once the last start's session is recorded,
        holding the place's ``StartLock`` until the last one's is (a take-over waits for it)."""
        ctx = self.ctx
        lock = StartLock(ctx.wavedeck_dir, self.place.name)
        try:
            while ctx.launching:
                if not self.queued:
                    await self.until_recorded()  # the last start's, before the lock goes
                    if self.queued:
                        continue  # queued meanwhile
                    break
                async with self.turn:
                    await self.until_recorded()
                    if not await self._take(lock) or not self.queued:
                        break
                    races = await self._races()  # before the start: it may make the state
                    if self.queued and ctx.launching:
                        await self._next(races)
        finally:
            lock.release()
        if not ctx.launching:
            self.give_back_all("not started: launching stopped")

    async def _races(self) -> bool:
        """Whether a start at the place can go wrong now (a check that fails: yes)."""
        try:
            return await self.place.races()
        except Exception:
            return True  # waiting its turn is always safe

    async def _take(self, lock: StartLock) -> bool:
        """Take the lock, once a take-over's CLI holding it has ended (False: closing)."""
        while not lock.acquire(note="the control room's agent starts"):
            if not self.ctx.launching:
                return False
            await asyncio.sleep(0.2)  # a lock another process holds: nothing to await
        return self.ctx.launching

    async def _next(self, races: bool) -> None:
        """Launch the first queued agent (through ``AgentProcesses``); the next one waits for
        its session when its start could still go wrong (``races``)."""
        agent_id = next(iter(self.queued))
        entry = self.queued.pop(agent_id)
        self.starting = agent_id
        try:
            await self._launch(agent_id, entry.view)
        finally:
            self.starting = None
        rec = self.ctx.agent(agent_id)
        if rec.state == "pending" and rec.reason == QUEUED:
            self.give_back(agent_id, entry, "not started", stopped=False)  # refused
        self._unrecorded = agent_id if rec.state == "running" and races else None
        if agent_id in self._stop_asked:
            self._stop_asked.discard(agent_id)
            await self._stop(agent_id)

    async def until_recorded(self) -> None:
        """Wait until the last start has its session recorded, or has ended (or the control
        room is closing); past ``SESSION_WAIT_S``, a notice and no longer."""
        agent_id = self._unrecorded
        if agent_id is None:
            return
        ctx, place = self.ctx, self.place
        rec = ctx.agent(agent_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SESSION_WAIT_S
        told = False  # a check has answered (yes or no) at least once
        while rec.state == "running" and ctx.launching and loop.time() < deadline:
            # The session id is wavedeck's (Gemini) or comes on the agent's stream (opencode).
            session = rec.session_id
            if session is not None:
                recorded = await place.recorded(session)
                if recorded:
                    self._unrecorded = None
                    return
                told = told or recorded is not None
            # A file another program writes (here or on a host): nothing to await.
            await asyncio.sleep(0.05 if place.name is None else HOST_POLL_S)
        if rec.state == "running" and ctx.launching:
            ctx.emit(Notice("warning", self._late(agent_id, told), agent=agent_id))
        self._unrecorded = None

    def _late(self, agent_id: str, told: bool) -> str:
        """The notice's words when the wait for a session ran out."""
        why = PRESETS[self.ctx.config.agent.preset].one_at_a_time
        then = f"the next agent of its CLI starts without waiting longer ({why})"
        host = self.place.name
        if host is None:
            return f"{agent_id}: no session recorded in {SESSION_WAIT_S:g} s; {then}"
        if told:
            return f"{agent_id}: no session recorded on {host} in {SESSION_WAIT_S:g} s; {then}"
        return (
            f"{agent_id}: its session could not be confirmed on {host} in {SESSION_WAIT_S:g} s"
            f" ({self.place.why_unknown or 'no session id yet'}); {then}"
        )
