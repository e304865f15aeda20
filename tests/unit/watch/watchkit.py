"""Helpers for the watcher tests: small plans, real writer processes, an event collector."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from agents.events import Event, FileTouched, Notice, ViolationFound
from agents.watch.watcher import WorkspaceWatcher
from plan.models import Agent, Plan, Wave, agent_id


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


class Collector:
    """Runs ``watcher.events()`` in a task and lets a test await what it wants to see."""

    def __init__(self, watcher: WorkspaceWatcher) -> None:
        self.watcher = watcher
        self.events: list[Event] = []
        self.times: list[float] = []
        self.error: BaseException | None = None
        self.finished = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Collector:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.watcher.ready.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.watcher.stop()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)

    async def _run(self) -> None:
        try:
            async for event in self.watcher.events():
                self.events.append(event)
                self.times.append(time.monotonic())
                self._changed.set()
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.finished.set()
            self._changed.set()

    async def wait_for(self, pred: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        """The first event matching ``pred`` (already seen or coming), or fail at the deadline."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if pred(event):
                    return event
            seen = len(self.events)
            if self.finished.is_set():
                raise AssertionError(f"watcher ended without the event; saw {self.events[-5:]}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event in {timeout}s; saw {self.events[-5:]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                pass

    async def touched(self, rel: str, timeout: float = 10.0) -> FileTouched:
        ev = await self.wait_for(lambda e: isinstance(e, FileTouched) and e.path == rel, timeout)
        assert isinstance(ev, FileTouched)
        return ev

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]

    def violations(self) -> list[ViolationFound]:
        return [e for e in self.events if isinstance(e, ViolationFound)]

    def notices(self) -> list[Notice]:
        return [e for e in self.events if isinstance(e, Notice)]

    def touches(self, rel: str) -> list[FileTouched]:
        return [e for e in self.events if isinstance(e, FileTouched) and e.path == rel]
