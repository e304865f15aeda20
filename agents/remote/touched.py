"""What a remote agent changed on its host, told while it runs (no inotify reaches a host).

``TouchedReporter`` compares the agent's host worktree with the base commit it started from
(``wavedeck.agents.remote.sync.touched_paths``) every ``TOUCH_POLL_S`` while the runner follows
the agent's log, and once more when the agent has ended, and tells its sink each path once per
kind of change (added, modified, deleted), so the watcher judges remote writes as local ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from wavedeck.agents.remote.commands import RemotePaths
from wavedeck.agents.remote.sync import recorded_base, touched_paths
from wavedeck.agents.remote.transport import HostTransport, TransportError

__all__ = ["TOUCH_POLL_S", "TouchedReporter", "TouchedSink"]

TOUCH_POLL_S = 1.0

TouchedSink = Callable[[str, str, str], None]  # (agent_id, path, change)


class TouchedReporter:
    """The paths each agent on one host changed, each told to ``sink`` once per change kind."""

    def __init__(self, transport: HostTransport, sink: TouchedSink | None) -> None:
        self.transport = transport
        self.sink = sink
        self._seen: dict[str, dict[str, str]] = {}  # agent id -> path -> change reported
        self._base_of: dict[str, str] = {}

    def started_from(self, agent_id: str, base: str) -> None:
        """The commit the agent's run started from (else read from the host when needed)."""
        self._base_of[agent_id] = base

    async def report(self, paths: RemotePaths) -> None:
        """Tell each path the agent touched on the host that was not told with this change."""
        agent_id = paths.agent_id
        seen = self._seen.setdefault(agent_id, {})
        base = self._base_of.get(agent_id) or await recorded_base(self.transport, paths)
        if base is None or self.sink is None:
            return
        self._base_of[agent_id] = base
        for path, change in sorted((await touched_paths(self.transport, paths, base)).items()):
            if seen.get(path) != change:
                seen[path] = change
                self.sink(agent_id, path, change)

    def start_watch(self, paths: RemotePaths) -> asyncio.Task[None]:
        """Report every ``TOUCH_POLL_S`` until the task is cancelled (an unreachable host is
        skipped: the next round looks again)."""
        return asyncio.get_running_loop().create_task(self._watch(paths))

    async def _watch(self, paths: RemotePaths) -> None:
        while True:
            with contextlib.suppress(TransportError):
                await self.report(paths)
            await asyncio.sleep(TOUCH_POLL_S)
