"""The supervisor's take-overs: an agent's session in the operator's hands (a part of
``wavedeck.agents.wave.supervisor.Supervisor``; the vocabulary is ``wavedeck.agents.wave.takeover``).

- ``check``: why the agent cannot be taken over now (its headless run going, another terminal
  holding it, no session, ...);
- ``spec``: what to run: the preset's interactive resume in the agent's folder, with its
  environment, ownership rules and sandbox (``wavedeck.agents.wave.launch.takeover_spec``);
- ``host_touched``: a path the take-over changed on the agent's SSH host, judged as the host's
  reports are (exact attribution) before its patch lands here;
- ``record``: the take-over's report applied by the one writer of the run state: usage and files
  counted in the agent's record, the record lines shown in its pane (the log holds them already:
  the offset moves past them), a notice;
- a poll (``start``/``stop``) applying the reports ``wavedeck attach`` leaves in
  ``.wavedeck/takeovers/`` when it runs beside this control room.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from wavedeck.agents.events import AgentOutputBatch, Notice
from wavedeck.agents.runtypes import LaunchSpec
from wavedeck.agents.tasks import stop_task
from wavedeck.agents.wave import takeover
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.launch import takeover_spec
from wavedeck.agents.wave.runners import Runners
from wavedeck.agents.wave.takeover import TakeoverLock, TakeoverRefusal, TakeoverReport

POLL_S = 1.0  # how often reports left by `wavedeck attach` in another terminal are looked for

HostSink = Callable[[str, str, str], None]  # (agent, path, change): ``HostWrites.touched``
Consumed = Callable[[str, int], None]  # (agent, offset): the consumer has the log up to here


class Takeovers:
    """Take-overs of the supervisor's agents (see the module docstring)."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        runners: Runners,
        cwd_for: Callable[[str], Path],
        running: Callable[[str], bool],
        consumed: Consumed,
        host_sink: HostSink,
    ) -> None:
        """``running``: the agent's headless run is going (or about to: a restart pending);
        ``consumed``: moves the agent's log offset; ``host_sink``: what a remote agent changed."""
        self.ctx = ctx
        self.runners = runners
        self.cwd_for = cwd_for
        self.running = running
        self.consumed = consumed
        self.host_sink = host_sink
        self._poll: asyncio.Task[None] | None = None

    def check(self, agent_id: str) -> TakeoverRefusal | None:
        ctx = self.ctx
        if not ctx.in_plan(agent_id):
            return TakeoverRefusal("not-in-plan", agent_id)
        wave = ctx.plan.agent(agent_id).wave
        refusal = takeover.check(
            ctx.plan,
            ctx.config,
            agent_id,
            ctx.state.agents.get(agent_id),
            wave_open=ctx.open_wave() == wave,
            running=self.running(agent_id),
        )
        if refusal is not None:
            return refusal
        holder = self.holder(agent_id)
        return TakeoverRefusal("taken-over", agent_id, holder) if holder is not None else None

    def holder(self, agent_id: str) -> str | None:
        """Who has the agent's session in a terminal now (None: nobody)."""
        lock = TakeoverLock(self.ctx.wavedeck_dir, agent_id)
        if lock.acquire():
            lock.release()
            return None
        return lock.holder() or "another terminal"

    def spec(self, agent_id: str) -> LaunchSpec | None:
        """What the take-over runs (None when the preset cannot); ``PresetError`` when the
        program is missing here."""
        ctx = self.ctx
        rec = ctx.agent_record(agent_id)
        if not rec.session_id:
            return None
        local = self.runners.host_of(agent_id) is None
        return takeover_spec(
            ctx.wavedeck_dir,
            ctx.plan,
            ctx.config,
            agent_id,
            self.cwd_for(agent_id),
            rec.session_id,
            local=local,
        )

    def host_touched(self, agent_id: str, path: str, change: str) -> None:
        self.host_sink(agent_id, path, change)

    def record(self, report: TakeoverReport) -> None:
        """Apply ``report`` (see the module docstring)."""
        ctx, agent = self.ctx, report.agent
        if not ctx.in_plan(agent):
            ctx.emit(Notice("warning", f"a take-over report names no agent of the plan: {agent}"))
            return
        events, lines, offset = takeover.settle(agent, ctx.agent(agent), report)
        if lines is not None:
            ctx.emit(AgentOutputBatch(agent, lines))
        if offset is not None:
            self.consumed(agent, offset)
        for event in events:
            ctx.emit(event)
        ended = f"its CLI ended: {takeover.ending(report)}"
        ctx.emit(
            Notice(
                "warning" if report.dropped else "info",
                f"{agent}: back from the operator after {report.minutes} min ({ended})",
                agent=agent,
            )
        )
        ctx.save()
        ctx.changed()

    # -- reports from another terminal --------------------------------------------------------

    def apply_pending(self) -> None:
        for path, report in takeover.pending(self.ctx.wavedeck_dir):
            if report is None:
                self.ctx.emit(Notice("warning", f"{path}: not a take-over report: set aside"))
                with contextlib.suppress(OSError):
                    path.rename(path.with_name(path.name + ".bad"))
                continue
            self.record(report)
            with contextlib.suppress(OSError):
                path.unlink()

    def start(self) -> None:
        """Apply the reports left so far, then look for new ones every ``POLL_S``."""
        self.apply_pending()
        if self._poll is None:
            self._poll = asyncio.get_running_loop().create_task(self._polling())

    async def _polling(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            try:
                self.apply_pending()
            except OSError as exc:
                self.ctx.emit(Notice("warning", f"reading take-over reports: {exc}"))

    async def stop(self) -> None:
        task, self._poll = self._poll, None
        if task is not None:
            await stop_task(task)
