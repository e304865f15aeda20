"""App-wide Textual messages, named as past-tense facts.

Two kinds: what the engine reported (the adapter, ``wavedeck.tui.adapter``, is the only place that turns
engine events into these), and what the operator chose on a screen (screens post these to the
app instead of calling it; see ``wavedeck.tui.room``). Log lines are not messages: they go straight into
each pane's ring buffer (see ``widgets.log_view``), and the panes repaint on a timer.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from wavedeck.agents.kinds import HostLink, NoticeLevel, Refusal, ViolationKind, WaveState


@dataclass
class AgentUpdated(Message):
    """An agent's state, issues, touched files, host or violations changed."""

    agent: str


@dataclass
class WaveUpdated(Message):
    """A wave changed state (locked → ready → running → testing → tested → committed)."""

    wave: int
    state: WaveState


@dataclass
class ViolationRecorded(Message):
    """The watcher saw a path that breaks the plan's ownership in ``wave``."""

    wave: int
    agent: str | None
    path: str
    kind: ViolationKind


@dataclass
class ViolationsChanged(Message):
    """What the views hold of ``path``'s violations in ``wave`` changed: the operator put the
    path back (they are gone), or a late tool event named its writer."""

    wave: int
    path: str


@dataclass
class TestsBegan(Message):
    wave: int


@dataclass
class TestsEnded(Message):
    wave: int
    passed: bool
    duration_s: float


@dataclass
class CheckpointRecorded(Message):
    wave: int
    commit: str


@dataclass
class GateRefusalReceived(Message):
    """A gate refused an action on a wave (start, tests, commit, revert, ...): the facts; the
    app words them (``wavedeck.tui.refusals``)."""

    refusal: Refusal


@dataclass
class HostConnectionUpdated(Message):
    host: str
    state: HostLink
    detail: str


@dataclass
class NoticeReceived(Message):
    level: NoticeLevel
    message: str


@dataclass
class EngineStopped(Message):
    """The engine's event stream ended; ``error`` is set when it failed."""

    error: str | None = None


@dataclass
class ActionRefused(Message):
    """The operator pressed a key whose action is not possible now; ``reason`` says why."""

    action: str
    reason: str


# -- what the operator chose (posted by screens and the palette, handled by the app) ------------


@dataclass
class ActionChosen(Message):
    """The operator pressed an action's key or picked it in the palette (``wavedeck.tui.keys`` names)."""

    action: str


@dataclass
class PathAccepted(Message):
    """The operator accepted a path outside the plan, with a reason (the engine recorded it)."""

    wave: int
    path: str


@dataclass
class PathReverted(Message):
    """The operator reverted a path to the wave's base (the engine did it or refused);
    ``wave`` is ``None`` when the screen does not know it."""

    wave: int | None
    path: str


# -- from the app to the screen on top ---------------------------------------------------------


class RunChanged(Message, bubble=False):
    """Something in the run changed: a screen showing it re-reads what it shows."""
