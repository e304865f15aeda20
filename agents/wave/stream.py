"""The supervisor's event stream and its change signal.

``EventStream`` is the one queue every part of the supervisor emits into and the one consumer
(the TUI or the headless run) reads in batches: one log chunk, or one other event. A batch that
carries a log chunk is acknowledged with its (agent, offset) once the consumer asks for the next
one, so a restart resumes each log with neither a gap nor a repeat. A flooding agent waits for
room (``wait_room``) instead of filling memory (B6).

``Changes`` is a generation counter of agent and wave state changes. ``wait`` returns once the
generation has moved past the one the caller saw, so a change that happens between a caller's
check and its wait is never lost (an ``asyncio.Event`` cleared before waiting would lose it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from wavedeck.agents.events import Event

# Events waiting for the consumer before the log followers pause (memory stays bounded, B6).
MAX_QUEUED = 20_000


@dataclass
class Item:
    """A batch of events (one log chunk, or one other event) handed to the consumer at once."""

    events: list[Event]
    ack: tuple[str, int] | None = None  # (agent, log offset) handled once the batch is


class EventStream:
    """One queue of event batches, one consumer, bounded by ``MAX_QUEUED`` events."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._room = asyncio.Event()  # set when the queue has room again
        self._pending = 0  # events queued and not yet handed to the consumer
        self.waiting = 0  # producers parked in ``wait_room`` right now

    @property
    def pending(self) -> int:
        """Events queued and not yet handed to the consumer."""
        return self._pending

    def qsize(self) -> int:
        """Batches queued."""
        return self._queue.qsize()

    def emit(self, event: Event) -> None:
        self.put(Item([event]))

    def put(self, item: Item) -> None:
        self._pending += len(item.events)
        self._queue.put_nowait(item)

    async def wait_room(self) -> None:
        """Wait while the consumer is ``MAX_QUEUED`` events behind."""
        while self._pending >= MAX_QUEUED:
            self._room.clear()
            self.waiting += 1
            try:
                await self._room.wait()
            finally:
                self.waiting -= 1

    async def batches(self, on_ack: Callable[[str, int], None]) -> AsyncIterator[list[Event]]:
        """The batches in order; ``on_ack(agent, offset)`` once a log chunk's batch is handled
        (when the next one is asked for)."""
        while True:
            item = await self._queue.get()
            self._pending -= len(item.events)
            try:
                yield item.events
            finally:
                if item.ack is not None:
                    on_ack(*item.ack)
                self._queue.task_done()
                if not self._room.is_set() and self._pending < MAX_QUEUED // 2:
                    self._room.set()

    async def drain(self) -> None:
        """Wait until the consumer has handled every batch queued so far."""
        await self._queue.join()


class Changes:
    """A generation counter of state changes; waiting for one never misses it."""

    def __init__(self) -> None:
        self.generation = 0
        self._event = asyncio.Event()

    def notify(self) -> None:
        """A state changed: wake every waiter (each generation has its own event)."""
        self.generation += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    def wait(self, since: int | None = None) -> Awaitable[None]:
        """Wait for a change after generation ``since`` (default: the generation now, read when
        this is called, not when the returned awaitable first runs)."""
        seen = self.generation if since is None else since
        return self._wait(seen)

    async def _wait(self, seen: int) -> None:
        while self.generation <= seen:
            await self._event.wait()
