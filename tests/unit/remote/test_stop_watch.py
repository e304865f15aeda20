"""Stopping a remote agent's change watch ends it even when a cancel is swallowed.

``RemoteRunner.follow`` ends the watch of what its agent touched (``TouchedReporter``) before
its last report and the bringing back of the agent's changes. On Python 3.11, a cancel that lands
as an ``asyncio.wait_for`` inside the watch's report completes is swallowed (gh-86296): the
watch went on polling, and the follow, which awaited it, never recorded its agent's end (a wave
under load whose remote agent stayed ``running``, no notice, the checkpoint never offered).
``agents.tasks.stop_task`` (what the follow stops it with) cancels again until it has ended.
"""

from __future__ import annotations

import asyncio

import pytest

from wavedeck.agents.tasks import stop_task

pytestmark = pytest.mark.timeout(30)


async def _polls_with_wait_for(done: asyncio.Future[None], polls: list[int]) -> None:
    """Like ``TouchedReporter._watch``: a report (a ``wait_for``) then a pause, for ever."""
    while True:
        await asyncio.wait_for(done if not polls else asyncio.sleep(0.01), 10)
        polls.append(1)
        await asyncio.sleep(0.01)


async def test_a_cancel_swallowed_by_wait_for_still_ends_the_watch() -> None:
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[None] = loop.create_future()
    polls: list[int] = []
    watch = asyncio.create_task(_polls_with_wait_for(answered, polls))
    await asyncio.sleep(0)  # the watch waits for its first answer
    answered.set_result(None)  # the answer and the cancel in the same turn of the loop
    await asyncio.wait_for(stop_task(watch, failures=True), 10)
    assert watch.done()


async def test_a_watch_that_ignores_cancels_a_few_times_is_ended() -> None:
    ignored: list[int] = []

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if len(ignored) == 3:
                    raise
                ignored.append(1)

    watch = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_task(watch, failures=True), 10)
    assert watch.cancelled() and len(ignored) == 3
