"""App-wide Textual messages: what the engine reported, as past-tense facts.

The adapter (``tui.adapter``) is the only place that turns engine events into these. Log lines
are not messages: they go straight into each pane's ring buffer (see ``widgets.log_view``), and
the panes repaint on a timer.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class AgentUpdated(Message):
    """An agent's state, issues, touched files, host or violations changed."""

    agent: str


@dataclass
class WaveUpdated(Message):
    """A wave changed state (locked → ready → running → testing → tested → committed)."""

    wave: int
    state: str


@dataclass
class ViolationRecorded(Message):
    """The watcher saw a path that breaks the plan's ownership in ``wave``."""

    wave: int
    agent: str | None
    path: str
    kind: str


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
class CommitRefused(Message):
    """The checkpoint gate refused to commit; ``reason`` says why, ``paths`` what."""

    wave: int
    reason: str
    paths: tuple[str, ...]


@dataclass
class HostConnectionUpdated(Message):
    host: str
    state: str
    detail: str


@dataclass
class NoticeReceived(Message):
    level: str
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
