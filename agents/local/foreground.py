"""An agent's CLI run in the foreground of this terminal, under the agent's own wrapper.

A take-over (``wavedeck attach``) runs the CLI interactively: its stdin, stdout and stderr are
this terminal's, and it runs in this process's group (the terminal's foreground group), so it
reads the keys and gets the terminal's signals. It still runs the way a detached agent does:
under ``wrapper.py`` (an exit file, ``PR_SET_PDEATHSIG``, leftovers it forked cleaned up) and,
under ``[agent] sandbox``, in the same Landlock domain, entered by the wrapper right before it
execs the CLI (``--sandbox SPEC``: the agent's spec, its private ``TMPDIR``). Without ``--log``
the wrapper leaves the CLI's output on the terminal.

``quiet_signals`` keeps the caller alive meanwhile: between the CLI's raw-mode sessions the
terminal is cooked, and a ``ctrl+c`` there reaches the whole foreground group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from wavedeck.agents.events import SandboxStatus
from wavedeck.agents.local import landlock
from wavedeck.agents.local.runner import WRAPPER, read_exit_file
from wavedeck.agents.runtypes import ExitStatus, LaunchSpec


@dataclass(frozen=True)
class Foreground:
    """What to run in the terminal, and how it is confined."""

    argv: tuple[str, ...]
    cwd: Path
    env: dict[str, str]
    exit_path: Path
    sandbox: SandboxStatus | None  # None: [agent] sandbox is off


def prepare(spec: LaunchSpec, wavedeck_dir: Path) -> Foreground:
    """The wrapper's argv for ``spec`` (the sandbox spec written beside its exit file)."""
    run_dir = Path(wavedeck_dir) / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    exit_path = run_dir / f"{spec.agent_id}.takeover.exit"
    exit_path.unlink(missing_ok=True)
    options: list[str] = []
    status: SandboxStatus | None = None
    if spec.sandbox is not None:
        abi = landlock.abi()
        if abi < landlock.MIN_ABI:
            reason = "no-landlock" if abi <= 0 else "abi-too-old"
            status = SandboxStatus(
                "unavailable", agent=spec.agent_id, abi=max(abi, 0), reason=reason
            )
        else:
            path = run_dir / f"{spec.agent_id}.takeover.sandbox.json"
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(spec.sandbox.spec, encoding="utf-8")
            tmp.replace(path)
            options = ["--sandbox", str(path)]
            status = SandboxStatus("landlock", agent=spec.agent_id, abi=abi)
    argv = (sys.executable, "-I", str(WRAPPER), str(exit_path), *options, "--", *spec.argv)
    env = {**os.environ, **spec.env, "WAVEDECK_AGENT_ID": spec.agent_id}
    return Foreground(argv, spec.cwd, env, exit_path, status)


def run(job: Foreground) -> ExitStatus:
    """Run ``job`` on this terminal and wait for it (blocking); how the CLI ended."""
    try:
        done = subprocess.run(job.argv, cwd=job.cwd, env=job.env, check=False)
    except OSError as exc:  # the interpreter itself could not start: say it like a shell would
        return ExitStatus(127 if isinstance(exc, FileNotFoundError) else 126)
    recorded = read_exit_file(job.exit_path)
    if recorded is not None:
        return recorded
    code = done.returncode
    if code < 0:
        return ExitStatus(None, signal.Signals(-code).name)
    return ExitStatus(code)


def _ignore(signum: int, frame: FrameType | None) -> None:
    """A handler (not ``SIG_IGN``, which a child would inherit across exec) doing nothing."""


@contextlib.contextmanager
def quiet_signals() -> Iterator[None]:
    """While the CLI has the terminal, ``ctrl+c`` and ``ctrl+\\`` are the CLI's, not ours
    (main thread only: elsewhere signals cannot be set, and nothing is changed)."""
    wanted = (signal.SIGINT, signal.SIGQUIT)
    saved: list[tuple[signal.Signals, Any]] = []
    try:
        for wanted_signal in wanted:
            with contextlib.suppress(ValueError):  # not the main thread
                saved.append((wanted_signal, signal.signal(wanted_signal, _ignore)))
        yield
    finally:
        for which, handler in saved:
            signal.signal(which, handler)
