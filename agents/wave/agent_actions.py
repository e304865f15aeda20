"""The supervisor's commands on one agent: ``AgentActions``, mixed into ``Supervisor``.

What the operator does to one agent from the control room or the command line: stop it, launch
it again after it ended (``restart_agent``, also what the restart policy calls once a failure's
backoff is over), count it as done, and take over its CLI session (``wavedeck attach``, ``a``:
the checks, the launch spec, the record, and what a take-over changed on an SSH host). Each
delegates to the supervisor's parts (``wavedeck.agents.wave.processes.AgentProcesses``,
``wavedeck.agents.wave.restart.RestartPolicy``, ``wavedeck.agents.wave.takeovers.Takeovers``);
every state change goes through ``wavedeck.agents.wave.transitions``. A follow-up message to an
agent is the supervisor's own (``Supervisor.follow_up``): the review's change requests send it.
"""

from __future__ import annotations

import asyncio

from wavedeck.agents.kinds import AgentStanding, Refusal
from wavedeck.agents.runtypes import LaunchSpec
from wavedeck.agents.wave import transitions
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.processes import AgentProcesses
from wavedeck.agents.wave.restart import RestartPolicy
from wavedeck.agents.wave.takeover import TakeoverRefusal, TakeoverReport
from wavedeck.agents.wave.takeovers import Takeovers

__all__ = ["AgentActions"]


class AgentActions:
    """The commands on one agent (see the module docstring)."""

    ctx: WaveContext
    processes: AgentProcesses
    restarts: RestartPolicy
    takeovers: Takeovers
    _actions: asyncio.Lock

    async def stop_agent(self, agent_id: str) -> str:
        """SIGTERM the agent's group, SIGKILL after the grace period; returns what happened.

        An agent waiting to be restarted ([agent.restart]) is not restarted; one waiting its turn
        to start (``wavedeck.agents.wave.starts``) is not launched."""
        if self.restarts.cancel(agent_id, "restart cancelled by the operator"):
            return "restart cancelled"
        return await self.processes.stop(agent_id)

    async def restart_agent(self, agent_id: str) -> None:
        """Launch an agent again after it failed, was stopped or was lost (never while running);
        one action at a time (the supervisor's action lock)."""
        async with self._actions:
            ctx = self.ctx
            rec = ctx.state.agents.get(agent_id)
            wave = ctx.plan.agent(agent_id).wave
            standing = (AgentStanding(agent_id, ctx.agent_state(agent_id)),)
            if rec is not None and rec.state == "running":
                ctx.refuse(Refusal("agent-running", wave, agents=standing))
                return
            if ctx.open_wave() != wave or ctx.wave(wave).tests is not None:
                ctx.refuse(Refusal("restart-closed", wave, agents=standing))
                return
            holder = self.takeovers.holder(agent_id)
            if holder is not None:
                ctx.refuse(Refusal("agent-attached", wave, agents=standing, detail=holder))
                return
            if rec is not None:
                transitions.agent_reopened(ctx, agent_id)
            if rec is not None and rec.launches:
                self.restarts.mark_manual_restart(agent_id)
            self.restarts.cancel(agent_id, by_operator=True)  # now, and its count starts afresh
            await self.processes.launch(agent_id)

    async def mark_done(self, agent_id: str, reason: str) -> None:
        """Record that the operator counts an ended agent as done (the reason is kept)."""
        ctx = self.ctx
        wave = ctx.plan.agent(agent_id).wave
        if ctx.agent_state(agent_id) == "running":
            standing = (AgentStanding(agent_id, "running"),)
            ctx.refuse(Refusal("agent-running", wave, agents=standing))
            return
        self.restarts.cancel(agent_id, by_operator=True)  # done: not restarted
        self.processes.starts.drop(agent_id)  # nor launched from the queue
        transitions.agent_marked_done(ctx, agent_id, reason)

    # -- the operator's take-overs (wavedeck.agents.wave.takeovers) ----------------------------

    def _headless_going(self, agent_id: str) -> bool:
        """Its headless run is going, or about to start again ([agent.restart] pending, or its
        start queued)."""
        return (
            self.ctx.agent_state(agent_id) == "running"
            or self.restarts.pending(agent_id)
            or self.processes.queued(agent_id)
        )

    def takeover_check(self, agent_id: str) -> TakeoverRefusal | None:
        """Why the operator cannot take over the agent's session now, or None."""
        return self.takeovers.check(agent_id)

    def takeover_spec(self, agent_id: str) -> LaunchSpec | None:
        """What runs when the operator takes over the agent's session (``PresetError`` when
        its program is missing here)."""
        return self.takeovers.spec(agent_id)

    def host_touched(self, agent_id: str, path: str, change: str) -> None:
        """A path a take-over changed on the agent's SSH host (before its patch lands here)."""
        self.takeovers.host_touched(agent_id, path, change)

    def record_takeover(self, report: TakeoverReport) -> None:
        """Count a take-over in the agent's record and show its record in its pane."""
        self.takeovers.record(report)
