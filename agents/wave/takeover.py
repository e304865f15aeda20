"""Taking over an agent's CLI session by hand (``wavedeck attach``, ``a``): the engine's side.

The CLI runs headless (``claude -p``...); once it has ended, the operator may resume its
session interactively in a terminal, then hand it back. What the engine needs for that:

- ``check``: why an agent cannot be taken over now (a ``TakeoverRefusal``: a code, the surface
  picks the words): its preset keeps no session a terminal can resume, it never ran, its CLI
  reported no session, its wave is closed, **its headless run is going** (two writers of one
  session), or another terminal has it.
- ``TakeoverLock``: an ``flock`` on ``.wavedeck/run/<id>.takeover``, held by whoever runs the
  interactive CLI, and taken by the engine around each launch of the agent: a launch never
  starts while the operator has the session, and a take-over never starts between a launch and
  its record (the kernel drops the lock with its holder, however it dies).
- ``TakeoverReport``: what happened (how long, how it ended, usage from the CLI's transcript,
  the files changed, the operator's words, the CLI's last answer), written by whoever ran the
  CLI and applied by the one writer of the run state: the engine (``apply_report``), or
  ``wavedeck attach`` itself when no control room holds the state's lock. A control room running
  elsewhere picks reports up from ``.wavedeck/takeovers/`` (``pending``).
- ``marker_lines``: the record in the agent's log, ``── wavedeck: attached by the operator (N
  min) ──`` and its summary.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wavedeck.agents.config import Config
from wavedeck.agents.events import AgentUsage, Event, FileTouched
from wavedeck.agents.markers import marker_line
from wavedeck.agents.presets import PRESETS
from wavedeck.agents.presets.interactive import TAKEOVER
from wavedeck.agents.presets.transcripts import TRANSCRIPTS
from wavedeck.agents.presets.usage import UsageTotal, describe
from wavedeck.agents.state import AgentRecord
from wavedeck.plan.models import Plan

TakeoverCode = Literal[
    "not-in-plan",
    "no-session-cli",  # the preset (aider, generic) keeps no session a terminal can resume
    "command-set",  # [agent] command replaces the preset's argv
    "never-ran",
    "no-session",  # it ran, and its CLI reported no session
    "wave-closed",  # its wave is committed (or not started): edits would belong to no wave
    "agent-running",  # its headless run is going: two writers of one session
    "taken-over",  # another terminal has it now
]
REPORTS = "takeovers"  # .wavedeck/<this>/: reports a running control room has yet to apply
ATTACHED = "attached by the operator"  # the record's mark: ── wavedeck: <this> (N min) ──


@dataclass(frozen=True)
class TakeoverRefusal:
    """Why an agent cannot be taken over now (``detail``: the facts the words need)."""

    code: TakeoverCode
    agent: str
    detail: str = ""


def check(
    plan: Plan,
    config: Config,
    agent_id: str,
    rec: AgentRecord | None,
    *,
    wave_open: bool,
    running: bool,
) -> TakeoverRefusal | None:
    """Why ``agent_id`` cannot be taken over now, or None. ``running``: its headless run is
    going (the engine's word, or its process checked by pid and start time); ``wave_open``: its
    wave is started and not committed."""
    try:
        agent = plan.agent(agent_id)
    except KeyError:
        return TakeoverRefusal("not-in-plan", agent_id)
    preset = PRESETS[config.agent.preset]
    if preset.name not in TAKEOVER:
        return TakeoverRefusal("no-session-cli", agent_id, preset.name)
    if config.agent.custom_command:
        return TakeoverRefusal("command-set", agent_id)
    if rec is None or rec.launches == 0:
        return TakeoverRefusal("never-ran", agent_id)
    if running:
        return TakeoverRefusal("agent-running", agent_id, str(rec.handle.pid if rec.handle else ""))
    if not rec.session_id:
        return TakeoverRefusal("no-session", agent_id, preset.name)
    if not wave_open:
        return TakeoverRefusal("wave-closed", agent_id, str(agent.wave))
    return None


def words(refusal: TakeoverRefusal) -> str:
    """A refusal in words (the control room adds its keys, the command line its options)."""
    agent, detail = refusal.agent, refusal.detail
    return {
        "not-in-plan": f"no agent {agent} in the plan",
        "no-session-cli": f"the {detail} preset keeps no session a terminal can resume: "
        f"{agent}'s log is all there is to see",
        "command-set": "[agent] command replaces the preset's argv, so wavedeck cannot resume "
        f"{agent}'s session",
        "never-ran": f"{agent} has not run yet: there is no session to take over",
        "no-session": f"{agent}'s {detail} CLI reported no session: nothing to resume",
        "wave-closed": f"{agent}'s wave {detail} is not open (started and not committed): its "
        "edits would belong to no wave",
        "agent-running": f"{agent}'s headless run is going"
        + (f" (pid {detail})" if detail else "")
        + ": two writers of one session; stop it first (its progress is kept) or wait for it",
        "taken-over": f"{agent} is taken over in another terminal"
        + (f" ({detail})" if detail else ""),
    }[refusal.code]


class RunLock:
    """``flock`` on one file (under ``.wavedeck/run``): held across processes, gone with its
    holder however it ends; ``acquire`` never waits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, *, note: str = "") -> bool:
        """Take the lock (True), or False when someone holds it; ``note`` says who took it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        if note:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{note} (pid {os.getpid()})\n".encode(), 0)
        self._fd = fd
        return True

    def holder(self) -> str:
        """Who holds it, as its holder wrote (empty when unknown)."""
        with contextlib.suppress(OSError):
            return self.path.read_text("utf-8", "replace").strip()
        return ""

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


class TakeoverLock(RunLock):
    """The agent's take-over lock (see the module docstring)."""

    def __init__(self, wavedeck_dir: Path, agent_id: str) -> None:
        super().__init__(Path(wavedeck_dir) / "run" / f"{agent_id}.takeover")


class TakeoverReport(BaseModel):
    """What happened while the operator had the agent's session."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str
    session_id: str
    started_at: float
    ended_at: float
    seconds: float | None = None  # how long, by the monotonic clock (the stamps may jump)
    exit_code: int | None = None  # the CLI's, passed through by ``wavedeck attach``
    signal: str | None = None  # the signal that killed the CLI (then no exit code)
    host: str | None = None  # the SSH host it ran on (None: here)
    dropped: bool = False  # the SSH connection dropped before the CLI ended
    reported: bool = False  # the CLI's transcript was found and read
    cli: str = ""  # the preset: whose transcript (or none) the usage comes from
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    turns: int = 0
    touched: tuple[str, ...] = ()  # files changed during the take-over
    said: tuple[str, ...] = ()  # what the operator typed
    answer: str = ""  # the CLI's last answer
    notes: tuple[str, ...] = ()  # what else the operator should know (changes left on a host)
    log_before: int | None = None  # the log's logical size before the record was appended
    log_after: int | None = None  # ... and after it
    made_at: float = Field(default_factory=time.time)

    @property
    def minutes(self) -> int:
        """How long, in whole minutes (a part of one counts as one)."""
        took = self.ended_at - self.started_at if self.seconds is None else self.seconds
        return max(1, round(took / 60))


def _short(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def marker_lines(report: TakeoverReport) -> list[str]:
    """The record in the agent's log: the marker line, then what happened, one fact a line."""
    what, details = record(report)
    return [marker_line(what), *details]


def record(report: TakeoverReport) -> tuple[str, list[str]]:
    """The record's mark (``attached by the operator (N min)``) and the facts below it."""
    out: list[str] = []
    for said in report.said[-5:]:
        out.append(f"   you wrote: {_short(said)}")
    if report.answer:
        out.append(f"   it answered: {_short(report.answer)}")
    if report.touched:
        out.append(f"   files changed: {_short(', '.join(report.touched), 400)}")
    used = describe(UsageTotal(report.input_tokens, report.output_tokens, report.cost_usd, 1))
    if report.reported:
        out.append(f"   usage: {used or 'none reported'} (from the {report.cli} transcript)")
    elif report.cli in TRANSCRIPTS:
        out.append(f"   usage: not known (the {report.cli} transcript could not be read)")
    else:
        out.append(f"   usage: not known (wavedeck reads no transcript of the {report.cli} CLI)")
    where = f" on {report.host}" if report.host else ""
    out.append(f"   the CLI ended{where}: {ending(report)}")
    out.extend(f"   {_short(note, 400)}" for note in report.notes)
    return f"{ATTACHED} ({report.minutes} min)", out


def ending(report: TakeoverReport) -> str:
    """How the CLI ended, in words."""
    if report.dropped:
        return "the connection dropped"
    if report.signal:
        return f"killed by {report.signal}"
    return f"exit {report.exit_code}"


def apply_report(agent_id: str, rec: AgentRecord, report: TakeoverReport) -> list[Event]:
    """Count the take-over in the agent's record (usage, files changed); the events that say
    so. The marker lines are the caller's (they depend on its log offset)."""
    events: list[Event] = []
    rec.input_tokens += report.input_tokens
    rec.output_tokens += report.output_tokens
    rec.turns += report.turns
    if report.cost_usd is not None:
        rec.cost_usd = (rec.cost_usd or 0.0) + report.cost_usd
    if report.reported:
        events.append(
            AgentUsage(agent_id, rec.input_tokens, rec.output_tokens, rec.cost_usd, rec.turns)
        )
    for path in report.touched:
        if path not in rec.touched:
            rec.touched.append(path)
        events.append(FileTouched(path, agent_id, "modified"))
    return events


def settle(
    agent_id: str, rec: AgentRecord, report: TakeoverReport
) -> tuple[list[Event], tuple[str, ...] | None, int | None]:
    """Apply ``report`` to the agent's record: the events that say so, the record's lines to
    show now (None: output before them in the log is still unread, and whoever follows the log
    next shows both), and the log offset to move to (None: leave it)."""
    events = apply_report(agent_id, rec, report)
    lines = tuple(marker_lines(report))
    if report.log_before is None or report.log_after is None:
        return events, lines, None  # not in a log: shown only
    if rec.offset == report.log_before:
        # Shown now; the log holds them already: the offset moves past them, so neither a
        # restart nor the agent's next run shows them twice.
        return events, lines, report.log_after
    return events, None, None


def reports_dir(wavedeck_dir: Path) -> Path:
    return Path(wavedeck_dir) / REPORTS


def write_report(wavedeck_dir: Path, report: TakeoverReport) -> Path:
    """Leave ``report`` for the control room running on the repository (atomically)."""
    folder = reports_dir(wavedeck_dir)
    folder.mkdir(parents=True, exist_ok=True)
    # Named by when it was made, so ``pending`` lists the reports oldest first.
    path = folder / f"{report.made_at:017.6f}.{report.agent}.{os.getpid()}.json"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(report.model_dump_json(), "utf-8")
    tmp.replace(path)
    return path


def pending(wavedeck_dir: Path) -> list[tuple[Path, TakeoverReport | None]]:
    """Reports left for a control room, oldest first (None: a file that is not one)."""
    folder = reports_dir(wavedeck_dir)
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    except OSError:
        return []
    out: list[tuple[Path, TakeoverReport | None]] = []
    for name in names:
        path = folder / name
        try:
            out.append((path, TakeoverReport.model_validate_json(path.read_bytes())))
        except (OSError, ValidationError, ValueError):
            out.append((path, None))
    return out
