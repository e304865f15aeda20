"""The supervisor's preset hooks: one ``PresetRuns`` per supervisor, called from its agent half.

- ``launch_args``: what ``build_spec`` needs for the next launch of an agent: a new session id
  for a preset that takes one (claude: known before the start), or the session to resume and
  the message of a queued follow-up; the agent's record is reset for the new run.
- ``feed`` / ``finish``: each followed chunk through the agent's ``AgentStream`` (rendered lines
  and fact events); an agent whose cost passed ``[agent] max_cost_usd`` is stopped.
- ``ended``: how the run ends for the operator: ``needs_you`` when it asked a question or a
  tool call was refused, ``failed`` when stopped over budget.
- ``check_follow_up`` / ``queue_follow_up``: the follow-up's preconditions and its log marker.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from wavedeck.agents.config import Config
from wavedeck.agents.events import Event, Notice
from wavedeck.agents.markers import append_marker, marker_line
from wavedeck.agents.presets import PRESETS
from wavedeck.agents.presets.stream import AgentStream, ToolWrites, stream_for
from wavedeck.agents.state import AgentRecord

__all__ = ["PresetRuns"]

S = TypeVar("S", bound=str)  # the engine's agent state type
Ending = Literal["needs_you", "failed"]  # what ``ended`` may turn a run's end into

# States a follow-up may be sent from: the agent's run is over.
FOLLOW_FROM = ("succeeded", "failed", "needs_you", "stopped", "lost")


class PresetRuns:
    """Preset state of the supervisor's agents (see the module docstring)."""

    def __init__(
        self,
        config: Config,
        *,
        record: Callable[[str], AgentRecord],
        known: Callable[[str], AgentRecord | None],
        cwd_of: Callable[[str], Path],
        emit: Callable[[Event], None],
        is_remote: Callable[[str], bool],
        log_path: Callable[[str], Path],
        issues_left: Callable[[str], int] = lambda _agent: 1,
    ) -> None:
        """``record``: the agent's record (created when missing); ``known``: the record, or
        None; ``cwd_of``: the folder the agent works in; the rest as their names say."""
        self.config = config
        self.record, self.known, self.cwd_of, self.emit = record, known, cwd_of, emit
        self.is_remote, self.log_path = is_remote, log_path
        self.issues_left = issues_left  # the agent's issues not reported done yet
        # Set by the supervisor: stops an agent (TERM, grace, KILL), for the cost budget.
        self.stop: Callable[[str], Awaitable[object]] | None = None
        self.writes = ToolWrites()
        self._streams: dict[str, AgentStream] = {}
        self._follow_ups: dict[str, str] = {}  # agent -> message of the next launch
        self._over_budget: set[str] = set()

    @property
    def preset(self) -> str:
        return self.config.agent.preset

    def launch_args(self, agent_id: str, rec: AgentRecord) -> dict[str, Any]:
        """``build_spec`` keywords for the next launch; resets the run's facts."""
        self._streams.pop(agent_id, None)
        self._over_budget.discard(agent_id)
        rec.needs = ""
        message = self._follow_ups.pop(agent_id, None)
        if message is not None and rec.session_id:
            return {"follow_up": (rec.session_id, message)}
        if PRESETS[self.preset].new_session_id and not self.config.agent.runs_command:
            rec.session_id = str(uuid.uuid4())  # saved with the launch: known before output
            return {"session_id": rec.session_id}
        return {}

    def _stream(self, agent_id: str) -> AgentStream:
        stream = self._streams.get(agent_id)
        if stream is None:
            stream = stream_for(
                agent_id,
                self.record(agent_id),
                self.preset,
                self.cwd_of(agent_id),
                writes=self.writes,
                max_cost_usd=self.config.agent.max_cost_usd,
            )
            self._streams[agent_id] = stream
        return stream

    def feed(self, agent_id: str, lines: tuple[str, ...]) -> tuple[tuple[str, ...], list[Event]]:
        """Pane lines and fact events for a chunk of the agent's raw log."""
        if self.preset == "generic":
            return lines, []
        stream = self._stream(agent_id)
        shown, events = stream.feed(lines)
        if stream.over_budget and agent_id not in self._over_budget:
            self._over_budget.add(agent_id)
            asyncio.get_running_loop().create_task(self._stop_over_budget(agent_id))
        return shown, events

    def raw(self, lines: tuple[str, ...]) -> tuple[str, ...]:
        """The raw lines to carry beside rendered ones (none when nothing is rendered)."""
        return () if self.preset == "generic" else lines

    def finish(self, agent_id: str) -> tuple[tuple[str, ...], list[Event]]:
        """What the agent's parser held back, at the end of its run."""
        stream = self._streams.pop(agent_id, None)
        if stream is None:
            return (), []
        return stream.finish()

    async def _stop_over_budget(self, agent_id: str) -> None:
        rec = self.record(agent_id)
        limit = self.config.agent.max_cost_usd
        self.emit(
            Notice(
                "error",
                f"{agent_id}: cost ${rec.cost_usd or 0:.4f} passed [agent] max_cost_usd "
                f"${limit:g}: stopping it",
                {"agent": agent_id},
            )
        )
        if self.stop is not None:
            with contextlib.suppress(Exception):
                await self.stop(agent_id)

    def ended(self, agent_id: str, state: S, reason: str) -> tuple[S | Ending, str]:
        """The state and reason to record for a run that ended in ``state``."""
        rec = self.record(agent_id)
        if agent_id in self._over_budget:
            limit = self.config.agent.max_cost_usd or 0.0
            return "failed", f"cost ${rec.cost_usd or 0:.4f} over max_cost_usd ${limit:g}"
        if (
            state == "succeeded"
            and rec.needs.startswith("asks:")
            and not self.issues_left(agent_id)
        ):
            return state, reason  # every issue reported done: a closing question is courtesy
        if state in ("succeeded", "failed") and rec.needs:
            return "needs_you", rec.needs if state == "succeeded" else f"{rec.needs}; {reason}"
        return state, reason

    def check_follow_up(self, agent_id: str, message: str) -> str | None:
        """Why a follow-up cannot be sent now, or None."""
        preset = PRESETS[self.preset]
        rec = self.known(agent_id)
        if not message.strip():
            return "a follow-up needs a message"
        if not preset.resumable:
            return f"the {preset.name} preset cannot resume a session: no follow-ups"
        if self.config.agent.runs_command:
            return "[agent] command replaces the preset's argv, so it cannot resume a session"
        if rec is None or rec.launches == 0:
            return f"{agent_id} has not run yet"
        if rec.state not in FOLLOW_FROM:
            return f"{agent_id} is {rec.state}: a follow-up waits until it has ended"
        if not rec.session_id:
            return f"{agent_id} has no session to resume (its CLI reported none)"
        return None

    def queue_follow_up(self, agent_id: str, message: str) -> None:
        """The next launch of the agent resumes its session with ``message``; the log gets a
        marker line before the new run's output."""
        rec = self.record(agent_id)
        rec.follow_ups += 1
        self._follow_ups[agent_id] = message
        first = message.strip().splitlines()[0][:200]
        what = f"follow-up {rec.follow_ups}: {first}"
        if self.is_remote(agent_id):
            self.emit(Notice("info", f"{agent_id}: {marker_line(what)}", {"agent": agent_id}))
        else:
            append_marker(self.log_path(agent_id), what)
