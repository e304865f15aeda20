"""The graphs behind the planner: file groups (union-find), cycles, orders. Pure.

- ``UnionFind``: issues that need a common path end up in one set (a *file group*): within a wave,
  a file group must be one agent's, or two agents would edit the same file.
- ``find_cycle``: a dependency cycle among issues, as the ids in order, for a clear error.
- ``strongly_connected``: sets of file groups that depend on each other both ways (they can only
  be ordered inside one agent, so the planner merges them).
- ``priority_order``: a topological order that, among the issues it may take next, takes the one
  whose *effective* severity (its own or that of anything waiting on it) is highest, so severe
  work comes first and a less severe issue comes early only when a severe one needs it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence


class UnionFind:
    """Disjoint sets over ``0..n-1``; the smallest member is every set's representative, so the
    result never depends on the order of unions."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return True

    def groups(self) -> list[list[int]]:
        """Every set, members ascending, sets ordered by their smallest member."""
        out: dict[int, list[int]] = {}
        for x in range(len(self.parent)):
            out.setdefault(self.find(x), []).append(x)
        return [out[k] for k in sorted(out)]


def find_cycle(deps: Sequence[Sequence[int]]) -> list[int] | None:
    """A cycle of the graph ``node -> nodes it depends on``, as ``[a, b, …, a]``, or None."""
    state = [0] * len(deps)  # 0 new, 1 on the stack, 2 done
    for start in range(len(deps)):
        if state[start]:
            continue
        stack: list[tuple[int, int]] = [(start, 0)]
        path = [start]
        state[start] = 1
        while stack:
            node, i = stack[-1]
            if i < len(deps[node]):
                stack[-1] = (node, i + 1)
                nxt = deps[node][i]
                if state[nxt] == 1:
                    return [*path[path.index(nxt) :], nxt]
                if state[nxt] == 0:
                    state[nxt] = 1
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                state[node] = 2
                stack.pop()
                path.pop()
    return None


def strongly_connected(succ: Sequence[Sequence[int]]) -> list[list[int]]:
    """Strongly connected components (Tarjan, iterative) with more than one node, each sorted."""
    n = len(succ)
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            node, i = work[-1]
            if i < len(succ[node]):
                work[-1] = (node, i + 1)
                nxt = succ[node][i]
                if index[nxt] < 0:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack[nxt] = True
                    work.append((nxt, 0))
                elif on_stack[nxt]:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    top = stack.pop()
                    on_stack[top] = False
                    members.append(top)
                    if top == node:
                        break
                if len(members) > 1:
                    out.append(sorted(members))
    return sorted(out)


def priority_order(
    nodes: Sequence[int], deps: Callable[[int], Sequence[int]], key: Callable[[int], int]
) -> list[int]:
    """``nodes`` in dependency order (only dependencies among ``nodes`` count), most urgent first.

    Urgency is the smallest ``key`` (severity rank) of the node and of everything among ``nodes``
    that depends on it, directly or not; ties go to the smaller node (input order). The graph
    must be acyclic.
    """
    members = set(nodes)
    inner = {n: [d for d in deps(n) if d in members and d != n] for n in nodes}
    dependents: dict[int, list[int]] = {n: [] for n in nodes}
    for n in nodes:
        for d in inner[n]:
            dependents[d].append(n)
    # Effective urgency, computed dependents-first (reverse of a plain topological order).
    waiting = {n: len(inner[n]) for n in nodes}
    plain = [n for n in sorted(nodes) if waiting[n] == 0]
    order: list[int] = []
    while plain:
        n = plain.pop()
        order.append(n)
        for m in dependents[n]:
            waiting[m] -= 1
            if waiting[m] == 0:
                plain.append(m)
    urgency = {n: key(n) for n in nodes}
    for n in reversed(order):
        for d in inner[n]:
            urgency[d] = min(urgency[d], urgency[n])
    waiting = {n: len(inner[n]) for n in nodes}
    heap = [(urgency[n], key(n), n) for n in nodes if waiting[n] == 0]
    heapq.heapify(heap)
    out: list[int] = []
    while heap:
        _, _, n = heapq.heappop(heap)
        out.append(n)
        for m in dependents[n]:
            waiting[m] -= 1
            if waiting[m] == 0:
                heapq.heappush(heap, (urgency[m], key(m), m))
    return out
