"""``wavedeck status``'s reading of a run: the saved state, brought up to date without touching it.

The state file says what the last control room saw. Agents are detached, so they may have ended
since (a killed ``wavedeck run --headless`` leaves them running; they finish and write their
exit files with nobody watching). ``observe`` looks at each agent the state calls running: its
process (pid *and* start time, as adoption does), else its exit file, else lost; and it counts
the progress lines its log holds past the last one a control room handled. Read-only: no lock
is taken and nothing is written, so it is safe beside a running control room.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wavedeck.agents.local import procinfo
from wavedeck.agents.local.logfiles import LogFile
from wavedeck.agents.local.runner import read_exit_file
from wavedeck.agents.state import AgentRecord, RunState
from wavedeck.agents.wave.launch import DONE_RE

_MAX_SCAN = 64 * 1024 * 1024  # a flooded log is scanned up to this far past the saved offset


@dataclass(frozen=True)
class AgentStatus:
    """One agent as it is now (``state``) and as the state file recorded it (``recorded``)."""

    agent: str
    state: str
    recorded: str
    issues_done: tuple[str, ...]
    launches: int
    exit_code: int | None = None
    exit_signal: str | None = None
    reason: str = ""
    marked_done: str | None = None
    note: str = ""  # how the state was found, when it is not the recorded one

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "recorded_state": self.recorded,
            "issues_done": list(self.issues_done),
            "launches": self.launches,
            "exit_code": self.exit_code,
            "exit_signal": self.exit_signal,
            "reason": self.reason,
            "marked_done": self.marked_done,
            "note": self.note,
        }


def _unread_done(log: Path, offset: int, issues: Iterable[str] | None) -> list[str]:
    """Issue ids of progress lines in ``log`` after byte ``offset`` (of ``issues`` when given)."""
    wanted = set(issues) if issues is not None else None
    found: list[str] = []
    try:
        # Offsets are logical: they span the log's rotated files (wavedeck.agents.local.logfiles).
        logfile = LogFile(log)
        data = logfile.pread(_MAX_SCAN, max(offset, logfile.start()))
    except OSError:
        return found
    if b"wavedeck: done" not in data:
        return found
    for raw in data.split(b"\n"):
        if b"wavedeck: done" not in raw:
            continue
        match = DONE_RE.match(raw.decode("utf-8", "replace"))
        if match and (wanted is None or match.group(1) in wanted):
            found.append(match.group(1))
    return found


def observe_agent(agent_id: str, rec: AgentRecord, issues: Iterable[str] | None) -> AgentStatus:
    """What became of one recorded agent (read-only; see the module docstring)."""
    state, note = rec.state, ""
    code, sig, reason = rec.exit_code, rec.exit_signal, rec.reason
    handle = rec.handle
    done = list(rec.issues_done)
    if handle is not None:
        done += [
            i for i in _unread_done(Path(handle.log_path), rec.offset, issues) if i not in done
        ]
    if rec.state == "running" and handle is not None:
        if handle.host:
            note = f"runs on {handle.host}: not checked from here"
        elif procinfo.is_same_process(handle.pid, handle.start_time):
            note = f"pid {handle.pid} is alive"
        else:
            status = read_exit_file(handle.exit_path)
            note = "ended while no control room was watching"
            if status is None:
                state, reason = "lost", "its process is gone and it left no exit file"
            else:
                code, sig = status.code, status.signal
                state = "succeeded" if status.ok else "failed"
                reason = "" if status.ok else (f"killed by {sig}" if sig else f"exit code {code}")
    return AgentStatus(
        agent=agent_id,
        state=state,
        recorded=rec.state,
        issues_done=tuple(done),
        launches=rec.launches,
        exit_code=code,
        exit_signal=sig,
        reason=reason,
        marked_done=rec.marked_done,
        note=note,
    )


def observe(state: RunState, issues_of: dict[str, list[str]] | None = None) -> list[AgentStatus]:
    """Every recorded agent as it is now, sorted by id; ``issues_of`` (agent -> its issue ids,
    from the plan) limits the progress lines counted to the agent's own issues."""
    return [
        observe_agent(agent_id, rec, (issues_of or {}).get(agent_id) if issues_of else None)
        for agent_id, rec in sorted(state.agents.items())
    ]
