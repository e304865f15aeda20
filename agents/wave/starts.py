"""One start at a time per place, for the CLIs whose starts at once go wrong: ``StartQueue``.

Gemini CLI 0.61 deletes, at start-up, every session file of its project folder that holds no
message yet: the session of an agent started a moment earlier (its follow-up then fails).
opencode's first starts on a machine race on migrating its database. Such starts meet where the
CLI keeps its state: on one machine. So the agents of such a preset (``Preset.session_recorded``)
start one at a time **per place** (this machine; each SSH login of ``[hosts.*]``: two names
with one address, port and user are one place, ``Config.login_of``), each once the
one before there has its session recorded (bounded by ``SESSION_WAIT_S``; past it, a notice
saying what may go wrong). opencode's only while its database does not exist yet
(``Preset.starts_race``): once it does, its agents start at once. Different places never wait
for each other: each has its own lane (``wavedeck.agents.wave.startlane``). On a host, both
questions are asked there, over its pooled connection
(``wavedeck.agents.remote.startcheck``): its local agents are queued only when a start here
can go wrong now, a host's always (whether a start there races is asked by its lane, before
each start, as a round trip cannot be made here); a check a host cannot answer counts as a race,
and a session it cannot confirm is waited for the whole bound and said so, never claimed.

The wait may last minutes for a five-agent wave (each start waits for the previous agent's first
model reply), so it never holds the supervisor's action lock: a launch that must wait its turn
is *queued* here and the caller (a wave's start, a restart, a follow-up) returns at once. Each
lane's task launches its queued agents in order (through ``AgentProcesses``'s own launch: the
take-over lock, the record before the process). Why this is safe:

- one launcher: an agent queued or being started is never launched by another path
  (``holds``), and a second ask to launch it is a no-op;
- a queued agent is recorded ``pending`` with its reason (``transitions.agent_queued``), so the
  pane says so, the gates count it unfinished (no tests, no checkpoint, so no next wave) and
  a wait for the wave's agents waits for it too;
- the operator's stop drops a queued agent (never launched afterwards) and stops one whose
  launch is under way as soon as it is recorded; closing the control room clears
  ``ctx.launching``: no lane launches anything more and the close waits only for launches
  already under way. What was queued goes back to what it was (a wave's agent never started
  stays ``pending``, so the next control room's start of the wave finishes it).

``turn`` lets another start of the same CLI on this machine (a reviewer agent of ``[review]
preset``) take its turn too: after this machine's lane and the last start's session there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from wavedeck.agents.presets import PRESETS
from wavedeck.agents.presets.spec import Preset
from wavedeck.agents.remote.startcheck import HostStartCheck
from wavedeck.agents.remote.transport import HostTransport
from wavedeck.agents.state import AgentRecord
from wavedeck.agents.wave import transitions
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.startlane import (
    QUEUED,
    LocalPlace,
    Place,
    StartLane,
    one_at_a_time,
    starts_alone,
)
from wavedeck.plan.checking.api import RepoView

__all__ = ["StartQueue"]


class StartQueue:
    """The lanes of launches that wait their turn, one per place (see the module docstring)."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        launch: Callable[[str, RepoView | None], Awaitable[None]],
        stop: Callable[[str], Awaitable[str]],
        host_of: Callable[[str], str | None],
        transport_of: Callable[[str], HostTransport],
    ) -> None:
        """``host_of``: the agent's SSH host (None: here); ``transport_of``: that host's
        pooled connection (asked only for an agent on a host)."""
        self.ctx = ctx
        self._launch = launch  # AgentProcesses's launch of one agent, now
        self._stop = stop
        self._host_of = host_of
        self._transport_of = transport_of
        self._lanes: dict[str | None, StartLane] = {}  # by login (Config.login_of); None: here

    @property
    def preset(self) -> Preset:
        return PRESETS[self.ctx.config.agent.preset]

    def _lane(self, host: str | None, agent_id: str = "") -> StartLane:
        # Two [hosts.*] names for one login are one place: its CLI state is the same there.
        login = self.ctx.config.login_of(host)
        lane = self._lanes.get(login)
        if lane is None:
            agent = self.ctx.config.agent
            place: Place = (
                LocalPlace(agent)
                if login is None
                else HostStartCheck(login, self._transport_of(agent_id), self.preset, agent.env)
            )
            lane = StartLane(self.ctx, place, launch=self._launch, stop=self._stop)
            self._lanes[login] = lane
        return lane

    def _holding(self, agent_id: str) -> StartLane | None:
        return next((lane for lane in self._lanes.values() if lane.holds(agent_id)), None)

    def holds(self, agent_id: str) -> bool:
        """The agent is queued, or its launch from a queue is under way."""
        return self._holding(agent_id) is not None

    def needed(self, agent_id: str) -> bool:
        """A launch of the agent must wait its turn: here, an agent of a preset whose starts at
        once go wrong, now (opencode: while its database is missing), or while others wait; on
        a host, every agent of such a preset (its lane asks the host whether it races)."""
        agent = self.ctx.config.agent
        if not one_at_a_time(agent):
            return False
        host = self._host_of(agent_id)
        if host is not None:
            return True
        lane = self._lanes.get(None)
        return starts_alone(agent) or (lane is not None and lane.busy)

    def enqueue(self, agent_id: str, view: RepoView | None) -> None:
        """Queue the agent's launch in its place's lane (recorded ``pending``, the reason
        saying why)."""
        if not self.holds(agent_id):
            self._lane(self._host_of(agent_id), agent_id).enqueue(agent_id, view)

    def under_way(self, agent_id: str) -> bool:
        """The agent was dequeued and its launch is being made now."""
        return any(lane.starting == agent_id for lane in self._lanes.values())

    def drop(self, agent_id: str) -> str | None:
        """The operator's stop of a queued agent: never launched (what it says), or None."""
        lane = self._holding(agent_id)
        return lane.drop(agent_id) if lane is not None else None

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
        """Launch nothing more (``ctx.launching`` is cleared by then): every lane's launch
        under way is awaited (bounded, the lanes at once), what is still queued goes back to
        what it was."""
        await asyncio.gather(*(lane.close() for lane in self._lanes.values()))

    @contextlib.asynccontextmanager
    async def turn(self, preset: str) -> AsyncIterator[None]:
        """Hold the turn for other starts of ``preset``'s CLI here (reviewer agents): once every
        launch queued here is made and the last start's session is recorded; nothing queued
        here starts meanwhile. A no-op unless the agents' CLI is that one and must start alone."""
        agent = self.ctx.config.agent
        lane = self._lanes.get(None)
        busy = lane is not None and lane.busy
        if preset != agent.preset or not (busy or starts_alone(agent)):
            yield
            return
        lane = self._lane(None)
        while (task := lane.task) is not None and not task.done():
            await asyncio.wait([task])  # the wave's own agents first
        async with lane.turn:
            await lane.until_recorded()
            yield
