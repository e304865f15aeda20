"""Helpers for the watcher tests: small plans, real writer processes, an event collector."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from tests.eventkit import EventCollector
from wavedeck.agents.watch.watcher import WorkspaceWatcher
from wavedeck.plan.models import Agent, Plan, Wave, agent_id


def agent(wave: int, number: int, package: str, files: list[str]) -> Agent:
    pkg = package.rstrip("/") + "/"
    return Agent(
        id=agent_id(wave, number),
        number=number,
        wave=wave,
        title=f"Agent {number}",
        package=pkg,
        files=tuple(files),
        paths=tuple(pkg + f for f in files),
        issues=(),
        line=1,
    )


def plan(waves: dict[int, list[Agent]]) -> Plan:
    return Plan(
        title="watch test plan",
        waves=tuple(
            Wave(number=n, title=f"Wave {n}", agents=tuple(a), line=n * 10)
            for n, a in sorted(waves.items())
        ),
    )


def small_plan() -> Plan:
    """Wave 1: w1-a1 owns pkg/a/x.py, w1-a2 owns pkg/b/y.py; wave 2: w2-a1 owns pkg/c/z.py."""
    return plan(
        {
            1: [agent(1, 1, "pkg/a", ["x.py"]), agent(1, 2, "pkg/b", ["y.py"])],
            2: [agent(2, 1, "pkg/c", ["z.py"])],
        }
    )


WRITER = """
import os, sys, time
text, repeat, gap, paths = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
for n in range(repeat):
    for p in paths:
        os.makedirs(os.path.dirname(p) or '.', exist_ok=True)
        with open(p, 'a' if n else 'w') as fh:
            fh.write(text)
    if gap:
        time.sleep(gap)
"""


def write(*paths: Path, text: str = "x\n", repeat: int = 1, gap: float = 0.0) -> None:
    """Write files from a real separate process (as an agent would), ``repeat`` times each."""
    argv = [sys.executable, "-c", WRITER, text, str(repeat), str(gap), *map(str, paths)]
    subprocess.run(argv, check=True, timeout=60)


class Collector(EventCollector):
    """Runs ``watcher.events()`` in a task (``async with``) and lets a test await what it wants
    to see (``tests.eventkit.EventCollector``)."""

    def __init__(self, watcher: WorkspaceWatcher) -> None:
        super().__init__()
        self.watcher = watcher

    async def __aenter__(self) -> Collector:
        self.start(self.watcher.events())
        await asyncio.wait_for(self.watcher.ready.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.watcher.stop()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)
