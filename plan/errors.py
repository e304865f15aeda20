"""The plan layer's own error type and the finding record every check produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Level = Literal["error", "warning"]


class PlanError(Exception):
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
