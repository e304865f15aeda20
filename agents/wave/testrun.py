"""Run the tests between waves: each command with ``sh -c`` from the repository root.

Test commands come from the plan's rules or from ``tests.commands`` in ``wavedeck.toml``: they are
shell commands *by design* (``cd packages/app && flutter test``), written by the plan or config
author and shown to the operator before they run. This is the one place wavedeck uses a shell;
agent commands and git never go through one.

Output is streamed line by line through a callback, decoded by the one line rule of
``wavedeck.agents.lines`` (as an agent's log is: invalid UTF-8 as U+FFFD, ``\\r`` progress keeps
its last state, over-long lines in marked pieces, nothing dropped). A command that runs longer
than the timeout has its whole process group killed and counts as failed (exit code 124, like
``timeout(1)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wavedeck.agents.lines import LineDecoder

TIMEOUT_EXIT = 124
_READ = 64 * 1024


@dataclass(frozen=True)
class TestRunResult:
    """How the test commands went: pass/fail, wall time, and each command's exit code."""

    __test__ = False  # not a pytest class

    passed: bool
    duration_s: float
    results: tuple[tuple[str, int], ...]


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def run_command(
    command: str,
    cwd: Path,
    timeout_s: float,
    on_line: Callable[[str], None],
    env: dict[str, str] | None = None,
) -> int:
    """Run one shell command; stream its merged output; return its exit code (124 on timeout)."""
    proc = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        command,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own group, so a timeout kills the children too
        env=env,
    )
    assert proc.stdout is not None
    decoder = LineDecoder()
    deadline = time.monotonic() + timeout_s
    timed_out = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            try:
                data = await asyncio.wait_for(proc.stdout.read(_READ), remaining)
            except TimeoutError:
                timed_out = True
                break
            if not data:
                break
            for line in decoder.feed(data)[0]:
                on_line(line)
        if not timed_out:
            # EOF can come just before the exit: wait for it, within the time left.
            try:
                await asyncio.wait_for(proc.wait(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                timed_out = True
    except asyncio.CancelledError:
        _kill_group(proc.pid)  # the control room is stopping: the tests go with it
        raise
    finally:
        for line in decoder.flush()[0]:  # a last line without its newline
            on_line(line)
    # Whatever is left in its group (background children, or all of it on timeout) goes.
    _kill_group(proc.pid)
    code = await proc.wait()
    if timed_out:
        on_line(f"wavedeck: test command timed out after {timeout_s:g}s: {command}")
        return TIMEOUT_EXIT
    return code if code >= 0 else 128 - code


async def run_tests(
    commands: Sequence[str],
    cwd: Path,
    timeout_s: float,
    on_line: Callable[[str], None],
    env: dict[str, str] | None = None,
) -> TestRunResult:
    """Run every command in order (all of them, even after a failure); pass = all exit 0.

    ``timeout_s`` bounds the whole run; each command gets what is left of it.
    """
    start = time.monotonic()
    results: list[tuple[str, int]] = []
    for command in commands:
        on_line(f"$ {command}")
        left = timeout_s - (time.monotonic() - start)
        if left <= 0:
            on_line(f"wavedeck: not run, the test time limit ({timeout_s:g}s) is used up")
            results.append((command, TIMEOUT_EXIT))
            continue
        code = await run_command(command, cwd, left, on_line, env)
        results.append((command, code))
    passed = bool(results) and all(code == 0 for _, code in results)
    return TestRunResult(passed, round(time.monotonic() - start, 3), tuple(results))
