"""Toasts that know what they are about, so stale ones go when the news changes.

A toast of a ``Topic`` replaces the one shown before it of the same topic: "wave 1 has not
started" is gone once "starting wave 1" is up, and a refusal is gone once the next action runs or
the next refusal comes. Toasts without a topic (an engine notice, a saved screenshot) live out
their timeout as Textual's do.

Textual's ``App.notify`` returns nothing to remove later, so the notification is made here and
added to the app's collection directly; it runs on the app's event loop only (every caller is a
handler or an action).
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.notifications import Notification, SeverityLevel

# "refusal": why a key or command did nothing (replaced by the next refusal, gone when an action
# runs); "wave N": a wave's progress (starting, tests, checkpoint), each replacing the last.
Topic = str
REFUSAL: Topic = "refusal"


def wave_topic(wave: int) -> Topic:
    return f"wave {wave}"


class Toasts:
    """The topical toasts of one app."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self._shown: dict[Topic, Notification] = {}

    def show(
        self,
        message: str,
        *,
        topic: Topic,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        clears: tuple[Topic, ...] = (),
    ) -> None:
        """Show ``message`` in place of the last toast of ``topic`` (and of each of ``clears``).
        Text is never markup (plans and agents write it)."""
        app = self.app
        for stale in (topic, *clears):
            self.clear(stale, refresh=False)
        note = Notification(
            message,
            title,
            severity,
            app.NOTIFICATION_TIMEOUT if timeout is None else timeout,
            markup=False,
        )
        self._shown[topic] = note
        # What Textual's own ``Notify`` handler does, now rather than after the message queue:
        # a replacement must never arrive before the toast it replaces.
        app._notifications.add(note)
        app._refresh_notifications()

    def clear(self, topic: Topic, *, refresh: bool = True) -> None:
        """Take down the toast of ``topic``, if it is still up."""
        old = self._shown.pop(topic, None)
        if old is not None and old in self.app._notifications:
            self.app._unnotify(old, refresh=refresh)

    def showing(self, topic: Topic) -> str | None:
        """The message of ``topic``'s toast while it is up (for tests and the help)."""
        note = self._shown.get(topic)
        if note is None or note not in self.app._notifications:
            return None
        return note.message
