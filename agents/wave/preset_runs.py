"""The supervisor's preset runs: one ``PresetRuns`` per supervisor, called from its agent half.

- ``launch_args``: what ``build_spec`` needs for the next launch of an agent: a new session id
  for a preset that takes one (claude: known before the start), or the session to resume and
  the message of a queued follow-up; the agent's record is reset for the new run.
- ``feed`` / ``finish``: each followed chunk through the agent's ``AgentStream`` (rendered lines
  and fact events; why the run needs the operator, as the stream read it, recorded through
  ``transitions.needs_found``); ``feed`` says when the agent's cost just passed
  ``[agent] max_cost_usd`` (the agent half stops it).
- ``ended``: how the run ends for the operator: ``needs_you`` when it asked a question or a
  tool call was refused (``AgentRecord.needs``), or when it exited 0 without reporting every
  one of its issues done (incomplete: ``IssuesUnreported`` names them); ``failed`` when stopped
  over budget or when its CLI said it failed although it exited 0.
- ``check_follow_up`` / ``queue_follow_up``: the follow-up's preconditions and its log marker.
- ``sandboxed``: for an agent in a kernel sandbox, what it may write; ``feed`` then reports each
  write its output says was refused (``Permission denied`` naming a path outside its rules) as
  ``AgentDenied``, recorded with ``by: sandbox`` (counted in its pane; the agent, told by the
  kernel, goes on: a refusal held does not make it need you).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from wavedeck.agents.config import Config
from wavedeck.agents.events import AgentDenied, Event, Notice
from wavedeck.agents.kinds import AGENT_ENDED, AsksQuestion, IssuesUnreported, ToolRefused
from wavedeck.agents.markers import append_marker, marker_line
from wavedeck.agents.presets import PRESETS, TEXT_PRESETS
from wavedeck.agents.presets.refusals import RefusalScanner
from wavedeck.agents.presets.stream import AgentStream, WriteSink, stream_for
from wavedeck.agents.state import AgentRecord
from wavedeck.agents.wave import transitions
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.refusals import agent_is
from wavedeck.agents.wave.transitions import AgentEnd

__all__ = ["PresetRuns"]

# States a follow-up may be sent from: the agent's run is over.
FOLLOW_FROM = AGENT_ENDED


class PresetRuns:
    """Preset state of the supervisor's agents (see the module docstring)."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        cwd_of: Callable[[str], Path],
        is_remote: Callable[[str], bool],
        writes: WriteSink,
    ) -> None:
        """``cwd_of``: the folder an agent works in; ``is_remote``: it runs on an SSH host;
        ``writes``: the tool writes the shared workspace's watcher attributes by."""
        self.ctx = ctx
        self.cwd_of, self.is_remote, self.writes = cwd_of, is_remote, writes
        self._streams: dict[str, AgentStream] = {}
        self._follow_ups: dict[str, str] = {}  # agent -> message of the next launch
        self._over_budget: set[str] = set()
        self._refusals: dict[str, RefusalScanner] = {}  # sandboxed agents
        self._errors: dict[str, str] = {}  # agent -> the error its CLI reported (this run)

    @property
    def config(self) -> Config:
        return self.ctx.config

    @property
    def preset(self) -> str:
        return self.config.agent.preset

    def launch_args(self, agent_id: str, rec: AgentRecord) -> dict[str, Any]:
        """``build_spec`` keywords for the next launch; resets the run's facts."""
        self._streams.pop(agent_id, None)
        self._over_budget.discard(agent_id)
        self._errors.pop(agent_id, None)
        transitions.needs_cleared(self.ctx, agent_id)
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
                self.ctx.agent(agent_id),
                self.preset,
                self.cwd_of(agent_id),
                writes=self.writes,
                max_cost_usd=self.config.agent.max_cost_usd,
            )
            self._streams[agent_id] = stream
        return stream

    def sandboxed(self, agent_id: str, writable: Callable[[str], bool] | None) -> None:
        """The agent runs in a kernel sandbox letting it write the absolute paths ``writable``
        accepts (None: it does not)."""
        if writable is None:
            self._refusals.pop(agent_id, None)
            return
        self._refusals[agent_id] = RefusalScanner(
            str(self.cwd_of(agent_id)), writable, lambda tool_id: self._tool(agent_id, tool_id)
        )

    def _tool(self, agent_id: str, tool_id: str) -> str | None:
        """The name of the agent's tool call ``tool_id``, when its parser keeps them."""
        stream = self._streams.get(agent_id)
        return stream.parser.tool_name(tool_id) if stream is not None else None

    def _refused(self, agent_id: str, lines: tuple[str, ...]) -> list[Event]:
        scanner = self._refusals.get(agent_id)
        if scanner is None:
            return []
        found = scanner.scan(lines)
        if not found:
            return []
        rec = self.ctx.agent(agent_id)
        for tool, path in found:
            rec.denials.append(ToolRefused(tool, path, by="sandbox"))
        return [AgentDenied(agent_id, tool, path) for tool, path in found]

    def feed(
        self, agent_id: str, lines: tuple[str, ...]
    ) -> tuple[tuple[str, ...], list[Event], bool]:
        """Pane lines and fact events for a chunk of the agent's raw log, and whether its cost
        just passed ``[agent] max_cost_usd`` (then it is to be stopped; said once)."""
        stream = self._stream(agent_id)
        shown, events = stream.feed(lines)
        self._needs(agent_id, stream)
        # After the parser: a refused result read in the batch of its tool call (under load a
        # batch holds both) is named by that call's tool, which the parser has seen by now.
        events += self._refused(agent_id, lines)
        if stream.over_budget and agent_id not in self._over_budget:
            self._over_budget.add(agent_id)
            return shown, [*events, self._over_budget_notice(agent_id)], True
        return shown, events, False

    def raw(self, lines: tuple[str, ...]) -> tuple[str, ...]:
        """The raw lines to carry beside rendered ones (none when nothing is rendered)."""
        return () if self.preset in TEXT_PRESETS else lines

    def finish(self, agent_id: str) -> tuple[tuple[str, ...], list[Event]]:
        """What the agent's parser held back, at the end of its run."""
        stream = self._streams.pop(agent_id, None)
        if stream is None:
            return (), []
        shown = stream.finish()
        self._needs(agent_id, stream)
        if stream.error:
            self._errors[agent_id] = stream.error
        return shown

    def _needs(self, agent_id: str, stream: AgentStream) -> None:
        """Why the run needs the operator, once its stream has read it, into its record."""
        if stream.needs is not None:
            transitions.needs_found(self.ctx, agent_id, stream.needs)

    def _over_budget_notice(self, agent_id: str) -> Notice:
        rec = self.ctx.agent(agent_id)
        limit = self.config.agent.max_cost_usd
        return Notice(
            "error",
            f"{agent_id}: cost ${rec.cost_usd or 0:.4f} passed [agent] max_cost_usd "
            f"${limit:g}: stopping it",
            agent=agent_id,
        )

    def _issues_left(self, agent_id: str) -> tuple[str, ...]:
        """The agent's issues it has not reported done (in any of its runs), in plan order."""
        done = set(self.ctx.agent_record(agent_id).issues_done)
        return tuple(i.id for i in self.ctx.plan.agent(agent_id).issues if i.id not in done)

    def ended(self, agent_id: str, end: AgentEnd) -> AgentEnd:
        """How a run that ended as ``end`` is recorded: over budget, or needing the operator."""
        rec = self.ctx.agent(agent_id)
        if agent_id in self._over_budget:
            limit = self.config.agent.max_cost_usd or 0.0
            reason = f"cost ${rec.cost_usd or 0:.4f} over max_cost_usd ${limit:g}"
            return replace(end, state="failed", reason=reason)
        error = self._errors.pop(agent_id, None)
        if end.state == "succeeded" and error:
            # Exit 0, yet the CLI said its run failed (aider on an API error): not a success.
            return replace(end, state="failed", reason=f"the agent CLI reported an error: {error}")
        needs = rec.needs
        if (
            end.state == "succeeded"
            and isinstance(needs, AsksQuestion)
            and not self._issues_left(agent_id)
        ):
            return end  # every issue reported done: a closing question is courtesy
        if end.state in ("succeeded", "failed") and needs is not None:
            reason = needs.text if end.state == "succeeded" else f"{needs.text}; {end.reason}"
            return replace(end, state="needs_you", reason=reason, needs=needs)
        left = self._issues_left(agent_id)
        if end.state == "succeeded" and left:
            # Exit 0 is not evidence: an issue is done only when the agent said so. The run is
            # incomplete, and needs the operator (a follow-up, another run, or marked done).
            unreported = IssuesUnreported(left)
            return replace(end, state="needs_you", reason=unreported.text, needs=unreported)
        return end

    def check_follow_up(self, agent_id: str, message: str) -> str | None:
        """Why a follow-up cannot be sent now, or None."""
        preset = PRESETS[self.preset]
        rec = self.ctx.state.agents.get(agent_id)
        if not message.strip():
            return "a follow-up needs a message"
        if not preset.resumable:
            return f"the {preset.name} preset cannot resume a session: no follow-ups"
        if self.config.agent.runs_command:
            return "[agent] command replaces the preset's argv, so it cannot resume a session"
        if rec is None or rec.launches == 0:
            return f"{agent_id} has not run yet"
        if rec.state not in FOLLOW_FROM:
            return f"{agent_is(agent_id, rec.state)}: a follow-up waits until it has ended"
        if not rec.session_id:
            return f"{agent_id} has no session to resume (its CLI reported none)"
        return None

    def queue_follow_up(self, agent_id: str, message: str) -> None:
        """The next launch of the agent resumes its session with ``message``; the log gets a
        marker line before the new run's output."""
        rec = self.ctx.agent(agent_id)
        rec.follow_ups += 1
        self._follow_ups[agent_id] = message
        first = message.strip().splitlines()[0][:200]
        self._mark(agent_id, f"follow-up {rec.follow_ups}: {first}")

    def drop_follow_up(self, agent_id: str) -> None:
        """The follow-up queued for the next launch is not sent (the operator stopped it while
        it waited its turn): a later restart must not send it either. The log says so."""
        if self._follow_ups.pop(agent_id, None) is not None:
            rec = self.ctx.agent(agent_id)
            self._mark(agent_id, f"follow-up {rec.follow_ups} not sent: stopped before it started")

    def _mark(self, agent_id: str, what: str) -> None:
        if self.is_remote(agent_id):
            self.ctx.emit(Notice("info", f"{agent_id}: {marker_line(what)}", agent=agent_id))
        else:
            append_marker(self.ctx.log_path(agent_id), what)
