"""What a git command returned, and how its failure is told to the operator.

``Result`` is the one shape every git command of ``wavedeck.agents.git.cmd`` (the one git
runner) comes back as; ``describe`` names a command for messages (``git commit-tree``) and
``failure_message`` words a failed one, keeping git's own text verbatim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Result", "describe", "failure_message"]


@dataclass(frozen=True)
class Result:
    """What a git command returned: exit status, raw stdout, decoded stderr."""

    rc: int
    out: bytes
    err: str
    timed_out: bool = False

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "surrogateescape")


def describe(args: Sequence[str]) -> str:
    """A short name of a command for messages: ``git commit-tree``."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "-c":
            skip = True  # "-c key=value" precedes the subcommand
        elif not arg.startswith("-"):
            return f"git {arg}"
    return "git"


def failure_message(args: Sequence[str], result: Result) -> str:
    """``git X failed (exit N): <git's own words>``; git's text is kept verbatim."""
    detail = result.err.strip() or result.text.strip() or "no message"
    return f"{describe(args)} failed (exit {result.rc}): {detail}"
