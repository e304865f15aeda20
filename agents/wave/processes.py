"""The supervisor's agent half: launch, adopt, follow, finish; and the state it shares.

``AgentProcesses`` is the base of ``agents.wave.supervisor.Supervisor``. It launches each agent as a
detached process through a ``Runner`` (local, or ``agents.remote.runner.RemoteRunner`` for an agent a
``[hosts.NAME]`` section of the config assigns to an SSH host), adopts
agents an earlier control room left running (pid *and* start time, so never a second copy),
follows each log by byte offset, turns progress lines into ``IssueDone``, and records how each
agent ended. Events go into one queue; an agent's log offset advances only once the consumer has
handled the lines before it (``_consumed``), which makes a restart resume each log exactly.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from agents import repoview
from agents.config import Config
from agents.events import (
    AgentOutputBatch,
    AgentStateChanged,
    Event,
    EventBatch,
    FileTouched,
    GateRefused,
    IssueDone,
    Notice,
)
from agents.local import procinfo
from agents.local.runner import LocalRunner
from agents.presets import hooks as preset_hooks
from agents.remote.runner import RemoteRunner, runner_for
from agents.remote.sync import SyncError
from agents.remote.transport import TransportError
from agents.runtypes import AgentHandle, ExitStatus, Runner
from agents.state import (
    AgentRecord,
    RunState,
    StateStore,
    WaveRecord,
    adopt,
    handle_from_record,
    record_handle,
)
from agents.wave.launch import OffsetJournal, build_spec, parse_done
from agents.wave.prompt import ISSUE_PATTERNS, PromptError
from agents.wave.restart import RestartPolicy
from plan.checkapi import RepoView
from plan.models import Plan

TAIL_LINES = 5  # last log lines kept per agent, quoted when it fails (B1)
# Events waiting for the consumer before the log followers pause (memory stays bounded, B6).
MAX_QUEUED = 20_000
DONE_MARK = "wavedeck: done"  # what every progress line contains (see ``launch.DONE_RE``)


@dataclass
class _Item:
    """A batch of events (one log chunk, or one other event) handed to the consumer at once."""

    events: list[Event]
    ack: tuple[str, int] | None = None  # (agent, log offset) handled once the batch is


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
    """Agents of a plan as detached processes, and the run state and event queue they share."""

    restarts: RestartPolicy  # set by the Supervisor (the policy relaunches through it)

    def __init__(self, repo: Path, plan: Plan, config: Config) -> None:
        self.repo = Path(repo).absolute()
        self.plan = plan
        self.config = config
        self.wavedeck_dir = self.repo / ".wavedeck"
        self._store = StateStore(self.wavedeck_dir)
        self._state = RunState()
        self._journal = OffsetJournal(self.wavedeck_dir)
        self._local: Runner | None = None
        self._remote: dict[str, RemoteRunner] = {}  # host name -> its runner (one connection pool)
        # Paths remote agents changed on their hosts (path -> agent): their patch brings them
        # into the local tree, where the local watcher must not take them for stray writes.
        self._remote_writes: dict[str, str] = {}
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._follows: dict[str, asyncio.Task[None]] = {}
        # How far this process's followers have read each log (queued, maybe not yet consumed).
        self._read_to: dict[str, int] = {}
        self._stopping: set[str] = set()
        self._tails: dict[str, deque[str]] = {}
        self._changed = asyncio.Event()
        self._room = asyncio.Event()  # set when the queue has room again
        self._pending = 0  # events queued and not yet handed to the consumer
        self._worktrees: dict[str, Path] = {}  # worktree mode: agent id -> its worktree
        # [agent] preset: parsers, usage, needs-you, follow-ups (agents/presets/hooks.py).
        self.presets = preset_hooks.PresetRuns(
            config,
            record=self._agent,
            known=self._state_agent,
            cwd_of=self._cwd_for,
            emit=self._emit,
            is_remote=self.is_remote,
            log_path=self.log_path,
        )
        self.launching = True  # cleared when the control room is told to stop (B9)

    def log_path(self, agent_id: str) -> Path:
        return self.wavedeck_dir / "logs" / f"{agent_id}.log"

    def _state_agent(self, agent_id: str) -> AgentRecord | None:
        return self._state.agents.get(agent_id)

    def agent_record(self, agent_id: str) -> AgentRecord:
        return self._state.agents.get(agent_id) or AgentRecord()

    # -- agents -------------------------------------------------------------------------------

    def _runner_for(self, agent_id: str) -> Runner:
        """The runner of an agent: its host's when the config assigns it to one, else local."""
        package = self.plan.agent(agent_id).package if self._in_plan(agent_id) else None
        remote = runner_for(
            agent_id,
            self.config,
            self._remote,
            package=package,
            repo=self.repo,
            on_event=self._emit,
            on_touched=self._remote_touched,
        )
        if remote is not None:
            return remote
        if self._local is None:
            self._local = LocalRunner(self.wavedeck_dir, on_event=self._emit)
        return self._local

    def _remote_touched(self, agent_id: str, path: str, change: str) -> None:
        """A path a remote agent changed on its host (``WaveWatch`` also judges it)."""
        self._remote_writes[path] = agent_id
        self._emit(FileTouched(path, agent_id, change))

    def host_of(self, agent_id: str) -> str | None:
        """The SSH host the agent runs on (its ``[hosts.NAME]``), None when it runs here."""
        runner = self._runner_for(agent_id)
        return runner.host if isinstance(runner, RemoteRunner) else None

    def is_remote(self, agent_id: str) -> bool:
        return self.host_of(agent_id) is not None

    def _cwd_for(self, agent_id: str) -> Path:
        """Where the agent works: its own worktree in worktree mode, else the repository."""
        return self._worktrees.get(agent_id, self.repo)

    async def _launch(self, agent_id: str, view: RepoView | None = None) -> None:
        """Launch one agent (``view``: the repository's listing, shared by a wave's agents)."""
        rec = self._agent(agent_id)
        if rec.state == "running" and handle_from_record(rec) is not None:
            return  # never a second copy
        orphan = self._unrecorded(agent_id) if rec.state != "running" else None
        if orphan is not None:
            # Launched by a control room that died before it could record it: adopt, not relaunch.
            rec.handle, rec.state, rec.launches = record_handle(orphan), "running", rec.launches + 1
            self._save()
            self._emit(Notice("warning", f"{agent_id} was running unrecorded (pid {orphan.pid})"))
            self._emit(AgentStateChanged(agent_id, "running", reason="adopted"))
            self._follow(agent_id, orphan, rec.offset)
            return
        try:
            # Prompt rendering reads files (and lists the repository without a view): in a
            # thread, so the event loop (and the keys the operator presses) never waits on it.
            spec = await asyncio.to_thread(
                build_spec,
                self.repo,
                self.wavedeck_dir,
                self.plan,
                self.config,
                agent_id,
                self._cwd_for(agent_id),
                view=view,
                local=not self.is_remote(agent_id),
                **self.presets.launch_args(agent_id, rec),
            )
            log = self.log_path(agent_id)
            if rec.launches == 0 and log.exists():
                rec.offset = log.stat().st_size  # output of an earlier, forgotten run is not ours
                self._journal.write(agent_id, rec.offset)
            handle = await self._runner_for(agent_id).launch(spec)
        except (OSError, PromptError, SyncError, TransportError, preset_hooks.PresetError) as exc:
            rec.state, rec.reason = "failed", f"could not start: {exc}"
            self._save()
            self._emit(AgentStateChanged(agent_id, "failed", reason=rec.reason))
            self._changed.set()
            return
        rec.handle = record_handle(handle)
        rec.launches += 1
        rec.state = "running"
        rec.started_at, rec.ended_at = time.time(), None
        rec.exit_code = rec.exit_signal = None
        rec.reason = ""
        self.restarts.launched(agent_id)
        self._stopping.discard(agent_id)
        self._save()  # right after the launch: a restart must know this process exists
        self._emit(AgentStateChanged(agent_id, "running"))
        # Past what the last run's follower already queued, even if not consumed yet: starting
        # at the consumer's offset would deliver those lines twice.
        self._follow(agent_id, handle, max(rec.offset, self._read_to.get(agent_id, 0)))

    def _unrecorded(self, agent_id: str) -> AgentHandle | None:
        """A live wrapper of this agent that no record knows (found by its exit-file argument).

        A control room killed between starting an agent and saving the state leaves one; the
        runner's wrapper always carries the agent's exit file path in its command line.
        """
        runner = self._runner_for(agent_id)
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

    async def _resume(self, agent_id: str, rec: AgentRecord) -> None:
        """Re-attach to an agent recorded by an earlier control room."""
        journal = self._journal.read(agent_id)
        if journal is not None and journal > rec.offset:
            rec.offset = journal
        handle = handle_from_record(rec)
        if handle is None:
            return
        if rec.state == "running":
            result = await adopt(self._runner_for(agent_id), rec)
            if result == "running":
                self._emit(Notice("info", f"{agent_id} adopted (pid {handle.pid})"))
                self._emit(AgentStateChanged(agent_id, "running", reason="adopted"))
        # Running or not, output the consumer has not seen yet is delivered (then the end). A
        # remote agent's log is on its host: always followed (the tail ends once it is drained,
        # and brings back changes not applied yet).
        log = Path(handle.log_path)
        if (
            rec.state == "running"
            or handle.host
            or (log.exists() and log.stat().st_size > rec.offset)
        ):
            self._follow(agent_id, handle, rec.offset)

    def _follow(self, agent_id: str, handle: AgentHandle, offset: int) -> None:
        task = asyncio.create_task(self._follow_loop(agent_id, handle, offset))
        self._follows[agent_id] = task

    async def _follow_loop(self, agent_id: str, handle: AgentHandle, offset: int) -> None:
        rec = self._agent(agent_id)
        issues = {i.id for i in self.plan.agent(agent_id).issues}
        tail = self._tails.setdefault(agent_id, deque(maxlen=TAIL_LINES))
        try:
            async for chunk in self._runner_for(agent_id).follow(handle, offset):
                # A flooding agent must not fill memory faster than the consumer shows it (B6).
                while self._pending >= MAX_QUEUED:
                    self._room.clear()
                    await self._room.wait()
                # A preset's parser renders the raw lines for the pane (the log keeps them raw).
                lines, facts = self.presets.feed(agent_id, chunk.lines)
                tail.extend(lines[-TAIL_LINES:])
                self._read_to[agent_id] = chunk.offset
                # One item per chunk, acknowledged with the chunk's offset: what a consumer has
                # shown and the offset a restart resumes from stay exactly in step. The lines go
                # in bulk (no object per line), so even a 256 KiB chunk is ~1 ms of work here.
                self._put(
                    _Item(
                        _chunk_events(
                            rec, issues, agent_id, lines, facts, self.presets.raw(chunk.lines)
                        ),
                        (agent_id, chunk.offset),
                    )
                )
        except TransportError as exc:
            # A host that refuses us for good (changed host key, login refused): the agent is
            # detached and may still run there; say so, and resume once the host is fixed.
            self._emit(Notice("error", f"{agent_id}: cannot follow its log: {exc}"))
            return
        finally:
            self._follows.pop(agent_id, None)
        if rec.state == "running":
            lines, facts = self.presets.finish(agent_id)
            if lines or facts:
                self._put(_Item(_chunk_events(rec, issues, agent_id, lines, facts)))
            await self._finish(agent_id, handle)

    async def _finish(self, agent_id: str, handle: AgentHandle) -> None:
        rec = self._agent(agent_id)
        if rec.state != "running":
            return  # already recorded (by its follower, or by stop_agent)
        status: ExitStatus | None = await self._runner_for(agent_id).exit_status(handle)
        rec.ended_at = time.time()
        if agent_id in self._stopping:
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
        rec.state, rec.reason = state, self.restarts.ended(agent_id, state, reason)
        self._stopping.discard(agent_id)
        self._save()
        self._emit(AgentStateChanged(agent_id, state, rec.exit_code, rec.exit_signal, rec.reason))
        self._changed.set()

    def _consumed(self, agent_id: str, offset: int) -> None:
        rec = self._state.agents.get(agent_id)
        if rec is not None and offset > rec.offset:
            rec.offset = offset
            self._journal.write(agent_id, offset)

    async def _launch_all(self, n: int) -> None:
        agents = self._unlaunched(n)
        # One listing of the repository for the whole wave (not one per issue), in a thread.
        view = await asyncio.to_thread(self._repo_view) if agents else None
        for agent_id in agents:
            if not self.launching:
                self._emit(Notice("warning", f"stopped launching: {agent_id} was not started"))
                break
            await self._launch(agent_id, view)

    def _repo_view(self) -> RepoView | None:
        """The repository's listing for the prompts' issue files (None: each prompt looks)."""
        try:
            return repoview.repo_view(self.repo, ISSUE_PATTERNS)
        except (OSError, repoview.RepoViewError):
            return None

    def _unlaunched(self, n: int) -> list[str]:
        """Agents of wave ``n`` never launched (a start interrupted by a signal leaves some)."""
        return [a.id for a in self.plan.wave(n).agents if self.agent_record(a.id).launches == 0]

    # -- helpers ------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self._put(_Item([event]))

    def _put(self, item: _Item) -> None:
        self._pending += len(item.events)
        self._queue.put_nowait(item)

    def _refuse(self, wave: int, reason: str, paths: tuple[str, ...] = ()) -> None:
        self._emit(GateRefused(wave, reason, paths))

    def _save(self) -> None:
        self._store.save(self._state)

    def _in_plan(self, agent_id: str) -> bool:
        try:
            self.plan.agent(agent_id)
        except KeyError:
            return False
        return True

    def _wave(self, n: int) -> WaveRecord:
        return self._state.waves.setdefault(str(n), WaveRecord())

    def _agent(self, agent_id: str) -> AgentRecord:
        return self._state.agents.setdefault(agent_id, AgentRecord())

    def _open_wave(self) -> int | None:
        for wave in self.plan.waves:
            rec = self._state.waves.get(str(wave.number))
            if rec is not None and rec.base_commit is not None and rec.checkpoint is None:
                return wave.number
        return None
