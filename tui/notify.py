"""Calling the operator when an agent needs them (needs you, failed, lost): the terminal bell,
an OSC 9 desktop notification, ``notify-send`` where it is installed (``[notify]`` in
``wavedeck.toml``). The control room only: headless runs never notify.

Text in a notification comes from agents and plans: it is folded to one line of printable
characters before it reaches the terminal or ``notify-send`` (an argv, never a shell).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable

from wavedeck.agents.config import NotifyConfig
from wavedeck.agents.kinds import AgentState

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
# The states that call the operator, and how the notice says them.
ALERTS: dict[AgentState, str] = {"needs_you": "needs you", "failed": "failed", "lost": "was lost"}


def clean(text: str, limit: int = 200) -> str:
    flat = " ".join(_UNSAFE.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def osc9(text: str) -> str:
    """The OSC 9 escape (iTerm2, WezTerm, kitty, Windows Terminal...) carrying ``text``."""
    return f"\x1b]9;{clean(text)}\x07"


class Notifier:
    """Rings, posts an OSC 9 and runs ``notify-send`` as ``config`` (``[notify]``) says.

    ``bell`` and ``write`` are the app's (``App.bell``, the driver's write); ``run`` starts a
    program (replaceable in tests).
    """

    def __init__(
        self,
        config: NotifyConfig,
        *,
        bell: Callable[[], None],
        write: Callable[[str], None] | None,
        run: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.config = config
        self.bell, self.write = bell, write
        self.run = run or _spawn
        self.sent: list[str] = []  # what was notified (tests read it)

    def alert(self, agent: str, state: AgentState, reason: str) -> None:
        what = ALERTS.get(state)
        if what is None:
            return
        text = clean(f"wavedeck: {agent} {what}" + (f": {reason}" if reason else ""))
        self.sent.append(text)
        if self.config.bell:
            self.bell()
        if self.config.osc9 and self.write is not None:
            self.write(osc9(text))
        if self.config.desktop:
            program = shutil.which("notify-send")
            if program and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
                self.run([program, "--app-name=wavedeck", f"wavedeck: {agent}", text])


def _spawn(argv: list[str]) -> None:
    try:
        subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        pass  # no desktop: the bell and the pane say it
