"""What every runner (local or SSH) shares: what to launch, the handle it returns, how it ended.

The supervisor talks to runners only through ``Runner``; the local runner (``wavedeck.agents.local.runner``) and
the SSH runner (``wavedeck.agents.remote.runner``) implement it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from wavedeck.agents.events import SandboxStatus


@dataclass(frozen=True)
class SandboxSpec:
    """The Landlock domain an agent runs in (``[agent] sandbox = "landlock"``): ``spec`` is the
    JSON ``script`` (``agents/local/landlock.py``, standard library only) resolves where the
    agent runs, against its working tree and environment, with the ``modules`` it loads beside
    itself (``writepolicy.py``: uploaded with it to an SSH host)."""

    spec: str
    script: Path
    modules: tuple[Path, ...] = ()


@dataclass(frozen=True)
class LaunchSpec:
    """Everything needed to start one agent. ``argv`` is never given to a shell."""

    agent_id: str
    argv: tuple[str, ...]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    stdin_file: Path | None = None  # the prompt on stdin; None means /dev/null
    sandbox: SandboxSpec | None = None  # None: unsandboxed (off, or not wanted)
    # This launch's id, recorded before the process starts: a local agent's exit file names
    # it, so a run that ended before a killed control room recorded it is still found.
    launch_id: str = ""
    # The preset whose parser reads the output: which lines the log wrapper keeps in the fact
    # record (``agents/local/factscan.py``) before the log rotates them away.
    facts_of: str = "generic"


@dataclass(frozen=True)
class AgentHandle:
    """Enough to find a detached agent again after the control room restarts (persisted)."""

    agent_id: str
    pid: int
    start_time: int  # /proc/PID/stat field 22 (clock ticks since boot): pid reuse guard
    pgid: int
    log_path: str
    exit_path: str
    host: str | None = None  # None = local


# The start time of a handle to a run found already ended (``Runner.find_unrecorded``): no
# process has it, so nothing is ever signalled through that handle.
ENDED_START = -1


@dataclass(frozen=True)
class ExitStatus:
    code: int | None  # exit code, or None when killed by a signal
    signal: str | None = None  # "SIGKILL", …

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass(frozen=True)
class LogChunk:
    """Complete lines read from a log, and the byte offset just after them."""

    lines: tuple[str, ...]
    offset: int
    # Lines before ``lines`` were rotated away unread: how many bytes, and how many lines of
    # ``lines`` (the first) come from the fact record instead of the log.
    skipped: int = 0
    recovered: int = 0


class Runner(Protocol):
    """Starts, observes and stops detached agents."""

    # How each agent's last launch was confined ([agent] sandbox), by agent id; no entry: not.
    sandboxed: dict[str, SandboxStatus]

    @property
    def host(self) -> str | None:
        """The SSH host its agents run on (its ``[hosts.NAME]``); None: this machine."""
        ...

    async def find_unrecorded(self, agent_id: str, launch_id: str = "") -> AgentHandle | None:
        """The agent's run under this runner that no record knows, if any (a control room
        killed between starting it and saving its state leaves one): running, or, given the
        ``launch_id`` it was launched with, ended (a handle whose ``start_time`` is
        ``ENDED_START``)."""
        ...

    async def log_size(self, agent_id: str) -> int:
        """Where the agent's next run's output will begin in its log: the log's (logical)
        size now. A log is appended to by every run, never emptied, so offsets only grow."""
        ...

    async def launch(self, spec: LaunchSpec) -> AgentHandle: ...

    async def is_alive(self, handle: AgentHandle) -> bool: ...

    def ran_for(self, handle: AgentHandle) -> float | None:
        """Seconds since the handle's run started, read at once (no round trip) on a clock
        that no wall-clock jump moves and that outlives a control-room restart; None when this
        runner cannot tell that way (the caller falls back on what it recorded itself). For a
        run that has ended this counts up to now: ask as its end is seen."""
        ...

    async def exit_status(self, handle: AgentHandle) -> ExitStatus | None: ...

    async def stop(self, handle: AgentHandle, grace_s: float) -> str: ...

    def follow(self, handle: AgentHandle, offset: int) -> AsyncIterator[LogChunk]:
        """Yield log chunks from ``offset`` until the agent has ended and its log is drained."""
        ...
