"""The supervisor's agent half: launch, adopt, follow, finish.

``AgentProcesses`` is a part of ``wavedeck.agents.wave.supervisor.Supervisor`` (it holds the
supervisor's ``wavedeck.agents.wave.context.WaveContext``). It launches each agent as a detached
process through its ``Runner`` (``wavedeck.agents.wave.runners.Runners``: local, or an SSH host's),
adopts agents an earlier control room left running (pid *and* start time, so never a second
copy), follows each log by byte offset, turns progress lines into ``IssueDone``, and records how
each agent ended, through ``wavedeck.agents.wave.transitions``. Events go into one queue; an
agent's log offset advances only once the consumer has handled the lines before it
(``consumed``), which makes a restart resume each log exactly. How an agent that ended is handled
next (``[agent.restart]``) is the ``RestartHooks`` given to it; what its preset's parser makes of
its output, the ``PresetRuns``. The agents of a preset with ``session_recorded`` (Gemini CLI,
whose start-up deletes a session another copy began a moment earlier; opencode, whose first starts
race on its database) start one at a time on each machine (here; each SSH host): such a launch is
queued and made by its place's lane of the ``wavedeck.agents.wave.starts.StartQueue`` (the caller
never waits for its turn).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from wavedeck.agents import faults, repoview
from wavedeck.agents.events import Notice
from wavedeck.agents.kinds import AgentStanding, Refusal
from wavedeck.agents.local import sandbox
from wavedeck.agents.markers import marker_line
from wavedeck.agents.presets import PresetError
from wavedeck.agents.remote.sync import SyncError
from wavedeck.agents.remote.transport import TransportError
from wavedeck.agents.runtypes import AgentHandle, ExitStatus
from wavedeck.agents.state import AgentRecord, adopt
from wavedeck.agents.tasks import stop_task
from wavedeck.agents.wave import reverts, transitions
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.launch import OffsetJournal, build_spec, chunk_events
from wavedeck.agents.wave.preset_runs import PresetRuns
from wavedeck.agents.wave.prompt import ISSUE_PATTERNS, PromptError
from wavedeck.agents.wave.runners import Runners
from wavedeck.agents.wave.starts import StartQueue
from wavedeck.agents.wave.stream import Item
from wavedeck.agents.wave.takeover import TakeoverLock
from wavedeck.agents.wave.transitions import AgentEnd
from wavedeck.plan.checking.api import RepoView

__all__ = ["AgentProcesses", "RestartHooks"]

TAIL_LINES = 5  # last log lines kept per agent, quoted when it fails (B1)


def gap_line(skipped: int, recovered: int) -> str:
    """The pane's mark where a log's bytes were rotated away before they were read."""
    return marker_line(
        f"{skipped} bytes of output rotated away unread; {recovered} lines of facts from"
        " its fact record stand for them"
    )


class RestartHooks(Protocol):
    """What the agent half tells the restart policy (``wavedeck.agents.wave.restart``)."""

    def launched(self, agent_id: str) -> None: ...

    def ended(self, agent_id: str, end: AgentEnd, *, ran_for: float | None) -> AgentEnd:
        """The end to record: the policy's word (a restart, or giving up) added to it
        (``ran_for``: the runner's ``Runner.ran_for`` of the run, None when it cannot tell)."""
        ...


class AgentProcesses:
    """Agents of a plan as detached processes: launched, adopted, followed, finished."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        runners: Runners,
        presets: PresetRuns,
        restarts: RestartHooks,
        cwd_for: Callable[[str], Path],
    ) -> None:
        self.ctx = ctx
        self.runners = runners
        self.presets = presets  # [agent] preset: parsers, usage, needs-you, follow-ups
        self.restarts = restarts
        self.cwd_for = cwd_for  # where an agent works (its worktree in worktree mode)
        self.journal = OffsetJournal(ctx.wavedeck_dir)
        self.follows: dict[str, asyncio.Task[None]] = {}
        # How far this process's followers have read each log (queued, maybe not yet consumed).
        self._read_to: dict[str, int] = {}
        self.stopping: set[str] = set()  # agents the operator is stopping
        self._tails: dict[str, deque[str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()  # stops it started itself (over budget)
        # Launches that wait their turn (one start at a time), made by the queue's own task.
        self.starts = StartQueue(
            ctx,
            launch=self.launch_now,
            stop=self.stop,
            host_of=runners.host_of,
            transport_of=runners.transport_of,
        )

    def followed(self, agent_id: str) -> bool:
        """The agent's log is still followed: its end is not recorded yet."""
        return agent_id in self.follows

    def queued(self, agent_id: str) -> bool:
        """The agent's launch waits its turn, or is under way from the queue."""
        return self.starts.holds(agent_id)

    def _spawn(self, work: Coroutine[Any, Any, object]) -> None:
        """Run ``work`` as a task it keeps (and cancels on ``close``)."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, *, stop_agents: bool = False) -> None:
        """Stop following (stopping the running agents first if ``stop_agents``), close the
        hosts' connections and the offset journal; agents otherwise keep running. Nothing is
        launched any more (``ctx.launching`` is cleared before): a launch under way is waited
        for, so a stop of every agent stops it too."""
        await self.starts.close()
        if stop_agents:
            running = [a for a, r in self.ctx.state.agents.items() if r.state == "running"]
            await asyncio.gather(*(self.stop(a) for a in running))
            # Let the followers drain the last lines and record "stopped".
            tasks = [t for a, t in self.follows.items() if a in running]
            if tasks:
                await asyncio.wait(tasks, timeout=5.0)
        pending = [*self.follows.values(), *self._tasks]
        for task in pending:
            task.cancel()
        for task in pending:
            await stop_task(task, failures=True)  # even a cancel swallowed by a wait_for
        self.follows.clear()
        self._tasks.clear()
        await self.runners.close()
        self.journal.close()

    # -- agents -------------------------------------------------------------------------------

    async def launch(self, agent_id: str, view: RepoView | None = None) -> None:
        """Launch one agent (``view``: the repository's listing, shared by a wave's agents), or
        queue it when it must wait its turn (``StartQueue``: then this returns at once)."""
        rec = self.ctx.agent(agent_id)
        if rec.state == "running" and rec.handle is not None:
            return  # never a second copy
        if self.starts.holds(agent_id):
            return  # queued, or its launch is under way: the queue launches it, once
        if self.starts.needed(agent_id):
            self.starts.enqueue(agent_id, view)
            return
        await self.launch_now(agent_id, view)

    async def launch_now(self, agent_id: str, view: RepoView | None = None) -> None:
        """Launch one agent now (never while the operator has its session in a terminal)."""
        ctx = self.ctx
        rec = ctx.agent(agent_id)
        if rec.state == "running" and rec.handle is not None:
            return  # never a second copy
        # Held until the launch is recorded, so a take-over never starts in between
        # (``wavedeck.agents.wave.takeover``).
        guard = TakeoverLock(ctx.wavedeck_dir, agent_id)
        if not guard.acquire():
            standing = (AgentStanding(agent_id, rec.state),)
            wave = ctx.plan.agent(agent_id).wave
            ctx.refuse(Refusal("agent-attached", wave, agents=standing, detail=guard.holder()))
            return
        try:
            await self._launch(agent_id, rec, view)
        finally:
            guard.release()

    async def _launch(self, agent_id: str, rec: AgentRecord, view: RepoView | None) -> None:
        ctx = self.ctx
        runner = self.runners.runner(agent_id)
        if rec.state != "running" and await self._adopt_unrecorded(agent_id, rec):
            return  # launched by a control room that died before recording it: not again
        try:
            # Prompt rendering reads files (and lists the repository without a view): in a
            # thread, so the event loop (and the keys the operator presses) never waits on it.
            spec = await asyncio.to_thread(
                build_spec,
                ctx.repo,
                ctx.wavedeck_dir,
                ctx.plan,
                ctx.config,
                agent_id,
                self.cwd_for(agent_id),
                view=view,
                local=runner.host is None,
                **self.presets.launch_args(agent_id, rec),
            )
            if rec.launches == 0:
                # Output of an earlier, forgotten run is not ours: the log where the runner
                # keeps it (this machine's, rotations counted, or its host's). Every run
                # appends to it, so later launches follow on from the offset consumed.
                rec.offset = await runner.log_size(agent_id)
                self.journal.write(agent_id, rec.offset)
            # Recorded before the process starts (its exit file will name it): a control room
            # killed before recording the handle finds this run, running or ended.
            launch_id = secrets.token_hex(8)
            transitions.agent_launching(ctx, agent_id, launch_id)
            handle = await runner.launch(replace(spec, launch_id=launch_id))
            faults.reached("agent-launched", agent_id)
        except (OSError, PromptError, SyncError, TransportError, PresetError) as exc:
            transitions.agent_not_started(ctx, agent_id, str(exc))
            return
        self._sandboxed(agent_id)
        self.restarts.launched(agent_id)
        self.stopping.discard(agent_id)
        reverts.forget_agent(ctx, agent_id)  # this run's reports are the evidence now
        transitions.agent_launched(ctx, agent_id, handle)
        # Past what the last run's follower already queued, even if not consumed yet: starting
        # at the consumer's offset would deliver those lines twice.
        self.follow(agent_id, handle, max(rec.offset, self._read_to.get(agent_id, 0)))

    def _sandboxed(self, agent_id: str) -> None:
        """Record how the runner confined the agent ([agent] sandbox) for the checkpoint's
        trailer; a remote agent's status is told (its pane says whether its host confines it)."""
        status = self.runners.runner(agent_id).sandboxed.get(agent_id)
        wave = self.ctx.wave(self.ctx.plan.agent(agent_id).wave)
        wave.sandbox[agent_id] = "off" if status is None else sandbox.status_word(status)
        local = status is not None and status.host is None and status.state == "landlock"
        writable = (
            sandbox.writable(
                self.ctx.plan,
                agent_id,
                self.ctx.config,
                self.cwd_for(agent_id),
                self.ctx.wavedeck_dir,
            )
            if local
            else None
        )
        self.presets.sandboxed(agent_id, writable)  # its refusals are found in its output
        if status is not None and status.host is not None:
            self.ctx.emit(status)

    async def stop(self, agent_id: str) -> str:
        """SIGTERM the agent's group, SIGKILL after the grace period; returns what happened. A
        queued agent is not launched (its launch under way: stopped once it is recorded)."""
        under_way = self.starts.under_way(agent_id)
        dropped = self.starts.drop(agent_id)  # queued: never launched now
        if dropped is not None:
            if not under_way:
                self.presets.drop_follow_up(agent_id)  # nor sent by a later restart
            return dropped
        rec = self.ctx.state.agents.get(agent_id)
        handle = rec.handle if rec is not None else None
        if rec is None or handle is None or rec.state != "running":
            return "not running"
        self.stopping.add(agent_id)
        runner = self.runners.runner(agent_id)
        result = await runner.stop(handle, self.ctx.config.agent.stop_grace_s)
        if agent_id not in self.follows:  # nobody follows it: record the end here
            await self.finish(agent_id, handle)
        return result

    async def _adopt_unrecorded(self, agent_id: str, rec: AgentRecord) -> bool:
        """Adopt the agent's run a control room started and died before recording (True):
        running, or, when its launch was recorded (``launching``), ended too; its log is then
        followed from where that run began. A recorded launch whose process never started is
        forgotten. A host that cannot say leaves the launch recorded and the agent failed
        (never a second copy of a run that may be going on there)."""
        runner = self.runners.runner(agent_id)
        launch_id = rec.launching or ""
        try:
            found = await runner.find_unrecorded(agent_id, launch_id)
        except OSError as exc:  # an SSH host's TransportError, SyncError
            transitions.launch_untold(self.ctx, agent_id, str(exc))
            return True
        if found is None:
            if launch_id:
                transitions.launch_unstarted(self.ctx, agent_id)
            return False
        transitions.agent_adopted(self.ctx, agent_id, found, recorded=False)
        self.follow(agent_id, found, rec.offset)
        return True

    async def resume(self, agent_id: str, rec: AgentRecord) -> None:
        """Re-attach to an agent recorded by an earlier control room (or to the run of a launch
        it recorded as under way)."""
        journal = self.journal.read(agent_id)
        if journal is not None and journal > rec.offset:
            rec.offset = journal
        if rec.launching and await self._adopt_unrecorded(agent_id, rec):
            return
        self.starts.forgotten(agent_id, rec)  # queued by a control room that died first
        handle = rec.handle
        if handle is None:
            return
        if rec.state == "running":
            result = await adopt(self.runners.runner(agent_id), rec)
            if result == "running":
                transitions.agent_adopted(self.ctx, agent_id, handle, recorded=True)
        # Running or not, output the consumer has not seen yet is delivered (then the end). A
        # remote agent's log is on its host: always followed, unasked (the tail ends once it
        # is drained, and brings back changes not applied yet; an unreachable host is waited
        # for there).
        runner = self.runners.runner(agent_id)
        if rec.state == "running" or handle.host or await runner.log_size(agent_id) > rec.offset:
            self.follow(agent_id, handle, rec.offset)

    def follow(self, agent_id: str, handle: AgentHandle, offset: int) -> None:
        task = asyncio.create_task(self._follow_loop(agent_id, handle, offset))
        self.follows[agent_id] = task

    async def _follow_loop(self, agent_id: str, handle: AgentHandle, offset: int) -> None:
        ctx = self.ctx
        rec = ctx.agent(agent_id)
        issues = {i.id for i in ctx.plan.agent(agent_id).issues}
        tail = self._tails.setdefault(agent_id, deque(maxlen=TAIL_LINES))
        try:
            async for chunk in self.runners.runner(agent_id).follow(handle, offset):
                # A flooding agent must not fill memory faster than the consumer shows it (B6).
                await ctx.stream.wait_room()
                # A preset's parser renders the raw lines for the pane (the log keeps them raw).
                lines, facts, over_budget = self.presets.feed(agent_id, chunk.lines)
                if chunk.skipped:  # the pane shows where its lines are missing, and how many
                    lines = (gap_line(chunk.skipped, chunk.recovered), *lines)
                if over_budget:  # [agent] max_cost_usd: stopped like the operator would
                    self._spawn(self.stop(agent_id))
                tail.extend(lines[-TAIL_LINES:])
                self._read_to[agent_id] = chunk.offset
                # One item per chunk, acknowledged with the chunk's offset: what a consumer has
                # shown and the offset a restart resumes from stay exactly in step. The lines go
                # in bulk (no object per line), so even a 256 KiB chunk is ~1 ms of work here.
                raw = self.presets.raw(chunk.lines)
                events = chunk_events(rec, issues, agent_id, lines, facts, raw)
                ctx.stream.put(Item(events, (agent_id, chunk.offset)))
        except TransportError as exc:
            # A host that refuses us for good (changed host key, login refused): the agent is
            # detached and may still run there; say so, and resume once the host is fixed.
            ctx.emit(Notice("error", f"{agent_id}: cannot follow its log: {exc}", agent=agent_id))
            return
        finally:
            if self.follows.get(agent_id) is asyncio.current_task():  # not a newer run's
                del self.follows[agent_id]
            ctx.changed()  # no longer followed: a wait for the wave's agents may end
        if rec.state == "running":
            lines, facts = self.presets.finish(agent_id)
            if lines or facts:
                ctx.stream.put(Item(chunk_events(rec, issues, agent_id, lines, facts)))
            await self.finish(agent_id, handle)

    async def finish(self, agent_id: str, handle: AgentHandle) -> None:
        """Record how the agent's run ended (once: by its follower, or by ``stop``)."""
        if self.ctx.agent(agent_id).state != "running":
            return  # already recorded
        runner = self.runners.runner(agent_id)
        status: ExitStatus | None = await runner.exit_status(handle)
        end = transitions.ending(
            status,
            stopped=agent_id in self.stopping,
            last_lines=tuple(self._tails.get(agent_id, ())),
        )
        end = self.presets.ended(agent_id, end)  # needs you, over budget
        # [agent.restart]: a failure may schedule a restart (or give up); the reason says which.
        end = self.restarts.ended(agent_id, end, ran_for=runner.ran_for(handle))
        self.stopping.discard(agent_id)
        transitions.agent_ended(self.ctx, agent_id, end)

    def consumed(self, agent_id: str, offset: int) -> None:
        rec = self.ctx.state.agents.get(agent_id)
        if rec is not None and offset > rec.offset:
            rec.offset = offset
            self.journal.write(agent_id, offset)

    async def launch_all(self, n: int) -> None:
        agents = self.ctx.unlaunched(n)
        # One listing of the repository for the whole wave (not one per issue), in a thread.
        view = await asyncio.to_thread(self._repo_view) if agents else None
        for agent_id in agents:
            if not self.ctx.launching:
                self.ctx.emit(Notice("warning", f"stopped launching: {agent_id} was not started"))
                break
            await self.launch(agent_id, view)

    def _repo_view(self) -> RepoView | None:
        """The repository's listing for the prompts' issue files (None: each prompt looks)."""
        try:
            return repoview.repo_view(self.ctx.repo, ISSUE_PATTERNS)
        except (OSError, repoview.RepoViewError):
            return None
