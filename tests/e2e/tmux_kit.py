"""The end-to-end tests' tmux pane: the real ``wavedeck`` (or a shell) in one tmux session on a
private socket, read by polling the pane (another process's terminal: nothing to await).

``start`` keeps the pane once the command has ended, saying ``WAVEDECK-EXIT=<status>``; ``kill``
ends the server (a fixture calls it). ``joined`` captures a line the terminal wrapped as one. ``WAVEDECK`` runs this checkout's
``wavedeck`` in ``pane_env()``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

_PANE = "t"
ROOT = Path(__file__).resolve().parents[2]
WAVEDECK = [sys.executable, "-c", "from wavedeck.tui.cli.main import main; main()"]


def pane_env() -> dict[str, str]:
    """This environment with this checkout importable, without the COLUMNS/LINES a test runner
    may have set (xdist workers get 80 columns): Textual would take them over the pane's size."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = str(ROOT)
    return env


class Tmux:
    """One tmux session on a private socket (killed by ``kill``)."""

    def __init__(self, width: int = 200, height: int = 50, *, joined: bool = False) -> None:
        self.socket = f"wavedeck-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.size = (width, height)
        self.joined = joined

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20
        )
        return done.stdout

    def start(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        """Run ``command`` in the pane; the pane stays (``sleep``) once it has ended, saying
        its exit status."""
        shell = f"{command}; echo WAVEDECK-EXIT=$?; sleep 60"
        subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d",
             "-x", str(self.size[0]), "-y", str(self.size[1]), "-s", _PANE, "-c", str(cwd), shell],
            check=True, env=env, timeout=20,
        )  # fmt: skip

    def screen(self, colours: bool = False) -> str:
        """The pane's text; with ``colours``, its SGR escapes too."""
        flags = [*(["-e"] if colours else []), *(["-J"] if self.joined else [])]
        return self.run("capture-pane", "-p", *flags, "-t", _PANE)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", _PANE, *keys)

    def text(self, text: str) -> None:
        """Send ``text`` literally (``{`` and ``}`` are key names otherwise)."""
        self.run("send-keys", "-t", _PANE, "-l", text)

    def type(self, text: str, timeout: float = 30) -> None:
        """Type ``text`` literally; once it shows, enter."""
        self.text(text)
        self.wait_for(text, timeout=timeout)
        self.keys("Enter")

    def wait_for(
        self, *texts: str, timeout: float = 60, times: int = 1, gone: tuple[str, ...] = ()
    ) -> str:
        """Poll the pane until every text shows ``times`` times and none of ``gone`` does; fail
        with the last screen after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if all(screen.count(t) >= times for t in texts) and not any(g in screen for g in gone):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts} not on screen within {timeout}s:\n{screen}")
            time.sleep(0.2)

    def wait_gone(self, text: str, timeout: float = 60) -> None:
        """Poll the pane until ``text`` has gone; fail with the last screen after ``timeout``."""
        deadline = time.monotonic() + timeout
        while text in (screen := self.screen()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} still on screen after {timeout}s:\n{screen}")
            time.sleep(0.2)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20)
