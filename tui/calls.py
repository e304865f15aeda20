"""Calling the engine from the UI: a refusal or failure must reach the operator as a notice,
never as a traceback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, Protocol, TypeVar

from textual.notifications import SeverityLevel

P = ParamSpec("P")
R = TypeVar("R")


class Notifier(Protocol):
    """Anything that shows a notice (an app, a screen, a widget: Textual's ``notify``)."""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None: ...


async def guarded(
    where: Notifier,
    what: str,
    fn: Callable[P, Awaitable[R]],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> R | None:
    """``await fn(*args, **kwargs)``; an exception becomes a notice on ``where`` and the result
    ``None``."""
    try:
        return await fn(*args, **kwargs)
    except Exception as exc:  # the engine's refusal or failure, shown to the operator
        where.notify(f"{what}: {exc}", title="Refused", severity="error", timeout=8, markup=False)
        return None
