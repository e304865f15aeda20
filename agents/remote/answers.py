"""What the host's scripts (``wavedeck.agents.remote.commands``) print, read back as facts.

``RemoteRunner`` runs a script over SSH and gets text; this module turns it into the runner's
types: how an agent ended (``exit_from_rc``), whether it runs and how it ended
(``read_status``, from ``status_script``), and the run a launch id names (``read_found``, from
``found_script``). An answer of another shape is no run found (None); a garbled number raises.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Literal

from wavedeck.agents.runtypes import ExitStatus


def exit_from_rc(rc: int) -> ExitStatus:
    """``rc`` as a POSIX shell reports it: 128+N means killed by signal N."""
    if 128 < rc <= 128 + 64:
        try:
            return ExitStatus(None, signal.Signals(rc - 128).name)
        except ValueError:
            pass
    return ExitStatus(rc)


def read_status(text: str) -> tuple[bool, ExitStatus | None]:
    """``status_script``'s answer: whether the agent's wrapper is alive, and its ``rc`` line
    when the host recorded one."""
    lines = text.split("\n")
    status = None
    if len(lines) > 1 and lines[1].startswith("rc "):
        status = exit_from_rc(int(lines[1][3:]))
    return lines[0] == "alive", status


@dataclass(frozen=True)
class Found:
    """The run ``found_script`` found for a launch id: running, or ended (its exit file)."""

    state: Literal["running", "ended"]
    pid: int
    start_time: int


def read_found(text: str) -> Found | None:
    """``found_script``'s answer; None when it found no run. A pid or start time that is not
    a number raises ``ValueError``: whether a run is there cannot be told."""
    words = text.split()
    if len(words) != 3:
        return None
    if words[0] == "running":
        return Found("running", int(words[1]), int(words[2]))
    if words[0] == "ended":
        return Found("ended", int(words[1]), int(words[2]))
    return None
