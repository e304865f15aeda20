"""Engine facts → the TUI's view of a run (``wavedeck.tui.runview``), and Textual messages.

The one place the control room copies what the engine says into its :class:`RunView`:
:class:`EventAdapter` applies one engine event to it and returns the message to post (``None``
for log lines, which go straight into the ring buffer and are painted on the pane's timer);
:func:`sync_view` takes every state from an engine already running (re-attach), and
:func:`sync_waves` the wave states the engine's gates derive. The app feeds the adapter from the
supervisor's event stream; tests and snapshots feed it events directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from textual.message import Message

from wavedeck.agents import events as ev
from wavedeck.agents import kinds
from wavedeck.agents.presets.usage import UsageTotal, of_record
from wavedeck.tui import messages as msg
from wavedeck.tui.runview import AgentView, HostState, RunView

if TYPE_CHECKING:
    from wavedeck.agents.state import AgentRecord
    from wavedeck.tui.engine import EngineQueries


class OnEnded(Protocol):
    """Told when an agent's run ends: its id, its state and the reason (the notifier)."""

    def __call__(self, agent: str, state: kinds.AgentState, reason: str) -> None: ...


def sync_view(view: RunView, engine: EngineQueries) -> None:
    """Take states from an engine that is already running (re-attach)."""
    view.current_wave = engine.current_wave
    view.preset = engine.config.agent.preset
    for number, wave in view.waves.items():
        wave.state = engine.wave_state(number)
        wave.violations = list(engine.violations(number))
    for agent_id, agent in view.agents.items():
        record = engine.agent_record(agent_id)
        agent.state = record.state
        agent.host = _host_of(engine, agent_id, record)
        agent.host_state = view.host_states.get(agent.host) if agent.host else None
        agent.started_at = record.started_at
        agent.ended_at = record.ended_at
        agent.issues_done = list(record.issues_done)
        agent.marked_done = record.marked_done
        agent.restart = record.restart
        agent.needs = record.needs if record.state == "needs_you" else None
        agent.exit_code = record.exit_code
        # How it ended and what it wrote, as the last control room showed them.
        agent.signal = record.exit_signal
        agent.reason = record.reason
        agent.touched = set(record.touched)
        agent.usage = of_record(record)
        agent.session_id = record.session_id
        agent.denied = len(record.denials)
        agent.violations = [
            v for v in view.waves[agent.agent.wave].violations if v.agent == agent_id
        ]


def sync_waves(view: RunView, engine: EngineQueries) -> None:
    """Wave states are derived by the engine's gates: read them (cheap, no I/O)."""
    for number, wave in view.waves.items():
        try:
            wave.state = engine.wave_state(number)
        except Exception:  # a half-open engine: keep what the events said
            return


def _host_of(engine: EngineQueries, agent_id: str, record: AgentRecord) -> str | None:
    """The host an agent runs on: its recorded handle's, else the one the engine assigns."""
    if record.handle is not None and record.handle.host:
        return record.handle.host
    try:
        return engine.host_of(agent_id)
    except Exception:  # a half-open engine: shown as local until it reports
        return None


class EventAdapter:
    """Applies engine events to a :class:`RunView`; returns the message the app should post."""

    def __init__(self, view: RunView, *, on_ended: OnEnded | None = None) -> None:
        """``on_ended``: told when an agent ends (the app's notifier)."""
        self.view = view
        self.on_ended = on_ended

    def apply(self, event: ev.Event) -> Message | None:
        view = self.view
        if isinstance(event, ev.AgentOutput):  # the hot path: first, and no message
            agent = view.agents.get(event.agent)
            if agent is not None:
                agent.log.append(event.line)
            return None
        if type(event) is ev.AgentOutputBatch:
            agent = self.view.agents.get(event.agent)
            if agent is not None:
                agent.log.extend(event.lines)
                if event.raw:
                    agent.raw.extend(event.raw)
            return None
        match event:
            case ev.AgentStateChanged():
                return self._on_agent_state_changed(event)
            case ev.IssueDone():
                return self._on_issue_done(event)
            case ev.FileTouched():
                return self._on_file_touched(event)
            case ev.ViolationFound():
                return self._on_violation_found(event)
            case ev.PathReverted():
                return self._on_path_reverted(event)
            case ev.WaveStateChanged():
                return self._on_wave_state_changed(event)
            case ev.TestsStarted():
                return self._on_tests_started(event)
            case ev.TestOutput():
                return self._on_test_output(event)
            case ev.TestsFinished():
                return self._on_tests_finished(event)
            case ev.CheckpointCommitted():
                return self._on_checkpoint_committed(event)
            case ev.GateRefused():
                return self._on_gate_refused(event)
            case ev.AgentUsage():
                return self._on_agent_usage(event)
            case ev.AgentSession():
                return self._on_agent_session(event)
            case ev.AgentDenied():
                return self._on_agent_denied(event)
            case ev.HostConnectionChanged():
                return self._on_host_connection_changed(event)
            case ev.SandboxStatus():
                return self._on_sandbox_status(event)
            case ev.Notice():
                return self._on_notice(event)
        return None  # an event the views do not show (a tool call: the pane shows its line)

    def apply_batch(self, events: Iterable[ev.Event]) -> list[Message]:
        """Apply a batch (one log chunk, or one other event): an engine's ``EventBatch`` is read
        compact, each ``AgentOutputBatch`` in one ring-buffer ``extend``; consecutive single
        ``AgentOutput`` lines of one agent are gathered into one too."""
        if isinstance(events, ev.EventBatch):
            events = events.compact()  # lines stay in bulk: no object per line
        messages: list[Message] = []
        lines: list[str] = []
        current: AgentView | None = None
        for event in events:
            if type(event) is ev.AgentOutput:
                if current is None or current.id != event.agent:
                    if current is not None:
                        current.log.extend(lines)
                    lines = []
                    current = self.view.agents.get(event.agent)
                    if current is None:
                        continue
                lines.append(event.line)
                continue
            if current is not None and lines:
                current.log.extend(lines)
            current, lines = None, []
            message = self.apply(event)
            if message is not None:
                messages.append(message)
        if current is not None and lines:
            current.log.extend(lines)
        return messages

    def _on_agent_state_changed(self, event: ev.AgentStateChanged) -> Message | None:
        agent = self.view.agents.get(event.agent)
        if agent is None:
            return None
        now = self.view.clock()
        if event.state == "running":
            agent.started_at = agent.started_at if agent.state == "running" else now
            agent.ended_at = None
        elif event.state in kinds.AGENT_ENDED and agent.ended_at is None:
            agent.ended_at = now
        if self.on_ended is not None and event.state != agent.state and event.state != "running":
            self.on_ended(event.agent, event.state, event.reason)
        agent.state = event.state
        agent.exit_code, agent.signal, agent.reason = event.exit_code, event.signal, event.reason
        agent.restart = event.restart
        if event.marked_done is None:  # a done mark keeps the state, and why it needed you
            agent.needs = event.needs if event.state == "needs_you" else None
        if event.marked_done is not None:
            agent.marked_done = event.marked_done
        return msg.AgentUpdated(event.agent)

    def _on_issue_done(self, event: ev.IssueDone) -> Message | None:
        agent = self.view.agents.get(event.agent)
        if agent is None:
            return None
        if event.issue not in agent.issues_done:
            agent.issues_done.append(event.issue)
        return msg.AgentUpdated(event.agent)

    def _on_file_touched(self, event: ev.FileTouched) -> Message | None:
        wrong = self.view.agents.get(event.corrects or "")
        if wrong is not None:  # a later fact named another writer: not this agent's write
            wrong.touched.discard(event.path)
        agent = self.view.agents.get(event.agent or "")
        if agent is None:
            return msg.AgentUpdated(wrong.id) if wrong is not None else None
        agent.touched.add(event.path)
        return msg.AgentUpdated(agent.id)

    def _on_violation_found(self, event: ev.ViolationFound) -> Message | None:
        wave = self.view.wave_of(event.agent) if event.agent else self.view.current_wave
        if event.corrects is not None:  # replaces what was shown for this path
            for view in self.view.waves.values():
                view.violations = [v for v in view.violations if v.path != event.path]
            for agent_view in self.view.agents.values():
                agent_view.violations = [v for v in agent_view.violations if v.path != event.path]
        self.view.waves[wave].violations.append(event)
        agent = self.view.agents.get(event.agent or "")
        if agent is not None:
            agent.violations.append(event)
        return msg.ViolationRecorded(wave, event.agent, event.path, event.kind)

    def _on_path_reverted(self, event: ev.PathReverted) -> Message | None:
        """The operator put a path back: its violations are gone from the strip, the rows and
        the panes (a partial revert leaves them: what is left may still be wrong)."""
        wave = self.view.waves.get(event.wave)
        if wave is None or event.partial:
            return None
        wave.violations = [v for v in wave.violations if v.path != event.path]
        for agent in self.view.wave_agents(event.wave):
            agent.violations = [v for v in agent.violations if v.path != event.path]
        return msg.ViolationsChanged(event.wave, event.path)

    def _on_wave_state_changed(self, event: ev.WaveStateChanged) -> Message | None:
        wave = self.view.waves.get(event.wave)
        if wave is None:
            return None
        wave.state = event.state
        if event.state in ("running", "testing"):
            self.view.current_wave = event.wave
        self.view.run_state = event.state
        return msg.WaveUpdated(event.wave, event.state)

    def _on_tests_started(self, event: ev.TestsStarted) -> Message | None:
        wave = self.view.waves[event.wave]
        wave.tests.clear()
        wave.tests_running, wave.tests_passed, wave.tests_duration_s = True, None, None
        wave.tests_started_at = self.view.clock()
        return msg.TestsBegan(event.wave)

    def _on_test_output(self, event: ev.TestOutput) -> Message | None:
        self.view.waves[event.wave].tests.append(event.line)
        return None

    def _on_tests_finished(self, event: ev.TestsFinished) -> Message | None:
        wave = self.view.waves[event.wave]
        wave.tests_running, wave.tests_passed = False, event.passed
        wave.tests_duration_s = event.duration_s
        return msg.TestsEnded(event.wave, event.passed, event.duration_s)

    def _on_checkpoint_committed(self, event: ev.CheckpointCommitted) -> Message | None:
        wave = self.view.waves[event.wave]
        wave.commit, wave.refused = event.commit, None
        return msg.CheckpointRecorded(event.wave, event.commit)

    def _on_gate_refused(self, event: ev.GateRefused) -> Message | None:
        self.view.waves[event.wave].refused = event
        return msg.GateRefusalReceived(event.refusal)

    def _on_agent_usage(self, event: ev.AgentUsage) -> Message | None:
        agent = self.view.agents.get(event.agent)
        if agent is None:
            return None
        agent.usage = UsageTotal(
            event.input_tokens, event.output_tokens, event.cost_usd, event.turns
        )
        return msg.AgentUpdated(event.agent)

    def _on_agent_session(self, event: ev.AgentSession) -> Message | None:
        agent = self.view.agents.get(event.agent)
        if agent is not None:
            agent.session_id = event.session_id
        return None

    def _on_agent_denied(self, event: ev.AgentDenied) -> Message | None:
        agent = self.view.agents.get(event.agent)
        if agent is None:
            return None
        agent.denied += 1
        return msg.AgentUpdated(event.agent)

    def _on_host_connection_changed(self, event: ev.HostConnectionChanged) -> Message | None:
        at = None
        if event.next_attempt_s is not None:
            at = self.view.clock() + max(0.0, event.next_attempt_s)
        state = HostState(event.host, event.state, event.detail, at)
        self.view.host_states[event.host] = state
        for agent in self.view.agents.values():
            if agent.host == event.host:
                agent.host_state = state
        return msg.HostConnectionUpdated(event.host, event.state, event.detail)

    def _on_sandbox_status(self, event: ev.SandboxStatus) -> Message | None:
        if event.agent is None:
            self.view.sandbox = event
            if event.state == "landlock":
                return msg.NoticeReceived("info", f"sandbox: Linux Landlock ABI {event.abi}")
            return msg.NoticeReceived("warning", f"sandbox {event.state}: {event.detail}")
        agent = self.view.agents.get(event.agent)
        if agent is None:
            return None
        agent.sandbox = None if event.state == "landlock" else event
        return msg.AgentUpdated(event.agent)

    def _on_notice(self, event: ev.Notice) -> Message | None:
        return msg.NoticeReceived(event.level, event.message)
