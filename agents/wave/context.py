"""What the parts of the supervisor share: ``WaveContext``.

The supervisor is composed of parts (``wavedeck.agents.wave.processes.AgentProcesses``,
``wavedeck.agents.wave.watching.WaveWatch``, ``wavedeck.agents.wave.checkpoint.Checkpointer``,
``wavedeck.agents.wave.worktree_mode.WorktreeMode``, ``wavedeck.agents.wave.restart.RestartPolicy``,
...); each holds the one ``WaveContext`` of its supervisor and reaches the others' facts only
through it: the plan, the config, the repository and its ``GitRepo``, the run state and its
records, the event stream (``emit``, ``refuse``), the change signal, the violations found per
wave and the flags of the control room (open, launching, waves being tested). Nothing here runs
an agent, a watcher or git itself, and nothing here changes an agent's or a wave's state: that is
``wavedeck.agents.wave.transitions``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING

from wavedeck.agents.config import Config
from wavedeck.agents.events import Event, GateRefused, Notice, ViolationFound
from wavedeck.agents.kinds import AgentState, Refusal
from wavedeck.agents.state import AgentRecord, RunState, StateStore, ViolationRecord, WaveRecord
from wavedeck.agents.wave import gates
from wavedeck.agents.wave.stream import Changes, EventStream
from wavedeck.plan.models import Plan

if TYPE_CHECKING:
    from wavedeck.agents.git.repo import GitRepo

# A lock still held is reported again after this long (git retries it many times a second).
LOCK_NOTICE_EVERY_S = 5.0


class WaveContext:
    """The shared facts and channels of one supervisor (see the module docstring)."""

    def __init__(self, repo: Path, plan: Plan, config: Config) -> None:
        from wavedeck.agents.git.repo import (
            GitRepo,  # blocking git layer; used through asyncio.to_thread
        )

        self.repo = Path(repo).absolute()
        self.plan = plan
        self.config = config
        self.wavedeck_dir = self.repo / ".wavedeck"
        self.store = StateStore(self.wavedeck_dir)
        self.state = RunState()
        self.stream = EventStream()
        self.changes = Changes()
        self.violations: dict[int, list[ViolationFound]] = {}
        self.testing: set[int] = set()  # waves whose tests run now
        self.opened = False  # the repository is locked and the state loaded
        self.launching = True  # cleared when the control room is told to stop (B9)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock_noticed: dict[str, float] = {}  # lock path -> when last reported
        self.save_error: str | None = None  # why the last save failed, until one works
        self.bind_loop()
        # The whole [git] section applies; a held index.lock is shown while git waits for it.
        self.git: GitRepo = GitRepo.from_config(
            self.repo, config.git, on_lock_wait=self.on_lock_wait
        )

    # -- events -------------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        self.stream.emit(event)

    def refuse(self, refusal: Refusal) -> None:
        """Tell the consumer an action was refused (a ``GateRefused``; the surface words it)."""
        self.emit(GateRefused(refusal))

    def changed(self) -> None:
        """An agent's or a wave's state changed (``wait_changed`` wakes up)."""
        self.changes.notify()

    def wait_changed(self, since: int | None = None) -> Awaitable[None]:
        return self.changes.wait(since)

    def record_violation(self, wave: int, violation: ViolationFound) -> None:
        """Keep a violation of ``wave`` (the caller emits it, in order with its other events);
        one that ``corrects`` an earlier report of its path replaces it."""
        found = self.violations.setdefault(wave, [])
        if violation.corrects is not None or any(
            v.path == violation.path and v.kind == violation.kind for v in found
        ):
            found[:] = [v for v in found if v.path != violation.path]
        found.append(violation)

    def bind_loop(self) -> None:
        """Remember the running event loop (if any): ``on_lock_wait`` posts events to it."""
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()

    def on_lock_wait(self, lock: str) -> None:
        """``GitRepo``'s ``on_lock_wait``: git is waiting for a lock another git process holds.

        Called from the worker thread running git, with the repository's command lock held: it
        only posts a ``Notice`` to the event loop (at most one per lock every few seconds, not
        one per retry) and never calls back into ``GitRepo``.
        """
        now = time.monotonic()
        if now - self._lock_noticed.get(lock, -LOCK_NOTICE_EVERY_S) < LOCK_NOTICE_EVERY_S:
            return
        self._lock_noticed[lock] = now
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            shown = os.path.relpath(lock, self.repo)
        except ValueError:
            shown = lock
        notice = Notice(
            "warning",
            f"waiting for {shown}: another git process holds it "
            f"(up to {self.config.git.lock_wait_s:g} s)",
            paths=(lock,),
        )
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self.emit, notice)

    # -- the run state ------------------------------------------------------------------------

    def load(self) -> None:
        """Read the saved state (``StateError`` when it cannot be read)."""
        self.state = self.store.load()
        for agent_id, rec in self.state.agents.items():
            if rec.wave is None and self.in_plan(agent_id):
                rec.wave = self.plan.agent(agent_id).wave  # written before records had it

    def save(self) -> None:
        """Write the run state. A failure (a full disk) never stops the run: it is told once,
        naming the file, the run goes on in memory, and the next save tries again (and says
        when it worked)."""
        self._keep_violations()
        try:
            self.store.save(self.state)
        except OSError as exc:
            if self.save_error != str(exc):
                self.save_error = str(exc)
                self.emit(Notice("error", f"{exc}; the run goes on and saves it again when it can"))
            return
        if self.save_error is not None:
            self.save_error = None
            self.emit(Notice("info", f"the run state is saved again ({self.store.path})"))

    def _keep_violations(self) -> None:
        """The violations found so far go into the wave records (saved with them): a re-opened
        control room lists them, and its fresh watcher does not report them twice."""
        for wave, violations in self.violations.items():
            self.wave(wave).violations = [
                ViolationRecord(
                    agent=v.agent,
                    path=v.path,
                    kind=v.kind,
                    candidates=list(v.candidates),
                    detail=v.detail,
                    attribution=v.attribution,
                )
                for v in violations
            ]

    def restore_violations(self) -> None:
        """The violations a saved state holds (an earlier control room's), back in memory."""
        self.violations = {
            n: [
                ViolationFound(
                    v.agent, v.path, v.kind, tuple(v.candidates), v.detail, v.attribution
                )
                for v in rec.violations
            ]
            for n, rec in self.state.waves.items()
            if rec.violations
        }

    def wave(self, n: int) -> WaveRecord:
        """Wave ``n``'s record (created when missing)."""
        return self.state.waves.setdefault(n, WaveRecord())

    def agent(self, agent_id: str) -> AgentRecord:
        """The agent's record (created when missing, with its wave)."""
        rec = self.state.agents.get(agent_id)
        if rec is None:
            wave = self.plan.agent(agent_id).wave if self.in_plan(agent_id) else None
            rec = self.state.agents[agent_id] = AgentRecord(wave=wave)
        return rec

    def agent_record(self, agent_id: str) -> AgentRecord:
        """The agent's record, or a blank one (not stored) when it has none yet."""
        return self.state.agents.get(agent_id) or AgentRecord()

    def agent_state(self, agent_id: str) -> AgentState:
        rec = self.state.agents.get(agent_id)
        return rec.state if rec is not None else "pending"

    def log_path(self, agent_id: str) -> Path:
        return self.wavedeck_dir / "logs" / f"{agent_id}.log"

    def in_plan(self, agent_id: str) -> bool:
        try:
            self.plan.agent(agent_id)
        except KeyError:
            return False
        return True

    def open_wave(self) -> int | None:
        """The wave started and not committed, if any."""
        for wave in self.plan.waves:
            rec = self.state.waves.get(wave.number)
            if rec is not None and rec.base_commit is not None and rec.checkpoint is None:
                return wave.number
        return None

    def current_wave(self) -> int:
        """The open wave, else the first wave not committed, else the last wave."""
        open_wave = self.open_wave()
        if open_wave is not None:
            return open_wave
        for wave in self.plan.waves:
            rec = self.state.waves.get(wave.number)
            if rec is None or rec.checkpoint is None:
                return wave.number
        return self.plan.waves[-1].number if self.plan.waves else 1

    def unlaunched(self, n: int) -> list[str]:
        """Agents of wave ``n`` never launched (a start interrupted by a signal leaves some)."""
        return [a.id for a in self.plan.wave(n).agents if self.agent_record(a.id).launches == 0]

    def test_commands(self) -> list[str]:
        """The config's test commands, else the plan's (shell commands, shown before running)."""
        if self.config.tests.commands is not None:
            return list(self.config.tests.commands)
        return list(self.plan.test_commands)

    def views(self) -> dict[int, gates.WaveView]:
        """Every wave as the gates see it."""
        return gates.views_of(self.plan, self.state, self.testing)
