"""Who wrote a file in a shared working tree, and how that is known: ``WriteLedger``.

The file system does not say which agent wrote a file. Two kinds of facts do, and they arrive
apart in time:

- the watcher's reports: ``seen(path, at)`` for every change of a path, the ones its coalescing
  folds into one report included (coalescing merges reports, never writers);
- the agents' tool events (their preset parsers, through ``AgentStream``): ``record`` a tool
  call writing a path, ``forget`` one that did not happen, ``shell`` a shell command (its text
  names the paths it may write).

Writes of one path closer together than ``coalesce_s`` are one *burst*. A tool event explains
the burst of its path nearest to it in time, within ``lead_s`` before the burst and ``LATE_S``
after it; ``lag_s`` (how late the run's preset prints a tool call after the write: opencode,
aider and Codex's ``file_change`` print it once the tool has run) is how long a report waits
for it, and an event later than that corrects the report. ``explain`` says, for the
latest burst of a path, which agents' tool events name it (exact evidence), which agents' shell
commands name it (inferred: as a redirect target, or merely mentioned), and how much longer a
tool event may still come (``pending_s``). ``take_new`` gives the paths new tool events named
since it was last called (the watcher re-judges those at once: a late event corrects what was
shown). ``wavedeck.agents.watch.attribution`` turns an explanation into an ``Attribution``.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

LEAD_S = 5.0  # a tool event printed this long before its write still explains it (claude)
# A tool event this long after a write still names its writer (when no later write of the path
# is nearer): ``lag_s`` bounds how long a report waits for it, not whether it counts (a loaded
# machine reads a CLI's log late); a later event corrects what was shown.
LATE_S = 30.0
SHELL_WINDOW_S = 60.0  # a shell command this close to a write may have made it (it ran long)
KEEP_S = 120.0  # how long events and bursts are kept (a late event can correct within this)
SHELLS_KEPT = 512  # shell commands kept at most (an agent running commands in a loop)
BURSTS_KEPT = 8  # bursts kept per path
# Strength of a shell command's evidence: it writes into the path (a redirect, tee, sed -i,
# truncate, touch), names the path, or redirects into a file of the same name elsewhere.
WRITES, NAMES, SAME_NAME = 3, 2, 1
_PATH_CHAR = re.compile(r"[A-Za-z0-9_./@+~-]")
_WRITE_BEFORE = re.compile(r"(?:>|\btee(?:\s+-a)?|\btruncate\b.*|\btouch\b.*|\bof=)\s*$")
_IN_PLACE = re.compile(r"\bsed\s+(?:-\S*\s+)*-i|\bperl\s+-\S*i")

Clock = Callable[[], float]


@dataclass(frozen=True)
class Explanation:
    """What explains the latest burst of writes of one path (``first``..``last``, monotonic).

    ``tools``: the agents whose tool events name the path (in the order they came);
    ``shells``: ``(agent, strength)`` of the agents whose shell commands name it, strongest
    first; ``pending_s``: how much longer a tool event may still come to explain it (0: settled).
    """

    first: float | None = None
    last: float | None = None
    tools: tuple[str, ...] = ()
    shells: tuple[tuple[str, int], ...] = ()
    pending_s: float = 0.0
    # agents whose tool events name the path within the window but lie nearer an earlier write
    # of it: no exact evidence for this one, yet never ignored (the two clocks, the watcher's
    # and the log reader's, can both run late)
    nearby: tuple[str, ...] = ()


def shell_strength(command: str, path: str, root: str = "") -> int:
    """How strongly ``command`` says it writes ``path`` (repo-relative; ``root``: the
    repository's absolute folder): ``WRITES``, ``NAMES``, ``SAME_NAME`` or 0."""
    if not command:
        return 0
    best = 0
    forms = [path, "./" + path] + ([f"{root.rstrip('/')}/{path}"] if root else [])
    for form in forms:
        start = command.find(form)
        while start >= 0:
            end = start + len(form)
            before = command[start - 1] if start else " "
            after = command[end] if end < len(command) else " "
            if not _PATH_CHAR.match(before) and not _PATH_CHAR.match(after):
                head = command[:start].rstrip("'\" ")
                writes = _WRITE_BEFORE.search(head) or _IN_PLACE.search(command)
                best = max(best, WRITES if writes else NAMES)
            start = command.find(form, start + 1)
    name = path.rpartition("/")[2]
    if best == 0 and name and name != path:
        for match in re.finditer(r"(?:>|\btee(?:\s+-a)?)\s*['\"]?" + re.escape(name), command):
            end = match.end()
            if end >= len(command) or not _PATH_CHAR.match(command[end]):
                return SAME_NAME
    return best


class WriteLedger:
    """The tool events and the watcher's reports of one run (see the module docstring)."""

    def __init__(
        self,
        root: str = "",
        *,
        lag_s: float = 0.0,
        lead_s: float = LEAD_S,
        coalesce_s: float = 0.25,
        clock: Clock = time.monotonic,
    ) -> None:
        """``root``: the repository (a shell command may name a path absolutely); ``lag_s``:
        the run's preset's ``tool_lag_s``."""
        self.root = root
        self.lag_s = lag_s
        self.lead_s = lead_s
        self.coalesce_s = coalesce_s
        self.clock = clock
        self._tools: dict[str, list[tuple[str, float]]] = {}  # path -> (agent, when)
        self._shells: deque[tuple[str, float, str]] = deque(maxlen=SHELLS_KEPT)
        self._bursts: dict[str, list[list[float]]] = {}  # path -> [[first, last], ...]
        self._new: set[str] = set()
        self._pruned = 0.0

    # -- the agents' tool events ----------------------------------------------------------

    def record(self, agent_id: str, path: str, at: float | None = None) -> None:
        """``agent_id``'s tool call wrote (or writes) ``path`` (repo-relative)."""
        now = self.clock() if at is None else at
        self._tools.setdefault(path, []).append((agent_id, now))
        self._new.add(path)
        self._prune(now)

    def forget(self, agent_id: str, path: str) -> None:
        """``agent_id``'s announced write of ``path`` did not happen (refused, failed)."""
        claims = self._tools.get(path)
        if not claims:
            return
        for index in range(len(claims) - 1, -1, -1):  # its latest announcement
            if claims[index][0] == agent_id:
                del claims[index]
                break
        if not claims:
            del self._tools[path]

    def shell(self, agent_id: str, command: str, at: float | None = None) -> None:
        """``agent_id`` ran the shell command ``command`` (its whole text)."""
        if command.strip():
            self._shells.append((agent_id, self.clock() if at is None else at, command))

    def writer(self, path: str) -> str | None:
        """The agent whose tool call last named ``path`` within ``KEEP_S`` (None: none)."""
        claims = self._tools.get(path)
        if not claims or self.clock() - claims[-1][1] > KEEP_S:
            return None
        return claims[-1][0]

    def has_new(self) -> bool:
        """Tool events named paths since ``take_new`` was last called."""
        return bool(self._new)

    def take_new(self) -> set[str]:
        """The paths tool events named since the last call."""
        new, self._new = self._new, set()
        return new

    # -- the watcher's reports --------------------------------------------------------------

    def seen(self, path: str, at: float | None = None) -> None:
        """The watcher saw ``path`` change at ``at`` (every change, folded ones too)."""
        now = self.clock() if at is None else at
        bursts = self._bursts.setdefault(path, [])
        if bursts and now - bursts[-1][1] < self.coalesce_s:
            bursts[-1][1] = max(bursts[-1][1], now)
        else:
            bursts.append([now, now])
            if len(bursts) > BURSTS_KEPT:
                del bursts[0]
        self._prune(now)

    def explain(self, path: str) -> Explanation:
        """What explains the latest burst of ``path`` (nothing when it was never seen)."""
        bursts = self._bursts.get(path)
        if not bursts:
            return Explanation()
        first, last = bursts[-1]
        tools: list[str] = []
        nearby: list[str] = []
        for agent, at in self._tools.get(path, ()):
            if not first - self.lead_s <= at <= last + max(self.lag_s, LATE_S):
                continue
            if self._nearest(bursts, at):
                if agent not in tools:
                    tools.append(agent)
            elif agent not in nearby:
                nearby.append(agent)
        strengths: dict[str, int] = {}
        for agent, at, command in self._shells:
            if first - SHELL_WINDOW_S <= at <= last + SHELL_WINDOW_S:
                strength = shell_strength(command, path, self.root)
                if strength > strengths.get(agent, 0):
                    strengths[agent] = strength
        shells = tuple(sorted(strengths.items(), key=lambda item: -item[1]))
        pending = 0.0 if tools else max(0.0, last + self.lag_s - self.clock())
        near = tuple(a for a in nearby if a not in tools)
        return Explanation(first, last, tuple(tools), shells, pending, near)

    @staticmethod
    def _nearest(bursts: list[list[float]], at: float) -> bool:
        """Whether the latest of ``bursts`` is the one nearest to an event at ``at``."""

        def gap(burst: list[float]) -> float:
            return (
                0.0 if burst[0] <= at <= burst[1] else min(abs(at - burst[0]), abs(at - burst[1]))
            )

        latest = gap(bursts[-1])
        return all(latest <= gap(b) for b in bursts[:-1])

    def _prune(self, now: float) -> None:
        if now - self._pruned < 5.0:
            return
        self._pruned = now
        horizon = now - KEEP_S
        for path, claims in list(self._tools.items()):
            kept = [claim for claim in claims if claim[1] >= horizon]
            if kept:
                self._tools[path] = kept
            else:
                del self._tools[path]
        for path in [p for p, bursts in self._bursts.items() if bursts[-1][1] < horizon]:
            del self._bursts[path]
        while self._shells and self._shells[0][1] < horizon:
            self._shells.popleft()
