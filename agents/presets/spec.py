"""A preset's definition and the context it builds an argv from.

``Preset`` ties a CLI's name to its argv builder, how the prompt is given, its output parser,
the environment it adds (``env``: settings a CLI reads only from its environment), the paths the
CLI writes for itself (``own_paths`` in the repository; ``own_state``, a folder of its files for
one agent under wavedeck's folder), whether it can resume a session (follow-ups), and how late
its tool events may name a write (``tool_lag_s``). ``LaunchContext`` carries what one launch
knows: the program, the prompt file, the agent's owned files, the session to create or resume,
whether it runs on this machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from wavedeck.agents.presets.base import StreamParser
from wavedeck.plan.errors import WavedeckError


class PresetError(WavedeckError):
    """A preset cannot run this agent (unknown preset, program not found); the message names
    the agent and the config key."""


# A preset's check that a session is recorded: (the CLI's state folders, the session id).
SessionCheck = Callable[[Sequence[Path], str], bool]


@dataclass(frozen=True)
class LaunchContext:
    """What one launch of one agent knows."""

    agent_id: str
    program: str
    prompt_file: Path
    cwd: Path
    wavedeck_dir: Path
    owned: tuple[str, ...] = ()  # the agent's files, relative to the repository
    session_id: str | None = None  # a new session to create (claude: --session-id)
    resume: str | None = None  # a session to resume (a follow-up)
    restrict_writes: bool = True
    sandboxed: bool = False  # runs inside wavedeck's Landlock domain ([agent] sandbox)
    max_cost_usd: float | None = None
    extra: tuple[str, ...] = field(default_factory=tuple)
    local: bool = True  # runs on this machine (files under wavedeck_dir are there for it)


@dataclass(frozen=True)
class Preset:
    """One agent CLI: how it is run and read."""

    name: str
    program: str  # the executable looked up on PATH when ``[agent] program`` is not set
    prompt: Literal["stdin", "file"]
    argv: Callable[[LaunchContext], list[str]]
    parser: Callable[[Path | None], StreamParser]
    resumable: bool = False  # follow-ups resume its session
    new_session_id: bool = False  # wavedeck chooses the session id before the start
    env: Callable[[LaunchContext], dict[str, str]] | None = None  # added to the agent's env
    # Repo-relative globs the CLI writes for itself (caches, history, sandbox mount points): not
    # the agent's work; ignored, by the watcher and the checkpoint alike, for its agents.
    own_paths: tuple[str, ...] = ()
    # (wavedeck's folder, agent id) -> the folder where the preset's argv puts the CLI's own
    # files for that agent (aider's chat history): the kernel sandbox lets the agent write it.
    own_state: Callable[[Path, str], Path] | None = None
    # How late a tool event naming a written file can reach wavedeck after the write itself (a
    # CLI that prints a tool call once it has run: opencode, aider, Codex's file_change; or the
    # log's way here for one that prints it first). The watcher holds an unexplained write this
    # long for the event that names its writer; an event later still corrects what was shown.
    tool_lag_s: float = 0.0
    # (the CLI's state folders for the agent, from ``statedirs``; its session id) -> whether the
    # CLI has recorded the session.
    # Set for a CLI whose starts at once go wrong (Gemini CLI deletes a session another copy
    # started a moment earlier; opencode's first starts race on its database): its agents then
    # start one at a time on each machine (here; each SSH host), each once the one before
    # there has its session recorded.
    session_recorded: SessionCheck | None = None
    one_at_a_time: str = ""  # why, for the notice when a session is not recorded in time
    # (the CLI's state folders, the agent's environment) -> whether starts at once can still go
    # wrong (opencode: only while its database does not exist yet); None: always (Gemini CLI).
    starts_race: Callable[[Sequence[Path], Mapping[str, str]], bool] | None = None
    # The same two checks on an SSH host, where the CLI's state is (agents there start one at a
    # time per host): POSIX sh run there by ``wavedeck.agents.remote.startcheck``, the CLI's
    # state folders as "$@" (``statedirs`` resolved with the host's environment and the
    # agent's ``[agent] env``), the session id as "$WAVEDECK_SESSION"; exit 0 means yes, 1 no,
    # anything else: unknown. Constant text: nothing variable is ever put into it.
    # ``session_on_host`` None: it cannot be checked there (the next start waits the bounded
    # ``SESSION_WAIT_S`` and a notice says the session could not be confirmed).
    session_on_host: str | None = None
    # None with ``starts_race`` set: taken to race there (its starts there wait their turn).
    race_on_host: str | None = None
