"""``cancel_until_done``: cancel an asyncio task and wait until it has really ended;
``stop_task``: that, and its outcome absorbed (how every looping task is stopped on close).

On Python 3.11 a cancel that lands as an ``asyncio.wait_for`` inside the task completes is
swallowed (the wait returns its result; gh-86296, fixed in 3.12), so a task that loops (a poll,
a watch, a follow) goes on after ``task.cancel()`` and ``await task`` waits for ever. Seen
under load: a remote agent's change watch outlived its cancel, and the follow that awaited it
never recorded the agent's end. Cancelling again until the task is done ends it either way.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["cancel_until_done", "stop_task"]


async def cancel_until_done(task: asyncio.Future[Any], again_s: float = 0.5) -> None:
    """Cancel ``task`` (again every ``again_s`` while it goes on) until it is done. Its outcome
    is left in it: the caller awaits it, or reads ``result()``, as it would have."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=again_s)


async def stop_task(task: asyncio.Future[Any], *, failures: bool = False) -> None:
    """``cancel_until_done``, then the task's end absorbed: its cancel, and with ``failures``
    any exception it ended with too (else that is raised here, for the caller to see)."""
    await cancel_until_done(task)
    absorbed: tuple[type[BaseException], ...] = (asyncio.CancelledError,)
    with contextlib.suppress(*(absorbed + ((Exception,) if failures else ()))):
        task.result()
