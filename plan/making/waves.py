"""Placing the planner's chunks of work in waves. Pure.

Chunks (a file group's share of a wave, ``wavedeck.plan.making.pack``) must follow each other when one's
issues depend on another's, or when they are parts of one file group split by ``--max-issues``.

- ``depths``: per chunk, the longest chain before and after it; the longest chain of all is the
  dependency lower bound on waves. ``lower_bound`` also counts what ``max_agents`` agents of
  ``max_issues`` issues can hold, and says which bound decides (naming the chain's issues).
- ``window_schedule``: for a given number of waves, each chunk (least slack first, then most
  severe, then largest) goes to the earliest wave its dependencies allow that stays within an
  even share of the issues, else to the least-loaded wave; each wave is then packed into agents.
  It fails (None) when agents cannot hold a wave, and the caller tries one wave more.
- ``list_schedule``: wave after wave, ready chunks on the longest remaining chain first are packed
  into the wave's agents while they fit (critical-path list scheduling). With ``max_issues`` it
  bounds how many waves the window search needs to try.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from wavedeck.plan.making.model import IssueSpec, MakeOptions
from wavedeck.plan.making.pack import Chunk, pack_wave
from wavedeck.plan.words import plural

# A schedule: chunk -> wave index, and per wave its agents as lists of chunks.
Schedule = tuple[dict[int, int], list[list[list[int]]]]


@dataclass
class Work:
    """Everything derived from the input that the wave search needs."""

    issues: list[IssueSpec]
    deps: list[list[int]]  # issue -> issues it depends on (known ones only)
    chunks: list[Chunk]
    chunk_of: list[int]  # issue -> its chunk
    preds: list[set[int]]  # chunk -> chunks that must be in an earlier wave
    why: dict[tuple[int, int], tuple[int, int]]  # chunk edge -> (dependent, dependency) issues
    notes: list[str]
    ignored: list[tuple[str, str]]
    components: int


def depths(work: Work) -> tuple[list[int], list[int], list[int]]:
    """Per chunk: longest chain before it, longest chain after it, and a predecessor on the
    longest chain before it (-1 if none), in chunks."""
    n = len(work.chunks)
    succ: list[list[int]] = [[] for _ in range(n)]
    for c in range(n):
        for p in sorted(work.preds[c]):
            succ[p].append(c)
    waiting = [len(p) for p in work.preds]
    order = []
    ready = [c for c in range(n) if waiting[c] == 0]
    while ready:
        c = ready.pop()
        order.append(c)
        for s in succ[c]:
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(s)
    depth, via = [0] * n, [-1] * n
    for c in order:
        for p in work.preds[c]:
            if depth[p] + 1 > depth[c] or (depth[p] + 1 == depth[c] and p < via[c]):
                depth[c], via[c] = depth[p] + 1, p
    height = [0] * n
    for c in reversed(order):
        for s in succ[c]:
            height[c] = max(height[c], height[s] + 1)
    return depth, height, via


def _too_large(work: Work, opts: MakeOptions, chunk: Chunk) -> str:
    """Why a file group is split: more issues than one agent may take (``--max-issues``)."""
    first = chunk.index - chunk.part
    parts = work.chunks[first : first + chunk.parts]
    head = work.issues[parts[0].members[0]].id
    size = sum(c.size for c in parts)
    return (
        f"the file group of {head} holds {size} issues, too many for one agent "
        f"(--max-issues {opts.max_issues}), so it takes {chunk.parts} successive waves"
    )


def lower_bound(work: Work, opts: MakeOptions, depth: list[int], via: list[int]) -> tuple[int, str]:
    total = len(work.issues)
    chain_len = max(depth, default=-1) + 1
    reason = "no dependency between file groups" if chain_len <= 1 else ""
    if chain_len > 1:
        end = max(range(len(depth)), key=lambda c: (depth[c], -c))
        links = []
        while via[end] >= 0:
            n, d = work.why.get((end, via[end]), (-1, -1))
            if n >= 0:
                links.append(f"{work.issues[n].id} needs {work.issues[d].id}")
            else:
                links.append(_too_large(work, opts, work.chunks[end]))
            end = via[end]
        reason = f"a chain of {plural(chain_len, 'wave')}: " + ", ".join(
            dict.fromkeys(reversed(links))
        )
    bound = max(1, chain_len)
    if opts.max_issues is not None:
        per_wave = opts.max_agents * opts.max_issues
        cap = -(-total // per_wave)
        if cap > bound:
            bound = cap
            reason = (
                f"{plural(total, 'issue')} over {plural(opts.max_agents, 'agent')} of at most "
                f"{plural(opts.max_issues, 'issue')} need {plural(cap, 'wave')}"
            )
    return bound, reason


def window_schedule(
    work: Work, opts: MakeOptions, waves: int, depth: list[int], height: list[int]
) -> Schedule | None:
    """Chunk -> wave for ``waves`` waves and the packed agents, or None if they do not fit."""
    cap = opts.max_agents * opts.max_issues if opts.max_issues is not None else None
    load = [0] * waves
    placed: dict[int, int] = {}
    waiting = [len(p) for p in work.preds]
    succ: list[list[int]] = [[] for _ in work.chunks]
    for c, ps in enumerate(work.preds):
        for p in ps:
            succ[p].append(c)

    # Severe work first: a chunk goes to the earliest wave it may use (without max_issues: that
    # stays within an even share of the issues, else the least-loaded one); chunks with the least
    # slack go first.
    # Waves where every package can still have agents of its own are preferred (packages stay
    # apart where possible): a package needs one agent, or with max_issues one per that many.
    share = -(-len(work.issues) // waves)
    by_group: list[dict[str, int]] = [{} for _ in range(waves)]

    def agents_needed(w: int, chunk: Chunk) -> int:
        loads = dict(by_group[w])
        loads[chunk.group] = loads.get(chunk.group, 0) + chunk.size
        per = opts.max_issues or 0
        return sum(max(1, -(-n // per)) if per else 1 for n in loads.values())

    def urgency(c: int) -> tuple[int, int, int, int]:
        chunk = work.chunks[c]
        return (waves - 1 - height[c], chunk.rank, -chunk.size, c)

    heap = [urgency(c) for c in range(len(work.chunks)) if waiting[c] == 0]
    heapq.heapify(heap)
    while heap:
        c = heapq.heappop(heap)[-1]
        chunk = work.chunks[c]
        earliest = max([depth[c], *(placed[p] + 1 for p in work.preds[c])])
        latest = waves - 1 - height[c]
        fits = [
            w for w in range(earliest, latest + 1) if cap is None or load[w] + chunk.size <= cap
        ]
        if not fits:
            return None
        apart = [w for w in fits if agents_needed(w, chunk) <= opts.max_agents] or fits
        # With max_issues the cap itself bounds a wave: severe work simply goes first.
        even = apart if cap is not None else [w for w in apart if load[w] + chunk.size <= share]
        wave = even[0] if even else min(apart, key=lambda w: (load[w], w))
        placed[c] = wave
        load[wave] += chunk.size
        by_group[wave][chunk.group] = by_group[wave].get(chunk.group, 0) + chunk.size
        for s in succ[c]:
            waiting[s] -= 1
            if waiting[s] == 0:
                heapq.heappush(heap, urgency(s))
    out = []
    for w in range(waves):
        agents = pack_wave([ch for ch in work.chunks if placed[ch.index] == w], opts)
        if agents is None:
            return None
        out.append(agents)
    return placed, out


def _succ(work: Work) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in work.chunks]
    for c, ps in enumerate(work.preds):
        for p in sorted(ps):
            out[p].append(c)
    return out


def list_schedule(work: Work, opts: MakeOptions, height: list[int]) -> Schedule:
    """Wave after wave, the ready chunks on the longest remaining chain first, each into an agent
    of its package with room, else a new agent, else any agent with room; the rest wait."""
    cap = opts.max_issues
    succ = _succ(work)
    waiting = [len(p) for p in work.preds]
    ready = [c for c in range(len(work.chunks)) if waiting[c] == 0]
    placed: dict[int, int] = {}
    out: list[list[list[int]]] = []
    while ready:
        wave = len(out)
        bins: list[list[int]] = []
        loads: list[int] = []
        groups: list[set[str]] = []
        later = []
        for c in sorted(
            ready, key=lambda c: (-height[c], work.chunks[c].rank, -work.chunks[c].size, c)
        ):
            chunk = work.chunks[c]
            room = [b for b in range(len(bins)) if cap is None or loads[b] + chunk.size <= cap]
            same = [b for b in room if chunk.group in groups[b]]
            if same:
                b = min(same, key=lambda b: (loads[b], b))
            elif len(bins) < opts.max_agents:
                bins.append([])
                loads.append(0)
                groups.append(set())
                b = len(bins) - 1
            elif room:
                b = min(room, key=lambda b: (loads[b], b))
            else:
                later.append(c)
                continue
            bins[b].append(c)
            loads[b] += chunk.size
            groups[b].add(chunk.group)
            placed[c] = wave
        first = {c: work.chunks[c].first for agent in bins for c in agent}
        out.append(sorted(bins, key=lambda agent: min(first[c] for c in agent)))
        ready = later
        for agent in bins:
            for c in agent:
                for s in succ[c]:
                    waiting[s] -= 1
                    if waiting[s] == 0:
                        ready.append(s)
    return placed, out
