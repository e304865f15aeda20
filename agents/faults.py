"""Fault points: named places where a test makes wavedeck die at once, as a crash would.

A crash window (the process killed between two steps that must both happen) is tested by
setting ``WAVEDECK_TEST_FAULT`` to the point's name: when the process reaches that point it
sends itself SIGKILL, exactly there, with nothing flushed or cleaned up. No timing is involved,
so the test is deterministic. Unset (always, outside tests), a point costs one dictionary look-up.

- ``checkpoint-branch-moved``: right after a checkpoint's ``update-ref`` moved the branch,
  before the user's index is refreshed and before the run state records the checkpoint;
- ``agent-launched``: right after an agent's process started, before the run state records it;
  ``agent-launched:AGENT`` only after that agent's (one on an SSH host, say).
"""

from __future__ import annotations

import os
import signal
from typing import Literal, get_args

FaultPoint = Literal["checkpoint-branch-moved", "agent-launched"]
FAULT_POINTS: tuple[FaultPoint, ...] = get_args(FaultPoint)
# WAVEDECK_TEST_* variables are the tests' own, never settings (see wavedeck.agents.configread).
ENV = "WAVEDECK_TEST_FAULT"


def reached(point: FaultPoint, at: str = "") -> None:
    """Die here (SIGKILL to this process) when the tests asked for ``point`` (or for
    ``point:at``, this point for one agent only)."""
    asked = os.environ.get(ENV)
    if asked is not None and (asked == point or (at and asked == f"{point}:{at}")):
        os.kill(os.getpid(), signal.SIGKILL)
