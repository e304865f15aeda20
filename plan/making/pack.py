"""Packing one wave's chunks of work into at most ``max_agents`` agents. Pure.

A *chunk* is a file group's share of one wave (the whole group unless ``--max-issues`` splits it):
it must go to a single agent, and no two agents of a wave ever hold the same chunk, so no file is
owned twice. Agents are shared among package groups in proportion to their load (every group gets
one when there are agents enough, so agents stay within one package); inside a group, chunks go
largest first to the least-loaded agent (issues, then files): the classic LPT rule, which keeps the
largest agent within 4/3 of the best possible when chunks are small against the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from wavedeck.plan.making.model import IssueSpec, MakeOptions


@dataclass
class Chunk:
    """A file group's issues bound for one wave (``members`` are issue indices, in order)."""

    index: int
    members: list[int]
    part: int = 0
    parts: int = 1
    size: int = 0
    files: int = 0
    rank: int = 0
    group: str = ""
    first: int = 0
    paths: set[str] = field(default_factory=set)

    def fill(self, issues: Sequence[IssueSpec]) -> None:
        """Derive size, files, most severe rank and main package group from the members."""
        mine = [issues[n] for n in self.members]
        self.size = len(mine)
        self.paths = {p for i in mine for p in i.paths}
        # Folders are claimed, not declared: only files count towards what an agent owns.
        self.files = sum(1 for p in self.paths if not p.endswith("/"))
        self.rank = min((i.rank for i in mine), default=0)
        counts: dict[str, int] = {}
        for i in mine:
            counts[i.group] = counts.get(i.group, 0) + 1
        self.group = min(counts, key=lambda g: (-counts[g], g)) if counts else ""
        self.first = min(self.members, default=0)


def common_folder(paths: Sequence[str]) -> str:
    """The deepest folder (``a/b/``, or ``""`` for the root) that holds every path."""
    if not paths:
        return ""
    split = [p.split("/")[:-1] for p in paths]
    first = split[0]
    n = len(first)
    for parts in split[1:]:
        m = 0
        while m < n and m < len(parts) and parts[m] == first[m]:
            m += 1
        n = m
    return "".join(part + "/" for part in first[:n])


class _Bins:
    def __init__(self, count: int, cap: int | None) -> None:
        self.chunks: list[list[int]] = [[] for _ in range(count)]
        self.load: list[tuple[int, int]] = [(0, 0) for _ in range(count)]
        self.cap = cap

    def room(self, b: int, chunk: Chunk) -> bool:
        return self.cap is None or self.load[b][0] + chunk.size <= self.cap

    def put(self, b: int, chunk: Chunk) -> None:
        self.chunks[b].append(chunk.index)
        issues, files = self.load[b]
        self.load[b] = (issues + chunk.size, files + chunk.files)

    def lightest(self, among: Sequence[int], chunk: Chunk) -> int | None:
        fit = [b for b in among if self.room(b, chunk)]
        return min(fit, key=lambda b: (self.load[b], b)) if fit else None


def _allocate(
    loads: dict[str, int], sizes: dict[str, int], k: int, cap: int | None
) -> dict[str, int]:
    """Agents per package group: one each, then each next agent to the group with the most load
    per agent (a group never gets more agents than chunks)."""
    alloc = dict.fromkeys(loads, 1)
    if cap is not None:
        for g, load in loads.items():
            alloc[g] = min(sizes[g], max(1, -(-load // cap)))
    spare = k - sum(alloc.values())
    while spare > 0:
        open_groups = [g for g in loads if alloc[g] < sizes[g]]
        if not open_groups:
            break
        g = max(open_groups, key=lambda g: (loads[g] / alloc[g], -alloc[g], g))
        alloc[g] += 1
        spare -= 1
    return alloc


def _largest_first(chunks: Sequence[Chunk]) -> list[Chunk]:
    return sorted(chunks, key=lambda c: (-c.size, -c.files, c.rank, c.index))


def pack_wave(chunks: Sequence[Chunk], opts: MakeOptions) -> list[list[int]] | None:
    """The wave's agents as lists of chunk indices, or None when ``max_issues`` cannot be kept."""
    if not chunks:
        return []
    # Issues that name no file own nothing: they join an agent that owns files (of their package
    # when there is one) rather than make an agent with nothing to own.
    owning = [c for c in chunks if c.files] or list(chunks[:1])
    owned = {c.index for c in owning}
    fileless = [c for c in chunks if c.index not in owned]
    k = min(opts.max_agents, len(owning))
    cap = opts.max_issues
    by_group: dict[str, list[Chunk]] = {}
    for chunk in owning:
        by_group.setdefault(chunk.group, []).append(chunk)
    loads = {g: sum(c.size for c in cs) for g, cs in by_group.items()}
    sizes = {g: len(cs) for g, cs in by_group.items()}
    alloc = _allocate(loads, sizes, k, cap)
    bins = _Bins(k, cap)
    if sum(alloc.values()) <= k:
        start = 0
        homes: dict[str, list[int]] = {}
        for g in sorted(by_group, key=lambda g: min(c.first for c in by_group[g])):
            homes[g] = list(range(start, start + alloc[g]))
            start += alloc[g]
        for g, cs in by_group.items():
            for chunk in _largest_first(cs):
                b = bins.lightest(homes[g], chunk)
                if b is None:  # its package's agents are full: any agent with room
                    b = bins.lightest(range(k), chunk)
                if b is None:
                    return None
                bins.put(b, chunk)
    else:
        # More package groups than agents: whole groups, largest first, to the lightest agent
        # (a group split only when no agent can take all of it).
        for g in sorted(by_group, key=lambda g: (-loads[g], g)):
            whole = Chunk(index=-1, members=[], size=loads[g])
            b = bins.lightest(range(k), whole)
            for chunk in _largest_first(by_group[g]):
                target = (
                    b if b is not None and bins.room(b, chunk) else bins.lightest(range(k), chunk)
                )
                if target is None:
                    return None
                bins.put(target, chunk)
    group_of = {c.index: c.group for c in chunks}
    for chunk in _largest_first(fileless):
        same = [b for b in range(k) if any(group_of[c] == chunk.group for c in bins.chunks[b])]
        b = bins.lightest(same, chunk)
        if b is None:
            b = bins.lightest(range(k), chunk)
        if b is None:
            return None
        bins.put(b, chunk)
    agents = [members for members in bins.chunks if members]
    first = {c.index: c.first for c in chunks}
    agents.sort(key=lambda members: min(first[c] for c in members))
    return agents
