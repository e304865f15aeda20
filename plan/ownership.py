"""One ownership model: for a wave and a path, who may write it. Pure, no I/O.

Kinds: ``owned`` (declared by exactly one agent of the wave), ``undeclared`` (not declared, but
attributable to exactly one agent of the wave), ``foreign`` (declared by another agent of the wave
than the one known to write it), ``other-wave`` (declared only in other waves), ``unowned``.

(First version: exact declarations and package folders; refined by the ownership issue.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from plan.models import Plan

OwnershipKind = Literal["owned", "undeclared", "foreign", "other-wave", "unowned"]


@dataclass(frozen=True)
class Ownership:
    kind: OwnershipKind
    agent: str | None  # the agent the path belongs or is attributed to
    candidates: tuple[str, ...] = ()  # agents that tie, for ``unowned``
    owners: tuple[str, ...] = ()  # agents that declare the path (any wave for other-wave)


class OwnershipIndex:
    """Ownership of every path for one wave, built once and queried per path."""

    def __init__(self, plan: Plan, wave: int) -> None:
        self.plan = plan
        self.wave = wave
        self._declared: dict[str, list[str]] = {}
        self._elsewhere: dict[str, list[str]] = {}
        self._packages: list[tuple[str, str]] = []
        for w in plan.waves:
            for agent in w.agents:
                target = self._declared if w.number == wave else self._elsewhere
                for path in agent.paths:
                    target.setdefault(path, []).append(agent.id)
                if w.number == wave:
                    self._packages.append((agent.package, agent.id))

    def classify(self, path: str, writer: str | None = None) -> Ownership:
        owners = self._declared.get(path, [])
        if len(owners) == 1:
            if writer is not None and writer != owners[0]:
                return Ownership("foreign", writer, owners=tuple(owners))
            return Ownership("owned", owners[0], owners=tuple(owners))
        if len(owners) > 1:
            return Ownership("unowned", writer, candidates=tuple(owners), owners=tuple(owners))
        if path in self._elsewhere:
            return Ownership("other-wave", writer, owners=tuple(self._elsewhere[path]))
        inside = sorted({a for pkg, a in self._packages if path.startswith(pkg)})
        if len(inside) == 1:
            return Ownership("undeclared", inside[0])
        return Ownership("unowned", writer, candidates=tuple(inside))


def classify(plan: Plan, wave: int, path: str, writer: str | None = None) -> Ownership:
    """Classify one path for one wave (builds an index; use ``OwnershipIndex`` for many)."""
    return OwnershipIndex(plan, wave).classify(path, writer)
