"""The opt-in restart policy for failed agents (``[agent.restart]``, reliability matrix B1).

By default an agent that fails stays ``failed`` until the operator acts. With
``[agent.restart] enabled = true``, an agent that fails (non-zero exit, or killed by a signal
that wavedeck's own stop did not send) while its wave runs, untested, and the control room is
open, is launched again after a capped exponential backoff: ``backoff_initial_s``, doubling, at
most ``backoff_max_s``. A run that lasted at least ``min_run_s`` resets the backoff and the count;
after ``max_restarts`` restarts in a row whose runs were all shorter, the policy gives up and the
agent stays ``failed`` with the reason ("gave up after 3 restarts (each run under 10 s)"): the
FATAL state. ``max_total_restarts`` bounds the restarts of one agent in all, long runs included,
so an agent that always fails after working a while is not relaunched for ever. Stopped, lost,
succeeded or marked-done agents are never restarted.

What this module provides:

- ``backoff_delay`` and ``decide``: the arithmetic and the decision, pure functions;
- ``RestartPolicy``: the supervisor's hooks (``launched``, ``ended``, ``cancel``, ``pending``,
  ``close``) and the scheduling. It holds the supervisor's ``WaveContext``; a relaunch goes
  through the ``Relauncher`` it is given, the supervisor's ``restart_agent`` (the operator's
  path, so the same checks apply). Before it, a marker line is appended to the agent's
  log (``── wavedeck: restart 2 of 3 after 4 s (exit 3) ──``): every run stays in one log.

Time is a monotonic clock and the wait a sleep function, both replaceable (``clock``, ``sleep``)
so tests check the spacing without waiting for it; a wall-clock jump changes nothing (B14). The
count of restarts lives in the control room: one opened later starts counting afresh.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from wavedeck.agents.config import RestartConfig
from wavedeck.agents.events import Notice, RestartStatus
from wavedeck.agents.markers import append_marker, marker_line
from wavedeck.agents.wave import transitions
from wavedeck.agents.wave.transitions import AgentEnd

if TYPE_CHECKING:
    from wavedeck.agents.wave.context import WaveContext

MAX_EXPONENT = 62  # 2**62 seconds is beyond any cap; keeps the float arithmetic finite
CLOSE_WAIT_S = 10.0  # how long close() lets a relaunch already under way finish
HISTORY = 200  # restarts remembered in ``history`` (for tests and for the operator)


def backoff_delay(cfg: RestartConfig, attempt: int) -> float:
    """The wait before restart number ``attempt`` (1-based) of a run of fast failures."""
    exponent = min(max(attempt - 1, 0), MAX_EXPONENT)
    return float(min(cfg.backoff_initial_s * 2.0**exponent, cfg.backoff_max_s))


@dataclass(frozen=True)
class Decision:
    """What to do with a failed agent: restart it (``attempt``, after ``delay_s``) or give up."""

    restart: bool
    attempt: int  # the restart's number in the current series; when giving up, restarts made
    delay_s: float
    note: str  # put before the failure reason (shown in the pane and the event)
    gave_up: bool = False  # the policy stops restarting the agent (the FATAL state)


def decide(cfg: RestartConfig, streak: int, ran_s: float, total: int = 0) -> Decision:
    """Decide after a failure: ``streak`` restarts were made since the last long run, ``total``
    in all, and the run that just failed lasted ``ran_s`` seconds."""
    if ran_s >= cfg.min_run_s:
        streak = 0  # a long run: the agent was working, start counting again
    if cfg.max_restarts == 0:
        return Decision(False, 0, 0.0, "not restarted (agent.restart.max_restarts = 0)")
    if streak >= cfg.max_restarts:
        plural = "" if streak == 1 else "s"
        note = f"gave up after {streak} restart{plural} (each run under {cfg.min_run_s:g} s)"
        return Decision(False, streak, 0.0, note, gave_up=True)
    if total >= cfg.max_total_restarts:
        note = f"gave up after {total} restarts in all (agent.restart.max_total_restarts)"
        return Decision(False, total, 0.0, note, gave_up=True)
    attempt = streak + 1
    delay = backoff_delay(cfg, attempt)
    return Decision(True, attempt, delay, f"restart {attempt} of {cfg.max_restarts} in {delay:g} s")


def status_of(cfg: RestartConfig, decision: Decision, failed_at: float) -> RestartStatus | None:
    """The decision as the fact recorded and sent with the failure (``failed_at``: wall clock)."""
    if decision.restart:
        return RestartStatus(
            "waiting",
            decision.note,
            decision.attempt,
            cfg.max_restarts,
            decision.delay_s,
            failed_at + decision.delay_s,
        )
    if decision.gave_up:
        return RestartStatus("gave-up", decision.note, decision.attempt, cfg.max_restarts)
    return None


class Relauncher(Protocol):
    """Who relaunches a failed agent: the supervisor, through the operator's own restart (the
    same checks apply). Called only once a failure's backoff is over, long after wiring."""

    async def restart_agent(self, agent_id: str) -> None: ...


@dataclass
class Restart:
    """One scheduled restart (times on the policy's clock)."""

    agent: str
    attempt: int
    delay_s: float
    failed_at: float
    relaunched_at: float | None = None  # None: cancelled, refused, or still waiting


OPERATOR_RESTART = "restart by the operator"  # the log marker of a restart by hand


def _how(code: int | None, sig: str | None) -> str:
    return sig if sig else f"exit {code}"


class RestartPolicy:
    """Relaunches failed agents of one supervisor as ``[agent.restart]`` says."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        relaunch: Relauncher,
        is_remote: Callable[[str], bool],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.ctx = ctx
        self._relauncher = relaunch  # the operator's restart, with its checks
        self._is_remote = is_remote
        self.clock = clock
        self.sleep = sleep
        self.history: deque[Restart] = deque(maxlen=HISTORY)
        self._started: dict[str, float] = {}  # agent -> when its current run was launched
        self._streak: dict[str, int] = {}  # agent -> restarts since its last long run
        self._total: dict[str, int] = {}  # agent -> restarts in all (since the operator's last)
        self._waiting: dict[str, asyncio.Task[None]] = {}  # cancellable: in the backoff
        self._launching: dict[str, asyncio.Task[None]] = {}  # past the point of cancelling

    @property
    def config(self) -> RestartConfig:
        return self.ctx.config.agent.restart

    def pending(self, agent_id: str) -> bool:
        """A restart of the agent is scheduled or under way (its wave is not done yet)."""
        return agent_id in self._waiting or agent_id in self._launching

    # -- hooks --------------------------------------------------------------------------------

    def launched(self, agent_id: str) -> None:
        """The agent was just launched (by anyone): its run starts now."""
        self._started[agent_id] = self.clock()

    def ended(self, agent_id: str, end: AgentEnd, *, ran_for: float | None) -> AgentEnd:
        """The agent's run ended as ``end``; returns it with the policy's word: the restart or
        the give-up put before the reason, and as a fact. Schedules the restart; never waits.
        ``ran_for``: how long the run lasted by its runner's clock (``Runner.ran_for``; None:
        the runner cannot tell), for a run this control room did not launch."""
        started = self._started.pop(agent_id, None)
        reason = end.reason
        if end.state != "failed" or not self.config.enabled:
            self._forget(agent_id)
            return replace(end, restart=None)
        if not self._may_restart(agent_id):
            return replace(end, restart=None)
        ran = self._ran_adopted(agent_id, ran_for) if started is None else self.clock() - started
        total = self._total.get(agent_id, 0)
        decision = decide(self.config, self._streak.get(agent_id, 0), ran, total)
        joined = f"{decision.note}; {reason}" if reason else decision.note
        status = status_of(self.config, decision, failed_at=time.time())
        if not decision.restart:
            self._forget(agent_id)
            self.ctx.emit(Notice("error", f"{agent_id}: {joined}", agent=agent_id))
            return replace(end, reason=joined, restart=status)
        self._streak[agent_id], self._total[agent_id] = decision.attempt, total + 1
        entry = Restart(agent_id, decision.attempt, decision.delay_s, self.clock())
        self.history.append(entry)
        self.ctx.emit(
            Notice(
                "warning",
                f"{agent_id} failed after {ran:.1f} s: {decision.note}",
                agent=agent_id,
                attempt=decision.attempt,
            )
        )
        self._waiting[agent_id] = asyncio.create_task(self._relaunch(entry))
        return replace(end, reason=joined, restart=status)

    def cancel(self, agent_id: str, why: str = "", *, by_operator: bool = False) -> bool:
        """Cancel a restart still waiting (True if there was one). ``why`` is added to the
        agent's reason and shown; ``by_operator`` (a restart or mark done by hand) also forgets
        the count. A relaunch already under way is not interrupted."""
        task = self._waiting.pop(agent_id, None)
        if by_operator and agent_id not in self._launching:
            self._forget(agent_id)
        if task is None:
            return False
        task.cancel()
        self._forget(agent_id)
        if why:
            transitions.restart_cancelled(self.ctx, agent_id, why)
        self.ctx.changed()  # no longer pending
        return True

    async def close(self) -> None:
        """Cancel every waiting restart; let one already launching finish (bounded)."""
        for agent_id in list(self._waiting):
            self.cancel(agent_id, "restart cancelled: the control room closed")
        tasks = list(self._launching.values())
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_WAIT_S)

    # -- scheduling ---------------------------------------------------------------------------

    def _forget(self, agent_id: str) -> None:
        """A new series: the agent ended for good, or the operator took over."""
        self._streak.pop(agent_id, None)
        self._total.pop(agent_id, None)

    def _ran_adopted(self, agent_id: str, ran_for: float | None) -> float:
        """How long an agent adopted from an earlier control room ran (no reading on our clock):
        what its runner tells (a local one: from its start on the boot clock); where the runner
        cannot tell (an SSH host's, a run found already ended), from the record's wall-clock
        ``started_at``, the only reading of it that survived the restart."""
        if ran_for is not None:
            return ran_for
        rec = self.ctx.agent_record(agent_id)
        if rec.started_at is None:
            return 0.0
        return max(0.0, time.time() - rec.started_at)  # a clock set back must not go negative

    def _may_restart(self, agent_id: str) -> bool:
        """The agent failed while its wave runs untested, the control room is open and launching,
        and the operator has not counted it done."""
        ctx = self.ctx
        rec = ctx.state.agents.get(agent_id)
        wave = ctx.plan.agent(agent_id).wave
        return (
            ctx.launching
            and ctx.opened
            and (rec is None or rec.marked_done is None)
            and ctx.open_wave() == wave
            and ctx.wave(wave).tests is None
            and wave not in ctx.testing
        )

    async def _relaunch(self, entry: Restart) -> None:
        agent_id = entry.agent
        try:
            await self.sleep(entry.delay_s)
        except asyncio.CancelledError:
            return  # cancel() already took it out of _waiting
        task = self._waiting.pop(agent_id, None)
        if task is None:
            return
        self._launching[agent_id] = task
        try:
            if self.ctx.agent_state(agent_id) != "failed" or not self._may_restart(agent_id):
                return
            rec = self.ctx.agent_record(agent_id)
            self.mark_log(
                agent_id,
                f"restart {entry.attempt} of {self.config.max_restarts} after "
                f"{entry.delay_s:g} s ({_how(rec.exit_code, rec.exit_signal)})",
            )
            launches, now = rec.launches, self.clock()
            await self._relauncher.restart_agent(agent_id)
            if self.ctx.agent_record(agent_id).launches > launches:
                entry.relaunched_at = now
        except Exception as exc:  # a task's error would go unseen: tell the operator
            self.ctx.emit(Notice("error", f"{agent_id}: restart failed: {exc}"))
        finally:
            self._launching.pop(agent_id, None)
            self.ctx.changed()  # no longer pending: a wait for the wave's agents may end

    def mark_manual_restart(self, agent_id: str) -> None:
        """The operator restarts ``agent_id``: the same kind of separator in its log as the
        policy's own marker (none when the policy itself is relaunching it)."""
        if agent_id not in self._launching:
            self.mark_log(agent_id, OPERATOR_RESTART)

    def mark_log(self, agent_id: str, what: str) -> None:
        """Put a separator line (``wavedeck.agents.markers``) in the agent's log before a new run
        (a remote agent's log is on its host: the operator is told instead)."""
        if self._is_remote(agent_id):
            self.ctx.emit(Notice("info", f"{agent_id}: {marker_line(what)}", agent=agent_id))
        else:
            append_marker(self.ctx.log_path(agent_id), what)
