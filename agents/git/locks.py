"""Locks around git: wavedeck's own per repository, and waiting for git's ``*.lock`` files.

``repo_lock`` is the process-wide lock that lets one git command at a time run in a repository
(keyed by its common git dir, so two ``GitRepo`` objects on one repository, the supervisor's and
the control room's, still take turns). A ``*.lock`` another git process holds (``index.lock``,
a ref's lock) is waited for with a bounded, jittered retry (``backoff``, ``wait_for_lock``;
``LOCK_HELD`` finds it in git's words), then reported by name (``lock_message``): wavedeck
never deletes a lock.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from wavedeck.agents.git.errors import GitError

__all__ = ["LOCK_HELD", "backoff", "lock_message", "repo_lock", "wait_for_lock"]

# What git says when another process holds a lock it needs; group 1 is the lock's path.
LOCK_HELD = re.compile(r"Unable to create '([^']+\.lock)': File exists")

# One lock per repository (keyed by its common git dir) for the whole process, so two GitRepo
# objects on the same repository (supervisor and TUI) still run one command at a time.
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def repo_lock(key: str) -> threading.Lock:
    """The process-wide lock serialising git commands on the repository ``key``."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def backoff(attempt: int) -> float:
    """Jittered exponential delay for the ``attempt``-th retry (≈50 ms … 500 ms)."""
    return float(min(0.05 * 2**attempt, 0.5) * random.uniform(0.5, 1.5))


def lock_message(lock: str, waited_s: float) -> str:
    """The operator message for a lock still held after waiting."""
    return (
        f"another git process holds {lock} (waited {waited_s:g} s). If no git command is "
        f"running any more, the lock is stale: remove it yourself with `rm {lock}` and retry"
    )


def wait_for_lock(lock: Path, wait_s: float, on_wait: Callable[[str], None] | None = None) -> None:
    """Wait (bounded, jittered) while ``lock`` exists; raise ``GitError`` naming it after."""
    deadline = time.monotonic() + wait_s
    attempt = 0
    while lock.exists():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise GitError(lock_message(str(lock), wait_s))
        if on_wait is not None:
            on_wait(str(lock))
        time.sleep(min(backoff(attempt), remaining))
        attempt += 1
