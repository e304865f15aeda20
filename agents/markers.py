"""wavedeck's own marks, written one way: separator lines in an agent's log, and small JSON
marker files under ``.wavedeck/`` that say a step of a wave was done.

- ``marker_line``/``append_marker``: ``── wavedeck: <what> ──``, the line put in a local agent's
  log before a new run (a restart, a follow-up; a take-over's record after it), so every run stays in one log and the pane shows
  where one ends. A partial last line (no newline) is ended first, so the mark is a line of its
  own; a log that cannot be written is left as it is (the run goes on without the mark).
- ``write_marker``/``read_marker``: a wave's marker file (the tests' fingerprint, the paths
  collected from worktrees, the ``.git`` snapshot at the wave's start). Written atomically
  (a temporary file renamed over it), so a reader, or a control room restarted after a crash,
  sees no file or a whole one; a missing or unreadable file reads as ``None``.

Imports nothing from wavedeck: every layer of the engine may use it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path


def marker_line(what: str) -> str:
    """The separator wavedeck puts in a log: ``── wavedeck: <what> ──``."""
    return f"── wavedeck: {what} ──"


def append_marker(log: str | Path, what: str, details: Sequence[str] = ()) -> None:
    """Append ``marker_line(what)`` to the log at ``log``, ending a partial last line first;
    ``details``: lines that follow the mark (a take-over's record says what happened)."""
    text = "\n".join([marker_line(what), *details])
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(log), exist_ok=True)
        fd = os.open(log, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            size = os.fstat(fd).st_size
            ended = size == 0 or os.pread(fd, 1, size - 1) == b"\n"
            os.write(fd, (("" if ended else "\n") + text + "\n").encode())
        finally:
            os.close(fd)


def write_marker(path: Path, data: object) -> None:
    """Write ``data`` as JSON to ``path`` atomically (its folder is made if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def read_marker(path: Path) -> object | None:
    """The JSON in a marker file; ``None`` when there is none or it cannot be read."""
    try:
        data: object = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data
