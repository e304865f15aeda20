"""The run's persisted state (``.wavedeck/state.json``), the one-control-room lock, and adoption.

- ``StateStore.lock()`` takes an exclusive ``flock`` on ``.wavedeck/lock`` for the life of the
  process: a second control room on the same repository is refused (B12). The kernel drops the
  lock when the process dies, however it dies, so a crash never leaves a stale lock.
- ``StateStore.save()`` is atomic (temporary file, fsync, ``os.replace``, fsync of the folder): a
  crash mid-write leaves the old or the new state, never a mix (B13). ``load()`` refuses a
  corrupt file with ``StateCorrupt`` instead of silently starting over.
- ``adopt()`` decides what became of an agent recorded as launched: still running (same pid *and*
  start time), ended (its exit file), or lost.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wavedeck.agents.events import RestartStatus
from wavedeck.agents.kinds import (
    AgentState,
    AsksQuestion,
    AttributionBasis,
    IssuesUnreported,
    ToolRefused,
    ViolationKind,
)
from wavedeck.agents.reviewrecord import ReviewRecord
from wavedeck.agents.runtypes import AgentHandle, ExitStatus, Runner
from wavedeck.plan.errors import WavedeckError

STATE_NAME = "state.json"
# 2: wave states derived, not stored; ``needs``, ``denials`` and ``handle`` as facts; each
# agent's wave. Version 1 files load (the validators below); a newer version is refused.
STATE_VERSION = 2
LOCK_NAME = "lock"


class StateError(WavedeckError):
    """A problem with the run's state or lock; the message says what to do."""


class AlreadyRunning(StateError):
    """Another control room holds this repository's lock."""


class StateWriteError(WavedeckError, OSError):
    """``state.json`` could not be written (a full disk); the message names it. The file on
    disk still holds the last state that could be saved."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class StateCorrupt(StateError):
    """``state.json`` cannot be read; it is left untouched for the operator to inspect."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TestRecord(_Model):
    """The outcome of a wave's tests."""

    __test__ = False  # not a pytest test class, despite the name

    passed: bool
    duration_s: float
    results: list[tuple[str, int]] = Field(default_factory=list)  # (command, exit code)
    finished_at: float


class ViolationRecord(_Model):
    """An ownership violation the watcher reported (a ``wavedeck.agents.events.ViolationFound``),
    kept so a re-opened control room shows it and the watcher does not report it twice."""

    agent: str | None = None
    path: str
    kind: ViolationKind
    candidates: list[str] = Field(default_factory=list)
    detail: str = ""
    attribution: AttributionBasis = "inferred"  # how its writer is known


class RevertRecord(_Model):
    """A path the operator put back (whole, or ``partial``: some of its hunks) during a wave:
    the issues of the agents that own it (``agents``) are recorded reverted, not fixed, in the
    checkpoint (``wavedeck.agents.wave.evidence``)."""

    agents: list[str] = Field(default_factory=list)
    partial: bool = False
    reverted_at: float = 0.0  # wall clock: a timestamp that outlives the control room


class CheckpointIntent(_Model):
    """A checkpoint commit about to land: recorded before the branch moves to it, so a control
    room killed right after the move recognises its own commit (``wavedeck.agents.wave.landing``)."""

    commit: str
    parent: str | None = None  # where the branch was (None: no commit yet)
    paths: list[str] = Field(default_factory=list)  # the paths it commits (their index entries)


class WaveRecord(_Model):
    """What happened to a wave: its facts. Its state (running, tested, committed, ...) is
    derived from them (``wavedeck.agents.wave.gates.wave_state``), never stored beside them."""

    base_commit: str | None = None  # set when the wave started
    tests: TestRecord | None = None
    checkpoint: str | None = None  # the checkpoint commit
    checkpoint_intent: CheckpointIntent | None = None  # landing now (cleared once recorded)
    accepted: dict[str, str] = Field(default_factory=dict)  # path -> why it was accepted
    started_at: float | None = None
    # The working tree when the wave started (a tree object: HEAD plus the operator's own
    # uncommitted work); what differs there from base_commit is the operator's, not the wave's.
    start_tree: str | None = None
    # The files that differed there from base_commit, by name: if the tree is ever missing
    # from git, these are the files the checkpoint will not take without the operator's word.
    start_dirty: list[str] | None = None
    violations: list[ViolationRecord] = Field(default_factory=list)
    # [agent] sandbox: how each agent of the wave ran (agent id -> "landlock ABI 7", "off"...),
    # recorded at its launch for the checkpoint's Wavedeck-Sandbox trailer.
    sandbox: dict[str, str] = Field(default_factory=dict)
    # Paths the operator reverted during the wave (``wavedeck.agents.wave.reverts``).
    reverted: dict[str, RevertRecord] = Field(default_factory=dict)
    # The review of the wave's changes: comments, approvals, change requests, hunk reverts,
    # reviewer agents' runs (written by wavedeck.agents.wave.reviews only).
    review: ReviewRecord = Field(default_factory=ReviewRecord)

    @model_validator(mode="before")
    @classmethod
    def _stored_state(cls, data: Any) -> Any:
        """Version 1 stored the wave's state beside its facts: derived now, dropped."""
        if isinstance(data, dict) and "state" in data:
            data = {k: v for k, v in data.items() if k != "state"}
        return data


NeedsField = Annotated[AsksQuestion | ToolRefused | IssuesUnreported, Field(discriminator="kind")]


def _needs_from_text(text: str) -> AsksQuestion | ToolRefused | None:
    """Version 1's ``needs`` text (``asks: Q`` or ``refused: TOOL PATH``), as its fact."""
    kind, _, rest = text.partition(": ")
    if kind == "asks":
        return AsksQuestion(rest)
    if kind == "refused":
        tool, _, path = rest.partition(" ")
        return ToolRefused(tool, path)
    raise ValueError(f"unrecognised needs {text!r}")


class AgentRecord(_Model):
    """What happened to an agent: its state (changed only by
    ``wavedeck.agents.wave.transitions``) and the facts of its runs."""

    state: AgentState = "pending"
    wave: int | None = None  # its wave in the plan (None in states written before version 2)
    handle: AgentHandle | None = None  # how to find the running process again
    # A launch under way: its id, saved before the process starts and cleared once its handle
    # is recorded. Still set when a control room opens: that run is found and adopted, running
    # or ended, never launched a second time.
    launching: str | None = None
    offset: int = 0  # byte offset in the log just after the last line consumed
    exit_code: int | None = None
    exit_signal: str | None = None
    issues_done: list[str] = Field(default_factory=list)
    outcomes: dict[str, str] = Field(default_factory=dict)  # issue -> outcome text
    marked_done: str | None = None  # the operator's reason, when marked done by hand
    launches: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    host: str | None = None
    reason: str = ""
    restart: RestartStatus | None = None  # [agent.restart]'s word on the last failure
    # Files the watcher saw it write (its pane's ✎ count), kept so a re-opened control room
    # shows what the last one did.
    touched: list[str] = Field(default_factory=list)
    # Agent presets (agents/presets/): the CLI's session, its usage, refusals and follow-ups.
    session_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    turns: int = 0
    denials: list[ToolRefused] = Field(default_factory=list)  # tool calls its CLI refused
    needs: NeedsField | None = None  # why the current run needs the operator
    follow_ups: int = 0
    usage_keys: list[str] = Field(default_factory=list)  # the last usage reports counted

    @field_validator("needs", mode="before")
    @classmethod
    def _needs_text(cls, value: Any) -> Any:
        """Version 1 kept ``needs`` as text ("" for none)."""
        if isinstance(value, str):
            return _needs_from_text(value) if value else None
        return value


class RunState(_Model):
    version: int = STATE_VERSION
    plan_path: str | None = None
    waves: dict[int, WaveRecord] = Field(default_factory=dict)  # key: the wave number
    agents: dict[str, AgentRecord] = Field(default_factory=dict)  # key: the agent id

    @model_validator(mode="after")
    def _current(self) -> RunState:
        """An older file, once read, is this version's state (saved as such)."""
        self.version = STATE_VERSION
        return self


AdoptResult: TypeAlias = Literal["running", "lost"] | ExitStatus


async def adopt(runner: Runner, record: AgentRecord) -> AdoptResult:
    """What became of a launched agent: ``"running"``, its ``ExitStatus``, or ``"lost"``."""
    handle = record.handle
    if handle is None:
        return "lost"
    if await runner.is_alive(handle):
        return "running"
    status = await runner.exit_status(handle)
    return status if status is not None else "lost"


class StateStore:
    """Loads and saves ``state.json`` under a ``.wavedeck`` folder, and holds its lock."""

    def __init__(self, wavedeck_dir: Path) -> None:
        self.wavedeck_dir = Path(wavedeck_dir)
        self.path = self.wavedeck_dir / STATE_NAME
        self.lock_path = self.wavedeck_dir / LOCK_NAME
        self._lock_fd: int | None = None

    def lock(self) -> None:
        """Take the repository's control-room lock, or raise ``AlreadyRunning``.

        The lock is kept until ``unlock()`` or the end of the process.
        """
        if self._lock_fd is not None:
            return
        self.wavedeck_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"another wavedeck control room is running on this repository (pid {holder})"
            ) from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd
        # Temporary files of a control room killed mid-save: nobody else writes while we hold
        # the lock, so they are garbage.
        for stale in self.wavedeck_dir.glob(f".{STATE_NAME}.*.tmp"):
            stale.unlink(missing_ok=True)

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the last descriptor releases the flock
            self._lock_fd = None

    @property
    def locked(self) -> bool:
        return self._lock_fd is not None

    def load(self) -> RunState:
        """The saved state, a fresh ``RunState`` if none was saved yet; ``StateCorrupt`` if bad."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return RunState()
        except OSError as error:
            raise StateCorrupt(
                f"{self.path}: cannot read the run state: {error.strerror}"
            ) from None
        advice = "move it aside (or delete it) to start the run over"
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise StateCorrupt(
                f"{self.path}: the run state is corrupt ({error}); {advice}"
            ) from None
        version = data.get("version") if isinstance(data, dict) else None
        if isinstance(version, int) and version > STATE_VERSION:
            raise StateCorrupt(
                f"{self.path}: the run state has version {version}, written by a newer "
                "wavedeck; upgrade wavedeck to continue this run"
            )
        try:
            return RunState.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(top level)"
            raise StateCorrupt(
                f"{self.path}: the run state is invalid at {where}: {first['msg']}; {advice}"
            ) from None

    def save(self, state: RunState) -> None:
        """Write ``state`` atomically: after a crash the file holds the old or the new state."""
        self.wavedeck_dir.mkdir(parents=True, exist_ok=True)
        data = state.model_dump_json(indent=1).encode("utf-8")
        tmp = self.path.with_name(f".{STATE_NAME}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            # A full disk: the half-written copy goes (it holds space), the old state stays.
            tmp.unlink(missing_ok=True)
            raise StateWriteError(f"cannot write {self.path}: {exc.strerror}", exc.errno) from None
        # Make the rename itself durable, so a power cut cannot bring back the old name.
        dir_fd = os.open(self.wavedeck_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
