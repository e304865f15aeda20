"""One ownership model: for a wave and a path, who may write it. Pure, no I/O.

The same model serves the three moments of a wave: *before* (``plan check --repo`` predicts from
each issue's fix plan), *during* (the watcher classifies every touched path) and *after* (the
checkpoint gate and ``wavedeck audit``). Kinds, in the order they are decided:

``owned``
    declared by exactly one agent of the wave (and, when the writer is known, by that writer);
    or declared by several agents that share it on purpose (``Agent.shared``: a file the plan
    declares shared or splits by line ranges), written by one of them or by an unknown writer.
    Then ``shared`` is true, ``owners`` lists the sharing agents, and ``ranges`` gives the
    writer's declared line ranges (empty: the whole file); a watcher that sees the diff can
    report a write outside them, one that cannot should warn once that it cannot tell.
``foreign``
    declared by exactly one agent of the wave, but written by another agent.
``other-wave``
    declared by no agent of this wave, only by agents of other waves.
``undeclared``
    declared by nobody, but attributable to exactly one agent of the wave: the path lies inside
    its package folder (the deepest containing package wins), or else shares a longer leading
    folder with its package than with any other agent's, and that shared folder is at least two
    levels deep (``packages/website/`` counts, a bare ``packages/`` does not). ``package`` is
    that agent; ``agent`` is the writer when known (a write by another agent into its package
    names who wrote it, never the package's agent), else ``package``. When the writer is known
    and is one of several agents that tie, the path is attributed to the writer.
``unowned``
    none of these; ``candidates`` lists the agents that tie (two agents sharing the package
    ``packages/headless-client/zajel/`` both tie for a new file there), or the agents that
    declare the same path twice in one wave (a plan ``overlap``).

``OwnershipIndex`` precomputes everything per wave; ``classify`` costs a few dictionary look-ups
per path (attribution is cached per folder), so an audit of 100,000 paths takes well under a
second. ``apply_policy`` applies the ``[policy]`` of ``wavedeck.toml`` to a classification.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from wavedeck.plan.globs import compile_glob
from wavedeck.plan.models import Agent, LineRange, Plan

OwnershipKind = Literal["owned", "undeclared", "foreign", "other-wave", "unowned"]
KINDS: tuple[OwnershipKind, ...] = ("owned", "undeclared", "foreign", "other-wave", "unowned")

# A shared leading folder must be at least this many levels deep to attribute a path that lies
# outside every package (so that ``packages/`` alone never attributes anything).
MIN_SHARED_DEPTH = 2


@dataclass(frozen=True)
class Ownership:
    """How one path relates to one wave's plan.

    ``agent`` is the agent the path belongs or is attributed to (for ``foreign``, ``other-wave``,
    ``unowned`` and ``undeclared``: the writer when known). ``owners`` are the agents declaring
    the path (in any wave for ``other-wave``). ``candidates`` are the agents that tie for an
    ``unowned`` path. ``writer`` is the agent known to have written the path, if any;
    ``package`` the agent whose package an ``undeclared`` path falls to.
    """

    kind: OwnershipKind
    agent: str | None
    candidates: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    writer: str | None = None
    package: str | None = None
    shared: bool = False  # an explicit shared ownership (``owned`` only)
    ranges: tuple[LineRange, ...] = ()  # the writer's declared lines of a split file

    def describe(self) -> str:
        """A short human sentence, e.g. ``undeclared, inside the package of w1-a3``."""
        if self.kind == "owned" and self.shared:
            lines = ", ".join(f"{r.start}-{r.end or 'end'}" for r in self.ranges)
            part = f" (lines {lines})" if lines else ""
            return f"shared on purpose by {', '.join(self.owners)}{part}"
        if self.kind == "owned":
            return f"owned by {self.agent}"
        if self.kind == "foreign":
            return f"declared by {', '.join(self.owners)}, written by {self.writer}"
        if self.kind == "other-wave":
            return f"declared only in other waves (by {', '.join(self.owners)})"
        if self.kind == "undeclared" and self.writer not in (None, self.package):
            return (
                f"declared by no agent, in the package of {self.package}, written by {self.writer}"
            )
        if self.kind == "undeclared":
            return f"declared by no agent, attributable to {self.agent}"
        if self.owners:
            return f"declared by several agents of the wave: {', '.join(self.owners)}"
        if self.candidates:
            return f"declared by no agent; could belong to {' or '.join(self.candidates)}"
        return "declared by no agent and outside every agent's package"


def _dirs(path: str) -> tuple[str, ...]:
    """The folder components of a repo-relative path (``a/b/c.py`` -> ``("a", "b")``)."""
    return tuple(path.split("/")[:-1])


def shared_leading(a: Sequence[str], b: Sequence[str]) -> int:
    """How many leading path components ``a`` and ``b`` have in common."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PlanPaths:
    """Every path the plan declares, with the agents (and their waves) declaring it, in plan
    order: built once and shared by the indexes of all waves (``OwnershipIndex.for_plan``), so
    classifying for every wave costs the size of the plan, not its square."""

    def __init__(self, plan: Plan) -> None:
        by_path: dict[str, list[tuple[str, int]]] = {}
        for w in plan.waves:
            for agent in w.agents:
                for path in agent.paths:
                    owners = by_path.setdefault(path, [])
                    if (agent.id, w.number) not in owners:
                        owners.append((agent.id, w.number))
        self.by_path = {p: tuple(o) for p, o in by_path.items()}

    def elsewhere(self, path: str, wave: int) -> tuple[str, ...] | None:
        """The agents declaring ``path`` in waves other than ``wave`` (None: none)."""
        owners = self.by_path.get(path)
        if owners is None:  # most paths: no dict or tuple built
            return None
        found = tuple(dict.fromkeys(a for a, w in owners if w != wave))
        return found or None


class OwnershipIndex:
    """Ownership of every path for one wave, built once and queried per path.

    ``paths``: the plan's ``PlanPaths`` and ``agents`` the wave's agents, when indexes of
    several waves are built (``for_plan``); found here otherwise.
    """

    @classmethod
    def for_plan(cls, plan: Plan) -> dict[int, OwnershipIndex]:
        """An index per wave, sharing one ``PlanPaths``: linear in the size of the plan."""
        paths = PlanPaths(plan)
        agents: dict[int, list[Agent]] = {}
        for w in plan.waves:
            agents.setdefault(w.number, []).extend(w.agents)
        return {n: cls(plan, n, paths, wave_agents) for n, wave_agents in agents.items()}

    def __init__(
        self,
        plan: Plan,
        wave: int,
        paths: PlanPaths | None = None,
        agents: Sequence[Agent] | None = None,
    ) -> None:
        self.plan = plan
        self.wave = wave
        declared: dict[str, list[str]] = {}
        sharing: dict[str, set[str]] = {}  # path -> agents of this wave that share it on purpose
        ranges: dict[tuple[str, str], tuple[LineRange, ...]] = {}
        packages: dict[str, tuple[tuple[str, ...], ...]] = {}
        if agents is None:
            agents = [a for w in plan.waves if w.number == wave for a in w.agents]
        for agent in agents:
            for path in agent.paths:
                owners = declared.setdefault(path, [])
                if agent.id not in owners:
                    owners.append(agent.id)
            for path in agent.shared:
                sharing.setdefault(path, set()).add(agent.id)
            for path, found in agent.ranges:
                ranges[(path, agent.id)] = found
            pkg = tuple(p for p in agent.package.split("/") if p)
            packages[agent.id] = (*packages.get(agent.id, ()), pkg)
        self._declared = {p: tuple(a) for p, a in declared.items()}
        self._paths = paths if paths is not None else PlanPaths(plan)
        self._packages = packages
        # Paths every declaring agent shares on purpose: any of them may write it.
        self._shared = {
            p: owners
            for p, owners in self._declared.items()
            if set(owners) <= sharing.get(p, set())
        }
        self._ranges = ranges
        # folder -> (attributed agent or None, tied candidates); most paths share few folders.
        self._folders: dict[tuple[str, ...], tuple[str | None, tuple[str, ...]]] = {}

    @property
    def agents(self) -> tuple[str, ...]:
        """The ids of this wave's agents, in plan order."""
        return tuple(self._packages)

    def ranges(self, path: str, agent: str) -> tuple[LineRange, ...]:
        """The line ranges ``agent`` declares in ``path`` (empty: the whole file, or none)."""
        return self._ranges.get((path, agent), ())

    def declared_by(self, path: str) -> tuple[str, ...]:
        """The agents of this wave that declare ``path`` exactly (whose issues a revert of it
        undoes)."""
        return self._declared.get(path, ())

    def attribute(self, path: str) -> tuple[str | None, tuple[str, ...]]:
        """Which agent's package ``path`` falls to: ``(agent, ())`` or ``(None, tied agents)``."""
        folder = _dirs(path)
        hit = self._folders.get(folder)
        if hit is None:
            hit = self._attribute_folder(folder)
            self._folders[folder] = hit
        return hit

    def _attribute_folder(self, folder: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
        # Rule 1: inside a package folder; the deepest containing package wins (nested packages).
        inside: dict[str, int] = {}
        best: dict[str, int] = {}
        for agent, pkgs in self._packages.items():
            for pkg in pkgs:
                shared = shared_leading(folder, pkg)
                if shared == len(pkg):
                    inside[agent] = max(inside.get(agent, -1), shared)
                best[agent] = max(best.get(agent, 0), shared)
        scores = inside or {a: s for a, s in best.items() if s >= MIN_SHARED_DEPTH}
        if not scores:
            return None, ()
        top = max(scores.values())
        tied = tuple(a for a, s in scores.items() if s == top)
        if len(tied) == 1:
            return tied[0], ()
        return None, tied

    def classify(self, path: str, writer: str | None = None) -> Ownership:
        """Classify ``path`` (repo-relative POSIX) for this wave, written by ``writer`` if known."""
        owners = self._declared.get(path)
        if owners is not None:
            if len(owners) > 1 and path in self._shared:
                if writer is None or writer in owners:
                    found = self.ranges(path, writer) if writer is not None else ()
                    return Ownership(
                        "owned", writer, owners=owners, writer=writer, shared=True, ranges=found
                    )
                return Ownership("foreign", writer, owners=owners, writer=writer, shared=True)
            if len(owners) == 1:
                if writer is not None and writer != owners[0]:
                    return Ownership("foreign", writer, owners=owners, writer=writer)
                return Ownership("owned", owners[0], owners=owners, writer=writer)
            return Ownership("unowned", writer, candidates=owners, owners=owners, writer=writer)
        elsewhere = self._paths.elsewhere(path, self.wave)
        if elsewhere is not None:
            return Ownership("other-wave", writer, owners=elsewhere, writer=writer)
        agent, tied = self.attribute(path)
        if agent is not None:
            # Inside (or nearest) ``agent``'s package; a write by another agent names its writer.
            return Ownership("undeclared", writer or agent, writer=writer, package=agent)
        if writer is not None and writer in tied:
            return Ownership("undeclared", writer, candidates=tied, writer=writer, package=writer)
        return Ownership("unowned", writer, candidates=tied, writer=writer)


def classify(plan: Plan, wave: int, path: str, writer: str | None = None) -> Ownership:
    """Classify one path for one wave (builds an index; use ``OwnershipIndex`` for many)."""
    return OwnershipIndex(plan, wave).classify(path, writer)


@lru_cache(maxsize=512)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A repo-relative glob compiled (``wavedeck.plan.globs`` says what globs mean)."""
    return compile_glob(pattern)


def matching_glob(path: str, globs: Sequence[str]) -> str | None:
    """The first of ``globs`` that matches ``path``, or None."""
    for g in globs:
        if g.strip() and glob_regex(g).match(path):
            return g
    return None


def apply_policy(
    ownership: Ownership, path: str, accept_globs: Sequence[str], accept_undeclared: bool
) -> tuple[bool, str]:
    """Whether the ``[policy]`` accepts a classified path, and why (recorded in the checkpoint).

    ``owned`` is always accepted. A path matching an ``accept`` glob is accepted whatever its
    kind except ``foreign`` (a file another agent of the wave owns is a real conflict, never
    waved through by a glob). With ``accept_undeclared``, an ``undeclared`` path is accepted for
    the agent whose package holds it, but not when another agent is known to have written it.
    """
    if ownership.kind == "owned":
        return True, ownership.describe()
    if ownership.kind != "foreign":
        glob = matching_glob(path, accept_globs)
        if glob is not None:
            return True, f"policy accept {glob!r}"
    if (
        ownership.kind == "undeclared"
        and accept_undeclared
        and (ownership.writer is None or ownership.writer == ownership.package)
    ):
        return True, f"undeclared, attributed to {ownership.package}"
    return False, ownership.describe()
