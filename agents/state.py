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
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wavedeck.agents.events import AgentState, RestartStatus, WaveState
from wavedeck.agents.runtypes import AgentHandle, ExitStatus, Runner

STATE_NAME = "state.json"
LOCK_NAME = "lock"


class StateError(Exception):
    """A problem with the run's state or lock; the message says what to do."""


class AlreadyRunning(StateError):
    """Another control room holds this repository's lock."""


class StateWriteError(OSError):
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
    """An ownership violation the watcher reported (an ``wavedeck.agents.events.ViolationFound``), kept
    so a re-opened control room shows it and the watcher does not report it twice."""

    agent: str | None = None
    path: str
    kind: str
    candidates: list[str] = Field(default_factory=list)
    detail: str = ""


class WaveRecord(_Model):
    state: WaveState = "locked"
    base_commit: str | None = None
    tests: TestRecord | None = None
    checkpoint: str | None = None  # the checkpoint commit
    accepted: dict[str, str] = Field(default_factory=dict)  # path -> why it was accepted
    started_at: float | None = None
    # The working tree when the wave started (a tree object: HEAD plus the operator's own
    # uncommitted work); what differs there from base_commit is the operator's, not the wave's.
    start_tree: str | None = None
    violations: list[ViolationRecord] = Field(default_factory=list)


class AgentRecord(_Model):
    state: AgentState = "pending"
    handle: dict[str, Any] | None = None  # an AgentHandle as a dict (record_handle)
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
    denials: list[dict[str, str]] = Field(default_factory=list)  # {tool, path}
    needs: str = ""  # why the current run needs the operator (a question, a refusal)
    follow_ups: int = 0
    usage_keys: list[str] = Field(default_factory=list)  # the last usage reports counted


class RunState(_Model):
    version: int = 1
    plan_path: str | None = None
    waves: dict[str, WaveRecord] = Field(default_factory=dict)  # key: the wave number as text
    agents: dict[str, AgentRecord] = Field(default_factory=dict)  # key: the agent id


def record_handle(handle: AgentHandle) -> dict[str, Any]:
    """An ``AgentHandle`` as a JSON-ready dict for ``AgentRecord.handle``."""
    return asdict(handle)


def handle_from_record(record: AgentRecord) -> AgentHandle | None:
    """The ``AgentHandle`` saved in ``record``, or None if there is none or it is malformed."""
    if record.handle is None:
        return None
    try:
        return AgentHandle(**record.handle)
    except TypeError:
        return None


AdoptResult: TypeAlias = Literal["running", "lost"] | ExitStatus


async def adopt(runner: Runner, record: AgentRecord) -> AdoptResult:
    """What became of a launched agent: ``"running"``, its ``ExitStatus``, or ``"lost"``."""
    handle = handle_from_record(record)
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
        if isinstance(version, int) and version > RunState().version:
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
