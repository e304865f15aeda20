"""The supervisor's agent half: launch, adopt, follow, finish.

``AgentProcesses`` is a part of ``wavedeck.agents.wave.supervisor.Supervisor`` (it holds the supervisor's
``wavedeck.agents.wave.context.WaveContext``). It launches each agent as a
detached process through a ``Runner`` (local, or ``wavedeck.agents.remote.runner.RemoteRunner`` for an agent a
``[hosts.NAME]`` section of the config assigns to an SSH host), adopts
agents an earlier control room left running (pid *and* start time, so never a second copy),
follows each log by byte offset, turns progress lines into ``IssueDone``, and records how each
agent ended. Events go into one queue; an agent's log offset advances only once the consumer has
handled the lines before it (``consumed``), which makes a restart resume each log exactly. How an
agent that ended is handled next (``[agent.restart]``) is the ``RestartHooks`` given to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from wavedeck.agents import repoview
from wavedeck.agents.events import (
    AgentOutputBatch,
    AgentState,
    AgentStateChanged,
    Event,
    EventBatch,
    IssueDone,
    Notice,
    RestartStatus,
)
from wavedeck.agents.local import procinfo
from wavedeck.agents.local.logfiles import logical_size
from wavedeck.agents.local.runner import LocalRunner
from wavedeck.agents.presets import hooks as preset_hooks
from wavedeck.agents.remote.runner import RemoteRunner, runner_for
from wavedeck.agents.remote.sync import SyncError
from wavedeck.agents.remote.transport import TransportError
from wavedeck.agents.runtypes import AgentHandle, ExitStatus, Runner
from wavedeck.agents.state import AgentRecord, adopt, handle_from_record, record_handle
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.launch import OffsetJournal, build_spec, parse_done
from wavedeck.agents.wave.prompt import ISSUE_PATTERNS, PromptError
from wavedeck.agents.wave.stream import MAX_QUEUED, Item
from wavedeck.plan.checking.api import RepoView

__all__ = ["MAX_QUEUED", "AgentProcesses", "RestartHooks"]

TAIL_LINES = 5  # last log lines kept per agent, quoted when it fails (B1)
DONE_MARK = "wavedeck: done"  # what every progress line contains (see ``launch.DONE_RE``)


class RestartHooks(Protocol):
    """What the agent half tells the restart policy (``wavedeck.agents.wave.restart.RestartPolicy``)."""

    def launched(self, agent_id: str) -> None: ...

    def ended(
        self, agent_id: str, state: AgentState, reason: str
    ) -> tuple[str, RestartStatus | None]:
        """The reason to record and the policy's word on the agent that ended."""
        ...


def _chunk_events(
    rec: AgentRecord,
    issues: set[str],
    agent_id: str,
    lines: tuple[str, ...],
    facts: list[Event] | None = None,
    raw: tuple[str, ...] = (),
) -> EventBatch:
    """A chunk of log lines as events: the lines in bulk, each ``IssueDone`` right after its line
    (recorded in ``rec`` too), then ``facts`` (a preset parser's events for the chunk); ``raw``:
    the log lines ``lines`` were rendered from (carried by the first batch)."""
    # Progress lines are rare: one C-level search of the chunk instead of a test per line.
    if DONE_MARK not in "\n".join(lines):
        events = EventBatch([AgentOutputBatch(agent_id, lines, raw)] if lines or raw else [])
        events.extend(facts or ())
        return events
    events = EventBatch([AgentOutputBatch(agent_id, (), raw)] if raw else [])
    begin = 0
    for index, line in enumerate(lines):
        done = parse_done(line) if DONE_MARK in line else None
        if done is None or done[0] not in issues:
            continue
        events.append(AgentOutputBatch(agent_id, lines[begin : index + 1]))
        begin = index + 1
        if done[0] not in rec.issues_done:
            rec.issues_done.append(done[0])
        rec.outcomes[done[0]] = done[1]
        events.append(IssueDone(agent_id, done[0], done[1]))
    if begin < len(lines):
        events.append(AgentOutputBatch(agent_id, lines[begin:]))
    events.extend(facts or ())
    return events


class AgentProcesses:
    """Agents of a plan as detached processes: launched, adopted, followed, finished."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        restarts: RestartHooks,
        cwd_for: Callable[[str], Path],
        on_touched: Callable[[str, str, str], None],
    ) -> None:
        self.ctx = ctx
        self.restarts = restarts
        self.cwd_for = cwd_for  # where an agent works (its worktree in worktree mode)
        self.on_touched = on_touched  # a remote agent changed a path on its host
        self.journal = OffsetJournal(ctx.wavedeck_dir)
        self._local: Runner | None = None
        self.remote: dict[str, RemoteRunner] = {}  # host name -> its runner (one connection pool)
        self.follows: dict[str, asyncio.Task[None]] = {}
        # How far this process's followers have read each log (queued, maybe not yet consumed).
        self._read_to: dict[str, int] = {}
        self.stopping: set[str] = set()  # agents the operator is stopping
        self._tails: dict[str, deque[str]] = {}
        # [agent] preset: parsers, usage, needs-you, follow-ups (agents/presets/hooks.py).
        self.presets = preset_hooks.PresetRuns(
            ctx.config,
            record=ctx.agent,
            known=lambda agent_id: self.ctx.state.agents.get(agent_id),
            cwd_of=cwd_for,
            emit=ctx.emit,
            is_remote=self.is_remote,
            log_path=ctx.log_path,
            issues_left=self._issues_left,
        )

    def _issues_left(self, agent_id: str) -> int:
        """How many of the agent's issues it has not reported done (``PresetRuns.ended``)."""
        done = set(self.ctx.agent_record(agent_id).issues_done)
        return sum(1 for i in self.ctx.plan.agent(agent_id).issues if i.id not in done)

    # -- runners ------------------------------------------------------------------------------

    def runner_for(self, agent_id: str) -> Runner:
        """The runner of an agent: its host's when the config assigns it to one, else local."""
        ctx = self.ctx
        package = ctx.plan.agent(agent_id).package if ctx.in_plan(agent_id) else None
        remote = runner_for(
            agent_id,
            ctx.config,
            self.remote,
            package=package,
            repo=ctx.repo,
            on_event=ctx.emit,
            on_touched=self.on_touched,
        )
        if remote is not None:
            return remote
        if self._local is None:
            self._local = LocalRunner(
                ctx.wavedeck_dir,
                on_event=ctx.emit,
                log_max_bytes=ctx.config.agent.log_max_bytes,
                log_keep=ctx.config.agent.log_keep,
                log_min_free=ctx.config.agent.log_min_free_bytes,
            )
        return self._local

    def host_of(self, agent_id: str) -> str | None:
        """The SSH host the agent runs on (its ``[hosts.NAME]``), None when it runs here."""
        runner = self.runner_for(agent_id)
        return runner.host if isinstance(runner, RemoteRunner) else None

    def is_remote(self, agent_id: str) -> bool:
        return self.host_of(agent_id) is not None

    def applied_by(self, path: str) -> str | None:
        """The remote agent whose patch brought ``path`` into the local tree, if any."""
        for runner in self.remote.values():
            for agent_id, paths in runner.applied.items():
                if path in paths:
                    return agent_id
        return None

    async def close(self, *, stop_agents: bool = False) -> None:
        """Stop following (stopping the running agents first if ``stop_agents``), close the
        hosts' connections and the offset journal; agents otherwise keep running."""
        if stop_agents:
            running = [a for a, r in self.ctx.state.agents.items() if r.state == "running"]
            await asyncio.gather(*(self.stop(a) for a in running))
            # Let the followers drain the last lines and record "stopped".
            tasks = [t for a, t in self.follows.items() if a in running]
            if tasks:
                await asyncio.wait(tasks, timeout=5.0)
        for task in self.follows.values():
            task.cancel()
        for task in list(self.follows.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.follows.clear()
        await self.close_remote()
        self.journal.close()

    async def close_remote(self) -> None:
        """Close every host's connections (its agents keep running, detached, on the host)."""
        runners, self.remote = list(self.remote.values()), {}
        for runner in runners:
            with contextlib.suppress(Exception):
                await runner.close()

    # -- agents -------------------------------------------------------------------------------

    async def launch(self, agent_id: str, view: RepoView | None = None) -> None:
        """Launch one agent (``view``: the repository's listing, shared by a wave's agents)."""
        rec = self.ctx.agent(agent_id)
        if rec.state == "running" and handle_from_record(rec) is not None:
            return  # never a second copy
        orphan = self._unrecorded(agent_id) if rec.state != "running" else None
        if orphan is not None:
            # Launched by a control room that died before it could record it: adopt, not relaunch.
            rec.handle, rec.state, rec.launches = record_handle(orphan), "running", rec.launches + 1
            self.ctx.save()
            self.ctx.emit(
                Notice("warning", f"{agent_id} was running unrecorded (pid {orphan.pid})")
            )
            self.ctx.emit(AgentStateChanged(agent_id, "running", reason="adopted"))
            self.follow(agent_id, orphan, rec.offset)
            return
        try:
            # Prompt rendering reads files (and lists the repository without a view): in a
            # thread, so the event loop (and the keys the operator presses) never waits on it.
            spec = await asyncio.to_thread(
                build_spec,
                self.ctx.repo,
                self.ctx.wavedeck_dir,
                self.ctx.plan,
                self.ctx.config,
                agent_id,
                self.cwd_for(agent_id),
                view=view,
                local=not self.is_remote(agent_id),
                **self.presets.launch_args(agent_id, rec),
            )
            log = self.ctx.log_path(agent_id)
            if rec.launches == 0 and log.exists():
                # Output of an earlier, forgotten run is not ours (logical: rotations count).
                rec.offset = logical_size(log)
                self.journal.write(agent_id, rec.offset)
            handle = await self.runner_for(agent_id).launch(spec)
        except (OSError, PromptError, SyncError, TransportError, preset_hooks.PresetError) as exc:
            rec.state, rec.reason = "failed", f"could not start: {exc}"
            rec.restart = None
            self.ctx.save()
            self.ctx.emit(AgentStateChanged(agent_id, "failed", reason=rec.reason))
            self.ctx.changed()
            return
        rec.handle = record_handle(handle)
        rec.launches += 1
        rec.state = "running"
        rec.started_at, rec.ended_at = time.time(), None
        rec.exit_code = rec.exit_signal = None
        rec.reason, rec.restart = "", None
        self.restarts.launched(agent_id)
        self.stopping.discard(agent_id)
        self.ctx.save()  # right after the launch: a restart must know this process exists
        self.ctx.emit(AgentStateChanged(agent_id, "running"))
        # Past what the last run's follower already queued, even if not consumed yet: starting
        # at the consumer's offset would deliver those lines twice.
        self.follow(agent_id, handle, max(rec.offset, self._read_to.get(agent_id, 0)))

    async def stop(self, agent_id: str) -> str:
        """SIGTERM the agent's group, SIGKILL after the grace period; returns what happened."""
        rec = self.ctx.state.agents.get(agent_id)
        handle = handle_from_record(rec) if rec is not None else None
        if rec is None or handle is None or rec.state != "running":
            return "not running"
        self.stopping.add(agent_id)
        result = await self.runner_for(agent_id).stop(handle, self.ctx.config.agent.stop_grace_s)
        if agent_id not in self.follows:  # nobody follows it: record the end here
            await self.finish(agent_id, handle)
        return result

    def _unrecorded(self, agent_id: str) -> AgentHandle | None:
        """A live wrapper of this agent that no record knows (found by its exit-file argument).

        A control room killed between starting an agent and saving the state leaves one; the
        runner's wrapper always carries the agent's exit file path in its command line.
        """
        runner = self.runner_for(agent_id)
        if not isinstance(runner, LocalRunner):
            return None
        exit_arg = str(runner.exit_path(agent_id)).encode()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/cmdline", "rb") as handle:
                    argv = handle.read().split(b"\0")
            except OSError:
                continue
            if (
                exit_arg not in argv
                or b"--" not in argv
                or argv.index(exit_arg) > argv.index(b"--")
            ):
                continue
            pid = int(name)
            start = procinfo.start_time(pid)
            if start is None or procinfo.pgid_of(pid) != pid:
                continue
            if not procinfo.is_same_process(pid, start):
                continue  # a zombie: it has ended, nothing to adopt
            return AgentHandle(
                agent_id=agent_id,
                pid=pid,
                start_time=start,
                pgid=pid,
                log_path=str(runner.log_path(agent_id)),
                exit_path=str(runner.exit_path(agent_id)),
            )
        return None

    async def resume(self, agent_id: str, rec: AgentRecord) -> None:
        """Re-attach to an agent recorded by an earlier control room."""
        journal = self.journal.read(agent_id)
        if journal is not None and journal > rec.offset:
            rec.offset = journal
        handle = handle_from_record(rec)
        if handle is None:
            return
        if rec.state == "running":
            result = await adopt(self.runner_for(agent_id), rec)
            if result == "running":
                self.ctx.emit(Notice("info", f"{agent_id} adopted (pid {handle.pid})"))
                self.ctx.emit(AgentStateChanged(agent_id, "running", reason="adopted"))
        # Running or not, output the consumer has not seen yet is delivered (then the end). A
        # remote agent's log is on its host: always followed (the tail ends once it is drained,
        # and brings back changes not applied yet).
        log = Path(handle.log_path)
        if (
            rec.state == "running"
            or handle.host
            or (log.exists() and logical_size(log) > rec.offset)
        ):
            self.follow(agent_id, handle, rec.offset)

    def follow(self, agent_id: str, handle: AgentHandle, offset: int) -> None:
        task = asyncio.create_task(self._follow_loop(agent_id, handle, offset))
        self.follows[agent_id] = task

    async def _follow_loop(self, agent_id: str, handle: AgentHandle, offset: int) -> None:
        rec = self.ctx.agent(agent_id)
        issues = {i.id for i in self.ctx.plan.agent(agent_id).issues}
        tail = self._tails.setdefault(agent_id, deque(maxlen=TAIL_LINES))
        try:
            async for chunk in self.runner_for(agent_id).follow(handle, offset):
                # A flooding agent must not fill memory faster than the consumer shows it (B6).
                await self.ctx.stream.wait_room()
                # A preset's parser renders the raw lines for the pane (the log keeps them raw).
                lines, facts = self.presets.feed(agent_id, chunk.lines)
                tail.extend(lines[-TAIL_LINES:])
                self._read_to[agent_id] = chunk.offset
                # One item per chunk, acknowledged with the chunk's offset: what a consumer has
                # shown and the offset a restart resumes from stay exactly in step. The lines go
                # in bulk (no object per line), so even a 256 KiB chunk is ~1 ms of work here.
                self.ctx.stream.put(
                    Item(
                        _chunk_events(
                            rec, issues, agent_id, lines, facts, self.presets.raw(chunk.lines)
                        ),
                        (agent_id, chunk.offset),
                    )
                )
        except TransportError as exc:
            # A host that refuses us for good (changed host key, login refused): the agent is
            # detached and may still run there; say so, and resume once the host is fixed.
            self.ctx.emit(Notice("error", f"{agent_id}: cannot follow its log: {exc}"))
            return
        finally:
            self.follows.pop(agent_id, None)
            self.ctx.changed()  # no longer followed: a wait for the wave's agents may end
        if rec.state == "running":
            lines, facts = self.presets.finish(agent_id)
            if lines or facts:
                self.ctx.stream.put(Item(_chunk_events(rec, issues, agent_id, lines, facts)))
            await self.finish(agent_id, handle)

    async def finish(self, agent_id: str, handle: AgentHandle) -> None:
        rec = self.ctx.agent(agent_id)
        if rec.state != "running":
            return  # already recorded (by its follower, or by stop_agent)
        status: ExitStatus | None = await self.runner_for(agent_id).exit_status(handle)
        rec.ended_at = time.time()
        state: AgentState
        if agent_id in self.stopping:
            state, reason = "stopped", "stopped by the operator"
        elif status is None:
            state, reason = "lost", "the agent ended without recording its exit status"
        elif status.ok:
            state, reason = "succeeded", ""
        else:
            state = "failed"
            how = f"killed by {status.signal}" if status.signal else f"exit code {status.code}"
            last = " | ".join(self._tails.get(agent_id, ()))
            reason = f"{how}; last output: {last}" if last else how
        if status is not None:
            rec.exit_code, rec.exit_signal = status.code, status.signal
        state, reason = self.presets.ended(agent_id, state, reason)  # needs you, over budget
        # [agent.restart]: a failure may schedule a restart (or give up); the reason says which.
        rec.state = state
        rec.reason, rec.restart = self.restarts.ended(agent_id, state, reason)
        self.stopping.discard(agent_id)
        self.ctx.save()
        self.ctx.emit(
            AgentStateChanged(
                agent_id, state, rec.exit_code, rec.exit_signal, rec.reason, restart=rec.restart
            )
        )
        self.ctx.changed()

    def consumed(self, agent_id: str, offset: int) -> None:
        rec = self.ctx.state.agents.get(agent_id)
        if rec is not None and offset > rec.offset:
            rec.offset = offset
            self.journal.write(agent_id, offset)

    async def launch_all(self, n: int) -> None:
        agents = self.unlaunched(n)
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

    def unlaunched(self, n: int) -> list[str]:
        """Agents of wave ``n`` never launched (a start interrupted by a signal leaves some)."""
        return [
            a.id for a in self.ctx.plan.wave(n).agents if self.ctx.agent_record(a.id).launches == 0
        ]
