"""Calling the engine from the UI: its methods may return a value or an awaitable, and a refusal
or failure must reach the operator as a notice, never as a traceback."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol


class Notifier(Protocol):
    def notify(self, message: str, **kwargs: Any) -> Any: ...


async def settle(value: Any) -> Any:
    """Await ``value`` when the engine returned an awaitable (its methods may be either)."""
    return await value if inspect.isawaitable(value) else value


async def guarded(
    where: Notifier, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """``fn(*args, **kwargs)``, settled; an exception becomes a notice on ``where`` (an app,
    screen or widget) and the result ``None``."""
    try:
        return await settle(fn(*args, **kwargs))
    except Exception as exc:  # the engine's refusal or failure, shown to the operator
        where.notify(f"{what}: {exc}", title="Refused", severity="error", timeout=8, markup=False)
        return None
