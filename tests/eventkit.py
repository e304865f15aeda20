"""The one event collector of the tests: consumes any event stream (a supervisor's, a watcher's)
in a task and lets a test await what it wants to see, without sleeping. ``until`` awaits a fact
that sends no event (a process, a file, a counter), polling it within a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from wavedeck.agents.events import Event, FileTouched, Notice, ViolationFound

E = TypeVar("E", bound=Event)


async def until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Await a condition that sends no event, polling it, failing the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(0.02)


class EventCollector:
    """Collects ``source``'s events into ``events`` (arrival times in ``times``) once started."""

    def __init__(self, source: AsyncIterator[Event] | None = None) -> None:
        self.events: list[Event] = []
        self.times: list[float] = []
        self.error: BaseException | None = None
        self.finished = asyncio.Event()
        self._seen = 0  # a generation counter: a wake-up is never lost between check and wait
        self._new = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        if source is not None:
            self.start(source)

    def start(self, source: AsyncIterator[Event]) -> None:
        self._task = asyncio.create_task(self._run(source))

    async def _run(self, source: AsyncIterator[Event]) -> None:
        try:
            async for event in source:
                self.events.append(event)
                self.times.append(time.monotonic())
                self._signal()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.finished.set()
            self._signal()

    def _signal(self) -> None:
        self._seen += 1
        event, self._new = self._new, asyncio.Event()
        event.set()

    async def _next(self, seen: int) -> None:
        while self._seen == seen:
            await self._new.wait()

    async def until(self, predicate: Callable[[list[Event]], bool], timeout: float = 30) -> None:
        """Until ``predicate(events)`` holds (fails the test after ``timeout`` seconds)."""

        async def wait() -> None:
            while True:
                seen = self._seen
                if predicate(self.events):
                    return
                await self._next(seen)

        await asyncio.wait_for(wait(), timeout)

    async def wait_for(self, pred: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        """The first event matching ``pred`` (already seen or coming), or fail at the deadline."""
        deadline = time.monotonic() + timeout
        index = 0
        while True:
            seen = self._seen
            for event in self.events[index:]:
                if pred(event):
                    return event
            index = len(self.events)
            if self.finished.is_set():
                raise AssertionError(f"the stream ended without the event; saw {self.events[-5:]}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event in {timeout}s; saw {self.events[-5:]}")
            try:
                await asyncio.wait_for(self._next(seen), left)
            except TimeoutError:
                pass

    async def first(
        self, kind: type[E], pred: Callable[[E], bool] = lambda _e: True, timeout: float = 10.0
    ) -> E:
        """The first event of ``kind`` matching ``pred`` (already seen or coming), typed."""
        found = await self.wait_for(lambda e: isinstance(e, kind) and pred(e), timeout)
        assert isinstance(found, kind)
        return found

    async def touched(self, rel: str, timeout: float = 10.0) -> FileTouched:
        return await self.first(FileTouched, lambda e: e.path == rel, timeout)

    def of(self, kind: type[E]) -> list[E]:
        """Every event of ``kind`` so far, typed (``of(Notice)`` is a ``list[Notice]``)."""
        return [e for e in self.events if isinstance(e, kind)]

    def violations(self) -> list[ViolationFound]:
        return self.of(ViolationFound)

    def notices(self) -> list[Notice]:
        return self.of(Notice)

    def touches(self, rel: str) -> list[FileTouched]:
        return [e for e in self.of(FileTouched) if e.path == rel]

    async def stop(self) -> None:
        """Stop collecting (cancels the consuming task)."""
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
