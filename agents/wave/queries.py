"""The supervisor's read-only half: ``RunQueries``, what the run looks like now.

Synchronous, cheap and without side effects: the control room calls these on every key and
every redraw (``wavedeck.tui.engine.EngineQueries`` is this surface), the headless run between
its steps. Every answer comes from the run state in the ``WaveContext`` and the parts' own
bookkeeping (who follows which agent, which restart is pending, where each agent runs); a
wave's state is derived by ``wavedeck.agents.wave.gates.wave_state``, never read from a record.
``wavedeck.agents.wave.supervisor.Supervisor`` adds the commands to it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Protocol

from wavedeck.agents.config import Config
from wavedeck.agents.events import ViolationFound
from wavedeck.agents.git.repo import GitRepo
from wavedeck.agents.kinds import AgentState, Refusal, WaveState
from wavedeck.agents.presets import clis_on_path
from wavedeck.agents.state import AgentRecord, RunState, WaveRecord
from wavedeck.agents.wave import gates
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.runners import Runners
from wavedeck.plan.models import Plan


class Pending(Protocol):
    """Which agents are about to run again (the restart policy)."""

    def pending(self, agent_id: str) -> bool: ...


class Followed(Protocol):
    """Which agents' logs are still followed (their end is not recorded yet), and which wait
    their turn to start (``wavedeck.agents.wave.starts``)."""

    def followed(self, agent_id: str) -> bool: ...

    def queued(self, agent_id: str) -> bool: ...


class RunQueries:
    """What the run looks like now (see the module docstring)."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        runners: Runners,
        restarts: Pending,
        followed: Followed,
        plan_path: Path | None,
    ) -> None:
        self.ctx = ctx
        self._runners = runners
        self._restarts = restarts
        self._followed = followed
        self.plan_path = plan_path

    # -- what the context holds ---------------------------------------------------------------

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
    def state(self) -> RunState:
        return self.ctx.state

    @property
    def launching(self) -> bool:
        """Cleared when the control room is told to stop: no agent is launched any more (B9)."""
        return self.ctx.launching

    @launching.setter
    def launching(self, value: bool) -> None:
        self.ctx.launching = value

    def log_path(self, agent_id: str) -> Path:
        return self.ctx.log_path(agent_id)

    # -- agents -------------------------------------------------------------------------------

    def agent_record(self, agent_id: str) -> AgentRecord:
        return self.ctx.agent_record(agent_id)

    def agent_state(self, agent_id: str) -> AgentState:
        return self.ctx.agent_state(agent_id)

    def host_of(self, agent_id: str) -> str | None:
        """The SSH host the agent runs on (its ``[hosts.NAME]``), None when it runs here."""
        return self._runners.host_of(agent_id)

    def is_remote(self, agent_id: str) -> bool:
        return self._runners.is_remote(agent_id)

    def restart_pending(self, agent_id: str) -> bool:
        """A launch of the agent is scheduled or under way: a restart ([agent.restart]), or a
        start queued behind another of its CLI (one at a time); a stop cancels it."""
        return self._restarts.pending(agent_id) or self._followed.queued(agent_id)

    def unlaunched(self, n: int) -> list[str]:
        """Agents of wave ``n`` never launched (a start interrupted by a signal leaves some)."""
        return self.ctx.unlaunched(n)

    def wave_agents_done(self, n: int) -> bool:
        """Every agent of wave ``n`` has ended (in any way), and none is about to restart."""
        agents = self.plan.wave(n).agents
        return all(self.agent_state(a.id) in gates.TERMINAL for a in agents) and not any(
            self._followed.followed(a.id) or self.restart_pending(a.id) for a in agents
        )

    # -- waves --------------------------------------------------------------------------------

    @property
    def current_wave(self) -> int:
        """The open wave, else the first wave not committed, else the last wave."""
        return self.ctx.current_wave()

    def views(self) -> dict[int, gates.WaveView]:
        """Every wave as the gates see it."""
        return self.ctx.views()

    def wave_state(self, n: int) -> WaveState:
        """Wave ``n``'s state, derived from its facts (``gates.wave_state``)."""
        return gates.wave_state(self.plan, self.ctx.views(), n)

    def wave_record(self, n: int) -> WaveRecord | None:
        """What happened to wave ``n`` so far (None before it started)."""
        return self.ctx.state.waves.get(n)

    def violations(self, wave: int) -> list[ViolationFound]:
        return list(self.ctx.violations.get(wave, []))

    def accepted(self, wave: int) -> dict[str, str]:
        rec = self.ctx.state.waves.get(wave)
        return dict(rec.accepted) if rec is not None else {}

    def test_commands(self) -> list[str]:
        """The config's test commands, else the plan's (shell commands, shown before running)."""
        return self.ctx.test_commands()

    def can_start_wave(self, n: int) -> Refusal | None:
        """Why wave ``n`` may not start now; None when it may: rule 1 (``gates``), then what
        the run needs before any agent starts: an agent chosen (never the simulated agent by
        default: ``no-agent`` names the CLIs on PATH) and test commands (a wave is tested
        before its checkpoint: refused now rather than after its agents ran)."""
        refused = gates.can_start_wave(self.plan, self.ctx.views(), n)
        if refused is not None:
            return refused
        if not self.config.agent.chosen:
            return Refusal("no-agent", n, programs=clis_on_path())
        if not self.ctx.test_commands():
            return Refusal("no-test-commands", n)
        return None

    def can_run_tests(self, n: int) -> Refusal | None:
        ctx = self.ctx
        return gates.can_run_tests(ctx.plan, ctx.views(), n, ctx.test_commands())

    def can_commit(self, n: int) -> Refusal | None:
        return gates.can_commit(self.ctx.plan, self.ctx.views(), n)

    # -- changes ------------------------------------------------------------------------------

    @property
    def change_count(self) -> int:
        """How many agent or wave state changes happened so far (for ``wait_changed``)."""
        return self.ctx.changes.generation

    def wait_changed(self, since: int | None = None) -> Awaitable[None]:
        """Wait for a change of any agent's or wave's state after ``change_count`` was
        ``since`` (default: its value when this is called). Never misses one: a change made
        after the caller read the count (or called this) ends the wait at once."""
        return self.ctx.wait_changed(since)
