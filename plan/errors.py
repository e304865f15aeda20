"""The base of every wavedeck error, the plan layer's own error type, and the finding record
every check produces.

``WavedeckError`` lives here, in the lowest layer, so that every layer's errors (plan, config,
state, git, runners, supervisor) can derive from it and the ``wavedeck`` command can turn any of
them into a message by its class alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Level = Literal["error", "warning"]


class WavedeckError(Exception):
    """A problem wavedeck can explain: the message is complete for the operator.

    Every error wavedeck raises on purpose derives from it (some also from ``OSError`` or
    ``ValueError``, for callers that catch those), so a command shows it as a message, never as
    a traceback.
    """


class PlanError(WavedeckError):
    """A plan that cannot be read at all (exit code 2 of ``plan check``).

    ``line`` is 1-based, or ``None`` when the problem concerns the whole file (size, encoding).
    """

    def __init__(self, message: str, *, line: int | None = None, source: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.source = source

    def __str__(self) -> str:
        where = self.source or "plan"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Finding:
    """One result of a plan check: a stable ``code``, a level, and where it is.

    Fields that do not apply are ``None`` (JSON ``null``).
    """

    code: str
    level: Level
    line: int
    message: str
    wave: int | None = None
    agents: tuple[str, ...] | None = None
    path: str | None = None
    issue: str | None = None
    lines: tuple[int, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "level": self.level,
            "line": self.line,
            "message": self.message,
            "wave": self.wave,
            "agents": list(self.agents) if self.agents is not None else None,
            "path": self.path,
            "issue": self.issue,
        }
