"""The TUI's view of a run: what the screens draw, kept current from the engine's facts.

:class:`RunView` holds per agent (:class:`AgentView`) its state, issues done, touched files,
violations, host connection and log ring buffers; per wave (:class:`WaveView`) its state, test
output and result. It answers the screens' questions about them (which wave an agent is in, have
a wave's agents ended) and fills a pane's log from disk on re-attach. The engine's events and
states are copied into it by ``wavedeck.tui.adapter`` alone; the clock it reads is
:func:`steady_wall_clock`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wavedeck.agents import events as ev
from wavedeck.agents import kinds
from wavedeck.agents.lines import decode_all
from wavedeck.agents.local.logfiles import LogFile
from wavedeck.agents.presets import TEXT_PRESETS, render
from wavedeck.agents.presets.usage import UsageTotal
from wavedeck.plan.models import Agent, Plan
from wavedeck.tui.widgets.log_view import MAX_LINES, LogBuffer

Clock = Callable[[], float]

# An agent whose run is over (``needs_you`` aside: it waits for the operator, the wave is not
# past its agents).
RUN_OVER = ("succeeded", "failed", "stopped", "lost")
TAIL_BYTES = 4 * 1024 * 1024  # enough for 10,000 lines of ~400 bytes


@dataclass
class HostState:
    """The connection to one SSH host, as its last ``HostConnectionChanged`` said."""

    host: str
    state: kinds.HostLink
    detail: str = ""
    next_attempt_at: float | None = None  # wall-clock time of the next attempt (reconnecting)


@dataclass
class AgentView:
    """One pane's worth of state."""

    agent: Agent
    state: kinds.AgentState = "pending"
    host: str | None = None  # the SSH host it runs on (None: this machine)
    host_state: HostState | None = None  # that host's connection, once reported
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    signal: str | None = None
    reason: str = ""
    marked_done: str | None = None  # the operator's reason, when marked done by hand
    restart: ev.RestartStatus | None = None  # [agent.restart]'s word on its last failure
    needs: kinds.Needs | None = None  # why it needs the operator (state needs_you)
    issues_done: list[str] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    violations: list[ev.ViolationFound] = field(default_factory=list)
    log: LogBuffer = field(default_factory=LogBuffer)
    # Agent presets: the raw stream the rendered ``log`` came from (the pane's raw view), the
    # CLI's session, its usage so far and the tool calls its permissions refused.
    raw: LogBuffer = field(default_factory=LogBuffer)
    show_raw: bool = False
    session_id: str | None = None
    usage: UsageTotal = field(default_factory=UsageTotal)
    denied: int = 0
    # [agent] sandbox: set when this agent is not confined like the run (its host cannot, or
    # its repository lies beneath a path it may write).
    sandbox: ev.SandboxStatus | None = None

    @property
    def id(self) -> str:
        return self.agent.id

    def elapsed(self, now: float) -> float | None:
        if self.started_at is None:
            return None
        return max(0.0, (self.ended_at or now) - self.started_at)


@dataclass
class WaveView:
    """One wave's worth of state: the wave bar's, the tests screen's, the checkpoint's."""

    number: int
    state: kinds.WaveState = "locked"
    tests: LogBuffer = field(default_factory=LogBuffer)
    tests_passed: bool | None = None
    tests_running: bool = False
    tests_duration_s: float | None = None
    tests_started_at: float | None = None
    commit: str | None = None
    refused: ev.GateRefused | None = None
    violations: list[ev.ViolationFound] = field(default_factory=list)


def steady_wall_clock() -> Clock:
    """Wall-clock seconds that advance with the monotonic clock (anchored to ``time.time()``
    once): elapsed times and countdowns ignore a system clock set forwards or back mid-run,
    while staying comparable with the wall-clock start times kept in the run state."""
    anchor = time.time() - time.monotonic()
    return lambda: anchor + time.monotonic()


@dataclass
class RunView:
    """Everything the screens draw, built from the plan and kept current by the adapter."""

    plan: Plan
    clock: Clock = field(default_factory=steady_wall_clock)
    agents: dict[str, AgentView] = field(default_factory=dict)
    waves: dict[int, WaveView] = field(default_factory=dict)
    host_states: dict[str, HostState] = field(default_factory=dict)
    current_wave: int = 1
    run_state: str = "idle"
    preset: str = "generic"  # [agent] preset: how a log read from disk is rendered
    sandbox: ev.SandboxStatus | None = None  # [agent] sandbox on this machine, once told

    def __post_init__(self) -> None:
        # The first wave is ready, the others locked, until the engine says otherwise (its
        # states are copied in by the adapter alone).
        first = self.plan.waves[0].number if self.plan.waves else None
        for wave in self.plan.waves:
            state: kinds.WaveState = "ready" if wave.number == first else "locked"
            self.waves[wave.number] = WaveView(wave.number, state)
            for agent in wave.agents:
                self.agents[agent.id] = AgentView(agent)
        if first is not None:
            self.current_wave = first

    def wave_of(self, agent_id: str) -> int:
        view = self.agents.get(agent_id)
        return view.agent.wave if view else self.current_wave

    def wave_agents(self, wave: int) -> list[AgentView]:
        return [self.agents[a.id] for a in self.plan.wave(wave).agents]

    def agents_ended(self, wave: int) -> bool:
        """Every agent of a ``running`` wave has ended (the engine keeps the wave ``running``
        until its tests run): the header and the wave bar both say so, not "running"."""
        agents = self.wave_agents(wave)
        return bool(agents) and all(a.state in RUN_OVER for a in agents)

    def agents_not_done(self, wave: int) -> int:
        """How many of the wave's agents ended without succeeding (nor marked done)."""
        return sum(
            1 for a in self.wave_agents(wave) if a.state != "succeeded" and not a.marked_done
        )

    def set_host(self, agent_id: str, host: str | None) -> None:
        """Record that ``agent_id`` runs on ``host`` (its pane shows that host's connection)."""
        view = self.agents.get(agent_id)
        if view is not None:
            view.host = host
            view.host_state = self.host_states.get(host) if host else None

    def load_history(self, agent_id: str, path: Path, upto: int | None) -> None:
        """Fill an agent's ring buffer with the last lines of its log, up to byte ``upto``.

        The bytes are read by logical offset across rotated files and decoded by the same rule
        as the live lines (``wavedeck.agents.lines``), so the pane shows what it showed before.
        """
        log = LogFile(path)
        try:
            end = log.size() if upto is None else upto
            oldest = log.start()
            start = max(oldest, end - TAIL_BYTES)
            # One byte more in front tells whether the window starts at a line's start.
            before = start - 1 if start > oldest else start
            data = log.pread(end - before, before) if end > before else b""
        except OSError:
            return
        if start > 0:
            first = data.find(b"\n")
            data = b"" if first < 0 else data[first + 1 :]  # the first line is cut: dropped
        # Every byte up to ``upto`` was shown as a line (a partial last one once flushed).
        lines = decode_all(data)
        agent = self.agents[agent_id]
        agent.log.clear()
        agent.raw.clear()
        if (
            self.preset not in TEXT_PRESETS
        ):  # the pane shows the preset's rendering, raw one key away
            agent.raw.extend(lines[-MAX_LINES:])
            lines = render.render_lines(self.preset, lines)
        agent.log.extend(lines[-MAX_LINES:])
